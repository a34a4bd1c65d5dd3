"""CPU of a `taskvisor api` process at idle, with no watcher and with N
clients holding the task event stream open (…/tasks?watch=true).

    python benchmarks/idle_watchers.py [--watchers 100] [--seconds 30]

The API runs alone (SQLite file, in-process bus, nothing else running), so
its CPU is the stream's cost: one poller per process looks for changed tasks
every [api] watch_poll_interval (0.5 s) for every watcher at once, and each
idle watcher gets a keep-alive comment every 15 s. Target: 100 watchers
under 5 % of one core. Printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.procs import TaskvisorProcess, free_port  # noqa: E402


def cpu_percent(proc: psutil.Process, seconds: float) -> float:
    before = proc.cpu_times()
    time.sleep(seconds)
    after = proc.cpu_times()
    return 100 * ((after.user - before.user) + (after.system - before.system)) / seconds


async def hold(url: str, opened: list) -> None:
    async with httpx.AsyncClient(timeout=None) as client:
        async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as resp:
            assert resp.status_code == 200
            opened.append(1)
            async for _ in resp.aiter_lines():
                pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="tv-watch-")
    subprocess.run([sys.executable, "-m", "taskvisor.cli", "db", "upgrade", "--data-dir", data], check=True,
                   capture_output=True)
    port = free_port()
    api = TaskvisorProcess(["api", "--data-dir", data, "--port", str(port)], os.path.join(data, "api.log"), port=port)
    api.start()
    try:
        proc = psutil.Process(api.proc.pid)
        time.sleep(2)
        idle = cpu_percent(proc, args.seconds)
        print(f"no watcher:      {idle:5.2f} % of one core over {args.seconds:.0f} s")

        url = f"{api.base_url}/compute/v2.1/tasks?watch=true&all_tenants=1"
        opened: list = []
        loop = asyncio.new_event_loop()

        async def run_all():
            await asyncio.gather(*(hold(url, opened) for _ in range(args.watchers)))

        watchers = loop.create_task(run_all())
        # asyncio.wait: the end of the measurement cancels the watchers, which is no error
        thread = threading.Thread(target=lambda: loop.run_until_complete(asyncio.wait([watchers])), daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while len(opened) < args.watchers and time.monotonic() < deadline:
            time.sleep(0.1)
        print(f"watchers open:   {len(opened)}")
        time.sleep(2)
        watched = cpu_percent(proc, args.seconds)
        print(f"{args.watchers} watchers:    {watched:5.2f} % of one core over {args.seconds:.0f} s "
              f"(+{watched - idle:.2f} points)")
        print(f"API RSS: {proc.memory_info().rss / 2**20:.0f} MB")
        # the watchers are cancelled (their streams closed) before the API stops
        loop.call_soon_threadsafe(watchers.cancel)
        thread.join(timeout=30)
    finally:
        api.stop()


if __name__ == "__main__":
    main()
