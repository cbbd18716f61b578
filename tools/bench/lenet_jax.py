"""One pretraining minibatch step of a LeNet in JAX (jit, CPU), for tools/bench/convnet's
comparison with Swift: forward, mean softmax cross-entropy, backward and SGD with momentum 0.5 at
0.01 on batches of 64 of Fashion-MNIST's first training images (pixels / 255), NCHW.

    python3 lenet_jax.py STEPS [paper|smoke ...]

Prints "lenet-NAME STEPS µs_per_step" per network after 5 untimed steps (compilation included in
those). Written as a JAX user would: jax.grad of the loss, one jit-compiled step with donated
buffers. The caller pins it to one thread (XLA_FLAGS, taskset).
"""

import gzip
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"
SHAPES = {"paper": (20, 50, 500), "smoke": (6, 12, 64)}


def data(count):
    with gzip.open(f"{DATA}/train-images-idx3-ubyte.gz") as f:
        pixels = np.frombuffer(f.read()[16 : 16 + count * 784], dtype=np.uint8)
    with gzip.open(f"{DATA}/train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read()[8 : 8 + count], dtype=np.uint8)
    return (pixels.reshape(count, 1, 28, 28) / 255).astype(np.float32), labels.astype(np.int32)


def init(name, key):
    c1, c2, hidden = SHAPES[name]
    shapes = [(c1, 1, 5, 5), (c1,), (c2, c1, 5, 5), (c2,), (hidden, c2 * 16), (hidden,), (10, hidden), (10,)]
    fans = [25, 25, c1 * 25, c1 * 25, c2 * 16, c2 * 16, hidden, hidden]
    keys = jax.random.split(key, len(shapes))
    return [jax.random.uniform(k, s, jnp.float32, -1, 1) / np.sqrt(f) for k, s, f in zip(keys, shapes, fans)]


def logits(params, x):
    w1, b1, w2, b2, w3, b3, w4, b4 = params
    dims = ("NCHW", "OIHW", "NCHW")
    pool = lambda y: jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    y = jax.lax.conv_general_dilated(x, w1, (1, 1), "VALID", dimension_numbers=dims) + b1[None, :, None, None]
    y = pool(jax.nn.relu(y))
    y = jax.lax.conv_general_dilated(y, w2, (1, 1), "VALID", dimension_numbers=dims) + b2[None, :, None, None]
    y = pool(jax.nn.relu(y)).reshape(x.shape[0], -1)
    y = jax.nn.relu(y @ w3.T + b3)
    return y @ w4.T + b4


def loss(params, x, labels):
    z = logits(params, x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), labels[:, None], axis=1))


def step(params, velocity, x, labels):
    value, grads = jax.value_and_grad(loss)(params, x, labels)
    velocity = [0.5 * v + g for v, g in zip(velocity, grads)]
    params = [p - 0.01 * v for p, v in zip(params, velocity)]
    return params, velocity, value


def main():
    steps = int(sys.argv[1])
    names = sys.argv[2:] or ["paper", "smoke"]
    images, labels = data(64 * 64)
    batches = [(jnp.asarray(images[k * 64 : (k + 1) * 64]), jnp.asarray(labels[k * 64 : (k + 1) * 64])) for k in range(64)]
    for name in names:
        params = init(name, jax.random.PRNGKey(1))
        velocity = [jnp.zeros_like(p) for p in params]
        update = jax.jit(step, donate_argnums=(0, 1))
        for k in range(5):
            params, velocity, value = update(params, velocity, *batches[k % 64])
        value.block_until_ready()
        start = time.perf_counter()
        for k in range(5, 5 + steps):
            params, velocity, value = update(params, velocity, *batches[k % 64])
        value.block_until_ready()
        elapsed = time.perf_counter() - start
        print(f"lenet-{name} {steps} {elapsed / steps * 1e6:.1f}")


main()
