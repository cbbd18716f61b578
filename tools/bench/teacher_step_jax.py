"""One inner meta-training step of the multi-task-teacher paper in JAX (jit, CPU), for
tools/bench/convnet's comparison with Swift's TeacherGuidedStep: the smoke LeNet student and teacher
(union head of 10 classes), per-layer meta-learners of 2 LSTM layers of 16 units on the two
convolutions and the hidden dense layer, batches of 64 + 64 Fashion-MNIST images, and the
first-order meta-gradient through a truncation window of K steps (meta-experiments.md §3.1d):

    teacher: w <- w - a grad CE(w; xa+xb);  student: g = grad CE(W; xb), z = [W, g, pre, post] / rms
    delta = s tanh(V relu(h) + v) from the LSTMs;  W <- W - a delta * g (steered weights), W - a g else
    L = c mean Huber(r(W) - r(w));  theta <- Adam(theta, dL/dtheta through the window, g and z fixed)

    python3 teacher_step_jax.py STEPS [WINDOW]

Prints "teacher-inner-step STEPS us_per_step" after 2 windows of untimed steps (compilation). The
window's gradient is jax.grad of L as a function of theta alone, over the recorded z_k and g_k, as a
JAX user would write it (the steps of a window are unrolled; one jit per window position).
"""

import gzip
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"
ALPHA, SCALE, HIDDEN, LAYERS = 0.05, 300.0, 16, 2


def data():
    with gzip.open(f"{DATA}/train-images-idx3-ubyte.gz") as f:
        pixels = np.frombuffer(f.read()[16 : 16 + 4096 * 784], dtype=np.uint8)
    with gzip.open(f"{DATA}/train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read()[8 : 8 + 4096], dtype=np.uint8)
    return (pixels.reshape(-1, 1, 28, 28) / 255).astype(np.float32), labels.astype(np.int32)


def student_init(key):
    shapes = [(6, 1, 5, 5), (6,), (12, 6, 5, 5), (12,), (64, 192), (64,), (10, 64), (10,)]
    fans = [25, 25, 150, 150, 192, 192, 64, 64]
    keys = jax.random.split(key, len(shapes))
    return [jax.random.uniform(k, s, jnp.float32, -1, 1) / np.sqrt(f) for k, s, f in zip(keys, shapes, fans)]


def forward(p, x):
    """Logits, representation and the activations the meta-learner's inputs need."""
    w1, b1, w2, b2, w3, b3, w4, b4 = p
    dims = ("NCHW", "OIHW", "NCHW")
    pool = lambda y: jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    a1 = jax.nn.relu(jax.lax.conv_general_dilated(x, w1, (1, 1), "VALID", dimension_numbers=dims) + b1[None, :, None, None])
    p1 = pool(a1)
    a2 = jax.nn.relu(jax.lax.conv_general_dilated(p1, w2, (1, 1), "VALID", dimension_numbers=dims) + b2[None, :, None, None])
    p2 = pool(a2).reshape(x.shape[0], -1)
    r = jax.nn.relu(p2 @ w3.T + b3)
    return r @ w4.T + b4, r, (x, p1, p2), (a1, a2, r)


def cross_entropy(p, x, y):
    z = forward(p, x)[0]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1))


def rms_scaled(v):
    return v / jnp.maximum(jnp.sqrt(jnp.mean(v * v)), 1e-30)


def meta_inputs(p, g, pres, posts):
    """z per neuron of the three steered layers (weights at indices 0, 2, 4)."""
    out = []
    for index, pre, post in zip((0, 2, 4), pres, posts):
        w, gw = p[index].reshape(p[index].shape[0], -1), g[index].reshape(g[index].shape[0], -1)
        pre_mean = pre.mean(axis=(0, 2, 3)) if pre.ndim == 4 else pre.mean(axis=0)
        post_mean = post.mean(axis=(0, 2, 3)) if post.ndim == 4 else post.mean(axis=0)
        n = w.shape[0]
        out.append(jnp.concatenate([rms_scaled(w), rms_scaled(gw), jnp.broadcast_to(rms_scaled(pre_mean), (n, pre_mean.size)),
                                    rms_scaled(post_mean)[:, None]], axis=1))
    return out


def meta_init(key, inputs, outputs):
    params = []
    for l in range(LAYERS):
        key, k1, k2 = jax.random.split(key, 3)
        width = (inputs if l == 0 else HIDDEN) + HIDDEN
        bound = 1 / np.sqrt(HIDDEN)
        params.append((jax.random.uniform(k1, (4 * HIDDEN, width), jnp.float32, -bound, bound),
                       jax.random.uniform(k2, (4 * HIDDEN,), jnp.float32, -bound, bound)))
    return params, jnp.zeros((outputs, HIDDEN)), jnp.ones((outputs,)), jnp.array(1 / np.tanh(1), jnp.float32)


def meta_step(theta, z, state):
    lstm, v, bias, s = theta
    hs, cs = state
    x, new_h, new_c = z, [], []
    for (w, b), h, c in zip(lstm, hs, cs):
        gates = jnp.concatenate([x, h], axis=1) @ w.T + b
        i, f, gg, o = jnp.split(gates, 4, axis=1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        new_h.append(h)
        new_c.append(c)
        x = jax.nn.relu(h)
    return s * jnp.tanh(x @ v.T + bias), (new_h, new_c)


def window_loss(thetas, start_states, zs, gs, w_end, deltas0, xab, r_teacher):
    """L as a function of theta alone: W_end + a sum_k (delta_k(theta0) - delta_k(theta)) g_k."""
    p = list(w_end)
    for layer, index in enumerate((0, 2, 4)):
        state = start_states[layer]
        shift = 0
        for k in range(len(zs)):
            delta, state = meta_step(thetas[layer], zs[k][layer], state)
            shift = shift + (deltas0[k][layer] - delta) * gs[k][layer]
        p[index] = p[index] + ALPHA * shift.reshape(p[index].shape)
    r = forward(p, xab)[1]
    e = r - r_teacher
    return SCALE * jnp.mean(jnp.where(jnp.abs(e) <= 1, 0.5 * e * e, jnp.abs(e) - 0.5))


@jax.jit
def inner(student, teacher, thetas, states, xa, ya, xb, yb):
    """The forward half of an inner step: teacher and student updates, the step's z, g and delta."""
    xab, yab = jnp.concatenate([xa, xb]), jnp.concatenate([ya, yb])
    teacher = [w - ALPHA * g for w, g in zip(teacher, jax.grad(cross_entropy)(teacher, xab, yab))]
    g = jax.grad(cross_entropy)(student, xb, yb)
    _, _, pres, posts = forward(student, xb)
    zs = meta_inputs(student, g, pres, posts)
    new = [w - ALPHA * gw for w, gw in zip(student, g)]
    deltas, new_states, gsteer = [], [], []
    for layer, index in enumerate((0, 2, 4)):
        delta, state = meta_step(thetas[layer], zs[layer], states[layer])
        gl = g[index].reshape(g[index].shape[0], -1)
        new[index] = (student[index].reshape(gl.shape) - ALPHA * delta * gl).reshape(student[index].shape)
        deltas.append(delta)
        new_states.append(state)
        gsteer.append(gl)
    return new, teacher, new_states, zs, gsteer, deltas, forward(teacher, xab)[1]


def main():
    steps = int(sys.argv[1])
    window = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    images, labels = data()
    batches = [(jnp.asarray(images[k * 128 : k * 128 + 64]), jnp.asarray(labels[k * 128 : k * 128 + 64] % 5),
                jnp.asarray(images[k * 128 + 64 : k * 128 + 128]), jnp.asarray(labels[k * 128 + 64 : k * 128 + 128] % 5 + 5))
               for k in range(32)]
    student = student_init(jax.random.PRNGKey(1))
    teacher = list(student)
    thetas = [meta_init(jax.random.PRNGKey(2 + l), n, o) for l, (n, o) in enumerate([(52, 25), (307, 150), (577, 192)])]
    states = [([jnp.zeros((n, HIDDEN))] * LAYERS, [jnp.zeros((n, HIDDEN))] * LAYERS) for n in (6, 12, 64)]
    grads = [jax.jit(jax.grad(window_loss)) for _ in range(window)]
    adam_m = jax.tree_util.tree_map(jnp.zeros_like, thetas)
    adam_v = jax.tree_util.tree_map(jnp.zeros_like, thetas)

    @jax.jit
    def adam(thetas, m, v, g, t):
        m = jax.tree_util.tree_map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
        rate = 1e-3 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        return jax.tree_util.tree_map(lambda p, a, b: p - rate * a / (jnp.sqrt(b) + 1e-8), thetas, m, v), m, v

    def run(count, start):
        nonlocal student, teacher, thetas, states, adam_m, adam_v
        window_start, zs, gs, ds = states, [], [], []
        for t in range(start, start + count):
            if len(zs) == window:
                window_start, zs, gs, ds = states, [], [], []
            student, teacher, states, z, g, d, r_teacher = inner(student, teacher, thetas, states, *batches[t % 32])
            zs.append(z)
            gs.append(g)
            ds.append(d)
            xab = jnp.concatenate([batches[t % 32][0], batches[t % 32][2]])
            grad = grads[len(zs) - 1](thetas, window_start, zs, gs, student, ds, xab, r_teacher)
            thetas, adam_m, adam_v = adam(thetas, adam_m, adam_v, grad, t + 1)
        jax.block_until_ready(thetas)

    run(2 * window, 0)
    start = time.perf_counter()
    run(steps, 2 * window)
    print(f"teacher-inner-step {steps} {(time.perf_counter() - start) / steps * 1e6:.1f}")


main()
