"""The workload, the same on both sides: create, manage, provide (automated
cleaning), manage again, manual cleaning, then list views; timed per node."""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import threading
import time
from dataclasses import dataclass, field

import httpx

from ironic_bench.servers import cpu_seconds, cpu_split, loadavg, rss_mb

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
    cpu_names: tuple = ("root", "children")  # what the root process and its children are


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



def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


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
    cpu_s: float = 0.0  # the servers' CPU over the phase (polling included)
    cpu_root_s: float = 0.0  # of it, the root process's (taskvisor: the API) ...
    cpu_children_s: float = 0.0  # ... and its children's (taskvisor: the engine)

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
        pids = self.side.pids()
        cpu0, split0 = cpu_seconds(pids), cpu_split(pids)
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
        ph.cpu_s = cpu_seconds(pids) - cpu0
        split = cpu_split(pids)
        ph.cpu_root_s, ph.cpu_children_s = split[0] - split0[0], split[1] - split0[1]
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
                  f"409s {ph.retries_409} dropped {ph.transport_errors}  "
                  f"CPU {1000 * ph.cpu_s / max(1, len(ph.latencies)):.1f} ms/node "
                  f"({side.cpu_names[0]} {1000 * ph.cpu_root_s / max(1, len(ph.latencies)):.1f} + "
                  f"{side.cpu_names[1]} {1000 * ph.cpu_children_s / max(1, len(ph.latencies)):.1f})  "
                  f"polls {ph.polls / max(1, len(ph.latencies)):.1f}/node  load {loadavg()}", flush=True)
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
