"""Concurrency for tests: the same call from many threads at one moment."""
from __future__ import annotations

import threading


def together(n: int, fn) -> list:
    """fn() in n threads released at the same moment; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
