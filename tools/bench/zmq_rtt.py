"""A bare libzmq round trip, the floor under a round of `metasweep` rounds.

A DEALER in this process sends BYTES bytes to a ROUTER in a child process, which sends them back;
prints the median over REPEATS batches of the mean round trip of N messages, in microseconds.
Plaintext over loopback TCP (metasweep's local workers add CURVE on top).

    python3 tools/bench/zmq_rtt.py [N] [BYTES] [REPEATS]
"""
import multiprocessing
import statistics
import sys
import time

import zmq


def echo(endpoint: str) -> None:
    socket = zmq.Context().socket(zmq.ROUTER)
    socket.bind(endpoint)
    while True:
        frames = socket.recv_multipart()
        if frames[1] == b"quit":
            return
        socket.send_multipart(frames)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    endpoint = "tcp://127.0.0.1:5799"
    server = multiprocessing.Process(target=echo, args=(endpoint,))
    server.start()
    socket = zmq.Context().socket(zmq.DEALER)
    socket.connect(endpoint)
    payload = b"x" * size
    for _ in range(200):
        socket.send(payload)
        socket.recv()
    means = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            socket.send(payload)
            socket.recv()
        means.append((time.perf_counter() - start) / n * 1e6)
    socket.send(b"quit")
    server.join()
    print(f"{statistics.median(means):.1f}")


if __name__ == "__main__":
    main()
