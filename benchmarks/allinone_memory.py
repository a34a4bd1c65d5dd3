"""Memory and start-up time of an idle `taskvisor all-in-one`: the time to
the first answer, then RSS, PSS and USS of each of its processes and their
sums, some seconds after that answer.

    python benchmarks/allinone_memory.py [--runs 3] [--settle 5] [-- EXTRA ARGS, e.g. --single-process]

RSS counts every page a process maps, shared or not, so the RSS of two
processes that share pages (a forked child) counts those pages twice. PSS
divides each shared page among the processes that map it: the PSS sum is
what the processes together take from the machine. USS is a process's
private pages (what ending it would free).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import httpx
import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.procs import all_in_one  # noqa: E402

MB = 2**20


def first_answer(url: str, proc, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the all-in-one ended (exit status {proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"no answer in {timeout} s")


def measure(extra: list[str], settle: float) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        node = all_in_one(data_dir, extra=extra)
        started = time.monotonic()
        node.start(wait_http=False)
        try:
            took = first_answer(f"{node.base_url}/compute/v2.1/", node.proc)
            del started
            time.sleep(settle)
            main = psutil.Process(node.proc.pid)
            rows = []
            for p in [main, *main.children(recursive=True)]:
                info = p.memory_full_info()
                rows.append((p.pid, p.name(), info.rss / MB, info.pss / MB, info.uss / MB))
        finally:
            node.stop()
    return {"first_answer": took, "rows": rows, "rss": sum(r[2] for r in rows), "pss": sum(r[3] for r in rows),
            "uss": sum(r[4] for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the first answer")
    parser.add_argument("extra", nargs="*", help="more all-in-one arguments (after --)")
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        r = measure(args.extra, args.settle)
        results.append(r)
        print(f"run {i + 1}: first answer {r['first_answer']:.2f} s; "
              f"RSS sum {r['rss']:.1f} MB, PSS sum {r['pss']:.1f} MB, USS sum {r['uss']:.1f} MB")
        for pid, name, rss, pss, uss in r["rows"]:
            print(f"    {pid:>7} {name:<16} RSS {rss:6.1f}  PSS {pss:6.1f}  USS {uss:6.1f} MB")
    for key, label in (("first_answer", "first answer s"), ("rss", "RSS sum MB"), ("pss", "PSS sum MB"),
                       ("uss", "USS sum MB")):
        values = [r[key] for r in results]
        print(f"{label:<15} median {statistics.median(values):.2f}  ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
