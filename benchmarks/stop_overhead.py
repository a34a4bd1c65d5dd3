"""Time from a stop request to SHUTOFF for a process guest that shuts down at
once, and our overhead over the guest's own shutdown time (target ≤ 0.5 s;
informational, no assertions).

    .venv/bin/python benchmarks/stop_overhead.py [runs]

Runs an all-in-one cloud in this process (SQLite in a temp dir, process
driver) and drives it over its HTTP app. The guest's own time is read from
its console: from the "signal SIGTERM" line to "shutdown complete".
"""
from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from taskvisor.allinone import AllInOne  # noqa: E402
from taskvisor.config import Config  # noqa: E402

C = "/compute/v2.1"
STAMP = re.compile(r"^\[(\d+\.\d+)\] (.*)$")


def wait(client: TestClient, server_id: str, status: str) -> None:
    while True:
        server = client.get(f"{C}/servers/{server_id}").json()["server"]
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return
        time.sleep(0.002)


def guest_seconds(console: str) -> float:
    """The guest's own shutdown time in its last shutdown."""
    asked = done = None
    for line in console.splitlines():
        m = STAMP.match(line)
        if m and m.group(2) == "signal SIGTERM":
            asked = float(m.group(1))
        elif m and m.group(2).startswith("shutdown complete"):
            done = float(m.group(1))
    return done - asked


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as data_dir:
        conf = Config().copy(DEFAULT__data_dir=data_dir, compute__driver="process", DEFAULT__shutdown_timeout=10)
        node = AllInOne(conf).start()
        try:
            client = TestClient(node.app())
            image = client.post("/image/v2/images", json={"name": "quick", "disk_format": "raw",
                                                          "container_format": "bare",
                                                          "guest_shutdown_seconds": "0"}).json()["id"]
            client.put(f"/image/v2/images/{image}/file", content=b"")
            server_id = client.post(f"{C}/servers", json={"server": {"name": "bench", "flavorRef": "1",
                                                                     "imageRef": image}}).json()["server"]["id"]
            wait(client, server_id, "ACTIVE")
            totals, guests = [], []
            for _ in range(runs):
                started = time.perf_counter()
                resp = client.post(f"{C}/servers/{server_id}/action", json={"os-stop": None})
                assert resp.status_code == 202, resp.text
                wait(client, server_id, "SHUTOFF")
                totals.append(time.perf_counter() - started)
                console = node.driver.console_output(server_id)
                guests.append(guest_seconds(console))
                client.post(f"{C}/servers/{server_id}/action", json={"os-start": None})
                wait(client, server_id, "ACTIVE")
            client.delete(f"{C}/servers/{server_id}")
            overheads = [t - g for t, g in zip(totals, guests)]
            print(f"stop → SHUTOFF, process guest that shuts down at once, {runs} runs")
            for name, values in (("total", totals), ("guest's own", guests), ("our overhead", overheads)):
                print(f"  {name:13s} p50 {statistics.median(values) * 1000:7.1f} ms   "
                      f"p95 {pct(values, 95) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms")
            print(f"  target: overhead ≤ 500 ms → p95 {'within' if pct(overheads, 95) <= 0.5 else 'OVER'} target")
        finally:
            node.stop(wait=2)
            from taskvisor.virt.process import ProcessDriver
            if isinstance(node.driver, ProcessDriver):
                for sid in node.driver.list_guests():
                    node.driver.destroy(sid)


if __name__ == "__main__":
    main()
