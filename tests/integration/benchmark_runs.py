"""Running a benchmark script as a user would, for the tests that keep
every script in benchmarks/ working (a benchmark nobody runs rots: the
takeover run was refused by Nova's default quota for weeks). The tests
check that a script ends well and prints its figures, never the figures'
values: speed lives in the benchmarks, not in assertions."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import psutil

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_benchmark(script: str, *args: str, timeout: float = 600) -> str:
    """Run ``benchmarks/<script>`` with this interpreter from the repository's
    root; its output, once it exited 0. A script past ``timeout`` gets
    SIGINT (its ``finally`` blocks stop what it started), then whatever is
    left of it and its processes is killed."""
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.Popen([sys.executable, os.path.join("benchmarks", script), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise
    assert proc.returncode == 0, f"{script} {' '.join(args)} exited {proc.returncode}:\n{out[-4000:]}"
    return out


def _stop(proc: subprocess.Popen) -> None:
    started = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    for child in started:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def figure(output: str, pattern: str) -> float:
    """The number a figure's line shows (``pattern`` has one group for it)."""
    found = re.search(pattern, output)
    assert found, f"no line matching {pattern!r} in:\n{output[-4000:]}"
    return float(found.group(1))
