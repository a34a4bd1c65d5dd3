"""Round-trip latency of 1000 sequential calls per transport (informational, no assertions).

    .venv/bin/python benchmarks/rpc_roundtrip.py [amqp-url]
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kombu import Connection, Queue  # noqa: E402

from taskvisor.rpc.base import Transport  # noqa: E402
from taskvisor.rpc.inprocess import InProcessTransport  # noqa: E402

CALLS = 1000


class Echo:
    def echo(self, value):
        return value


def measure(transport: Transport, topic: str) -> list[float]:
    server = transport.serve(topic, Echo(), workers=8)
    transport.call(topic, "echo", {"value": 0}, timeout=10)  # warm up: connections, reply queue
    samples = []
    for i in range(CALLS):
        start = time.perf_counter()
        transport.call(topic, "echo", {"value": i}, timeout=10)
        samples.append((time.perf_counter() - start) * 1000)
    server.stop()
    server.wait(10)
    return samples


def report(name: str, samples: list[float]) -> None:
    p95 = statistics.quantiles(samples, n=100)[94]
    print(f"{name:10} median {statistics.median(samples):7.3f} ms   p95 {p95:7.3f} ms   ({len(samples)} calls)")


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "TASKVISOR_TEST_RABBIT", "amqp://guest:guest@127.0.0.1:5672//")
    report("inprocess", measure(InProcessTransport(), "bench"))

    from taskvisor.rpc.amqp import KombuTransport
    topic = f"bench-{uuid.uuid4().hex}"
    transport = KombuTransport(url)
    try:
        report("amqp", measure(transport, topic))
    finally:
        transport.close()
        with Connection(url) as conn:
            Queue(topic)(conn.channel()).delete()


if __name__ == "__main__":
    main()
