"""Memory and start-up time of an idle `taskvisor all-in-one`: the time to
the first answer (and the CPU its processes used until then), then RSS, PSS and USS of each of its processes and their
sums, some seconds after that answer.

    python benchmarks/allinone_memory.py [--runs 3] [--settle 5] [-- EXTRA ARGS, e.g. --single-process]

RSS counts every page a process maps, shared or not, so the RSS of two
processes that share pages (a forked child) counts those pages twice. PSS
divides each shared page among the processes that map it: the PSS sum is
what the processes together take from the machine. USS is a process's
private pages (what ending it would free). PSS's file-backed part (the
interpreter's and the extensions' code) is also divided among every other
Python on the machine that maps the same files, so it moves with what else
runs; its anonymous part (``Pss_Anon``, the heap: shared only between the
all-in-one's own processes) does not, and is printed apart.

"Resident, each page once" counts the distinct physical pages mapped by
any of the all-in-one's processes (from /proc/<pid>/pagemap, which shows
page frame numbers to root only): what the processes take together if
nothing else on the machine shared their libraries; for one process it
is its RSS. It is the figure to set against the RSS of `--single-process`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import struct
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


def pss_anon(pid: int) -> float:
    """Pss_Anon of /proc/<pid>/smaps_rollup in MB (0 where Linux does not tell)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def frames(pid: int) -> set[int]:
    """The physical page frames a process has resident (empty unless root)."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            if line.rstrip().endswith("[vsyscall]"):
                continue
            low, high = (int(x, 16) for x in line.split()[0].split("-"))
            pagemap.seek(low // 4096 * 8)
            for (entry,) in struct.iter_unpack("<Q", pagemap.read((high - low) // 4096 * 8)):
                if entry >> 63 and entry & ((1 << 55) - 1):  # present, and the frame number is shown
                    found.add(entry & ((1 << 55) - 1))
    return found


def tree_cpu(main: psutil.Process) -> float:
    """CPU seconds of a process, its live children and its reaped ones."""
    total = 0.0
    for p in [main, *main.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def measure(extra: list[str], settle: float) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        node = all_in_one(data_dir, extra=extra)
        node.start(wait_http=False)
        try:
            took = first_answer(f"{node.base_url}/compute/v2.1/", node.proc)
            cpu = tree_cpu(psutil.Process(node.proc.pid))
            time.sleep(settle)
            main = psutil.Process(node.proc.pid)
            rows, pages = [], set()
            for p in [main, *main.children(recursive=True)]:
                pages |= frames(p.pid)
                info = p.memory_full_info()
                rows.append((p.pid, p.name(), info.rss / MB, info.pss / MB, info.uss / MB, pss_anon(p.pid)))
        finally:
            node.stop()
    return {"first_answer": took, "cpu": cpu, "rows": rows, "rss": sum(r[2] for r in rows),
            "pss": sum(r[3] for r in rows), "uss": sum(r[4] for r in rows), "pss_anon": sum(r[5] for r in rows),
            "once": len(pages) * 4096 / MB}


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
        print(f"run {i + 1}: first answer {r['first_answer']:.2f} s ({r['cpu']:.2f} s of CPU); "
              f"RSS sum {r['rss']:.1f} MB, PSS sum {r['pss']:.1f} MB (anonymous {r['pss_anon']:.1f}), "
              f"USS sum {r['uss']:.1f} MB; resident, each page once: "
              + (f"{r['once']:.1f} MB" if r["once"] else "(not shown: needs root)"))
        for pid, name, rss, pss, uss, anon in r["rows"]:
            print(f"    {pid:>7} {name:<16} RSS {rss:6.1f}  PSS {pss:6.1f} (anonymous {anon:5.1f})  USS {uss:6.1f} MB")
    for key, label in (("first_answer", "first answer s"), ("cpu", "CPU to it s"), ("rss", "RSS sum MB"),
                       ("pss", "PSS sum MB"), ("pss_anon", "PSS anon MB"), ("uss", "USS sum MB"),
                       ("once", "each page once")):
        values = [r[key] for r in results]
        print(f"{label:<15} median {statistics.median(values):.2f}  ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
