"""The crossprop paper's image learner (784-1024-10 tanh/softmax, one example a step) in numpy and
in JAX, on the first Fashion-MNIST training images, for tools/bench/run's comparison with Swift.

    python3 classifier_numpy_jax.py numpy STEPS [ALGORITHM ...]
    python3 classifier_numpy_jax.py jax STEPS [ALGORITHM ...]

Prints one line per algorithm: "ALGORITHM STEPS µs_per_example". The updates are the ones
notes/geoff-spec.md gives (and TrainingCore implements): backprop is SGD on the cross-entropy,
adam is TF1's Adam (bias-corrected step size, every parameter steps), crossprop-approx is eqn 8
with eta = 0 (h_jk <- h_jk (1 - alpha phi_j^2) + alpha delta_k; the hidden units' signal is
sum_k delta_k phi_j h_jk). Written as a numpy or JAX user would: dense float32 arrays, one example
a step. JAX runs the whole stream as one jit-compiled lax.scan (no Python dispatch per example)
and, separately, a jit-compiled step called per example; the faster counts. Both are pinned to
one thread by the caller's environment (tools/bench/run).
"""

import gzip
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"
HIDDEN, CLASSES, ALPHA = 1024, 10, 0.0005
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


def images(count):
    with gzip.open(f"{DATA}/train-images-idx3-ubyte.gz") as f:
        pixels = f.read()[16 : 16 + count * 784]
    with gzip.open(f"{DATA}/train-labels-idx1-ubyte.gz") as f:
        labels = f.read()[8 : 8 + count]
    return pixels, labels


def initial(np):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(shape).astype(np.float32) for shape in ((784, HIDDEN), (HIDDEN,), (HIDDEN, CLASSES), (CLASSES,))]


def hidden_signal(algorithm, phi, delta, w, h):
    """The hidden units' error signal s_j (1 - phi_j^2), and crossprop-approx's next traces h
    (h unchanged otherwise); numpy or JAX arrays alike."""
    derivative = 1 - phi * phi
    if algorithm == "crossprop-approx":
        signal = (h @ delta) * phi
        h = h * (1 - ALPHA * phi * phi)[:, None] + ALPHA * delta[None, :]
    else:
        signal = w @ delta
    return signal * derivative, h


def run_numpy(steps, algorithms):
    import numpy as np

    pixels, labels = images(steps)
    x_all = np.frombuffer(pixels, dtype=np.uint8).reshape(steps, 784).astype(np.float32) / 255
    y_all = np.frombuffer(labels, dtype=np.uint8)
    for algorithm in algorithms:
        u, b, w, c = initial(np)
        m = [np.zeros_like(p) for p in (u, b, w, c)]
        v = [np.zeros_like(p) for p in (u, b, w, c)]
        h = np.zeros((HIDDEN, CLASSES), np.float32)
        start = time.process_time()
        for t in range(steps):
            x, y = x_all[t], y_all[t]
            phi = np.tanh(x @ u + b)
            logits = phi @ w + c
            p = np.exp(logits - logits.max())
            p /= p.sum()
            delta = -p
            delta[y] += 1
            g_hidden, h = hidden_signal(algorithm, phi, delta, w, h)
            if algorithm == "adam":
                grads = (-np.outer(x, g_hidden), -g_hidden, -np.outer(phi, delta), -delta)
                rate = ALPHA * np.sqrt(1 - BETA2 ** (t + 1)) / (1 - BETA1 ** (t + 1))
                for i, (param, grad) in enumerate(zip((u, b, w, c), grads)):
                    m[i] *= BETA1
                    m[i] += (1 - BETA1) * grad
                    v[i] *= BETA2
                    v[i] += (1 - BETA2) * grad * grad
                    param -= rate * m[i] / (np.sqrt(v[i]) + EPSILON)
            else:
                u += ALPHA * np.outer(x, g_hidden)
                b += ALPHA * g_hidden
                w += ALPHA * np.outer(phi, delta)
                c += ALPHA * delta
        seconds = time.process_time() - start
        print(f"{algorithm} {steps} {seconds / steps * 1e6:.2f}")


def run_jax(steps, algorithms):
    import jax
    import jax.numpy as jnp
    import numpy as np

    pixels, labels = images(steps)
    xs = jnp.asarray(np.frombuffer(pixels, dtype=np.uint8).reshape(steps, 784).astype(np.float32) / 255)
    ys = jnp.asarray(np.frombuffer(labels, dtype=np.uint8).astype(np.int32))

    def make_step(algorithm):
        def step(state, example):
            (u, b, w, c), (m, v), h, t = state
            x, y = example
            phi = jnp.tanh(x @ u + b)
            logits = phi @ w + c
            p = jax.nn.softmax(logits)
            delta = jax.nn.one_hot(y, CLASSES, dtype=jnp.float32) - p
            g_hidden, h = hidden_signal(algorithm, phi, delta, w, h)
            if algorithm == "adam":
                grads = (-jnp.outer(x, g_hidden), -g_hidden, -jnp.outer(phi, delta), -delta)
                t = t + 1
                rate = ALPHA * jnp.sqrt(1 - BETA2**t) / (1 - BETA1**t)
                m = tuple(BETA1 * mi + (1 - BETA1) * g for mi, g in zip(m, grads))
                v = tuple(BETA2 * vi + (1 - BETA2) * g * g for vi, g in zip(v, grads))
                params = tuple(p_ - rate * mi / (jnp.sqrt(vi) + EPSILON) for p_, mi, vi in zip((u, b, w, c), m, v))
            else:
                params = (
                    u + ALPHA * jnp.outer(x, g_hidden),
                    b + ALPHA * g_hidden,
                    w + ALPHA * jnp.outer(phi, delta),
                    c + ALPHA * delta,
                )
            return (params, (m, v), h, t), None

        return step

    for algorithm in algorithms:
        params = tuple(jnp.asarray(p) for p in initial(np))
        moments = tuple(tuple(jnp.zeros_like(p) for p in params) for _ in range(2))
        state0 = (params, moments, jnp.zeros((HIDDEN, CLASSES), jnp.float32), jnp.float32(0))
        step = make_step(algorithm)

        scan = jax.jit(lambda s, xs, ys: jax.lax.scan(step, s, (xs, ys))[0])
        jax.block_until_ready(scan(state0, xs[:2], ys[:2]))  # compile for 2 ...
        jax.block_until_ready(scan(state0, xs, ys))  # ... and for the whole stream
        start = time.process_time()
        jax.block_until_ready(scan(state0, xs, ys))
        scanned = time.process_time() - start

        single = jax.jit(step, donate_argnums=0)
        state = single(state0, (xs[0], ys[0]))[0]
        jax.block_until_ready(state)
        start = time.process_time()
        for t in range(steps):
            state = single(state, (xs[t], ys[t]))[0]
        jax.block_until_ready(state)
        looped = time.process_time() - start
        print(f"{algorithm} {steps} {min(scanned, looped) / steps * 1e6:.2f} scan={scanned / steps * 1e6:.2f} loop={looped / steps * 1e6:.2f}")


if __name__ == "__main__":
    kind, steps = sys.argv[1], int(sys.argv[2])
    algorithms = sys.argv[3:] or ["backprop", "adam", "crossprop-approx"]
    (run_numpy if kind == "numpy" else run_jax)(steps, algorithms)
