"""Server CPU per API request on a real `taskvisor all-in-one`: N keep-alive
GETs, one after another, of a few cheap routes; the all-in-one's CPU time
(user + system) over those requests divided by N. It isolates what every
request pays before and after its route's own work (uvicorn's HTTP parser
and loop, the middleware, FastAPI's routing, dependencies and the thread
hand-off), which boot_delete.py mixes with the engine's. Then the two
routes a client polls an operation with: its task
(``GET /compute/v2.1/servers/{id}/tasks/{task_id}``, the X-Taskvisor-Task
URL) and the server (``GET /compute/v2.1/servers/{id}``), of one server
booted first.

    python benchmarks/request_cpu.py [--requests 1000]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time

import httpx
import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.procs import all_in_one  # noqa: E402

PATHS = ("/healthcheck", "/compute/v2.1/flavors/1", "/compute/v2.1/servers?limit=1", "/baremetal/v1/nodes?limit=1")


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        node = all_in_one(data_dir).start()
        try:
            proc = psutil.Process(node.proc.pid)
            api = httpx.Client(base_url=node.base_url)
            for path in (*PATHS, *polled(api, node.base_url)):
                for _ in range(50):  # warm: first-call compilation and caches
                    api.get(path).raise_for_status()
                before, started = cpu(proc), time.monotonic()
                for _ in range(args.requests):
                    api.get(path)
                took = time.monotonic() - started
                shown = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", path)
                print(f"GET {shown:<34} server CPU {1000 * (cpu(proc) - before) / args.requests:.3f} ms/request"
                      f"   wall {1000 * took / args.requests:.2f} ms")
        finally:
            node.stop()


def polled(api: httpx.Client, base_url: str) -> tuple[str, str]:
    """Boot one server and wait for its task: its task URL and its show."""
    image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    resp = api.post("/compute/v2.1/servers", json={"server": {"name": "polled", "flavorRef": "1", "imageRef": image,
                                                              "networks": "none"}})
    resp.raise_for_status()
    task = resp.headers["X-Taskvisor-Task"].split(base_url, 1)[1]
    deadline = time.monotonic() + 120
    while api.get(task).json()["task"]["status"] not in ("succeeded", "failed"):
        if time.monotonic() > deadline:
            raise SystemExit("the boot did not finish in 120 s")
        time.sleep(0.1)
    return task, f"/compute/v2.1/servers/{resp.json()['server']['id']}"


if __name__ == "__main__":
    main()
