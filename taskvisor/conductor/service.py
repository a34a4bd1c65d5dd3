"""The conductor: claims tasks, runs each in a worker thread, keeps their
leases alive, and serves the ``conductor`` topic (service reports).

It wakes when the API notifies ``conductor.wake`` after queueing a task and
otherwise looks every [conductor] poll_interval (so a lost wake-up, or a
lease that expired on a dead conductor, is noticed anyway).
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from taskvisor import servicegroup
from taskvisor.baremetal.drivers import describe_all
from taskvisor.conductor.reclaim import reclaim_soft_deleted
from taskvisor.conductor.repair import repair_orphans
from taskvisor.config import Config
from taskvisor.db.session import Database
from taskvisor.rpc import conductorapi
from taskvisor.rpc.base import Transport
from taskvisor.runtime import Runtime
from taskvisor.tasks.flow import Flows
from taskvisor.tasks.runner import TaskRunner
from taskvisor.tasks.store import TaskStore

LOG = logging.getLogger(__name__)
BINARY = "taskvisor-conductor"
WAKE_TOPIC = "conductor.wake"


class ConductorEndpoint:
    # 1.1: node_validate, node_boot_device, node_supported_boot_devices; 1.2: node_indicators, node_indicator_state
    RPC_API_VERSION = "1.2"

    def __init__(self, db: Database, transport: Transport | None = None, conf: Config | None = None,
                 flows: Flows | None = None):
        self.db, self.transport, self.conf, self.flows = db, transport, conf, flows

    def report_service(self, binary: str, host: str, topic: str | None, version: int, state: str,
                       capabilities: dict | None = None) -> dict:
        servicegroup.report(self.db, binary=binary, host=host, topic=topic, version=version, state=state,
                            capabilities=capabilities)
        return {"ok": True}

    def baremetal_available_nodes(self) -> dict:
        """A bare-metal compute's capacity: free nodes per resource class."""
        from taskvisor.conductor.baremetal import available_nodes
        return available_nodes(self.db)

    def baremetal_power_states(self) -> dict:
        """A bare-metal compute's guests: each server's power state, from its node."""
        from taskvisor.conductor.baremetal import server_power_states
        return server_power_states(self.db)

    def node_validate(self, node_id: str) -> dict:
        """Each interface's check of a node (GET /v1/nodes/{id}/validate)."""
        from taskvisor.conductor import node_management
        return node_management.validate(self.db, self.conf, node_id)

    def node_boot_device(self, node_id: str) -> dict:
        from taskvisor.conductor import node_management
        return node_management.boot_device(self.db, self.conf, node_id)

    def node_supported_boot_devices(self, node_id: str) -> list:
        from taskvisor.conductor import node_management
        return node_management.supported_boot_devices(self.db, self.conf, node_id)

    def node_indicators(self, node_id: str) -> dict:
        from taskvisor.conductor import node_management
        return node_management.indicators(self.db, self.conf, node_id)

    def node_indicator_state(self, node_id: str, component: str, indicator: str) -> str:
        from taskvisor.conductor import node_management
        return node_management.indicator_state(self.db, self.conf, node_id, component, indicator)

    def sync_power_states(self, host: str, states: dict, taken_at: float | None = None) -> dict:
        """A compute's report of its guests' power states (cast at its start
        and every [compute] sync_power_state_interval)."""
        from taskvisor.conductor.power_sync import deleted_guests, sync_power_states
        changed = sync_power_states(self.db, host, states, taken_at)
        reaped = deleted_guests(self.db, states)
        for server_id in reaped:
            LOG.warning("compute %s still has a guest of deleted server %s; destroying it", host, server_id)
            if self.transport is not None:
                self.transport.cast(f"compute.{host}", "destroy", {"server_id": server_id})
        strays = self._reap_strays(host, states)
        return {"changed": changed, "reaped": reaped, "strays": strays}

    def _reap_strays(self, host: str, states: dict) -> list[str]:
        """Start a reap_guest task for each guest this host holds for a
        server assigned elsewhere (recorded like any other change)."""
        if self.conf is None or self.flows is None or "reap_guest" not in self.flows:
            return []
        from taskvisor.conductor.power_sync import stray_guests
        from taskvisor.tasks.store import insert_task, new_task_row
        started = []
        for server in stray_guests(self.db, host, states, self.conf.conductor.reconcile_grace):
            LOG.warning("compute %s holds a guest of server %s, which is assigned elsewhere; destroying it",
                        host, server["id"])
            task = new_task_row(resource_type="server", resource_id=server["id"], action="reap_guest",
                                flow="reap_guest", flow_version=self.flows.get("reap_guest").version,
                                params={"host": host}, user_id=server["user_id"], project_id=server["project_id"])
            with self.db.write() as conn:
                insert_task(conn, task)
            started.append(server["id"])
        if started and self.transport is not None:
            self.transport.notify(WAKE_TOPIC, {})
        return started


class Conductor:
    def __init__(self, conf: Config, db: Database, transport: Transport, flows: Flows,
                 host: str | None = None):
        self.conf, self.db, self.transport = conf, db, transport
        self.host = host or conf.DEFAULT.host
        self.runtime = Runtime(conf, db, transport, self.host, flows)
        self.store = TaskStore(db, self.host, conf.conductor.lease_seconds)
        self.runner = TaskRunner(self.runtime, self.store, flows)
        self.workers = conf.conductor.workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._queue: queue.Queue = queue.Queue()
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._rpc = self._listener = None
        self.finished = 0

    def start(self) -> None:
        # The API learns the hardware drivers from this record (it loads none itself).
        servicegroup.report(self.db, binary=BINARY, host=self.host, topic=conductorapi.TOPIC,
                            capabilities={"drivers": describe_all(),
                                          "conductor_group": self.conf.conductor.conductor_group})
        self._rpc = self.transport.serve(conductorapi.TOPIC, ConductorEndpoint(self.db, self.transport, conf=self.conf,
                                                                     flows=self.runtime.flows), workers=4)
        self._listener = self.transport.listen(WAKE_TOPIC, lambda _payload: self._wake.set())
        for i in range(self.workers):
            self._spawn(self._work, f"conductor-worker-{i}")
        self._spawn(self._claim_loop, "conductor-claim")
        self._spawn(self._heartbeat_loop, "conductor-heartbeat")
        LOG.info("conductor %s started (%d workers, lease %.1fs)", self.host, self.workers,
                 self.conf.conductor.lease_seconds)

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def _claim_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                free = self.workers - len(self._active)
            claims = []
            if free > 0:
                try:
                    claims = self.store.claim(free, first_step=self.runner.first_step)
                except Exception:
                    LOG.exception("claiming tasks failed; retrying")
                    self._stop.wait(1)
                    continue
            for claim in claims:
                with self._lock:
                    self._active.add(claim.task["id"])
                self._queue.put(claim)
            # Fewer claims than free workers means nothing else was runnable
            # when we looked: wait even then. Whatever arrives or finishes
            # after the clear above has set the event, so this wait returns at
            # once; looking again at once only found nothing (a look per task).
            self._wake.wait(self.conf.conductor.poll_interval)

    def _work(self) -> None:
        while True:
            claim = self._queue.get()
            if claim is None:
                return
            try:
                self.runner.run(claim)
            except Exception as exc:
                LOG.exception("task %s crashed its runner; it is handed back (crash %d of at most %d)",
                              claim.task["id"], int(claim.task.get("runner_crashes") or 0) + 1,
                              self.conf.conductor.max_runner_crashes)
                self.runner.crashed(claim, exc)
            finally:
                with self._lock:
                    self._active.discard(claim.task["id"])
                    self.finished += 1
                self._wake.set()

    def _heartbeat_loop(self) -> None:
        interval = self.conf.conductor.lease_seconds / 3
        last_report = last_repair = time.monotonic()
        while not self._stop.wait(interval):
            try:
                with self._lock:
                    busy = bool(self._active)
                if busy:
                    self.runner.enforce_deadlines()  # first: an overdue task is failed, not renewed
                    self.store.heartbeat()
                now = time.monotonic()
                if now - last_report >= self.conf.DEFAULT.report_interval:
                    servicegroup.report(self.db, binary=BINARY, host=self.host, topic=conductorapi.TOPIC)
                    last_report = now
                if now - last_repair >= self.conf.conductor.periodic_interval:
                    last_repair = now
                    repair_orphans(self.runtime)
                    if reclaim_soft_deleted(self.runtime):
                        self._wake.set()
            except Exception:
                LOG.exception("conductor heartbeat failed")

    def active_tasks(self) -> list[str]:
        with self._lock:
            return sorted(self._active)

    def stop(self, wait: float = 5.0) -> None:
        """Stop claiming; each running task finishes the step it is in,
        checkpoints and is handed back (any conductor resumes it at once).
        Steps still running after ``wait`` seconds are resumed from their last
        checkpoint once their lease expires — never lost."""
        self._stop.set()
        self.runner.stopping.set()  # running tasks stop at their next checkpoint and are handed back
        self._wake.set()
        deadline = time.monotonic() + wait
        while self.active_tasks() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(self.workers):
            self._queue.put(None)
        for server in (self._rpc, self._listener):
            if server is not None:
                server.stop()
        try:
            servicegroup.report(self.db, binary=BINARY, host=self.host, topic=conductorapi.TOPIC, state="stopped")
        except Exception:
            pass
