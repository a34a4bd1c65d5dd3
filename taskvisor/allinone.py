"""Services wired together: what `taskvisor all-in-one` runs, and what
functional tests start (with the same code).

``AllInOne`` is the services in one process (tests, ``--single-process``).
``SplitAllInOne`` is the default of the command: the API in this process,
the conductor and compute in a child process forked from it (sharing what
both imported), so the two use two cores (the API is most of the CPU an
operation costs). They share the database (SQLite in WAL mode: one writer at a time,
the other waits on the busy timeout) and the local bus (rpc/local.py).
"""
from __future__ import annotations

import gc
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, TextIO

from taskvisor.config import Config
from taskvisor.db.session import Database, PoolOptions, sqlite_file
from taskvisor.flows import FLOWS
from taskvisor.rpc import metrics as rpc_metrics
from taskvisor.rpc.base import RpcError, Transport, transport_from
from taskvisor.rpc.local import Hub, LocalTransport

if TYPE_CHECKING:
    from taskvisor.compute.service import ComputeService
    from taskvisor.conductor.service import Conductor

LOG = logging.getLogger(__name__)


def open_database(conf: Config, upgrade: bool = True, upgrade_apart: bool = False) -> Database:
    """``upgrade_apart``: a long-lived process runs Alembic in a short-lived
    child, as Alembic keeps ~6 MB of modules and objects once it ran (a
    database already at the newest revision runs none)."""
    db = Database(conf.database_url, PoolOptions.from_conf(conf))
    if upgrade:  # imported here: a split all-in-one's child never migrates, and alembic is weighty
        from taskvisor.db import migrate
        from taskvisor.seed import seed
        if not migrate.at_head(db):
            LOG.info("database: bringing the schema to the newest revision")
            if upgrade_apart and not cannot_split(conf):
                migrate.upgrade_in_child(db)
            else:
                migrate.upgrade(db)
        seed(db)
        LOG.info("database: ready (default flavors and the cirros image are in place)")
    return db


def settle_after_start_up() -> None:
    """Move what start-up imported and built (modules, routes, tables,
    policy rules; none of it garbage) to the cyclic collector's permanent
    generation, so that full collections walk only what the service
    allocates from here on: a full pass over the API's ~160,000 start-up
    objects costs 40-90 ms of CPU, over the engine's ~63,000 ~35 ms; after
    this, next to nothing. Start-up objects freed later are still freed
    (by reference counting)."""
    gc.collect()  # first, so that no garbage of start-up is kept for good
    gc.freeze()


class AllInOne:
    """API state + one conductor + one compute sharing a database and a bus.

    ``engine=False`` leaves out the conductor and compute (the API half of a
    split all-in-one); ``transport`` replaces the one [DEFAULT] transport_url names."""

    def __init__(self, conf: Config, flows=None, transport: Transport | None = None, engine: bool = True,
                 upgrade: bool = True, upgrade_apart: bool = False):
        self.conf = conf
        self.flows = flows or FLOWS  # tests hand extra flows
        self.db = open_database(conf, upgrade, upgrade_apart)
        self.transport = transport or transport_from(conf)
        self.conductor: Conductor | None = None
        self.compute: ComputeService | None = None
        if engine:  # imported here: the API half of a split all-in-one runs neither (~3 MB of modules)
            from taskvisor.compute.service import ComputeService
            from taskvisor.conductor.service import Conductor
            from taskvisor.virt import load_driver
            self.conductor = Conductor(conf, self.db, self.transport, self.flows)
            self.driver = load_driver(conf, self.transport)
            self.compute = ComputeService(conf, self.transport, self.driver)

    def app(self):
        from taskvisor.api.app import create_app
        return create_app(self.conf, self.db, self.transport, self.flows)

    def start(self) -> "AllInOne":
        if self.conductor and self.compute:
            self.conductor.start()
            self.compute.start()
        return self

    def stop(self, wait: float = 5.0) -> None:
        if self.conductor and self.compute:
            self.conductor.stop(wait=wait)
            self.compute.stop()
        self.transport.close()
        self.db.dispose()


def cannot_split(conf: Config) -> str | None:
    """Why the services cannot run in two processes, if they cannot."""
    if conf.database_url.startswith("sqlite") and sqlite_file(conf.database_url) is None:
        return "an in-memory SQLite database cannot be shared between processes"
    return None


def split_does_not_pay() -> str | None:
    """Why two processes would not be worth it here, if they would not: the
    split buys throughput with a second core (≈ 1.7×, docs/performance.md)
    at ≈ 20 MB more memory, so with one usable CPU it only costs."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cpus < 2:
        return "one usable CPU: a second process would add memory, not throughput"
    return None


def _bus_address(conf: Config) -> tuple[str, str | None]:
    """The hub's socket: in the data directory, unless that path is too long
    for a Unix socket (108 bytes); then in a private temporary directory."""
    path = os.path.abspath(os.path.join(conf.DEFAULT.data_dir, "bus.sock"))
    if len(path.encode()) < 100:
        return path, None
    tmp = tempfile.mkdtemp(prefix="taskvisor-bus-")
    return os.path.join(tmp, "bus.sock"), tmp


ENGINE_TOPIC = "all-in-one.engine"


class EngineEndpoint:
    """What the API half of a split all-in-one asks the other half."""
    RPC_API_VERSION = "1.0"

    def rpc_call_samples(self) -> list:
        return [[s.name, s.labels, s.value] for family in rpc_metrics.CALLS.collect() for s in family.samples]


class _CallsOfBothProcesses:
    """The RPC call histogram of both processes, summed: the API's /metrics
    shows every call the all-in-one made, as it did in one process."""

    def __init__(self, transport: Transport):
        self.transport = transport

    def describe(self) -> list:
        return []

    def collect(self):
        from prometheus_client.metrics_core import Metric
        local = next(iter(rpc_metrics.CALLS.collect()))
        values = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in local.samples}
        try:
            remote = self.transport.call(ENGINE_TOPIC, "rpc_call_samples", {}, timeout=2)
        except RpcError as exc:
            LOG.warning("metrics: no RPC figures from the conductor and compute process: %s", exc)
            remote = []
        for name, labels, value in remote:
            key = (name, tuple(sorted(labels.items())))
            if name.endswith("_created") and key in values:
                values[key] = min(values[key], value)
            else:
                values[key] = values.get(key, 0.0) + value
        merged = Metric(local.name, local.documentation, local.type)
        for (name, labels), value in values.items():
            merged.add_sample(name, dict(labels), value)
        yield merged


ENGINE_NAME = "tv-engine"  # the forked child's process name (ps, top; psutil's name())


def _threads() -> int:
    """OS threads of this process (C libraries' too), where Linux tells."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _fork_engine(engine_main: Callable[[TextIO], int]) -> tuple[int, BinaryIO]:
    """Fork the conductor+compute child; its pid, and the pipe its link is
    written to. Only while this process runs a single thread and holds no
    connection or socket: the child gets a copy of a quiet process, and
    shares with it, copy-on-write, every page start-up filled (SQLAlchemy,
    the models, the flows: most of a process's memory). ``gc.freeze()``
    first: the child's collections then never write into (and so copy) the
    parent's objects; their reference counts still do, where touched."""
    read_end, write_end = os.pipe()
    gc.collect()
    gc.freeze()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(read_end)
        return pid, os.fdopen(write_end, "wb")
    code = 1
    try:  # the child: never returns into its parent's stack
        os.setsid()  # as start_new_session: a Ctrl-C in the terminal reaches the main process only
        os.close(write_end)
        try:
            with open("/proc/self/comm", "w") as comm:
                comm.write(ENGINE_NAME)
        except OSError:
            pass
        code = engine_main(os.fdopen(read_end, "r"))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        LOG.exception("the conductor and compute process failed")
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class SplitAllInOne:
    """The API here; the conductor and compute in a supervised child process.

    The child is forked from this process before it starts any thread or
    opens any connection or socket (``_fork_engine``), so the two share what
    start-up imported; should this process already run threads, it is started as
    `taskvisor <argv> --engine` instead. It reads how to reach the bus (the
    hub's socket and authkey) from a pipe, and leaves at once when that
    pipe closes, i.e. when this process ended, even by SIGKILL. It has a
    session of its own, so a Ctrl-C in the terminal reaches this process
    only, which stops the API and then the child (one SIGTERM: graceful).
    Its logs go to the same output. If it ends while the API serves,
    ``died`` is set and the all-in-one stops, loudly."""

    def __init__(self, conf: Config, argv: list[str], engine_main: Callable[[TextIO], int] | None = None):
        """Start the child, and nothing else: call ``open()`` next."""
        self.conf, self.argv = conf, argv
        self.hub: Hub | None = None
        self.api: AllInOne | None = None
        self._tmp: str | None = None
        self._calls: _CallsOfBothProcesses | None = None
        self.link: dict = {}
        self.died = threading.Event()
        self.ended = threading.Event()  # the child has ended and was reaped
        self.exit_code: int | None = None
        self._stopping = False
        # The child starts first, and runs its own imports while this process
        # brings the schema up to date; it waits for start() to tell it the
        # bus, i.e. until the schema is ready (it never migrates).
        self.forked = engine_main is not None and _threads() == 1
        if self.forked:
            assert engine_main is not None
            self.pid, self._link_pipe = _fork_engine(engine_main)
            self._reap = lambda: os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        else:
            if engine_main is not None:
                LOG.warning("this process runs %d threads: starting the conductor and compute process anew "
                            "rather than forking it", _threads())
            proc = subprocess.Popen([sys.executable, "-m", "taskvisor.cli", *self.argv, "--engine"],
                                    stdin=subprocess.PIPE, start_new_session=True)
            assert proc.stdin is not None
            self.pid, self._link_pipe, self._reap = proc.pid, proc.stdin, proc.wait
        threading.Thread(target=self._supervise, name="supervise-engine", daemon=True).start()

    def open(self) -> "SplitAllInOne":
        """The bus's hub, and the database brought to the newest schema."""
        transport = None
        if self.conf.DEFAULT.transport_url.startswith("inprocess"):  # else both use RabbitMQ
            address, self._tmp = _bus_address(self.conf)
            os.makedirs(self.conf.DEFAULT.data_dir, mode=0o700, exist_ok=True)
            key = secrets.token_bytes(32)
            self.hub = Hub(address, key)
            self.link = {"address": address, "key": key.hex()}
            transport = LocalTransport(address, key, name="the API")
        self.api = AllInOne(self.conf, transport=transport, engine=False, upgrade_apart=True)
        # /metrics shows both processes' calls; stop() puts the plain histogram back, so
        # another all-in-one in this process (tests) finds the registry as it was
        self._calls = _CallsOfBothProcesses(self.api.transport)
        rpc_metrics.REGISTRY.unregister(rpc_metrics.CALLS)
        rpc_metrics.REGISTRY.register(self._calls)
        return self

    def app(self):
        assert self.api is not None
        return self.api.app()

    def start(self) -> "SplitAllInOne":
        try:
            self._link_pipe.write((json.dumps(self.link) + "\n").encode())
            self._link_pipe.flush()  # kept open: its end tells the child that we ended
        except BrokenPipeError:  # it has ended already: _supervise reports it
            pass
        LOG.info("conductor and compute: process %d%s", self.pid, " (forked)" if self.forked else "")
        return self

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """True once the child serves the conductor and compute topics."""
        if self.hub is None:
            return not self.died.is_set()
        topics = ["conductor", f"compute.{self.conf.DEFAULT.host}"]
        return self.hub.wait_served(topics, timeout, alive=lambda: not self.died.is_set())

    def _supervise(self) -> None:
        """The only reaper of the child."""
        self.exit_code = self._reap()
        self.ended.set()
        if not self._stopping:
            LOG.error("the conductor and compute process (%d) ended (exit status %s): stopping the all-in-one",
                      self.pid, self.exit_code)
            self.died.set()

    def _signal(self, sig: int) -> None:
        if not self.ended.is_set():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:  # ended, not reaped yet
                pass

    def _kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self, wait: float) -> int:
        """SIGTERM the child (graceful: running steps reach their checkpoints,
        up to ``wait``), then close the API side; the child's exit status."""
        self._stopping = True
        self._signal(signal.SIGTERM)
        if not self.ended.wait(wait + 15):
            LOG.warning("the conductor and compute process did not stop in %ss: killing it", wait + 15)
            self._kill()
            self.ended.wait()
        if self.api:
            self.api.stop()
        if self._calls is not None:
            rpc_metrics.REGISTRY.unregister(self._calls)
            rpc_metrics.REGISTRY.register(rpc_metrics.CALLS)
            self._calls = None
        if self.hub:
            self.hub.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        return self.exit_code or 0


def run_engine(conf: Config, wait_for_signal, second_signal_ends_now, link_pipe: TextIO | None = None) -> int:
    """The child of a split all-in-one: conductor + compute until SIGTERM.
    ``link_pipe`` (stdin by default) brings the bus's address, then closes
    when the main process ends."""
    pipe = link_pipe or sys.stdin
    line = pipe.readline()
    if not line:  # the main process ended before the schema was ready
        LOG.error("the all-in-one's main process is gone: leaving now")
        return 1
    link = json.loads(line)

    def exit_with_parent() -> None:
        pipe.read()  # returns at EOF: the all-in-one's main process ended
        if not stopping.is_set():
            LOG.error("the all-in-one's main process is gone: leaving now")
        logging.shutdown()
        os._exit(1)

    stopping = threading.Event()
    threading.Thread(target=exit_with_parent, name="watch-parent", daemon=True).start()
    transport = None
    if link:
        transport = LocalTransport(link["address"], bytes.fromhex(link["key"]), name="conductor+compute")
    node = AllInOne(conf, transport=transport, upgrade=False)
    node.transport.serve(ENGINE_TOPIC, EngineEndpoint(), workers=1)
    node.start()
    settle_after_start_up()
    wait_for_signal()
    stopping.set()
    second_signal_ends_now()
    node.stop(wait=conf.DEFAULT.graceful_shutdown_timeout)
    return 0
