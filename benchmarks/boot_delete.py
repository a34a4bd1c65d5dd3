"""Boot then delete N servers on a real `taskvisor all-in-one` (fake driver,
no fake delays) and print lifecycle tasks/s, per-task latency and RSS.

    python benchmarks/boot_delete.py [--servers 200] [--clients 16]

Latency is the task's own created_at → finished_at (queueing included);
throughput is all tasks over the wall time from the first request to the
last task finished. Targets (issue 2): ≥ 100 tasks/s, ≤ 150 MB RSS idle.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

import httpx
import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.procs import all_in_one  # noqa: E402

COMPUTE = "/compute/v2.1"


def parse(ts: str) -> dt.datetime:
    return dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")


def wait_all(api: httpx.Client, urls: list[str], timeout: float = 600) -> list[dict]:
    """Wait with one cheap query per round (the servers' task states), then
    read each task once: polling every task would load the server we measure."""
    deadline = time.monotonic() + timeout
    while True:
        busy = [s for s in api.get(f"{COMPUTE}/servers/detail").json()["servers"]
                if s["OS-EXT-STS:task_state"] is not None]
        if not busy:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(busy)} servers still busy after {timeout}s")
        time.sleep(0.2)
    tasks = [api.get(u).json()["task"] for u in urls]
    running = [t for t in tasks if t["status"] not in ("succeeded", "failed", "reverted", "cancelled")]
    if running:
        time.sleep(0.5)
        return wait_all(api, urls, timeout)
    return tasks


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = all_in_one(data_dir, env={"TASKVISOR_FAKE__SPAWN_SECONDS": "0"}).start()
        try:
            run(proc, args)
        finally:
            proc.stop()


def run(proc, args) -> None:
    api = httpx.Client(base_url=proc.base_url, timeout=30)
    image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    ps = psutil.Process(proc.proc.pid)
    time.sleep(1)
    rss_idle = ps.memory_info().rss / 2**20

    def rel(url: str) -> str:
        return url.split(proc.base_url, 1)[1]

    def boot(i: int) -> str:
        resp = api.post(f"{COMPUTE}/servers", json={"server": {"name": f"bench-{i}", "flavorRef": "1",
                                                                "imageRef": image, "networks": "none"}})
        resp.raise_for_status()
        return rel(resp.headers["X-Taskvisor-Task"])

    def delete(url: str) -> str:
        server_id = url.split("/servers/")[1].split("/")[0]
        resp = api.delete(f"{COMPUTE}/servers/{server_id}")
        resp.raise_for_status()
        return rel(resp.headers["X-Taskvisor-Task"])

    started = time.monotonic()
    with cf.ThreadPoolExecutor(args.clients) as pool:
        boot_urls = list(pool.map(boot, range(args.servers)))
        boots = wait_all(api, boot_urls)
        delete_urls = list(pool.map(delete, boot_urls))
        deletes = wait_all(api, delete_urls)
    wall = time.monotonic() - started
    rss_after = ps.memory_info().rss / 2**20
    tasks = boots + deletes
    failed = [t for t in tasks if t["status"] != "succeeded"]
    lat = {name: [(parse(t["finished_at"]) - parse(t["created_at"])).total_seconds() * 1000 for t in group]
           for name, group in (("boot", boots), ("delete", deletes))}
    print(f"taskvisor all-in-one, fake driver, {args.servers} servers, {args.clients} API clients")
    print(f"  lifecycle tasks      {len(tasks)} ({len(failed)} not succeeded)")
    print(f"  throughput           {len(tasks) / wall:.1f} tasks/s  (wall {wall:.2f} s)")
    for name, values in lat.items():
        print(f"  {name:<6} latency       p50 {statistics.median(values):.1f} ms   p95 {pct(values, 95):.1f} ms")
    print(f"  RSS idle             {rss_idle:.1f} MB")
    print(f"  RSS after the run    {rss_after:.1f} MB")


if __name__ == "__main__":
    main()
