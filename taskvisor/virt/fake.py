"""A fake hypervisor with a real model of its guests.

Guests have a power state, a flavor, an image and a disk (a dict). The
guest's reaction to a shutdown request follows the same image properties as
process guests: ``guest_shutdown_seconds`` and ``guest_on_shutdown``
(clean, ignore, second-request, crash). Counters of spawns and destroys per
server let tests prove that no side effect ran twice. With a state file the
guests survive a restart of the process, like real guests survive a restart
of their compute: each change is appended, before the call returns, to a
journal, ``<state file>.journal``: one line per change holding that guest
(and its counters), written with one ``write`` (a kill cannot tear it), the
last line of a guest winning. An append costs the same however many guests
there are, and far less than a file created and renamed per change (that
was most of a fake compute's CPU, in the kernel); the journal is rewritten
from the live guests once it holds several times their number of lines.
``saved_state(state file)`` reads it back as ``{"guests": ..., "counts": ...}``:
what tests and operators read, always current. (A whole-state file
rewritten in the background used to be that view: at 10,000 guests about
1 ms of CPU per lifecycle task, paid whether or not anyone read it.)

Tests inject trouble at any method: ``driver.inject("spawn", fail="boom")``
or ``delay=2.0``, for ``times`` calls (default 1; 0 = every call). A test
driving a separate process writes ``{"spawn": [{"delay": 2.0}]}`` to the
inject file instead (``<data_dir>/fake-inject.json``); its entries apply to
every call while the file exists.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time

import orjson

from taskvisor.states import power
from taskvisor.virt.driver import ComputeDriver, DriverError, GuestNotFound

_JOURNAL_LOCK = threading.Lock()  # the same for the journal's appends and rewrites
COMPACT_AT = 1000  # lines a journal may hold beyond COMPACT_RATIO times its guests before a rewrite
COMPACT_RATIO = 4
_OPTIONS = orjson.OPT_NON_STR_KEYS  # what json.dumps accepted


def saved_state(state_path: str) -> dict:
    """Every guest and its counters as the driver saved them (a change is in
    the journal before it is reported): {"guests": ..., "counts": ...}. Reads
    only; a driver converts older layouts when it starts."""
    out: dict = {"guests": {}, "counts": {}}

    def apply(server_id: str, saved: dict) -> None:
        if saved["guest"] is not None:
            out["guests"][server_id] = saved["guest"]
        else:
            out["guests"].pop(server_id, None)
        out["counts"][server_id] = saved["counts"]
    guest_dir, journal = f"{state_path}.d", f"{state_path}.journal"
    if os.path.isdir(guest_dir):  # per-guest files, from before the journal
        for name in os.listdir(guest_dir):
            if name.endswith(".json"):
                with open(os.path.join(guest_dir, name)) as f:
                    apply(name[:-5], json.load(f))
    elif os.path.exists(state_path) and not os.path.exists(journal):  # from before either
        with open(state_path) as f:
            return json.load(f)
    if os.path.exists(journal):
        with open(journal, "rb") as f:
            for line in f:
                try:
                    entry = orjson.loads(line)
                except ValueError:
                    continue  # the end of an append still being written
                apply(entry["id"], entry)
    return out


# the driver methods that call _trouble() (directly or through _set_power): what a test can make fail or wait
INJECTABLE = frozenset({'confirm_resize', 'console_output', 'destroy', 'force_off', 'pause', 'power_on', 'request_shutdown', 'rescue', 'resize', 'resume', 'revert_resize', 'snapshot', 'spawn', 'suspend', 'unpause', 'unrescue'})

class FakeDriver(ComputeDriver):
    def __init__(self, state_path: str | None = None, spawn_seconds: float = 0.0,
                 inject_path: str | None = None, image_dir: str | None = None, size: dict | None = None):
        self.size = size or super().capabilities()  # what the scheduler may fill (vcpus, memory_mb, disk_gb)
        self.state_path, self.inject_path = state_path, inject_path
        self.image_dir = image_dir  # snapshots go here (the image store's files); None = in memory
        self.snapshots: dict[str, dict] = {}
        self.spawn_seconds = spawn_seconds
        self.guests: dict[str, dict] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self._injections: dict[str, list[dict]] = {}
        self._lock = threading.RLock()
        if state_path:
            self.guest_dir = f"{state_path}.d"  # per-guest files, from before the journal
            self.journal = f"{state_path}.journal"
            self._journal_lines = 0
            self._load()

    # -- test hooks -------------------------------------------------------------
    def inject(self, method: str, *, fail: str | None = None, delay: float = 0.0, times: int = 1,
               hold: threading.Event | None = None) -> None:
        """Make the next ``times`` calls of ``method`` fail, sleep ``delay``, or
        wait until ``hold`` is set (at most a minute): tests keep an operation
        in flight for exactly as long as they need, whatever the load."""
        if method not in INJECTABLE:  # a misspelt name would silently inject nothing
            raise ValueError(f"fake driver: {method!r} is not injectable; one of {sorted(INJECTABLE)}")
        with self._lock:
            self._injections.setdefault(method, []).append({"fail": fail, "delay": delay, "times": times,
                                                            "hold": hold})

    def _trouble(self, method: str) -> None:
        with self._lock:
            queue = self._injections.get(method) or []
            if self.inject_path and os.path.exists(self.inject_path):
                with open(self.inject_path) as f:
                    queue = queue + [i for i in json.load(f).get(method, [])]
            entry = queue[0] if queue else None
            if entry is not None and entry in self._injections.get(method, []):
                entry["times"] -= 1
                if entry["times"] == 0:
                    self._injections[method].remove(entry)
        if entry is None:
            return
        if entry.get("delay"):
            time.sleep(entry["delay"])
        if entry.get("hold") is not None:
            entry["hold"].wait(60)
        if entry.get("fail"):
            raise DriverError(entry["fail"])

    def _count(self, server_id: str, what: str) -> None:
        self.counts.setdefault(server_id, {}).setdefault(what, 0)
        self.counts[server_id][what] += 1

    # -- persistence --------------------------------------------------------------
    def _load(self) -> None:
        if os.path.isdir(self.guest_dir):  # per-guest files, from before the journal
            for name in os.listdir(self.guest_dir):
                if not name.endswith(".json"):
                    continue  # a .tmp left by a kill: its rename never happened
                with open(os.path.join(self.guest_dir, name)) as f:
                    self._apply(name[:-5], json.load(f))
        elif os.path.exists(self.state_path) and not os.path.exists(self.journal):  # from before either
            with open(self.state_path) as f:
                saved = json.load(f)
            self.guests, self.counts = saved["guests"], saved["counts"]
        if os.path.exists(self.journal):
            with open(self.journal, "rb") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by a full disk; every line a kill left is whole
                    self._apply(entry["id"], entry)
                    self._journal_lines += 1
        if os.path.isdir(self.guest_dir) or not os.path.exists(self.journal):
            with self._lock, _JOURNAL_LOCK:  # what was taken over goes into the journal, then the old files go
                self._append(b"".join(self._line(sid, self.guests.get(sid), self.counts.get(sid, {}))
                                      for sid in sorted(set(self.counts) | set(self.guests))))
            if os.path.isdir(self.guest_dir):
                shutil.rmtree(self.guest_dir)

    def _apply(self, server_id: str, saved: dict) -> None:
        if saved["guest"] is not None:
            self.guests[server_id] = saved["guest"]
        else:
            self.guests.pop(server_id, None)
        self.counts[server_id] = saved["counts"]

    @staticmethod
    def _line(server_id: str, guest: dict | None, counts: dict) -> bytes:
        return orjson.dumps({"id": server_id, "guest": guest, "counts": counts}, option=_OPTIONS) + b"\n"

    def _save(self, server_id: str) -> None:
        """Persist one guest (and its counters) before the change is reported."""
        if not self.state_path:
            return
        line = self._line(server_id, self.guests.get(server_id), self.counts.get(server_id, {}))
        with self._lock, _JOURNAL_LOCK:  # this driver's lock first, as _load takes them
            self._append(line)
            if self._journal_lines > COMPACT_AT + COMPACT_RATIO * len(self.counts):
                self._compact()

    def _append(self, data: bytes) -> None:
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        self._journal_lines += data.count(b"\n")

    def _compact(self) -> None:
        """Rewrite the journal as its last line per guest (journal lock held).
        From the file, not from this driver's guests: drivers of one process
        sharing a file (tests) each append theirs to it."""
        latest: dict[str, bytes] = {}
        with open(self.journal, "rb") as f:
            for line in f:
                try:
                    latest[orjson.loads(line)["id"]] = line
                except ValueError:
                    continue
        tmp = f"{self.journal}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.writelines(latest.values())
        os.replace(tmp, self.journal)
        self._journal_lines = len(latest)

    def _guest(self, server_id: str) -> dict:
        guest = self.guests.get(server_id)
        if guest is None:
            raise GuestNotFound(f"guest {server_id} not found")
        return guest

    # -- the driver -------------------------------------------------------------
    def capabilities(self) -> dict:
        return dict(self.size)

    def list_guests(self) -> dict[str, int]:
        with self._lock:
            return {sid: self._current_state(sid, g) for sid, g in self.guests.items()}

    def spawn(self, server: dict, image: dict, flavor: dict) -> int:
        self._trouble("spawn")
        with self._lock:
            if server["id"] in self.guests:
                return self._current_state(server["id"], self.guests[server["id"]])
        seconds = float(image.get("properties", {}).get("fake_spawn_seconds", self.spawn_seconds) or 0)
        if seconds:
            time.sleep(seconds)
        with self._lock:
            if server["id"] not in self.guests:
                props = image.get("properties", {})
                disk = self._read_snapshot(image.get("id")) or {"image": image.get("id")}
                self.guests[server["id"]] = {
                    "power_state": power.RUNNING, "flavor": flavor, "image_id": image.get("id"),
                    "disk": disk, "shutdown_requests": 0, "shutdown_at": None,
                    # a boot's console, a few lines as a real guest's (Tempest reads more than 3)
                    "console": ["booted", f"kernel: {flavor.get('vcpus', 1)} vcpus, {flavor.get('ram', 0)} MB",
                                "init: network up", f"{server.get('name', 'guest')} login:"],
                    "behaviour": {"on_shutdown": props.get("guest_on_shutdown", "clean"),
                                  "shutdown_seconds": float(props.get("guest_shutdown_seconds", 0) or 0)}}
                self._count(server["id"], "spawn")
                self._save(server["id"])
            return power.RUNNING

    def destroy(self, server_id: str) -> bool:
        self._trouble("destroy")
        with self._lock:
            existed = self.guests.pop(server_id, None) is not None
            if existed:
                self._count(server_id, "destroy")
                self._save(server_id)
            return existed

    def _current_state(self, server_id: str, guest: dict) -> int:
        """A guest that was asked to shut down goes off once its shutdown time passed."""
        if guest["power_state"] == power.RUNNING and guest["shutdown_at"] and time.time() >= guest["shutdown_at"]:
            guest["power_state"] = power.SHUTDOWN
            guest["shutdown_at"] = None
            guest.setdefault("console", []).append("power off")
            self._save(server_id)
        return guest["power_state"]

    def power_state(self, server_id: str) -> int:
        with self._lock:
            return self._current_state(server_id, self._guest(server_id))

    def request_shutdown(self, server_id: str) -> None:
        self._trouble("request_shutdown")
        with self._lock:
            guest = self._guest(server_id)
            guest["shutdown_requests"] += 1
            guest.setdefault("console", []).append("ACPI shutdown requested")
            how = guest["behaviour"]["on_shutdown"]
            if guest["power_state"] != power.RUNNING or guest["shutdown_at"]:
                return
            if how == "crash":
                guest["power_state"] = power.CRASHED
            elif how == "clean" or (how == "second-request" and guest["shutdown_requests"] >= 2):
                guest["shutdown_at"] = time.time() + guest["behaviour"]["shutdown_seconds"]
            self._save(server_id)

    def force_off(self, server_id: str) -> None:
        self._trouble("force_off")
        with self._lock:
            guest = self._guest(server_id)
            guest["power_state"], guest["shutdown_at"] = power.SHUTDOWN, None
            guest.setdefault("console", []).append("power off")
            self._save(server_id)

    def power_on(self, server_id: str) -> int:
        self._trouble("power_on")
        with self._lock:
            guest = self._guest(server_id)
            if guest["power_state"] != power.RUNNING:
                guest["power_state"], guest["shutdown_requests"] = power.RUNNING, 0
                guest.setdefault("console", []).append("power on")
                self._count(server_id, "power_on")
                self._save(server_id)
            return guest["power_state"]

    # -- actions beyond boot/delete ------------------------------------------------
    def _set_power(self, server_id: str, method: str, want: int, allowed_from: tuple[int, ...]) -> int:
        """Move a guest to ``want``; idempotent (already there is success)."""
        self._trouble(method)
        with self._lock:
            guest = self._guest(server_id)
            state = self._current_state(server_id, guest)
            if state == want:
                return state
            if state not in allowed_from:
                raise DriverError(f"cannot {method} guest {server_id}: it is {power.NAMES.get(state, state)}")
            guest["power_state"] = want
            guest.setdefault("console", []).append(method)
            self._count(server_id, method)
            self._save(server_id)
            return want

    def pause(self, server_id: str) -> int:
        return self._set_power(server_id, "pause", power.PAUSED, (power.RUNNING,))

    def unpause(self, server_id: str) -> int:
        return self._set_power(server_id, "unpause", power.RUNNING, (power.PAUSED,))

    def suspend(self, server_id: str) -> int:
        return self._set_power(server_id, "suspend", power.SUSPENDED, (power.RUNNING,))

    def resume(self, server_id: str) -> int:
        return self._set_power(server_id, "resume", power.RUNNING, (power.SUSPENDED,))

    def rescue(self, server_id: str, rescue_image: dict) -> int:
        self._trouble("rescue")
        with self._lock:
            guest = self._guest(server_id)
            if guest.get("rescue"):
                return guest["power_state"]
            if self._current_state(server_id, guest) not in (power.SHUTDOWN, power.CRASHED):
                raise DriverError(f"cannot rescue guest {server_id}: it is still running")
            guest["rescue"] = {"image": rescue_image.get("id")}
            guest["power_state"], guest["shutdown_requests"] = power.RUNNING, 0
            guest.setdefault("console", []).append(f"rescue from {rescue_image.get('id')}")
            self._count(server_id, "rescue")
            self._save(server_id)
            return power.RUNNING

    def unrescue(self, server_id: str) -> int:
        self._trouble("unrescue")
        with self._lock:
            guest = self._guest(server_id)
            if guest.pop("rescue", None) is not None:
                self._count(server_id, "unrescue")
            guest["power_state"], guest["shutdown_at"], guest["shutdown_requests"] = power.RUNNING, None, 0
            guest.setdefault("console", []).append("unrescue")
            self._save(server_id)
            return power.RUNNING

    def snapshot(self, server_id: str, image_id: str) -> dict:
        self._trouble("snapshot")
        with self._lock:
            data = json.dumps(self._guest(server_id)["disk"], sort_keys=True).encode()
            if self.image_dir:
                os.makedirs(self.image_dir, exist_ok=True)
                path = os.path.join(self.image_dir, image_id)
                with open(path + ".part", "wb") as f:
                    f.write(data)
                os.replace(path + ".part", path)
            else:
                self.snapshots[image_id] = json.loads(data)
            self._count(server_id, "snapshot")
            return {"size": len(data), "checksum": hashlib.md5(data).hexdigest()}

    def _read_snapshot(self, image_id: str | None) -> dict | None:
        if not image_id:
            return None
        if image_id in self.snapshots:
            return dict(self.snapshots[image_id])
        path = os.path.join(self.image_dir, image_id) if self.image_dir else None
        if path and os.path.exists(path):
            try:
                with open(path) as f:
                    disk = json.load(f)
                return disk if isinstance(disk, dict) else None
            except ValueError:
                return None  # an uploaded image, not one of our snapshots
        return None

    def resize(self, server_id: str, new_flavor: dict) -> int:
        self._trouble("resize")
        with self._lock:
            guest = self._guest(server_id)
            if guest["flavor"] == new_flavor and "old_flavor" in guest:
                return guest["power_state"]  # done before
            guest["old_flavor"], guest["flavor"] = guest["flavor"], new_flavor
            guest["disk"]["size_gb"] = new_flavor.get("disk")
            self._count(server_id, "resize")
            self._save(server_id)
            return guest["power_state"]

    def confirm_resize(self, server_id: str) -> None:
        self._trouble("confirm_resize")
        with self._lock:
            self._guest(server_id).pop("old_flavor", None)
            self._save(server_id)

    def revert_resize(self, server_id: str) -> int:
        self._trouble("revert_resize")
        with self._lock:
            guest = self._guest(server_id)
            if "old_flavor" in guest:
                guest["flavor"] = guest.pop("old_flavor")
                guest["disk"]["size_gb"] = guest["flavor"].get("disk")
                self._count(server_id, "revert_resize")
                self._save(server_id)
            return guest["power_state"]

    def console_output(self, server_id: str, length: int | None = None) -> str:
        self._trouble("console_output")
        with self._lock:
            lines = [f"[fake] {line}" for line in self._guest(server_id).get("console", [])]
        if length is not None and length >= 0:
            lines = lines[-length:] if length else []
        return "\n".join(lines) + ("\n" if lines else "")
