"""The gradient-reconstruction predictor's passes in JAX (jit, CPU) and numpy, for tools/bench/predictor.

    python predictor_jax.py smoke|paper repeats

The predictor h(u) is an MLP 1-H-...-1 (ReLU, linear output) applied to every one of P scalar
coordinates, in chunks of 16,384 (as MetaSweep runs it). Times the fastest of `repeats` forward
passes and forward-and-backward passes of the mean squared error over all P, and prints
"NAME-PASS P ms GFLOP/s" with the FLOPs counted as the Swift benchmark counts them.
"""
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

shape, repeats = sys.argv[1], int(sys.argv[2])
hidden, count = ([256, 256, 256], 335_114) if shape == "paper" else ([32, 32], 17_418)
widths = [1] + hidden + [1]
forward_macs = sum(widths[l - 1] * widths[l] for l in range(1, len(widths)))
backward_macs = sum(widths[l - 1] * widths[l] * (1 if l == 1 else 2) for l in range(1, len(widths)))
chunk = 16_384
rng = np.random.default_rng(1)
params = []
for l in range(1, len(widths)):
    bound = 1 / np.sqrt(widths[l - 1])
    params.append(
        (
            rng.uniform(-bound, bound, (widths[l - 1], widths[l])).astype(np.float32),
            rng.uniform(-bound, bound, (widths[l],)).astype(np.float32),
        )
    )
inputs = (rng.standard_normal(count) * 0.05).astype(np.float32)
targets = rng.standard_normal(count).astype(np.float32)
chunks = [(inputs[s : s + chunk, None], targets[s : s + chunk, None]) for s in range(0, count, chunk)]


def mlp(params, x):
    for k, (w, b) in enumerate(params):
        x = x @ w + b
        if k < len(params) - 1:
            x = jax.nn.relu(x)
    return x


forward = jax.jit(mlp)


def chunk_loss(params, x, y):
    return jnp.sum((mlp(params, x) - y) ** 2) / count


grad = jax.jit(jax.value_and_grad(chunk_loss))
jparams = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params]
jchunks = [(jnp.asarray(x), jnp.asarray(y)) for x, y in chunks]


def jax_forward():
    return [forward(jparams, x).block_until_ready() for x, _ in jchunks]


def jax_both():
    total = None
    for x, y in jchunks:
        _, g = grad(jparams, x, y)
        total = g if total is None else jax.tree_util.tree_map(jnp.add, total, g)
    jax.tree_util.tree_map(lambda a: a.block_until_ready(), total)


def np_forward(x):
    activations = [x]
    for k, (w, b) in enumerate(params):
        x = x @ w + b
        if k < len(params) - 1:
            x = np.maximum(x, 0)
        activations.append(x)
    return activations


def numpy_forward():
    for x, _ in chunks:
        np_forward(x)


def numpy_both():
    grads = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    for x, y in chunks:
        acts = np_forward(x)
        upstream = 2 * (acts[-1] - y) / count
        for k in range(len(params) - 1, -1, -1):
            w, _ = params[k]
            grads[k][0][...] += acts[k].T @ upstream
            grads[k][1][...] += upstream.sum(axis=0)
            if k > 0:
                upstream = (upstream @ w.T) * (acts[k] > 0)


def best(body):
    body()
    fastest = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


for name, body, macs in [
    (f"jax-{shape}-forward", jax_forward, forward_macs),
    (f"jax-{shape}-fwdbwd", jax_both, forward_macs + backward_macs),
    (f"numpy-{shape}-forward", numpy_forward, forward_macs),
    (f"numpy-{shape}-fwdbwd", numpy_both, forward_macs + backward_macs),
]:
    seconds = best(body)
    print(f"{name}  {count}  {1000 * seconds:.3f}  {2 * macs * count / seconds / 1e9:.2f}")
