"""`taskvisor all-in-one` as two processes (issue 15): the API in the main
process, the conductor and compute in a supervised child, on one SQLite
file and the local bus. Each dies with the other; --single-process is one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import psutil

from taskvisor.allinone import ENGINE_NAME
from tests.integration.allinone_boots import boot_servers, start_all_in_one, wait_all_succeeded
from tests.procs import all_in_one, wait_for, wait_serving


# two processes even on a machine with one usable CPU (where one is the default)
SPLIT = ["--split"]


def engine_of(proc) -> psutil.Process:
    children = psutil.Process(proc.proc.pid).children()
    assert len(children) == 1 and children[0].name() == ENGINE_NAME, [(c, c.cmdline()) for c in children]
    return children[0]


def test_two_processes_boot_servers_together(tmp_path, procs):
    node = start_all_in_one(str(tmp_path), procs, extra=SPLIT)
    engine_of(node)
    api = httpx.Client(base_url=node.base_url, timeout=10)
    _ids, task_urls = boot_servers(api, node.base_url, 3, "split")
    wait_all_succeeded(api, task_urls)
    # the API reaches the compute in the other process (console output is a compute call)
    server = _ids[0]
    resp = api.post(f"/compute/v2.1/servers/{server}/action", json={"os-getConsoleOutput": {"length": 5}})
    assert resp.status_code == 200, resp.text
    assert node.stop() == 0
    log = node.log()
    assert "database is locked" not in log and "Traceback" not in log, log


def test_the_all_in_one_stops_loudly_when_its_conductor_and_compute_die(tmp_path, procs):
    node = start_all_in_one(str(tmp_path), procs, extra=SPLIT)
    engine_of(node).kill()
    assert node.proc.wait(30) == 1
    assert "the conductor and compute process" in node.log() and "stopping the all-in-one" in node.log()


def test_the_conductor_and_compute_leave_when_the_main_process_is_killed(tmp_path, procs):
    node = start_all_in_one(str(tmp_path), procs, extra=SPLIT)
    engine = engine_of(node)
    node.kill()
    engine.wait(10)  # raises psutil.TimeoutExpired if it lingers
    # and a restart on the same data directory serves again
    again = start_all_in_one(str(tmp_path), procs, port=node.port, extra=SPLIT)
    assert httpx.get(f"{again.base_url}/compute/v2.1/", timeout=5).status_code == 200


def test_the_conductor_and_compute_leave_if_the_main_process_ends_before_the_schema_is_ready(tmp_path):
    """The child starts before the main process upgrades the schema and
    waits for the bus's address; the main process ending first (its stdin
    closes with nothing on it) ends the child, which has run nothing."""
    done = subprocess.run([sys.executable, "-m", "taskvisor.cli", "all-in-one", "--data-dir", str(tmp_path),
                           "--engine"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "main process is gone" in done.stderr
    assert "conductor localhost started" not in done.stderr

def test_single_process_runs_everything_in_one(tmp_path, procs):
    node = all_in_one(str(tmp_path), extra=["--single-process"]).start()
    procs.append(node)
    assert psutil.Process(node.proc.pid).children() == []
    api = httpx.Client(base_url=node.base_url, timeout=10)
    _ids, task_urls = boot_servers(api, node.base_url, 1, "one")
    wait_all_succeeded(api, task_urls)
    node.signal(signal.SIGTERM)
    assert node.proc.wait(30) == 0


def test_ctrl_c_stops_both(tmp_path, procs):
    node = start_all_in_one(str(tmp_path), procs, extra=SPLIT)
    engine = engine_of(node)
    started = time.monotonic()
    node.signal(signal.SIGINT)
    assert node.proc.wait(30) == 0, node.log()
    engine.wait(5)
    assert time.monotonic() - started < 20
    assert "SIGINT" in node.log() and "all-in-one stopped" in node.log()


def test_a_process_already_running_threads_starts_its_child_anew(tmp_path):
    """Forking a process that runs threads is not safe (a lock held by one
    of them stays held in the child): the split then starts `taskvisor …
    --engine` instead, as a new interpreter."""
    from taskvisor.allinone import SplitAllInOne
    from taskvisor.config import Config
    conf = Config.load(None, {("DEFAULT", "data_dir"): str(tmp_path)})
    release = threading.Event()
    busy = threading.Thread(target=release.wait)
    busy.start()
    try:
        node = SplitAllInOne(conf, ["all-in-one", "--data-dir", str(tmp_path)], engine_main=lambda _pipe: 0)
    finally:
        release.set()
        busy.join()
    try:
        assert not node.forked
        assert "--engine" in psutil.Process(node.pid).cmdline()
    finally:
        node.stop(wait=0)  # it was still waiting for the bus: SIGTERM ends it
    assert node.ended.is_set()


def test_one_split_after_another_in_one_process(tmp_path):
    """The split swaps the RPC histogram in the metrics registry for one that
    adds the child's figures; stop() puts it back, so a second split in the
    same process (tests do this) opens as the first did."""
    from taskvisor.allinone import SplitAllInOne
    from taskvisor.config import Config
    from taskvisor.rpc import metrics as rpc_metrics
    for n in range(2):
        data = tmp_path / str(n)
        conf = Config.load(None, {("DEFAULT", "data_dir"): str(data)})
        node = SplitAllInOne(conf, ["all-in-one", "--data-dir", str(data)], engine_main=lambda _pipe: 0)
        try:
            node.open()
        finally:
            node.stop(wait=0)
    rpc_metrics.REGISTRY.unregister(rpc_metrics.CALLS)  # registered: no KeyError
    rpc_metrics.REGISTRY.register(rpc_metrics.CALLS)


def test_one_usable_cpu_runs_one_process_unless_split_is_asked(tmp_path, procs):
    """With one usable CPU the split buys no throughput and costs memory:
    one process then, and the log says why; --split still splits."""
    cpus = os.sched_getaffinity(0)
    for extra, children in (([], []), (SPLIT, [ENGINE_NAME])):
        data = tmp_path / ("split" if extra else "default")
        data.mkdir()
        node = all_in_one(str(data), extra=extra)
        procs.append(node)
        # sched_setaffinity(0) sets this thread's CPUs only; the child started from it inherits them
        os.sched_setaffinity(0, {min(cpus)})
        try:
            node.start(wait_http=False)
        finally:
            os.sched_setaffinity(0, cpus)
        wait_serving(node.proc, f"{node.base_url}/compute/v2.1/", "all-in-one", node.log, 60)
        assert [c.name() for c in psutil.Process(node.proc.pid).children()] == children, node.log()
        assert ("one process: one usable CPU" in node.log()) == (not extra), node.log()
        node.signal(signal.SIGTERM)
        assert node.proc.wait(30) == 0, node.log()
