"""A numpy learner for MetaSweep's `command` experiment: linear regression by minibatch SGD on a
synthetic task, one run per (parameters, seed).

Reads its parameters as one JSON object on standard input (the sweep's parameters plus "seed"),
prints its results as `@metasweep {...}` lines, and ends with `@metasweep {"done": true}`.
Anything else it prints is kept in the run's log.
"""
import json
import sys

import numpy as np


def report(**fields):
    print("@metasweep " + json.dumps(fields), flush=True)


def main():
    p = json.load(sys.stdin)
    rng = np.random.default_rng(p["seed"])
    dim, steps, batch = p["dim"], p["steps"], p["batch"]
    w_true = rng.normal(size=dim)
    x_test = rng.normal(size=(2000, dim))
    y_test = x_test @ w_true + p["noise"] * rng.normal(size=2000)

    w = np.zeros(dim)
    for step in range(1, steps + 1):
        x = rng.normal(size=(batch, dim))
        y = x @ w_true + p["noise"] * rng.normal(size=batch)
        error = x @ w - y
        w -= p["lr"] * (x.T @ error) / batch
        if step % p["every"] == 0:
            report(point="train_loss", x=step, value=float(np.mean(error**2)))
            report(point="test_mse", x=step, value=float(np.mean((x_test @ w - y_test) ** 2)))
    print(f"finished {steps} steps, |w - w*| = {np.linalg.norm(w - w_true):.4f}")
    report(metric="test_mse", value=float(np.mean((x_test @ w - y_test) ** 2)))
    report(metric="weight_error", value=float(np.linalg.norm(w - w_true)))
    report(done=True)


if __name__ == "__main__":
    main()
