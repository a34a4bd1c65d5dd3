"""The compute's RPC endpoint: one method per step a conductor can ask for.

Thin by design: each method runs one driver operation and answers. Clean
shutdown (architecture.md §5) lives here so that every driver gets the same rules.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from taskvisor.compute import rpcapi
from taskvisor.compute.operations import Operations
from taskvisor.states import power
from taskvisor.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)


class ComputeManager:
    RPC_API_VERSION = rpcapi.RPC_API_VERSION  # a pinned compute lowers it (ComputeService)

    def __init__(self, driver: ComputeDriver, host: str, idle_limit: float = 120.0):
        self.driver, self.host = driver, host
        self.operations = Operations(idle_limit)
        # One create-or-destroy of a guest at a time: a destroy that undoes a
        # spawn still in flight (a conductor took the boot over) waits for it.
        self._guest_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _rpc_context(self, message: dict):
        """Every call counts toward its operation being in flight here."""
        return self.operations.call(message.get("op"), message.get("method", "?"))

    def operation_done(self, op: str) -> dict:
        """The conductor finished task ``op`` (cast to compute-alt)."""
        self.operations.done(op)
        return {}

    # -- steps --------------------------------------------------------------------
    def list_guests(self) -> dict:
        return self.driver.list_guests()

    def _guest_lock(self, server_id: str) -> threading.Lock:
        with self._lock:
            return self._guest_locks.setdefault(server_id, threading.Lock())

    def spawn(self, server: dict, image: dict, flavor: dict) -> dict:
        with self._guest_lock(server["id"]):
            return {"power_state": self.driver.spawn(server, image, flavor)}

    def destroy(self, server_id: str) -> dict:
        with self._guest_lock(server_id):
            return {"existed": self.driver.destroy(server_id)}

    def power_on(self, server_id: str) -> dict:
        return {"power_state": self.driver.power_on(server_id)}

    def power_state(self, server_id: str) -> dict:
        return {"power_state": self.driver.power_state(server_id)}

    def power_off(self, server_id: str, timeout: float, retry_interval: float, force: bool = False) -> dict:
        """Clean shutdown: ask, re-ask every retry_interval, poll the power
        state, and force the guest off once timeout passes. The answer says
        which path it took and how long it took. A user who cancels the task
        meanwhile stops the wait (the guest is left as it is)."""
        return clean_shutdown(self.driver, server_id, timeout, retry_interval, force,
                              self.operations.current_cancelled)

    def cancel(self, op: str) -> None:
        """A user cancelled task ``op`` (the compute-cancel fan-out)."""
        self.operations.cancel(op)

    # -- server actions: one driver call each -----------------------------------------
    def pause(self, server_id: str) -> dict:
        return {"power_state": self.driver.pause(server_id)}

    def unpause(self, server_id: str) -> dict:
        return {"power_state": self.driver.unpause(server_id)}

    def suspend(self, server_id: str) -> dict:
        return {"power_state": self.driver.suspend(server_id)}

    def resume(self, server_id: str) -> dict:
        return {"power_state": self.driver.resume(server_id)}

    def rescue(self, server_id: str, rescue_image: dict) -> dict:
        return {"power_state": self.driver.rescue(server_id, rescue_image)}

    def unrescue(self, server_id: str) -> dict:
        return {"power_state": self.driver.unrescue(server_id)}

    def snapshot(self, server_id: str, image_id: str) -> dict:
        return self.driver.snapshot(server_id, image_id)

    def resize(self, server_id: str, new_flavor: dict) -> dict:
        return {"power_state": self.driver.resize(server_id, new_flavor)}

    def confirm_resize(self, server_id: str) -> dict:
        self.driver.confirm_resize(server_id)
        return {}

    def revert_resize(self, server_id: str) -> dict:
        return {"power_state": self.driver.revert_resize(server_id)}

    def console_output(self, server_id: str, length: int | None = None) -> dict:
        return {"output": self.driver.console_output(server_id, length)}


CANCEL_LOOK_SECONDS = 0.25  # how often a shutdown wait looks for a cancel


def clean_shutdown(driver: ComputeDriver, server_id: str, timeout: float, retry_interval: float,
                   force: bool, cancelled: Callable[[], bool] = lambda: False) -> dict:
    started = time.monotonic()
    state = driver.power_state(server_id)
    if state in (power.SHUTDOWN, power.CRASHED):
        return {"shutdown": "already-off", "requested": timeout, "seconds": 0.0, "retries": 0}
    if state in (power.PAUSED, power.SUSPENDED) and not force and timeout > 0:
        # A paused or suspended guest runs no code: it cannot answer the
        # ACPI power button, so waiting for it would only cost the whole
        # timeout. Force it off at once and say why. (Not unpause/resume
        # first: that lets a guest its user froze run again, and Nova's own
        # delete destroys a guest without asking it at all.)
        driver.force_off(server_id)
        return {"shutdown": "forced", "requested": timeout, "seconds": round(time.monotonic() - started, 3),
                "retries": 0, "reason": f"guest is {power.NAMES[state]}: it cannot answer an ACPI shutdown "
                                        "request"}
    if force or timeout <= 0:
        driver.force_off(server_id)
        return {"shutdown": "forced", "requested": timeout, "seconds": round(time.monotonic() - started, 3),
                "retries": 0, "reason": "force requested" if force else "shutdown timeout is 0"}
    if cancelled():
        return _cancelled(timeout, started, 0)
    driver.request_shutdown(server_id)
    retries, last_request = 0, started
    while True:
        # wait until the guest is off, the next re-send, the timeout or the
        # next look for a cancel, whichever is first
        until = min(started + timeout, time.monotonic() + CANCEL_LOOK_SECONDS)
        if retry_interval > 0:
            until = min(until, last_request + retry_interval)
        if driver.wait_off(server_id, max(0.0, until - time.monotonic())):
            # taken after the answer: seconds is the real time to off
            return {"shutdown": "clean", "requested": timeout, "seconds": round(time.monotonic() - started, 3),
                    "retries": retries}
        if cancelled():
            LOG.info("guest %s: shutdown wait cancelled by the user after %d request(s)", server_id,
                     retries + 1)
            return _cancelled(timeout, started, retries)
        now = time.monotonic()
        if now - started >= timeout:
            break
        if retry_interval > 0 and now - last_request >= retry_interval:
            driver.request_shutdown(server_id)
            retries, last_request = retries + 1, now
    LOG.info("guest %s did not shut down in %ss; forcing it off", server_id, timeout)
    driver.force_off(server_id)
    return {"shutdown": "forced", "requested": timeout, "seconds": round(time.monotonic() - started, 3),
            "retries": retries, "reason": "timeout"}


def _cancelled(timeout: float, started: float, retries: int) -> dict:
    """The wait stopped for a cancel: the guest was asked, not forced; it may still go off."""
    return {"shutdown": "cancelled", "requested": timeout, "seconds": round(time.monotonic() - started, 3),
            "retries": retries, "reason": "the task was cancelled during the shutdown wait"}
