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
servers used for the workload.

A benchmark: it prints figures and asserts nothing about speed. The machine's
load average is printed with them: other work on the machine moves them.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import httpx
import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.procs import all_in_one, free_port  # noqa: E402

IRONIC_VERSION = "39.0.0"
API_VERSION = "1.86"  # firmware_interface (Ironic needs it set for firmware.update); taskvisor's max is 1.115
HEADERS = {"X-OpenStack-Ironic-API-Version": API_VERSION, "Content-Type": "application/json"}
POLL_FIELDS = "provision_state,target_provision_state,provision_updated_at,last_error"
FAILED_STATES = ("clean failed", "error", "deploy failed", "inspect failed")

COMMON_INTERFACES = {"deploy_interface": "fake", "power_interface": "fake", "management_interface": "fake",
                     "bios_interface": "fake", "raid_interface": "fake", "vendor_interface": "fake"}
SETTINGS = [{"name": "ProcTurboMode", "value": "Disabled"}]


@dataclass
class Side:
    """What differs between the two servers: node bodies and step names."""
    name: str
    base_url: str  # .../v1 lives under it
    pids: callable  # -> list of server pids
    extra_interfaces: dict
    clean_steps: list
    automated_step: str
    version: str = ""


IRONIC_STEPS = [
    {"interface": "bios", "step": "apply_configuration", "args": {"settings": SETTINGS}},
    {"interface": "bios", "step": "factory_reset"},
    {"interface": "bios", "step": "cache_bios_settings"},
    {"interface": "firmware", "step": "update", "args": {"settings": [{"component": "bios",
                                                                      "url": "http://127.0.0.1/fw.bin"}]}},
]
TASKVISOR_STEPS = [
    {"interface": "bios", "step": "apply_configuration", "args": {"settings": SETTINGS}},
    {"interface": "bios", "step": "factory_reset"},
    {"interface": "raid", "step": "delete_configuration"},
    {"interface": "management", "step": "set_boot_device", "args": {"device": "pxe"}},
]


# ---------------------------------------------------------------- helpers

def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for p in tree(pid):
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
    return total / 2**20


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        for p in tree(pid):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    return total


def loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process group this script started (start_new_session), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:  # children of the launcher may outlive it for a moment
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(10)


# ---------------------------------------------------------------- Ironic

def ironic_venv(cache_dir: str, wanted: str) -> tuple[str, str]:
    """(venv path, installed Ironic version): reuse, else create and pip install."""
    venv = os.path.join(cache_dir, "ironic-venv")
    py = os.path.join(venv, "bin", "python")

    def installed() -> str | None:
        if not os.path.exists(os.path.join(venv, "bin", "ironic")):
            return None
        out = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('ironic'))"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or None

    have = installed()
    if have and (have == wanted or not wanted):
        return venv, have
    os.makedirs(cache_dir, exist_ok=True)
    print(f"installing Ironic into {venv} (several minutes the first time) ...", flush=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    if not os.path.exists(py):
        subprocess.run([base, "-m", "venv", venv], check=True, timeout=300)
    pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=False, timeout=600)
    result = subprocess.run([*pip, f"ironic=={wanted}"] if wanted else [*pip, "ironic"], timeout=1800)
    if result.returncode != 0 and wanted:
        print(f"!! ironic=={wanted} did not install; installing the newest Ironic instead", flush=True)
        subprocess.run([*pip, "ironic"], check=True, timeout=1800)
    have = installed()
    if not have:
        raise SystemExit("Ironic did not install")
    return venv, have


IRONIC_CONF = """\
[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = bench-conductor
enabled_hardware_types = fake-hardware
enabled_bios_interfaces = fake,no-bios
enabled_boot_interfaces = fake
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake
enabled_firmware_interfaces = fake,no-firmware
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake
enabled_network_interfaces = noop
enabled_power_interfaces = fake
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = fake,noop
enabled_vendor_interfaces = fake,no-vendor
default_network_interface = noop
log_file = {data}/ironic.log
debug = false

[api]
host_ip = 127.0.0.1
port = {port}

[database]
connection = sqlite:///{data}/ironic.sqlite

[conductor]
automated_clean = true

[dhcp]
dhcp_provider = none

[vnc]
enabled = false
"""


class IronicServer:
    def __init__(self, venv: str, data_dir: str):
        self.venv, self.data = venv, data_dir
        self.port = free_port()
        self.conf = os.path.join(data_dir, "ironic.conf")
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> "IronicServer":
        with open(self.conf, "w") as f:
            f.write(IRONIC_CONF.format(data=self.data, port=self.port))
        out = os.path.join(self.data, "ironic.out")
        subprocess.run([os.path.join(self.venv, "bin", "ironic-dbsync"), "--config-file", self.conf,
                        "create_schema"], check=True, capture_output=True, timeout=300)
        with open(out, "ab") as log:
            self.proc = subprocess.Popen([os.path.join(self.venv, "bin", "ironic"), "--config-file", self.conf],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=self.data)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ironic exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/v1", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"ironic did not start serving in {timeout}s:\n{self.log()}")
            time.sleep(0.25)

    def log(self) -> str:
        text = ""
        for name in ("ironic.out", "ironic.log"):
            path = os.path.join(self.data, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f"--- {name}\n" + f.read()[-3000:]
        return text

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def stop(self) -> None:
        if self.proc:
            stop_group(self.proc)


# ---------------------------------------------------------------- workload

@dataclass
class Phase:
    name: str
    latencies: list = field(default_factory=list)
    stamped: list = field(default_factory=list)  # request sent -> the server's provision_updated_at
    accepted: list = field(default_factory=list)  # request sent -> its 201/202 answer
    failures: list = field(default_factory=list)
    retries_409: int = 0
    transport_errors: int = 0  # dropped connections (retried)
    polls: int = 0
    wall: float = 0.0
    skipped: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0


class Runner:
    def __init__(self, side: Side, args):
        self.side, self.args = side, args
        self.client = httpx.Client(base_url=side.base_url, headers=HEADERS, timeout=60,
                                   limits=httpx.Limits(max_connections=args.concurrency + 4,
                                                       max_keepalive_connections=args.concurrency + 4))
        self.nodes: list[dict] = []  # {"uuid", "pua"} (last provision_updated_at seen)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, phase: Phase, body=None, deadline: float = 0,
                landed=None) -> httpx.Response:
        """One API call. 409 NodeLocked is retried (bounded) like the clients
        do; so is a dropped connection, when ``landed()`` (asked after the
        drop) says the request did not reach the server."""
        r = None
        for _ in range(200):
            try:
                r = self.client.request(method, url, json=body)
            except httpx.TransportError:
                with self.lock:
                    phase.transport_errors += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                if landed is not None:
                    found = landed()
                    if found is not None:
                        return found
                continue
            if r.status_code != 409 or time.monotonic() > deadline:
                return r
            with self.lock:
                phase.retries_409 += 1
            time.sleep(0.05)
        if r is None:
            raise RuntimeError(f"{method} {url}: no answer")
        return r

    def get(self, url: str, phase: Phase, **kw) -> httpx.Response | None:
        try:
            return self.client.get(url, **kw)
        except httpx.TransportError:
            with self.lock:
                phase.transport_errors += 1
            return None

    def wait_state(self, node: dict, target: str, phase: Phase, deadline: float) -> str | None:
        """Poll until the node is in ``target`` with no target left and its
        provision_updated_at moved; None when done, else what went wrong."""
        delay, polls, last = 0.005, 0, None
        while time.monotonic() < deadline and polls < 5000:
            r = self.get(f"/v1/nodes/{node['uuid']}", phase, params={"fields": POLL_FIELDS})
            polls += 1
            if r is not None and r.status_code == 200:
                n = last = r.json()
                state, pending = n["provision_state"], n["target_provision_state"]
                moved = n["provision_updated_at"] != node["pua"]
                if moved and pending is None and state == target:
                    node["pua"] = n["provision_updated_at"]
                    with self.lock:
                        phase.polls += polls
                    return None
                # Ironic keeps target_provision_state on "clean failed"
                if moved and (state in FAILED_STATES or (pending is None and n.get("last_error"))):
                    node["pua"] = n["provision_updated_at"]
                    return f"{state}: {n.get('last_error')}"
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)
        seen = {k: last.get(k) for k in ("provision_state", "target_provision_state", "last_error")} if last else None
        return f"timed out waiting for {target}; last seen {seen}"

    def phase(self, name: str, work) -> Phase:
        """Run ``work(i, phase, deadline)`` for every node index on the pool; it
        returns the latency in seconds or raises RuntimeError."""
        ph = Phase(name)
        deadline = time.monotonic() + self.args.phase_timeout
        start = time.perf_counter()

        def one(i: int) -> None:
            if time.monotonic() > deadline:
                with self.lock:
                    ph.skipped += 1
                return
            try:
                latency, stamped, accepted = work(i, ph, min(deadline, time.monotonic() + self.args.op_timeout))
            except (RuntimeError, httpx.HTTPError) as exc:
                with self.lock:
                    ph.failures.append(f"node {i}: {exc}")
                return
            with self.lock:
                ph.latencies.append(latency)
                ph.accepted.append(accepted)
                if stamped is not None:
                    ph.stamped.append(stamped)

        with cf.ThreadPoolExecutor(self.args.concurrency) as pool:
            list(pool.map(one, range(self.args.nodes)))
        ph.wall = time.perf_counter() - start
        return ph

    def create(self, i: int, ph: Phase, deadline: float) -> float:
        body = {"driver": "fake-hardware", "name": f"bench-{i:04d}", **COMMON_INTERFACES,
                **self.side.extra_interfaces}
        def landed():
            found = self.get(f"/v1/nodes/{body['name']}", ph)
            if found is not None and found.status_code == 200:
                found.status_code = 201
                return found
            return None
        t0 = time.perf_counter()
        r = self.request("POST", "/v1/nodes", ph, body, deadline, landed)
        latency = time.perf_counter() - t0
        if r.status_code != 201:
            raise RuntimeError(f"create -> {r.status_code} {r.text[:300]}")
        n = r.json()
        if n["provision_state"] != "enroll":
            raise RuntimeError(f"created in {n['provision_state']}, not enroll")
        self.nodes[i] = {"uuid": n["uuid"], "pua": n.get("provision_updated_at")}
        return latency, None, latency

    def provision(self, verb: str, target: str, steps: list | None = None):
        def work(i: int, ph: Phase, deadline: float) -> float:
            node = self.nodes[i]
            if node is None:
                raise RuntimeError("no node (create failed)")
            body = {"target": verb, **({"clean_steps": steps} if steps else {})}
            def landed():
                found = self.get(f"/v1/nodes/{node['uuid']}", ph, params={"fields": POLL_FIELDS})
                if found is not None and found.status_code == 200 and (
                        found.json()["provision_updated_at"] != node["pua"]
                        or found.json()["target_provision_state"] is not None):
                    found.status_code = 202
                    return found
                return None
            t0, wall0 = time.perf_counter(), time.time()
            r = self.request("PUT", f"/v1/nodes/{node['uuid']}/states/provision", ph, body, deadline, landed)
            accepted = time.perf_counter() - t0
            if r.status_code != 202:
                raise RuntimeError(f"{verb} -> {r.status_code} {r.text[:300]}")
            problem = self.wait_state(node, target, ph, deadline)
            if problem:
                raise RuntimeError(f"{verb}: {problem}")
            latency = time.perf_counter() - t0
            try:  # the server's own stamp of the last transition: no polling granularity in it
                stamp = dt.datetime.fromisoformat(node["pua"]).replace(tzinfo=dt.timezone.utc).timestamp()
                stamped = stamp - wall0
            except (TypeError, ValueError):
                stamped = None
            return latency, stamped, accepted
        return work

    def warm_up(self) -> None:
        """One throwaway node through create/delete: first-request costs out of the figures."""
        body = {"driver": "fake-hardware", "name": "bench-warmup", **COMMON_INTERFACES,
                **self.side.extra_interfaces}
        r = self.client.post("/v1/nodes", json=body)
        if r.status_code != 201:
            raise SystemExit(f"{self.side.name}: warm-up create failed: {r.status_code} {r.text[:500]}")
        uuid = r.json()["uuid"]
        self.client.get("/v1/nodes")
        self.client.get("/v1/nodes/detail")
        self.client.delete(f"/v1/nodes/{uuid}")

    def list_latency(self, path: str, samples: int) -> dict:
        for _ in range(3):
            self.client.get(path)
        times, count, errors = [], None, 0
        for _ in range(samples):
            t0 = time.perf_counter()
            try:
                r = self.client.get(path)
            except httpx.TransportError:
                errors += 1
                continue
            body = r.json()
            times.append(time.perf_counter() - t0)
            count = len(body.get("nodes", []))
        return {"p50": pct(times, 50), "p95": pct(times, 95), "nodes": count, "errors": errors}

    def run(self) -> dict:
        args, side = self.args, self.side
        pids = side.pids()
        self.warm_up()
        time.sleep(2)
        out = {"server": side.name, "version": side.version, "rss_idle_mb": rss_mb(pids),
               "load_start": loadavg(), "phases": {}}
        cpu0 = cpu_seconds(pids)
        self.nodes = [None] * args.nodes
        plan = [("create", self.create),
                ("manage", self.provision("manage", "manageable")),
                ("provide", self.provision("provide", "available")),
                ("manage2", self.provision("manage", "manageable")),
                ("clean", self.provision("clean", "manageable", side.clean_steps))]
        t_all = time.perf_counter()
        for name, work in plan:
            ph = self.phase(name, work)
            out["phases"][name] = ph
            print(f"  {side.name:9s} {name:8s} {len(ph.latencies):4d} ok {len(ph.failures):3d} failed "
                  f"{ph.skipped:3d} skipped in {ph.wall:7.2f}s = {ph.rate:7.2f} nodes/s  "
                  f"p50 {fmt_ms(pct(ph.latencies, 50))} p95 {fmt_ms(pct(ph.latencies, 95))} "
                  f"(stamp {fmt_ms(pct(ph.stamped, 50))}, answer {fmt_ms(pct(ph.accepted, 50))}) ms  "
                  f"409s {ph.retries_409} dropped {ph.transport_errors}  load {loadavg()}", flush=True)
            for failure in ph.failures[:3]:
                print(f"    {failure}", flush=True)
        out["workload_wall"] = time.perf_counter() - t_all
        out["cpu_s"] = cpu_seconds(pids) - cpu0
        out["list"] = self.list_latency("/v1/nodes", args.list_samples)
        out["detail"] = self.list_latency("/v1/nodes/detail", args.list_samples)
        out["rss_after_mb"] = rss_mb(pids)
        out["load_end"] = loadavg()
        r = self.client.get("/v1")
        out["api_version_used"] = r.headers.get("X-OpenStack-Ironic-API-Version")
        return out


# ---------------------------------------------------------------- report

def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def report(results: dict[str, dict], args) -> None:
    tv, ir = results.get("taskvisor"), results.get("ironic")
    rows: list[tuple[str, float | None, float | None, str, str]] = []  # label, tv, ir, unit, better

    def add(label, get, unit, better="lower"):
        rows.append((label, get(tv) if tv else None, get(ir) if ir else None, unit, better))

    names = {"create": "create", "manage": "manage (enroll->manageable)",
             "provide": "provide (1 automated step)", "manage2": "manage (available->manageable)",
             "clean": "manual clean (4 steps)"}
    for key, label in names.items():
        add(f"{label} p50", lambda r, k=key: ms(pct(r["phases"][k].latencies, 50)), "ms")
        add(f"{label} p95", lambda r, k=key: ms(pct(r["phases"][k].latencies, 95)), "ms")
        if key != "create":
            add(f"{label} p50 by server stamp", lambda r, k=key: ms(pct(r["phases"][k].stamped, 50)), "ms")
            add(f"{label} p50 of the 202 answer", lambda r, k=key: ms(pct(r["phases"][k].accepted, 50)), "ms")
        add(f"{label} throughput", lambda r, k=key: r["phases"][k].rate, "nodes/s", "higher")
    add(f"GET /v1/nodes p50 ({args.nodes} nodes)", lambda r: ms(r["list"]["p50"]), "ms")
    add(f"GET /v1/nodes p95", lambda r: ms(r["list"]["p95"]), "ms")
    add(f"GET /v1/nodes/detail p50", lambda r: ms(r["detail"]["p50"]), "ms")
    add(f"GET /v1/nodes/detail p95", lambda r: ms(r["detail"]["p95"]), "ms")
    add("RSS idle", lambda r: r["rss_idle_mb"], "MB")
    add("RSS after the run", lambda r: r["rss_after_mb"], "MB")
    add("server CPU for the workload", lambda r: r["cpu_s"], "s")
    add("workload wall time", lambda r: r["workload_wall"], "s")
    add("failed operations", lambda r: sum(len(p.failures) + p.skipped for p in r["phases"].values()), "")
    add("409 NodeLocked retries", lambda r: sum(p.retries_409 for p in r["phases"].values()), "")
    add("dropped connections (retried)", lambda r: sum(p.transport_errors for p in r["phases"].values())
        + r["list"]["errors"] + r["detail"]["errors"], "")

    def cell(v):
        if v is None:
            return "-"
        return f"{v:.0f}" if isinstance(v, int) or abs(v) >= 1000 else f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"

    print()
    print(f"nodes {args.nodes}, client concurrency {args.concurrency}, API version {API_VERSION}, "
          f"{os.cpu_count()} CPUs")
    for r in (tv, ir):
        if r:
            print(f"{r['server']} {r['version']}: load average (1/5/15 min) {r['load_start']} at start, "
                  f"{r['load_end']} at end")
    print()
    w = max(len(r[0]) for r in rows) + 2
    print(f"{'metric':{w}s}{'taskvisor':>12s}{'Ironic':>12s}  {'unit':8s}{'taskvisor advantage':>20s}")
    print("-" * (w + 56))
    for label, a, b, unit, better in rows:
        ratio = "-"
        if a is not None and b is not None and a > 0 and b > 0:
            ratio = f"x{(b / a if better == 'lower' else a / b):.1f}"
        elif a == 0 and b == 0:
            ratio = "="
        print(f"{label:{w}s}{cell(a):>12s}{cell(b):>12s}  {unit:8s}{ratio:>20s}")
    if tv:
        provide = tv["phases"]["provide"].rate
        listing = tv["list"]["p50"] * 1000
        print()
        print(f"targets (issue 7): provide >= 30 nodes/s: {provide:.1f} "
              f"({'met' if provide >= 30 else 'NOT met'}); GET /v1/nodes p50 <= 10 ms: {listing:.1f} "
              f"({'met' if listing <= 10 else 'NOT met'})")
    print("anchors (DESIGN §8, Ironic 39.0.0): provide p50 215 ms, manual clean (4 steps) 354 ms, "
          "~3 nodes/s, GET /v1/nodes p50 78 ms, /detail 305 ms, 310 MB RSS idle")


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def to_json(results: dict) -> dict:
    out = {}
    for name, r in results.items():
        out[name] = {**r, "phases": {k: {"ok": len(p.latencies), "failed": len(p.failures), "skipped": p.skipped,
                                         "wall_s": p.wall, "nodes_per_s": p.rate,
                                         "p50_ms": ms(pct(p.latencies, 50)), "p95_ms": ms(pct(p.latencies, 95)),
                                         "stamped_p50_ms": ms(pct(p.stamped, 50)),
                                         "accepted_p50_ms": ms(pct(p.accepted, 50)),
                                         "retries_409": p.retries_409, "polls": p.polls,
                                         "transport_errors": p.transport_errors,
                                         "failures": p.failures[:20]}
                                     for k, p in r["phases"].items()}}
    return out


# ---------------------------------------------------------------- main

def keep_logs(args, data: str, prefix: str) -> None:
    if not args.keep_logs:
        return
    os.makedirs(args.keep_logs, exist_ok=True)
    for name in os.listdir(data):
        if name.endswith((".log", ".out")):
            shutil.copy(os.path.join(data, name), os.path.join(args.keep_logs, f"{prefix}-{name}"))


def run_taskvisor(args) -> dict:
    data = tempfile.mkdtemp(prefix="tv-bench-")
    proc = None
    try:
        proc = all_in_one(data).start()
        side = Side("taskvisor", f"{proc.base_url}/baremetal", lambda: [proc.proc.pid] if proc.running else [],
                    {}, TASKVISOR_STEPS, "deploy.erase_devices", version="all-in-one")
        print(f"taskvisor all-in-one on {proc.base_url} (pid {proc.proc.pid}), load {loadavg()}", flush=True)
        runner = Runner(side, args)
        try:
            return runner.run()
        finally:
            runner.close()
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
        runner = Runner(side, args)
        try:
            return runner.run()
        finally:
            runner.close()
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
