#!/usr/bin/env python3
"""The GEOFF learners in plain numpy (one network, online, float32), for timing against Swift.

Same task (geoff-spec.md section 1) and the same eight update rules as TrainingCore; numpy's own
RNG, so numbers differ from Swift's bit for bit but not in kind. Prints one line per variant:
name, examples, microseconds per example (training loop only; CPU time of the process, fastest of
`repeats`, default 3, as the Swift benchmark does), mean squared error of the last 500.

    python3 tools/bench/geoff_numpy.py [examples_per_task] [seed] [repeats]
"""
import sys
import time

import numpy as np

F = np.float32


def make_task(rng, examples, m=20, n=1000, beta=0.6, stages=3):
    u_star = rng.choice([-1, 1], size=(m + 1, n + 1))
    theta = beta * (m + 1) - (u_star[:, :n] < 0).sum(axis=0)
    w_star = rng.integers(-1, 2, size=n + 1)
    xs, ys = [], []
    for stage in range(stages):
        if stage > 0:
            idx = rng.permutation(n + 1)[: int(0.5 * (n + 1))]
            w_star[idx] = rng.integers(-1, 2, size=len(idx))
        x = rng.integers(0, 2, size=(examples, m))
        xt = np.hstack([x, np.ones((examples, 1), dtype=x.dtype)])
        phi = np.hstack([(xt @ u_star[:, :n] > theta).astype(np.float64), np.ones((examples, 1))])
        ys.append(phi @ w_star + rng.normal(size=examples))
        xs.append(x)
    return np.vstack(xs).astype(F), np.concatenate(ys).astype(F)


def train(algorithm, eta, x_all, y_all, rng, hidden=500, alpha=F(0.0005)):
    m = x_all.shape[1]
    u = rng.normal(size=(m + 1, hidden)).astype(F)  # last row: hidden biases
    w = rng.normal(size=hidden + 1).astype(F)  # last entry: output bias
    eta = F(eta)
    h_full = np.zeros_like(u)
    h_approx = np.zeros(hidden, dtype=F)
    slots = [np.zeros_like(u), np.zeros_like(w)], [np.zeros_like(u), np.zeros_like(w)]
    if algorithm == "rmsprop":
        slots[0][0][:] = 1
        slots[0][1][:] = 1
    errors = np.empty(len(y_all))
    xt = np.ones(m + 1, dtype=F)
    for t in range(len(y_all)):
        xt[:m] = x_all[t]
        phi = np.tanh(xt @ u)
        y = phi @ w[:hidden] + w[hidden]
        delta = y_all[t] - y
        errors[t] = delta * delta
        d = F(1) - phi * phi
        phit = np.append(phi, F(1))
        if algorithm in ("backprop", "momentum", "rmsprop", "adam"):
            gu = -np.outer(xt, delta * w[:hidden] * d)
            gw = -delta * phit
            if algorithm == "backprop":
                u -= alpha * gu
                w -= alpha * gw
            elif algorithm == "momentum":
                for p, g, a in ((u, gu, slots[0][0]), (w, gw, slots[0][1])):
                    a *= F(0.9)
                    a += g
                    p -= alpha * a
            elif algorithm == "rmsprop":
                for p, g, s in ((u, gu, slots[0][0]), (w, gw, slots[0][1])):
                    s *= F(0.9)
                    s += F(0.1) * g * g
                    p -= alpha * g / np.sqrt(s + F(1e-10))
            else:
                rate = alpha * np.sqrt(1 - 0.999 ** (t + 1)) / (1 - 0.9 ** (t + 1))
                for k, (p, g) in enumerate(((u, gu), (w, gw))):
                    mm, vv = slots[0][k], slots[1][k]
                    mm *= F(0.9)
                    mm += F(0.1) * g
                    vv *= F(0.999)
                    vv += F(0.001) * g * g
                    p -= F(rate) * mm / (np.sqrt(vv) + F(1e-8))
        elif algorithm == "crossprop":
            grad = np.outer(xt, d)
            u += alpha * delta * ((1 - eta) * phi * h_full + eta * w[:hidden] * grad)
            h_full *= F(1) - alpha * (1 - eta) * phi * phi
            h_full += alpha * (delta - eta * w[:hidden] * phi) * grad
            w += alpha * delta * phit
        else:  # crossprop-approx
            u += alpha * delta * np.outer(xt, ((1 - eta) * phi * h_approx + eta * w[:hidden]) * d)
            h_approx *= F(1) - alpha * (1 - eta) * phi * phi
            h_approx += alpha * (delta - eta * w[:hidden] * phi)
            w += alpha * delta * phit
    return errors


VARIANTS = [
    ("backprop", "backprop", 0.0),
    ("momentum", "momentum", 0.0),
    ("rmsprop", "rmsprop", 0.0),
    ("adam", "adam", 0.0),
    ("crossprop-eta0", "crossprop", 0.0),
    ("crossprop-eta0.5", "crossprop", 0.5),
    ("crossprop-approx-eta0", "crossprop-approx", 0.0),
    ("crossprop-approx-eta0.5", "crossprop-approx", 0.5),
]


def main():
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    repeats = max(1, int(sys.argv[3])) if len(sys.argv) > 3 else 3
    x, y = make_task(np.random.default_rng(seed), examples)
    for name, algorithm, eta in VARIANTS:
        elapsed = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            errors = train(algorithm, eta, x, y, np.random.default_rng(seed + 1))
            elapsed = min(elapsed, time.process_time() - start)
        print(f"{name} {len(y)} {elapsed / len(y) * 1e6:.2f} {errors[-min(500, len(y)):].mean():.3f}")


if __name__ == "__main__":
    main()
