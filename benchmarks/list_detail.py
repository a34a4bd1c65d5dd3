"""The big lists on a real `taskvisor all-in-one`: `GET /servers/detail`,
`/servers`, `/baremetal/v1/nodes/detail` and `/nodes` at N servers and N
nodes (default 1,000 each), sequential keep-alive requests; prints p50/p95
wall and the all-in-one's CPU per request, and its RSS idle at start-up.

    python benchmarks/list_detail.py [--count 1000] [--samples 30]
    python benchmarks/list_detail.py --data-dir DIR --port 18777 [--dump FILE]

With ``--data-dir`` the servers and nodes are created only when the
directory has none yet, and the directory is kept: two trees (before and
after a change) can then be measured, alternated, on the same rows, and
with a fixed ``--port`` (links carry it) ``--dump`` writes each list's body
so the two trees' answers can be compared byte for byte.

A benchmark: it prints figures and asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
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
UNLIMITED = {"TASKVISOR_QUOTA__INSTANCES": "-1", "TASKVISOR_QUOTA__CORES": "-1", "TASKVISOR_QUOTA__RAM": "-1"}
BAREMETAL = {"X-OpenStack-Ironic-API-Version": "1.86"}
NOVA = {"OpenStack-API-Version": "compute 2.100"}
# (label, path, headers): each list at the newest microversion the benchmark clients use
LISTS = (("servers/detail", f"{COMPUTE}/servers/detail", NOVA),
         ("servers/detail 2.1", f"{COMPUTE}/servers/detail", {}),
         ("servers", f"{COMPUTE}/servers", NOVA),
         ("nodes/detail", "/baremetal/v1/nodes/detail", BAREMETAL),
         ("nodes", "/baremetal/v1/nodes", BAREMETAL))


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def populate(api: httpx.Client, count: int) -> None:
    """``count`` ACTIVE servers and ``count`` enrolled fake-hardware nodes,
    unless they are there already."""
    have = len(api.get(f"{COMPUTE}/servers").json()["servers"])
    image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]

    def boot(i: int) -> None:
        api.post(f"{COMPUTE}/servers", json={"server": {
            "name": f"list-{i}", "flavorRef": "1", "imageRef": image, "networks": "none",
            "metadata": {"role": "bench"}}}).raise_for_status()

    def node(i: int) -> None:
        api.post("/baremetal/v1/nodes", headers=BAREMETAL, json={
            "driver": "fake-hardware", "name": f"list-{i:05d}", "properties": {"cpus": 8, "memory_mb": 4096},
            "driver_info": {"ipmi_address": "10.0.0.1", "ipmi_password": "secret"},
            "extra": {"rack": str(i % 10)}}).raise_for_status()

    nodes = len(api.get("/baremetal/v1/nodes", headers=BAREMETAL).json()["nodes"])
    with cf.ThreadPoolExecutor(16) as pool:
        list(pool.map(boot, range(have, count)))
        list(pool.map(node, range(nodes, count)))
    deadline = time.monotonic() + 600
    while api.get(f"{COMPUTE}/servers?status=BUILD&limit=1").json()["servers"]:
        if time.monotonic() > deadline:
            raise SystemExit("servers still building after 600 s")
        time.sleep(0.5)


def measure(api: httpx.Client, proc: psutil.Process, samples: int, dump: str | None) -> None:
    bodies = []
    for label, path, headers in LISTS:
        for _ in range(3):  # warm: first-call caches
            api.get(path, headers=headers).raise_for_status()
        times, before = [], cpu(proc)
        for _ in range(samples):
            t0 = time.perf_counter()
            resp = api.get(path, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
        used = (cpu(proc) - before) * 1000 / samples
        resp.raise_for_status()
        body = resp.content
        items = len(next(iter(resp.json().values())))
        bodies.append(f"{label} {len(body)} {hashlib.sha256(body).hexdigest()}\n".encode() + body + b"\n")
        times.sort()
        print(f"  GET {label:<20} {items:>5} items  p50 {statistics.median(times):7.1f} ms  "
              f"p95 {times[int(0.95 * (len(times) - 1))]:7.1f} ms  server CPU {used:7.1f} ms/request  "
              f"{len(body):>8} bytes  sha256 {hashlib.sha256(body).hexdigest()[:12]}", flush=True)
    if dump:
        with open(dump, "wb") as f:
            f.write(b"".join(bodies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="servers, and nodes")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--data-dir", help="kept, and reused when it holds the rows already")
    parser.add_argument("--port", type=int)
    parser.add_argument("--dump", help="write every list's body here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or tmp
        os.makedirs(data_dir, exist_ok=True)
        node = all_in_one(data_dir, port=args.port, env=UNLIMITED).start()
        try:
            proc = psutil.Process(node.proc.pid)
            time.sleep(1)
            rss = proc.memory_info().rss / 2**20
            api = httpx.Client(base_url=node.base_url, timeout=120)
            populate(api, args.count)
            print(f"taskvisor all-in-one, {args.count} servers and nodes, RSS idle at start {rss:.1f} MB, "
                  f"load {'/'.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            measure(api, proc, args.samples, args.dump)
        finally:
            node.stop()


if __name__ == "__main__":
    main()
