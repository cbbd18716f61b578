"""The operating system's floor under any message between two processes: a pipe round trip.

This process writes one byte to a pipe, a forked child reads it and writes it back on another;
prints the median over REPEATS batches of the mean round trip of N such exchanges, in
microseconds. Each exchange wakes the child and then this process once: two wake-ups, nothing else.
A libzmq message costs more wake-ups (the sender's I/O thread, the receiver's I/O thread, the
receiver), which is what `tools/bench/zmq_rtt.py` measures beside it.

    python3 tools/bench/pipe_rtt.py [N] [REPEATS]
"""
import os
import statistics
import sys
import time


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    to_child, from_parent = os.pipe()
    to_parent, from_child = os.pipe()
    pid = os.fork()
    if pid == 0:
        while True:
            byte = os.read(to_child, 1)
            if byte in (b"", b"q"):
                os._exit(0)
            os.write(from_child, byte)
    means = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            os.write(from_parent, b"x")
            os.read(to_parent, 1)
        means.append((time.perf_counter() - start) / n * 1e6)
    os.write(from_parent, b"q")
    os.waitpid(pid, 0)
    print(f"{statistics.median(means):.1f}")


if __name__ == "__main__":
    main()
