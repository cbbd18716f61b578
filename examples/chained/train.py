"""A long-running numpy learner that MetaSweep can stop and continue: the chained version of
examples/python/sgd.py (linear regression by minibatch SGD).

Every `save_every` steps it saves its whole state (weights, step and random generator) to
state.npz in its working folder and says so with a checkpoint line. In a sweep with
`segment_steps`, its parameters hold `stop_at_step`: it exits after its first checkpoint there or
later, MetaSweep keeps the file, and starts the program again later, on any worker, with the
file's path as `resume_from`. The program then continues exactly where it stopped and prints only
what comes after: the run's results are bit-identical to an uninterrupted run.
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
    # The task comes first from the seed, so a resumed run draws the same one.
    w_true = rng.normal(size=dim)
    x_test = rng.normal(size=(2000, dim))
    y_test = x_test @ w_true + p["noise"] * rng.normal(size=2000)

    w = np.zeros(dim)
    start = 0
    if "resume_from" in p:
        with np.load(p["resume_from"]) as saved:
            w = saved["w"]
            start = int(saved["step"])
            rng.bit_generator.state = json.loads(str(saved["rng"]))
        print(f"resumed at step {start}")

    for step in range(start + 1, steps + 1):
        x = rng.normal(size=(batch, dim))
        y = x @ w_true + p["noise"] * rng.normal(size=batch)
        error = x @ w - y
        w -= p["lr"] * (x.T @ error) / batch
        if step % p["every"] == 0:
            report(point="train_loss", x=step, value=float(np.mean(error**2)))
            report(point="test_mse", x=step, value=float(np.mean((x_test @ w - y_test) ** 2)))
        if step % p["save_every"] == 0 and step < steps:
            np.savez("state.npz", w=w, step=step, rng=json.dumps(rng.bit_generator.state))
            report(checkpoint="state.npz", step=step, total=steps)
            if step >= p.get("stop_at_step", steps):
                return  # this segment is over; the next one resumes from state.npz
    report(metric="test_mse", value=float(np.mean((x_test @ w - y_test) ** 2)))
    report(metric="weight_error", value=float(np.linalg.norm(w - w_true)))
    report(done=True)


if __name__ == "__main__":
    main()
