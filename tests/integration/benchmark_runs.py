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

from tests.procs import run_stopping_it

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NUMBER = r"([0-9]+(?:\.[0-9]+)?)"  # one figure, as the scripts print them


def run_benchmark(script: str, *args: str, timeout: float = 600) -> str:
    """Run ``benchmarks/<script>`` with this interpreter from the repository's
    root; its output, once it exited 0. A script still running when the test
    ends gets SIGINT, on which its ``finally`` blocks stop what it started."""
    done = run_stopping_it([sys.executable, os.path.join("benchmarks", script), *args], timeout=timeout,
                           stop=signal.SIGINT, stderr=subprocess.STDOUT, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": REPO})
    assert done.returncode == 0, f"{script} {' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}"
    return done.stdout


def figure(output: str, pattern: str) -> float:
    """The number a figure's line shows (``pattern`` has one group for it)."""
    found = re.search(pattern, output)
    assert found, f"no line matching {pattern!r} in:\n{output[-4000:]}"
    return float(found.group(1))
