#!/usr/bin/env python3
"""One LSTM meta-training step in plain numpy (float32), for timing against TrainingCore.

The Boolean smoke configuration of notes/meta-experiments.md section 2: B = 32 sequences of L = 64
cycles, H = 12 LSTM units, sigmoid readout; forward, full BPTT, global-norm clip 1.0, Adam 3e-3.
The batch is vectorised across sequences (the natural numpy form). numpy's own RNG, so the numbers
differ from Swift's bit for bit but not in kind. Prints one line:
"lstm-numpy steps steps_per_second ms_per_step final_batch_mse cpu_ms_per_step".

    python3 tools/bench/lstm_numpy.py [steps] [seed]
"""
import sys
import time

import numpy as np

F = np.float32


def sigmoid(x):
    return F(0.5) * (F(1) + np.tanh(F(0.5) * x))


def make_batch(rng, batch=32, length=64):
    k = rng.integers(0, 16, size=batch)
    x = rng.integers(0, 2, size=(length, batch, 2))
    y = ((k[None, :] >> (2 * x[..., 0] + x[..., 1])) & 1).astype(F)
    prev = np.concatenate([np.full((1, batch), 0.5, F), y[:-1]], axis=0)
    inputs = np.concatenate([x.astype(F), prev[..., None]], axis=2)
    return inputs, y


def step(params, inputs, y, hidden):
    w, b, wo, bo = params
    length, batch, _ = inputs.shape
    h = np.zeros((batch, hidden), F)
    c = np.zeros((batch, hidden), F)
    cache = []
    outputs = np.empty((length, batch), F)
    for t in range(length):
        v = np.concatenate([inputs[t], h], axis=1)
        z = v @ w + b
        i, f, g, o = sigmoid(z[:, :hidden]), sigmoid(z[:, hidden:2 * hidden]), np.tanh(z[:, 2 * hidden:3 * hidden]), sigmoid(z[:, 3 * hidden:])
        c_prev = c
        c = f * c + i * g
        tc = np.tanh(c)
        h = o * tc
        outputs[t] = sigmoid(h @ wo + bo)
        cache.append((v, i, f, g, o, c_prev, tc, h))
    err = outputs - y
    scale = F(1.0 / (length * batch))
    dw, db, dwo, dbo = np.zeros_like(w), np.zeros_like(b), np.zeros_like(wo), np.zeros_like(bo)
    dh_next = np.zeros((batch, hidden), F)
    dc_next = np.zeros((batch, hidden), F)
    for t in reversed(range(length)):
        v, i, f, g, o, c_prev, tc, h = cache[t]
        da = F(2) * scale * err[t] * outputs[t] * (F(1) - outputs[t])
        dwo += h.T @ da
        dbo += da.sum()
        dh = np.outer(da, wo) + dh_next
        dc = dh * o * (F(1) - tc * tc) + dc_next
        dz = np.concatenate([dc * g * i * (F(1) - i), dc * c_prev * f * (F(1) - f), dc * i * (F(1) - g * g), dh * tc * o * (F(1) - o)], axis=1)
        dw += v.T @ dz
        db += dz.sum(axis=0)
        dh_next = (dz @ w.T)[:, 3:]
        dc_next = dc * f
    return [dw, db, dwo, dbo], float((err * err).mean())


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    hidden, inputs_n = 12, 3
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(inputs_n + hidden)
    w = rng.uniform(-bound, bound, size=(inputs_n + hidden, 4 * hidden)).astype(F)
    b = np.zeros(4 * hidden, F)
    b[hidden:2 * hidden] = 1
    wo = rng.uniform(-1 / np.sqrt(hidden), 1 / np.sqrt(hidden), size=hidden).astype(F)
    bo = np.zeros(1, F)
    params = [w, b, wo, bo]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, eps = F(0.003), F(0.9), F(0.999), F(1e-8)
    mse = float("nan")
    start = time.perf_counter()
    cpu_start = time.process_time()
    for s in range(steps):
        inputs, y = make_batch(rng)
        grads, mse = step(params, inputs, y, hidden)
        norm = np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
        if norm > 1.0:
            grads = [g * F(1.0 / norm) for g in grads]
        t = s + 1
        rate = F(lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t))
        for k in range(4):
            m[k] = b1 * m[k] + (F(1) - b1) * grads[k]
            v[k] = b2 * v[k] + (F(1) - b2) * grads[k] * grads[k]
            params[k] -= rate * m[k] / (np.sqrt(v[k]) + eps)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"lstm-numpy {steps} {steps / seconds} {1000 * seconds / steps} {mse} {1000 * cpu / steps}")


if __name__ == "__main__":
    main()
