"""taskvisor's Bare Metal API side by side with OpenStack Ironic, same
machine, same workload, same client, through HTTP only.

    python benchmarks/vs_ironic.py [--nodes 200] [--concurrency 16] [--skip-ironic]

Ironic is installed from PyPI into a virtual environment of its own under
``--cache-dir`` (default ~/.cache/taskvisor-bench/ironic-venv, reused when it
already holds the wanted version; ``ironic==39.0.0``, the version of the
anchors in DESIGN §8, else the newest, which the output then says). It runs
standalone as the single-process ``ironic`` launcher (API embedded in the
conductor, ``rpc_transport = none``), SQLite, noauth, ``fake-hardware`` with
fake interfaces, on 127.0.0.1. taskvisor runs as ``taskvisor all-in-one``
(tests/procs.py). Both get temporary data directories, removed at the end,
and every process started here is stopped here.

Workload, per node, with ``--concurrency`` client threads each driving one
node at a time (request, then poll the node until it reaches the target):

  create   POST /v1/nodes (driver fake-hardware)                  -> enroll
  manage   enroll -> manageable
  provide  manageable -> available, automated cleaning of ONE fake step:
             Ironic: vendor.log_passthrough (priority 1, the only step of
             fake-hardware with a priority > 0); taskvisor: deploy.erase_devices
  manage2  available -> manageable (manual cleaning needs manageable)
  clean    manual cleaning, 4 priority-0 fake steps, same order on both:
             Ironic                    taskvisor
             bios.apply_configuration  bios.apply_configuration   (settings)
             bios.factory_reset        bios.factory_reset
             bios.cache_bios_settings  raid.delete_configuration  (no args)
             firmware.update           management.set_boot_device (one required arg)
           (fake-hardware's only common priority-0 steps are the two bios
           ones; the other two are mapped by shape.)

Latency is request sent -> node seen in the target state with no target left
(polling GET /v1/nodes/{uuid}?fields=..., 5 ms growing to 50 ms between polls,
the same schedule on both sides). Two more views of it: "by server stamp" is
request sent -> the provision_updated_at the server wrote at that last
transition (no polling in it; a lower bound), "202 answer" is how long the
request itself took. Throughput is nodes done over the phase's wall time. A
409 (NodeLocked) is retried like the clients do, and counted; so is a dropped
connection when the request did not land. Then GET /v1/nodes and
/v1/nodes/detail at N nodes (sequential), RSS of the server processes (Ironic:
every process of its launcher) idle and after the run, and the CPU seconds the
servers used for the workload. Each phase also shows the servers' CPU per
node (polls included), split between the root process and its children
(taskvisor: the API and the engine): steadier than nodes/s on a busy machine.

A benchmark: it prints figures and asserts nothing about speed. The machine's
load average is printed with them: other work on the machine moves them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.procs import all_in_one  # noqa: E402

from ironic_bench.report import report, to_json  # noqa: E402
from ironic_bench.servers import IronicServer, ironic_venv, loadavg, tree  # noqa: E402
from ironic_bench.workload import IRONIC_STEPS, IRONIC_VERSION, TASKVISOR_STEPS, Runner, Side  # noqa: E402


def keep_logs(args, data: str, prefix: str) -> None:
    if not args.keep_logs:
        return
    os.makedirs(args.keep_logs, exist_ok=True)
    for name in os.listdir(data):
        if name.endswith((".log", ".out")):
            shutil.copy(os.path.join(data, name), os.path.join(args.keep_logs, f"{prefix}-{name}"))


def measure(side: Side, args) -> dict:
    """The workload against one side; its runner's clients closed after."""
    runner = Runner(side, args)
    try:
        return runner.run()
    finally:
        runner.close()


def run_taskvisor(args) -> dict:
    data = tempfile.mkdtemp(prefix="tv-bench-")
    proc = None
    try:
        proc = all_in_one(data).start()
        side = Side("taskvisor", f"{proc.base_url}/baremetal", lambda: [proc.proc.pid] if proc.running else [],
                    {}, TASKVISOR_STEPS, "deploy.erase_devices", version="all-in-one",
                    cpu_names=("API", "engine"))
        print(f"taskvisor all-in-one on {proc.base_url} (pid {proc.proc.pid}), load {loadavg()}", flush=True)
        return measure(side, args)
    except BaseException:
        if proc is not None:
            print(proc.log()[-3000:], file=sys.stderr)
        raise
    finally:
        if proc is not None:
            proc.stop()
        keep_logs(args, data, "taskvisor")
        shutil.rmtree(data, ignore_errors=True)


def run_ironic(args) -> dict:
    venv, version = ironic_venv(os.path.expanduser(args.cache_dir), args.ironic_version)
    if version != args.ironic_version:
        print(f"!! measuring Ironic {version}, not {args.ironic_version}", flush=True)
    data = tempfile.mkdtemp(prefix="ironic-bench-")
    server = IronicServer(venv, data)
    try:
        server.start()
        side = Side("Ironic", server.base_url, server.pids,
                    {"boot_interface": "fake", "firmware_interface": "fake"}, IRONIC_STEPS,
                    "vendor.log_passthrough", version=version)
        print(f"Ironic {version} (single-process `ironic`, rpc_transport none, SQLite) on {server.base_url} "
              f"(pids {[p.pid for p in tree(server.proc.pid)]}), load {loadavg()}", flush=True)
        return measure(side, args)
    except BaseException:
        print(server.log()[-3000:], file=sys.stderr)
        raise
    finally:
        server.stop()
        keep_logs(args, data, "ironic")
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16, help="client threads, the same on both sides")
    parser.add_argument("--skip-ironic", action="store_true")
    parser.add_argument("--skip-taskvisor", action="store_true")
    parser.add_argument("--ironic-version", default=IRONIC_VERSION,
                        help="pip version of Ironic ('' for the newest)")
    parser.add_argument("--cache-dir", default="~/.cache/taskvisor-bench",
                        help="where Ironic's virtual environment is kept and reused")
    parser.add_argument("--list-samples", type=int, default=30, help="GET /v1/nodes[/detail] samples")
    parser.add_argument("--op-timeout", type=float, default=300, help="seconds one node operation may take")
    parser.add_argument("--phase-timeout", type=float, default=900, help="seconds one phase may take")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--keep-logs", help="copy the servers' logs into this directory before clean-up")
    args = parser.parse_args()
    if not 1 <= args.nodes <= 5000 or not 1 <= args.concurrency <= 256:
        parser.error("--nodes 1..5000, --concurrency 1..256")

    # SIGTERM/SIGHUP unwind through the finally blocks like Ctrl-C does
    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    results: dict[str, dict] = {}
    if not args.skip_taskvisor:
        results["taskvisor"] = run_taskvisor(args)
    if not args.skip_ironic:
        results["ironic"] = run_ironic(args)
    report(results, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(results), f, indent=2, default=str)


if __name__ == "__main__":
    main()
