"""Boot then delete N servers on a real `taskvisor all-in-one` (fake driver,
no fake delays) and print lifecycle tasks/s, per-task latency and RSS.

    python benchmarks/boot_delete.py [--servers 200] [--clients 16]
    python benchmarks/boot_delete.py --distributed      # PostgreSQL + RabbitMQ, 2 conductors, 2 computes
    python benchmarks/boot_delete.py --takeover 50      # kill a conductor holding 50 running tasks

Latency is the task's own created_at → finished_at (queueing included);
throughput is all tasks over the wall time from the first request to the
last task finished. Targets: ≥ 100 tasks/s and ≤ 150 MB RSS idle all-in-one; ≥ 50 tasks/s
distributed. The takeover figure is the time from SIGKILL of a conductor
holding N running tasks until another conductor holds all of them.
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
from tests.dbs import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.procs import Cluster, all_in_one  # noqa: E402
from tests.services import RABBIT_URL  # noqa: E402

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
    parser.add_argument("--distributed", action="store_true", help="PostgreSQL + RabbitMQ, separate processes")
    parser.add_argument("--takeover", type=int, metavar="N", help="measure a takeover of N running tasks")
    args = parser.parse_args()
    if args.takeover:
        return takeover(args.takeover)
    with tempfile.TemporaryDirectory() as data_dir:
        if not args.distributed:
            proc = all_in_one(data_dir, env={"TASKVISOR_FAKE__SPAWN_SECONDS": "0"}).start()
            try:
                run(proc.base_url, [proc.proc.pid], args, "all-in-one")
            finally:
                proc.stop()
            return
        url = create_postgres_database()
        cluster = Cluster(data_dir, url, RABBIT_URL, env={"TASKVISOR_CONDUCTOR__LEASE_SECONDS": "4"}).start(2, 2)
        try:
            run(cluster.api.base_url, [p.proc.pid for p in cluster.all], args,
                "distributed (API, 2 conductors, 2 computes; PostgreSQL + RabbitMQ)")
        finally:
            cluster.stop()
            drop_postgres_database(url)


def takeover(n: int) -> None:
    """Start one conductor, let it claim n slow boots, start a second, kill
    the first, and time until the second holds all n."""
    from sqlalchemy import create_engine, text
    url = create_postgres_database()
    with tempfile.TemporaryDirectory() as data_dir:
        cluster = Cluster(data_dir, url, RABBIT_URL, env={
            "TASKVISOR_CONDUCTOR__WORKERS": str(n + 8), "TASKVISOR_COMPUTE__WORKERS": str(n + 8),
            "TASKVISOR_FAKE__SPAWN_SECONDS": "60", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "90",
            "TASKVISOR_CONDUCTOR__LEASE_SECONDS": "4"}).start(conductors=1, computes=1)
        engine = create_engine(url)

        def held_by(owner: str) -> int:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM tasks WHERE status = 'running' AND owner = :o"),
                                    {"o": owner}).scalar()
        try:
            api = httpx.Client(base_url=cluster.api.base_url, timeout=30)
            image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
            for i in range(n):
                api.post(f"{COMPUTE}/servers", json={"server": {"name": f"t{i}", "flavorRef": "1",
                                                                 "imageRef": image}}).raise_for_status()
            deadline = time.monotonic() + 120
            while held_by("conductor-1") < n:
                if time.monotonic() > deadline:
                    raise SystemExit("conductor-1 never held every task")
                time.sleep(0.2)
            cluster.add_conductor("conductor-2")
            time.sleep(3)  # let it start and idle
            cluster.conductors["conductor-1"].kill()
            killed = time.monotonic()
            while held_by("conductor-2") < n:
                if time.monotonic() - killed > 120:
                    raise SystemExit(f"only {held_by('conductor-2')} of {n} taken over after 120 s")
                time.sleep(0.05)
            took = time.monotonic() - killed
            print(f"takeover: {n} running tasks of a SIGKILLed conductor held by another after {took:.2f} s "
                  f"(lease 4 s, poll 1 s)")
        finally:
            engine.dispose()
            cluster.stop()
            drop_postgres_database(url)


def run(base_url: str, pids: list[int], args, label: str) -> None:
    api = httpx.Client(base_url=base_url, timeout=30)
    image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    procs = [psutil.Process(pid) for pid in pids]
    time.sleep(1)
    rss_idle = sum(p.memory_info().rss for p in procs) / 2**20

    def rel(url: str) -> str:
        return url.split(base_url, 1)[1]

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
    rss_after = sum(p.memory_info().rss for p in procs) / 2**20
    tasks = boots + deletes
    failed = [t for t in tasks if t["status"] != "succeeded"]
    lat = {name: [(parse(t["finished_at"]) - parse(t["created_at"])).total_seconds() * 1000 for t in group]
           for name, group in (("boot", boots), ("delete", deletes))}
    print(f"taskvisor {label}, fake driver, {args.servers} servers, {args.clients} API clients")
    print(f"  lifecycle tasks      {len(tasks)} ({len(failed)} not succeeded)")
    print(f"  throughput           {len(tasks) / wall:.1f} tasks/s  (wall {wall:.2f} s)")
    for name, values in lat.items():
        print(f"  {name:<6} latency       p50 {statistics.median(values):.1f} ms   p95 {pct(values, 95):.1f} ms")
    print(f"  RSS idle             {rss_idle:.1f} MB ({len(procs)} process{'es' if len(procs) > 1 else ''})")
    print(f"  RSS after the run    {rss_after:.1f} MB")


if __name__ == "__main__":
    main()
