"""The virt driver interface: what a compute asks of a hypervisor.

Every method is idempotent or checks before acting (architecture.md §3): a step can
run twice after a crash, so spawn of a guest that exists returns it, destroy
of a missing guest succeeds, power_off of a guest that is off reports so.
Clean shutdown is built from three primitives (request_shutdown,
power_state, force_off) by the compute manager, so every driver gets the
same timeout/retry/force rules.
"""
from __future__ import annotations

import abc
import hashlib
import os
import time

from taskvisor.states import power

POLL_SECONDS = 0.1  # the longest gap between two power-state polls in wait_off


def publish_image_file(part_path: str, path: str) -> tuple[int, str]:
    """Move a finished snapshot file (written as ``part_path``) into place at
    ``path``; returns its size and MD5, which Glance records as the checksum."""
    digest, size = hashlib.md5(), 0
    with open(part_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    os.replace(part_path, path)
    return size, digest.hexdigest()


def console_log_tail(path: str, length: int | None = None) -> str:
    """The last ``length`` lines of a guest's console log (all when None, none
    for 0); serial consoles end lines with CRLF, which the API shows as LF."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().replace("\r\n", "\n").splitlines(keepends=True)
    except FileNotFoundError:
        return ""
    if length is not None and length >= 0:
        lines = lines[-length:] if length else []
    return "".join(lines)


class GuestNotFound(Exception):
    code = 404


class DriverError(Exception):
    pass


class ComputeDriver(abc.ABC):
    def init_host(self, host: str) -> None:
        """Called once at start; a driver finds its running guests here."""

    def set_event_handler(self, handler) -> None:
        """Drivers that see power changes as they happen (libvirt's lifecycle
        events) call handler(server_id, power_state); others never do."""

    def capabilities(self) -> dict:
        return {"vcpus": 1024, "memory_mb": 4 * 1024 * 1024, "disk_gb": 100 * 1024}

    @abc.abstractmethod
    def list_guests(self) -> dict[str, int]:
        """Server id → power state of every guest this host has."""

    @abc.abstractmethod
    def spawn(self, server: dict, image: dict, flavor: dict) -> int:
        """Create and start the guest; returns its power state."""

    @abc.abstractmethod
    def destroy(self, server_id: str) -> bool:
        """Remove the guest and its disk; True if there was one."""

    @abc.abstractmethod
    def power_state(self, server_id: str) -> int: ...

    @abc.abstractmethod
    def request_shutdown(self, server_id: str) -> None:
        """Ask the guest to shut down (the ACPI power button)."""

    @abc.abstractmethod
    def force_off(self, server_id: str) -> None:
        """Pull the plug."""

    def wait_off(self, server_id: str, timeout: float) -> bool:
        """Wait up to timeout seconds for the guest to be off (after
        request_shutdown); True as soon as it is. Polls power_state, fast at
        first since most guests stop quickly; drivers that see power changes
        as they happen wait for them instead."""
        deadline, poll = time.monotonic() + timeout, 0.01
        while True:
            if self.power_state(server_id) in (power.SHUTDOWN, power.CRASHED):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(poll, left))
            poll = min(POLL_SECONDS, poll * 2)

    @abc.abstractmethod
    def power_on(self, server_id: str) -> int: ...

    # -- actions beyond boot/delete (server actions issue) --------------------------
    # Soft reboot, stop and the shutdown part of rescue/shelve/resize are built by
    # the compute manager from request_shutdown/power_state/force_off + power_on.

    def pause(self, server_id: str) -> int:
        raise NotImplementedError

    def unpause(self, server_id: str) -> int:
        raise NotImplementedError

    def suspend(self, server_id: str) -> int:
        raise NotImplementedError

    def resume(self, server_id: str) -> int:
        raise NotImplementedError

    def rescue(self, server_id: str, rescue_image: dict) -> int:
        """Boot the rescue image with the guest's disk attached (read-only
        where the driver can); the original guest must be off."""
        raise NotImplementedError

    def unrescue(self, server_id: str) -> int:
        """Drop the rescue guest and start the original one again."""
        raise NotImplementedError

    def snapshot(self, server_id: str, image_id: str) -> dict:
        """Copy the guest's disk into the image store under image_id; returns
        {"size": bytes, "checksum": ...}. The guest is off (shelve)."""
        raise NotImplementedError

    def resize(self, server_id: str, new_flavor: dict) -> int:
        """Apply a new flavor to a stopped guest, keeping what revert needs."""
        raise NotImplementedError

    def confirm_resize(self, server_id: str) -> None:
        """Forget the pre-resize state kept for revert."""
        raise NotImplementedError

    def revert_resize(self, server_id: str) -> int:
        """Go back to the pre-resize flavor (guest stopped)."""
        raise NotImplementedError

    def console_output(self, server_id: str, length: int | None = None) -> str:
        raise NotImplementedError
