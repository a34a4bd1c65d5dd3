"""A compute service: serves compute.<host> and compute-alt.<host>, and
reports itself (with its capacity and service version) over the bus."""
from __future__ import annotations

import logging
import threading
import time

from taskvisor.compute.manager import ComputeManager
from taskvisor.compute import rpcapi
from taskvisor.config import Config
from taskvisor.rpc.base import RpcError, Transport
from taskvisor.rpc.conductorapi import ConductorClient
from taskvisor.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)
BINARY = "taskvisor-compute"


class ComputeService:
    def __init__(self, conf: Config, transport: Transport, driver: ComputeDriver, host: str | None = None):
        self.conf, self.transport, self.driver = conf, transport, driver
        self.conductor = ConductorClient(transport, float(conf.DEFAULT.rpc_response_timeout))
        self.host = host or conf.DEFAULT.host
        # A compute pinned by [upgrade_levels] compute serves only that
        # version, as an older compute would (rolling-upgrade tests, and an
        # operator holding a host back); auto or unset = the newest.
        pinned = rpcapi.parse_upgrade_level(conf.upgrade_levels.compute)
        self.rpc_version = pinned if pinned not in (None, "auto") else rpcapi.RPC_API_VERSION
        self.version = rpcapi.service_version_of(self.rpc_version)
        self.manager = ComputeManager(driver, self.host, idle_limit=2 * conf.DEFAULT.rpc_response_timeout)
        self.manager.RPC_API_VERSION = self.rpc_version  # the bus refuses messages newer than this
        self._force_exit = threading.Event()
        self.rpc_servers: dict = {}
        self.state = "running"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guest_changed = threading.Event()

    def start(self) -> None:
        self.driver.set_event_handler(self._guest_event)
        self.driver.init_host(self.host)
        workers = self.conf.compute.workers
        self.rpc_servers["compute"] = self.transport.serve(f"compute.{self.host}", self.manager, workers)
        if rpcapi.can_send_alt(self.rpc_version):
            self.rpc_servers["compute-alt"] = self.transport.serve(f"compute-alt.{self.host}", self.manager,
                                                                   workers)
        self.rpc_servers["cancel"] = self.transport.listen(rpcapi.CANCEL_TOPIC,
                                                           lambda payload: self.manager.cancel(payload["op"]))
        self.report(wait=True)
        self.sync_power_states()
        self._thread = threading.Thread(target=self._heartbeat, name=f"compute-{self.host}-heartbeat",
                                        daemon=True)
        self._thread.start()
        threading.Thread(target=self._event_syncs, name=f"compute-{self.host}-events", daemon=True).start()
        LOG.info("compute %s serving compute RPC %s (service version %d)", self.host, self.rpc_version, self.version)

    def report(self, wait: bool = False) -> None:
        args = {"binary": BINARY, "host": self.host, "topic": f"compute.{self.host}", "version": self.version,
                "state": self.state, "capabilities": self.driver.capabilities()}
        if not wait:
            self.conductor.report_service(args)
            return
        for _ in range(30):  # the conductor may still be starting
            try:
                self.conductor.report_service(args, wait=True, timeout=5)
                return
            except RpcError as exc:
                LOG.info("waiting for a conductor to register with: %s", exc)
                if self._stop.wait(1):
                    return
        raise RuntimeError("no conductor answered; is one running on this transport?")

    def sync_power_states(self) -> None:
        """Tell the conductor what our guests' power states are; it fixes the
        servers that disagree (a compute never writes the database)."""
        try:
            taken_at = time.time()
            states = self.driver.list_guests()
            self.conductor.sync_power_states(self.host, states, taken_at)
        except Exception:
            LOG.exception("power state sync report failed")

    def _guest_event(self, server_id: str, state: int) -> None:
        """A driver saw a guest change power state: report at once (events
        that arrive while a report is being made are folded into the next)."""
        self._guest_changed.set()

    def _event_syncs(self) -> None:
        while not self._stop.is_set():
            if self._guest_changed.wait(1):
                self._guest_changed.clear()
                if not self._stop.is_set():
                    self.sync_power_states()

    def _heartbeat(self) -> None:
        interval = self.conf.compute.sync_power_state_interval
        last_sync = time.monotonic()
        while not self._stop.wait(min(self.conf.DEFAULT.report_interval, interval or float("inf"))):
            try:
                self.report()
            except Exception:
                LOG.exception("service report failed")
            if interval and time.monotonic() - last_sync >= interval:
                self.sync_power_states()
                last_sync = time.monotonic()

    def drain(self, timeout: float | None = None, progress_every: float = 10.0) -> bool:
        """Graceful shutdown (architecture.md §6): take no new operations, finish the
        ones in flight through compute-alt, then stop. Returns True when
        everything in flight finished, False when the timeout (or a second
        signal, ``force_exit``) cut it short; what was cut short resumes
        through the crash-safety rules."""
        timeout = self.conf.DEFAULT.graceful_shutdown_timeout if timeout is None else timeout
        self.state = "draining"
        try:
            self.report(wait=True)  # the scheduler stops choosing this host before we stop listening
        except Exception:
            LOG.warning("could not report draining; stopping anyway")
        self.rpc_servers["compute"].stop()
        has_alt = "compute-alt" in self.rpc_servers
        started = last_log = time.monotonic()
        LOG.info("compute %s draining: no new operations; finishing those in flight (up to %ss)",
                 self.host, timeout)
        while True:
            busy = self.manager.operations.in_flight() if has_alt else {}
            if not busy and self.manager.operations.executing() == 0:
                LOG.info("compute %s drained in %.1fs", self.host, time.monotonic() - started)
                drained = True
                break
            now = time.monotonic()
            if now - started >= timeout or self._force_exit.is_set():
                LOG.warning("compute %s stopping with %d operation(s) in flight (%s): they resume after a "
                            "restart", self.host, len(busy), "timeout" if now - started >= timeout else "signal")
                drained = False
                break
            if now - last_log >= progress_every:
                LOG.info("compute %s draining for %.0fs; still in flight: %s", self.host, now - started,
                         "; ".join(f"{op}: {what}" for op, what in sorted(busy.items())) or "calls finishing")
                last_log = now
            time.sleep(0.1)
        self.stop()
        return drained

    def force_exit(self) -> None:
        self._force_exit.set()

    def stop(self) -> None:
        self._stop.set()
        for server in self.rpc_servers.values():
            server.stop()
        self.state = "stopped"
        try:
            self.report()
        except Exception:
            pass
