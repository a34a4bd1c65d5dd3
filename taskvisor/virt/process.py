"""Process driver: every server is a real OS process.

A guest runs its image's ``guest_command`` (JSON argv) or, by default,
``python -m taskvisor.guest`` configured by image properties (see guest.py).
Everything about a guest lives in ``<data_dir>/guests/<server_id>/``:

  guest.json        host, server spec, image, mode (normal|rescue), paused/suspended marker
  flavor.json       current flavor (the guest's GUEST_* env on its next start)
  old_flavor.json   pre-resize flavor, kept until confirm/revert
  pid               {"pid", "start_time" (from /proc, guards pid reuse), "role", "forced"}
  exit.json         how the last process ended (crashed or not)
  disk/             the guest's disk (its working directory)
  console.log       its console (stdout/stderr)
  rescue/           while rescued: the rescue guest's own disk/ and attached/,
                    a copy of the original disk made read-only (mode bits; the
                    original disk itself is never given to the rescue guest)

Guests run in their own session and outlive the compute; ``init_host``
adopts them again from their pid files. Exit statuses come from reaping our
own children; a guest that died while nobody was its parent is SHUTDOWN.
Shutdown request = SIGTERM, force off = SIGKILL (to the process group),
pause/suspend = SIGSTOP/SIGCONT (suspend also leaves a marker).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time

from taskvisor.states import power
from taskvisor.virt.driver import ComputeDriver, DriverError, GuestNotFound, console_log_tail, publish_image_file

LOG = logging.getLogger(__name__)
READY_GRACE = 30.0          # seconds beyond guest_boot_seconds a guest gets to report ready
CLEAN_EXITS = (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGHUP)
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_children: dict[int, subprocess.Popen] = {}   # our own guest processes, per pid (reaping)
_children_lock = threading.Lock()


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])


def reap(pid: int) -> int | None:
    """Exit status (Popen convention) of a dead child of ours, else None."""
    with _children_lock:
        child = _children.get(pid)
        if child is not None:
            code = child.poll()
            if code is not None:
                del _children[pid]
            return code
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def _seconds(value) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


def _write_json(path: str, data) -> None:
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


def _read_json(path: str, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _set_tree_mode(root: str, writable: bool) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755 if writable else 0o555)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644 if writable else 0o444)


def _rmtree(path: str) -> None:
    if os.path.isdir(path):
        _set_tree_mode(path, True)
        shutil.rmtree(path, ignore_errors=True)


class ProcessDriver(ComputeDriver):
    def __init__(self, conf):
        self.conf = conf
        self.data_dir = os.path.abspath(conf.DEFAULT.data_dir)
        self.root = os.path.join(self.data_dir, "guests")
        self.images_dir = os.path.join(self.data_dir, "images")
        self.host = conf.DEFAULT.host
        os.makedirs(self.root, exist_ok=True)
        self._locks: dict[str, threading.RLock] = {}
        self._locks_lock = threading.Lock()

    # -- bookkeeping --------------------------------------------------------------
    def _lock(self, server_id: str) -> threading.RLock:
        with self._locks_lock:
            return self._locks.setdefault(server_id, threading.RLock())

    def _dir(self, server_id: str, *parts: str) -> str:
        return os.path.join(self.root, server_id, *parts)

    def _meta(self, server_id: str) -> dict:
        meta = _read_json(self._dir(server_id, "guest.json"))
        if meta is None or meta.get("host") != self.host:
            raise GuestNotFound(f"guest {server_id} not found")
        return meta

    def _save_meta(self, server_id: str, meta: dict) -> None:
        _write_json(self._dir(server_id, "guest.json"), meta)

    def _pid(self, server_id: str) -> dict | None:
        return _read_json(self._dir(server_id, "pid"))

    def _alive(self, rec: dict | None) -> str | None:
        """The process state letter if the recorded process still runs."""
        stat = proc_stat(rec["pid"]) if rec else None
        if stat is None or stat[1] != rec["start_time"] or stat[0] in "ZX":
            return None
        return stat[0]

    def _observe(self, server_id: str) -> int:
        """Power state from /proc; records how a dead process ended."""
        rec = self._pid(server_id)
        if rec is not None:
            state = self._alive(rec)
            if state is not None:
                if state in "Tt":
                    meta = self._meta(server_id)
                    return power.SUSPENDED if meta.get("stopped_as") == "suspended" else power.PAUSED
                return power.RUNNING
            stat = proc_stat(rec["pid"])
            code = reap(rec["pid"]) if stat is None or stat[1] == rec["start_time"] else None
            crashed = code is not None and not rec.get("forced") and (code > 0 or (code < 0 and -code not in CLEAN_EXITS))
            _write_json(self._dir(server_id, "exit.json"),
                        {"role": rec.get("role"), "code": code, "forced": bool(rec.get("forced")),
                         "crashed": crashed})
            os.unlink(self._dir(server_id, "pid"))
            if crashed:
                LOG.warning("guest %s (pid %s) crashed with exit status %s", server_id, rec["pid"], code)
        last = _read_json(self._dir(server_id, "exit.json"), {})
        return power.CRASHED if last.get("crashed") else power.SHUTDOWN

    def _kill(self, server_id: str, timeout: float = 10.0) -> None:
        """SIGKILL the current process (and its process group) and reap it."""
        rec = self._pid(server_id)
        if self._alive(rec) is None:
            return
        rec["forced"] = True
        _write_json(self._dir(server_id, "pid"), rec)
        try:
            if os.getpgid(rec["pid"]) == rec["pid"]:
                os.killpg(rec["pid"], signal.SIGKILL)
            else:
                os.kill(rec["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while self._alive(rec) is not None:
            reap(rec["pid"])
            if time.monotonic() > deadline:
                raise DriverError(f"guest {server_id} (pid {rec['pid']}) survived SIGKILL")
            time.sleep(0.005)

    def _seed_disk(self, disk: str, image_id: str | None) -> None:
        """A fresh disk: the image's data from the image store, if any (a tar of
        a snapshot is unpacked; other data is kept as disk/image)."""
        _rmtree(disk)
        os.makedirs(disk)
        path = os.path.join(self.images_dir, image_id) if image_id else None
        if not path or not os.path.isfile(path) or os.path.getsize(path) == 0:
            return
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as tar:
                tar.extractall(disk, filter="data")
        else:
            shutil.copyfile(path, os.path.join(disk, "image"))

    def _start(self, server_id: str, role: str = "guest") -> tuple[dict, float | None]:
        """Start the guest (or rescue guest) process; returns its pid record and
        the ready-wait bound (None: no ready report to wait for)."""
        meta = self._meta(server_id)
        image = meta["rescue_image"] if role == "rescue" else meta["image"]
        props = image.get("properties") or {}
        flavor = _read_json(self._dir(server_id, "flavor.json"), {})
        disk = self._dir(server_id, "rescue", "disk") if role == "rescue" else self._dir(server_id, "disk")
        ready = self._dir(server_id, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
        env.update({"GUEST_SERVER_ID": server_id, "GUEST_ROLE": role, "GUEST_DISK_DIR": disk,
                    "GUEST_READY_FILE": ready,
                    "GUEST_BOOT_SECONDS": str(props.get("guest_boot_seconds", "0")),
                    "GUEST_SHUTDOWN_SECONDS": str(props.get("guest_shutdown_seconds", "0")),
                    "GUEST_ON_SHUTDOWN": str(props.get("guest_on_shutdown", "clean")),
                    "GUEST_FLAVOR": str(flavor.get("name", "")), "GUEST_VCPUS": str(flavor.get("vcpus", "")),
                    "GUEST_RAM_MB": str(flavor.get("ram", "")), "GUEST_DISK_GB": str(flavor.get("disk", ""))})
        if role == "rescue":
            env["GUEST_RESCUE_DISK"] = self._dir(server_id, "rescue", "attached")
        if props.get("guest_command"):
            argv, bound = json.loads(props["guest_command"]), None
        else:
            argv = [sys.executable, "-S", "-m", "taskvisor.guest"]
            env["PYTHONPATH"] = PACKAGE_PARENT
            bound = _seconds(props.get("guest_boot_seconds")) + READY_GRACE
        with open(self._dir(server_id, "console.log"), "ab") as console:
            try:
                child = subprocess.Popen(argv, cwd=disk, env=env, stdin=subprocess.DEVNULL, stdout=console,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise DriverError(f"guest {server_id} could not start {argv[0]!r}: {exc}") from exc
        with _children_lock:
            _children[child.pid] = child
        stat = proc_stat(child.pid)
        rec = {"pid": child.pid, "start_time": stat[1] if stat else 0, "role": role, "forced": False}
        _write_json(self._dir(server_id, "pid"), rec)
        exit_file = self._dir(server_id, "exit.json")
        if os.path.exists(exit_file):
            os.unlink(exit_file)
        meta.pop("stopped_as", None)
        self._save_meta(server_id, meta)
        LOG.info("guest %s: started %s pid %d", server_id, role, child.pid)
        return rec, bound

    def _wait_ready(self, server_id: str, rec: dict, bound: float | None) -> int:
        if bound is None:
            return power.RUNNING
        deadline = time.monotonic() + bound
        ready = self._dir(server_id, "ready")
        while not os.path.exists(ready):
            if self._alive(rec) is None:
                with self._lock(server_id):
                    state = self._observe(server_id)
                raise DriverError(f"guest {server_id} exited before it was ready (power state "
                                  f"{power.NAMES[state]}): {self.console_output(server_id, 5)!r}")
            if time.monotonic() > deadline:
                with self._lock(server_id):
                    self._kill(server_id)
                raise DriverError(f"guest {server_id} did not report ready within {bound:g}s")
            time.sleep(0.005)
        return power.RUNNING

    def _boot(self, server_id: str, role: str = "guest") -> int:
        with self._lock(server_id):
            rec, bound = self._start(server_id, role)
        return self._wait_ready(server_id, rec, bound)

    # -- the driver -----------------------------------------------------------------
    def init_host(self, host: str) -> None:
        self.host = host
        adopted, gone = [], []
        for server_id in sorted(os.listdir(self.root)):
            try:
                with self._lock(server_id):
                    rec = self._pid(server_id)
                    self._meta(server_id)
                    state = self._observe(server_id)
            except GuestNotFound:
                continue
            if rec is not None:
                (adopted if state != power.SHUTDOWN and state != power.CRASHED else gone).append(
                    f"{server_id} (pid {rec['pid']})")
        LOG.info("process driver on %s: adopted %d running guests %s; %d died while we were away %s",
                 host, len(adopted), adopted, len(gone), gone)

    def capabilities(self) -> dict:
        import psutil
        cpus = os.cpu_count() or 1
        memory_mb = psutil.virtual_memory().total // (1024 * 1024)
        disk_gb = shutil.disk_usage(self.data_dir).free // (1024 ** 3)
        comp = self.conf.compute
        return {"vcpus": int(cpus * comp.cpu_allocation_ratio),
                "memory_mb": int(memory_mb * comp.ram_allocation_ratio),
                "disk_gb": int(disk_gb * comp.disk_allocation_ratio),
                "physical": {"cpus": cpus, "memory_mb": memory_mb, "disk_free_gb": disk_gb}}

    def list_guests(self) -> dict[str, int]:
        guests = {}
        for server_id in os.listdir(self.root):
            try:
                with self._lock(server_id):
                    self._meta(server_id)
                    guests[server_id] = self._observe(server_id)
            except (GuestNotFound, FileNotFoundError):
                continue
        return guests

    def spawn(self, server: dict, image: dict, flavor: dict) -> int:
        server_id = server["id"]
        with self._lock(server_id):
            meta = _read_json(self._dir(server_id, "guest.json"))
            if meta is not None and meta.get("spawned"):
                rec = self._pid(server_id)
                if self._alive(rec) is None:
                    return self._observe(server_id)
                bound = None if (meta["image"].get("properties") or {}).get("guest_command") else READY_GRACE
            else:  # new, or a spawn that died half-way: start over
                self._kill(server_id)
                os.makedirs(self._dir(server_id), exist_ok=True)
                meta = {"host": self.host, "server": server, "mode": "normal",
                        "image": {"id": image.get("id"), "properties": image.get("properties") or {}}}
                self._save_meta(server_id, meta)
                _write_json(self._dir(server_id, "flavor.json"), flavor)
                self._seed_disk(self._dir(server_id, "disk"), image.get("id"))
                rec, bound = self._start(server_id)
                meta = self._meta(server_id)
                meta["spawned"] = True
                self._save_meta(server_id, meta)
        return self._wait_ready(server_id, rec, bound)

    def destroy(self, server_id: str) -> bool:
        with self._lock(server_id):
            if not os.path.isdir(self._dir(server_id)):
                return False
            self._kill(server_id)
            reap((self._pid(server_id) or {}).get("pid", -1))
            _rmtree(self._dir(server_id))
            LOG.info("guest %s destroyed", server_id)
            return True

    def power_state(self, server_id: str) -> int:
        with self._lock(server_id):
            self._meta(server_id)
            return self._observe(server_id)

    def request_shutdown(self, server_id: str) -> None:
        with self._lock(server_id):
            self._meta(server_id)
            rec = self._pid(server_id)
            if self._alive(rec) is not None:
                os.kill(rec["pid"], signal.SIGTERM)

    def force_off(self, server_id: str) -> None:
        with self._lock(server_id):
            self._meta(server_id)
            self._kill(server_id)
            self._observe(server_id)

    def power_on(self, server_id: str) -> int:
        with self._lock(server_id):
            meta = self._meta(server_id)
            state = self._observe(server_id)
            if state not in (power.SHUTDOWN, power.CRASHED):
                return state
            rec, bound = self._start(server_id, "rescue" if meta.get("mode") == "rescue" else "guest")
        return self._wait_ready(server_id, rec, bound)

    def _stop_cont(self, server_id: str, sig: int, marker: str | None) -> int:
        with self._lock(server_id):
            meta = self._meta(server_id)
            rec = self._pid(server_id)
            if self._alive(rec) is None:
                raise DriverError(f"guest {server_id} is not running")
            if marker:
                meta["stopped_as"] = marker
            else:
                meta.pop("stopped_as", None)
            self._save_meta(server_id, meta)
            os.kill(rec["pid"], sig)
            deadline = time.monotonic() + 5
            while ((self._alive(rec) or "R") in "Tt") != (sig == signal.SIGSTOP):
                if time.monotonic() > deadline:
                    raise DriverError(f"guest {server_id} did not {'stop' if marker else 'continue'}")
                time.sleep(0.002)
            return self._observe(server_id)

    def pause(self, server_id: str) -> int:
        return self._stop_cont(server_id, signal.SIGSTOP, "paused")

    def unpause(self, server_id: str) -> int:
        return self._stop_cont(server_id, signal.SIGCONT, None)

    def suspend(self, server_id: str) -> int:
        return self._stop_cont(server_id, signal.SIGSTOP, "suspended")

    def resume(self, server_id: str) -> int:
        return self._stop_cont(server_id, signal.SIGCONT, None)

    def rescue(self, server_id: str, rescue_image: dict) -> int:
        with self._lock(server_id):
            meta = self._meta(server_id)
            if meta.get("mode") == "rescue":
                state = self._observe(server_id)
                if state != power.SHUTDOWN and state != power.CRASHED:
                    return state
            else:
                self._kill(server_id)  # the flow shut it down cleanly already
                self._observe(server_id)
                rescue_dir = self._dir(server_id, "rescue")
                _rmtree(rescue_dir)
                os.makedirs(rescue_dir)
                shutil.copytree(self._dir(server_id, "disk"), os.path.join(rescue_dir, "attached"), symlinks=True)
                _set_tree_mode(os.path.join(rescue_dir, "attached"), False)
                self._seed_disk(os.path.join(rescue_dir, "disk"), rescue_image.get("id"))
                meta.update(mode="rescue", rescue_image={"id": rescue_image.get("id"),
                                                         "properties": rescue_image.get("properties") or {}})
                self._save_meta(server_id, meta)
            rec, bound = self._start(server_id, "rescue")
        return self._wait_ready(server_id, rec, bound)

    def unrescue(self, server_id: str) -> int:
        with self._lock(server_id):
            meta = self._meta(server_id)
            if meta.get("mode") == "rescue":
                self._kill(server_id)
                self._observe(server_id)
                _rmtree(self._dir(server_id, "rescue"))
                meta["mode"] = "normal"
                meta.pop("rescue_image", None)
                self._save_meta(server_id, meta)
            state = self._observe(server_id)
            if state != power.SHUTDOWN and state != power.CRASHED:
                return state
            rec, bound = self._start(server_id)
        return self._wait_ready(server_id, rec, bound)

    def snapshot(self, server_id: str, image_id: str) -> dict:
        with self._lock(server_id):
            self._meta(server_id)
            os.makedirs(self.images_dir, exist_ok=True)
            path = os.path.join(self.images_dir, image_id)
            with tarfile.open(path + ".part", "w") as tar:
                tar.add(self._dir(server_id, "disk"), arcname=".")
            size, checksum = publish_image_file(path + ".part", path)
            return {"size": size, "checksum": checksum, "container_format": "bare",
                    "disk_format": "raw"}

    def resize(self, server_id: str, new_flavor: dict) -> int:
        """Record the new flavor; the guest sees it (GUEST_* env) when it next starts."""
        with self._lock(server_id):
            self._meta(server_id)
            old = self._dir(server_id, "old_flavor.json")
            if not os.path.exists(old):
                os.replace(self._dir(server_id, "flavor.json"), old)
            _write_json(self._dir(server_id, "flavor.json"), new_flavor)
            return self._observe(server_id)

    def confirm_resize(self, server_id: str) -> None:
        with self._lock(server_id):
            self._meta(server_id)
            old = self._dir(server_id, "old_flavor.json")
            if os.path.exists(old):
                os.unlink(old)

    def revert_resize(self, server_id: str) -> int:
        with self._lock(server_id):
            self._meta(server_id)
            old = self._dir(server_id, "old_flavor.json")
            if os.path.exists(old):
                os.replace(old, self._dir(server_id, "flavor.json"))
            return self._observe(server_id)

    def console_output(self, server_id: str, length: int | None = None) -> str:
        self._meta(server_id)
        return console_log_tail(self._dir(server_id, "console.log"), length)

    def flavor(self, server_id: str) -> dict:
        """The flavor the guest gets on its next start (tests, operators)."""
        return _read_json(self._dir(server_id, "flavor.json"), {})
