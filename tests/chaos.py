"""Chaos: mixed server operations on a real distributed cluster while
conductors and computes are SIGKILLed and restarted at random, computes are
SIGTERMed (drained) while a boot spawns on them, conductors' database
connections are cut under them (their task runners crash out of the
engine), and once every RabbitMQ connection of the cluster is cut. Then the books must
balance: every task terminal, no server stuck, the database agreeing with
the guests that actually exist, and no side effect done twice.

Used by tests/integration/test_chaos.py (small) and benchmarks/chaos.py (long).
"""
from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

import psutil

from taskvisor.virt.fake import saved_state
from tests.integration.distributed import COMPUTE, TERMINAL, Api
from tests.procs import Cluster

# status → the operations a user might ask for next
NEXT = {
    "ACTIVE": [{"os-stop": None}, {"reboot": {"type": "SOFT"}}, {"reboot": {"type": "HARD"}}, {"rescue": {}},
               {"shelve": None}, "resize", "delete"],
    "SHUTOFF": [{"os-start": None}, "resize", "delete"],
    "RESCUE": [{"unrescue": None}],
    "SHELVED_OFFLOADED": [{"unshelve": None}, "delete"],
    "VERIFY_RESIZE": [{"confirmResize": None}, {"revertResize": None}],
    "ERROR": ["delete"],
}
POWER_FOR_STATUS = {"ACTIVE": 1, "SHUTOFF": 4, "RESCUE": 1, "VERIFY_RESIZE": None}


@dataclass
class Summary:
    operations: int = 0
    conflicts: int = 0
    kills: dict = field(default_factory=lambda: {"conductor": 0, "compute": 0})
    compute_sigterms: int = 0
    sigterms_mid_spawn: int = 0
    database_cuts: int = 0  # conductor connections terminated: runner crashes
    broker_cuts: int = 0
    stuck: int = 0
    unavailable: list = field(default_factory=list)  # non-200 answers to the listing (503 = back-pressure)
    duplicated: int = 0
    tasks: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> str:
        statuses = {}
        for t in self.tasks:
            statuses[t["status"]] = statuses.get(t["status"], 0) + 1
        takeovers = sum(t.get("takeovers") or 0 for t in self.tasks)
        retries = sum(max(0, s["attempt"] - 1) for t in self.tasks for s in t["steps"])
        rows = [("operations accepted", self.operations), ("409 conflicts (raced, not sent)", self.conflicts),
                ("listing answered 503 (then retried)", sum(1 for u in self.unavailable if u.startswith("503"))),
                ("conductor kills", self.kills["conductor"]), ("compute kills", self.kills["compute"]),
                ("compute SIGTERMs (graceful drains)", self.compute_sigterms),
                ("  of them during a spawn", self.sigterms_mid_spawn),
                ("conductor database cuts (runner crashes)", self.database_cuts),
                ("broker connection cuts", self.broker_cuts), ("tasks", len(self.tasks)),
                *((f"  {k}", v) for k, v in sorted(statuses.items())),
                ("takeovers", takeovers), ("step re-runs", retries),
                ("max stall between steps (s)", f"{max_stall(self.tasks):.2f}"),
                ("lost (not terminal)", sum(1 for t in self.tasks if t["status"] not in TERMINAL)),
                ("stuck (server left in a task_state)", self.stuck),
                ("duplicated (guests of one server, counted on every host)", self.duplicated),
                ("dead-lettered", sum(1 for t in self.tasks if t.get("reason"))),
                ("problems", len(self.problems)), ("wall time (s)", f"{self.seconds:.1f}")]
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def max_stall(tasks: list) -> float:
    """Longest gap between one step's end and the next step's start: a
    takeover after a kill shows up here."""
    worst = 0.0
    for task in tasks:
        steps = [s for s in task["steps"] if s["started_at"]]
        for before, after in zip(steps, steps[1:]):
            if before["finished_at"] and after["started_at"]:
                worst = max(worst, (_ts(after["started_at"]) - _ts(before["finished_at"])).total_seconds())
    return worst


def local_ports_to(procs, server_port: int) -> set[int]:
    """The local ports of the running processes' TCP connections to `server_port`."""
    ports = set()
    for proc in procs:
        if proc.running:
            try:
                ports |= {c.laddr.port for c in psutil.Process(proc.proc.pid).net_connections("tcp")
                          if c.raddr and c.raddr.port == server_port}
            except psutil.Error:
                pass
    return ports


def cut_broker_connections(cluster: Cluster) -> int:
    """Close, on the broker, every AMQP connection held by this cluster's
    processes (found by their local ports), and no one else's."""
    ports = local_ports_to(cluster.all, 5672)
    listing = subprocess.run(["rabbitmqctl", "-q", "list_connections", "name", "peer_port"],
                             capture_output=True, text=True, timeout=60).stdout
    closing = []
    for line in listing.splitlines():
        name, _, port = line.rpartition("\t")
        if port.strip().isdigit() and int(port) in ports:
            closing.append(subprocess.Popen(["rabbitmqctl", "-q", "close_connection", name, "chaos test"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for proc in closing:
        proc.wait(60)
    return len(closing)


def cut_database_connections(cluster: Cluster) -> int:
    """Terminate, on PostgreSQL, the connections the cluster's conductors
    hold (found by their local ports): a store call in flight fails, so the
    task's runner crashes out of the engine and must be handed back."""
    from sqlalchemy import create_engine, text
    ports = local_ports_to(cluster.conductors.values(), 5432)
    if not ports:
        return 0
    url = cluster.env["TASKVISOR_DATABASE__CONNECTION"]
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY(:ports)"),
                {"ports": sorted(ports)}).all())
    finally:
        engine.dispose()


def sigterm_a_spawning_compute(cluster: Cluster, api: Api, rng: random.Random) -> tuple[str, str] | None:
    """SIGTERM (graceful drain) a compute on which a boot is spawning (or,
    when none spawns within a few seconds, one with any operation in
    flight); wait for it to exit, then start it again."""
    deadline, busy = time.monotonic() + 5, []
    while time.monotonic() < deadline:
        listing = api.http.get(f"{COMPUTE}/servers/detail").json()["servers"]
        placed = [s for s in listing if s.get("OS-EXT-SRV-ATTR:host") in cluster.computes]
        spawning = sorted({s["OS-EXT-SRV-ATTR:host"] for s in placed if s["OS-EXT-STS:task_state"] == "spawning"})
        busy = busy or sorted({s["OS-EXT-SRV-ATTR:host"] for s in placed if s["OS-EXT-STS:task_state"]})
        if spawning:
            break
        time.sleep(0.05)
    hosts, during = (spawning, "a spawn") if spawning else (busy, "an operation")
    if not hosts:
        return None
    name = rng.choice(hosts)
    proc = cluster.computes[name]
    proc.signal(signal.SIGTERM)
    try:
        proc.proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
    proc.start(wait_http=False)
    return name, during


def fake_guests(cluster: Cluster) -> dict[str, dict]:
    """host → the fake driver's saved state (guests and per-server counters)."""
    out = {}
    for host in cluster.computes:
        out[host] = saved_state(os.path.join(cluster.data_dir, host, f"fake-guests-{host}.json"))
    return out


FAULTS = ("conductor", "compute", "compute-sigterm", "database-cut")


def run(cluster: Cluster, *, servers: int, operations: int, kill_every: float, rate: float = 3.0,
        seed: int = 1, settle_timeout: float = 180, log=print, faults: tuple = FAULTS) -> Summary:
    """``rate`` operations a second, a kill about every ``kill_every`` seconds."""
    rng = random.Random(seed)
    api = Api(cluster.api.base_url)
    api.wait_services_up(len(cluster.computes))
    summary = Summary()
    urls: list[str] = []
    # two flavors that differ only in memory, so a resize either way is allowed
    flavors = [api.http.post(f"{COMPUTE}/flavors", json={"flavor": {"name": f"chaos-{ram}", "ram": ram, "vcpus": 1,
                                                                     "disk": 1}}).json()["flavor"]["id"]
               for ram in (512, 1024)]
    started = time.monotonic()
    for i in range(servers):
        urls.append(api.boot(f"chaos-{i}", flavor=flavors[0], networks="none")[1])
        summary.operations += 1
    stop_killing = threading.Event()

    def cut():
        summary.broker_cuts += cut_broker_connections(cluster)
        log(f"  cut {summary.broker_cuts} broker connections")

    # Faults are dealt from a shuffled deck, so every kind happens in every
    # round of len(faults) faults (a short run still sees each one); a SIGTERM
    # that found no busy compute, or a cut that found no connection, goes back
    # on top, to be tried next time.
    deck: list[str] = []

    def killer():
        cut_done = False  # the cluster's broker connections are cut once, dealt like any fault
        while not stop_killing.wait(rng.uniform(0.5, 1.5) * kill_every):
            if not deck:
                kinds = faults if cut_done else (*faults, "broker-cut")
                deck.extend(rng.sample(kinds, len(kinds)))
            kind = deck.pop()
            if kind == "broker-cut":
                cut_done = True
                threading.Thread(target=cut, daemon=True).start()
                continue
            if kind == "compute-sigterm":
                hit = sigterm_a_spawning_compute(cluster, api, rng)
                if hit:
                    summary.compute_sigterms += 1
                    summary.sigterms_mid_spawn += hit[1] == "a spawn"
                    log(f"  SIGTERM {hit[0]} during {hit[1]}")
                else:
                    deck.append(kind)
                continue
            if kind == "database-cut":
                cut_count = cut_database_connections(cluster)
                summary.database_cuts += cut_count
                log(f"  cut {cut_count} conductor database connections")
                if not cut_count:  # the conductors were between connections: try again next time
                    deck.append(kind)
                continue
            name, proc = rng.choice(sorted((cluster.conductors if kind == "conductor" else cluster.computes).items()))
            proc.kill()
            summary.kills[kind] += 1
            log(f"  kill -9 {name}")
            time.sleep(rng.uniform(0.3, 1.5))
            proc.start(wait_http=False)

    killer_thread = threading.Thread(target=killer, daemon=True)
    killer_thread.start()
    boots = servers
    try:
        while summary.operations < operations:
            resp = api.http.get(f"{COMPUTE}/servers/detail")
            if resp.status_code != 200:  # e.g. 503 while the database is cut: back off as a client would
                summary.unavailable.append(f"{resp.status_code} {resp.text[:200]}")
                time.sleep(float(resp.headers.get("Retry-After", 1)))
                continue
            listing = resp.json()["servers"]
            idle = [s for s in listing if s["OS-EXT-STS:task_state"] is None and s["status"] in NEXT]
            if len(listing) < servers // 2:
                urls.append(api.boot(f"chaos-{boots}", flavor=flavors[0], networks="none")[1])
                boots += 1
                summary.operations += 1
                continue
            if not idle:
                time.sleep(0.1)
                continue
            server = rng.choice(idle)
            op = rng.choice(NEXT[server["status"]])
            if op == "resize":  # to the other chaos flavor
                op = {"resize": {"flavorRef": flavors[1] if server["flavor"]["id"] == flavors[0] else flavors[0]}}
            if op == "delete":
                resp = api.http.delete(f"{COMPUTE}/servers/{server['id']}")
            else:
                resp = api.http.post(f"{COMPUTE}/servers/{server['id']}/action", json=op)
            if resp.status_code == 409:
                summary.conflicts += 1
                continue
            assert resp.status_code in (200, 202, 204), (op, resp.status_code, resp.text)
            urls.append(api.rel(resp.headers["X-Taskvisor-Task"]))
            summary.operations += 1
            time.sleep(1.0 / rate)
    finally:
        stop_killing.set()
        killer_thread.join(30)
    for proc in cluster.all:
        if not proc.running:
            proc.start(wait_http=proc is cluster.api)
    deadline = time.monotonic() + settle_timeout
    tasks = []
    for url in urls:
        while True:
            task = api.task(url)
            if task["status"] in TERMINAL or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        tasks.append(task)
    summary.tasks = tasks
    summary.seconds = time.monotonic() - started
    summary.problems = check(cluster, api, tasks)
    summary.problems += [f"the API answered {u}" for u in summary.unavailable if not u.startswith("503")]
    summary.stuck = sum(1 for p in summary.problems if "stuck in task_state" in p)
    summary.duplicated = sum(1 for p in summary.problems if "has guests on" in p)
    return summary


def check(cluster: Cluster, api: Api, tasks: list) -> list[str]:
    problems = [f"task {t['id']} ({t['action']}) still {t['status']}" for t in tasks if t["status"] not in TERMINAL]
    listing = {s["id"]: s for s in api.http.get(f"{COMPUTE}/servers/detail").json()["servers"]}
    problems += [f"server {s['id']} stuck in task_state {s['OS-EXT-STS:task_state']}"
                 for s in listing.values() if s["OS-EXT-STS:task_state"] is not None]
    state = fake_guests(cluster)
    where = {sid: host for host, st in state.items() for sid in st["guests"]}
    hosts_of: dict[str, list[str]] = {}
    for host, st in state.items():
        for sid in st["guests"]:
            hosts_of.setdefault(sid, []).append(host)
    problems += [f"server {sid} has guests on {', '.join(sorted(hosts))}" for sid, hosts in hosts_of.items()
                 if len(hosts) > 1]
    for sid, server in listing.items():
        host = server.get("OS-EXT-SRV-ATTR:host")
        status = server["status"]
        if status == "SHELVED_OFFLOADED":
            if sid in where:
                problems.append(f"shelved-offloaded server {sid} still has a guest on {where[sid]}")
            continue
        if status == "ERROR":
            continue
        if where.get(sid) != host:
            problems.append(f"server {sid} ({status}) is on {host} in the database but its guest is on "
                            f"{where.get(sid)}")
            continue
        guest = state[host]["guests"][sid]
        want = POWER_FOR_STATUS.get(status)
        if want is not None and guest["power_state"] != want:
            problems.append(f"server {sid} is {status} but its guest's power state is {guest['power_state']}")
        if status == "RESCUE" and not guest.get("rescue"):
            problems.append(f"server {sid} is RESCUE but its guest is not rescued")
    problems += [f"guest {sid} on {host} belongs to no live server" for sid, host in where.items()
                 if sid not in listing]
    # side effects: a guest is created once per boot or unshelve that created one
    creators: dict[str, int] = {}
    for t in tasks:
        if t["action"] in ("create", "unshelve") and t["status"] == "succeeded":
            creators[t["resource_id"]] = creators.get(t["resource_id"], 0) + 1
    for host, st in state.items():
        for sid, counts in st["counts"].items():
            if counts.get("spawn", 0) > creators.get(sid, 0) + sum(
                    1 for t in tasks if t["resource_id"] == sid and t["action"] in ("create", "unshelve")
                    and t["status"] != "succeeded"):
                problems.append(f"server {sid} was spawned {counts['spawn']} times on {host} for "
                                f"{creators.get(sid, 0)} successful boots/unshelves")
    return problems
