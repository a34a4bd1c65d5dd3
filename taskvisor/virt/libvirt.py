"""Libvirt driver: every server is a QEMU guest managed through libvirtd.

The domain is the record. Its UUID is the server's id, its name
``taskvisor-<id>``, and its ``<metadata>`` says which compute host owns it
and everything needed to define it again (server name, project, flavor,
image, boot files, rescue/normal mode). Domains are persistent, so guests
outlive the compute and ``init_host`` adopts them; a spawn is one atomic
defineXML after its disk is ready, so a compute killed mid-spawn leaves
either no domain (the retried step makes it) or a whole one.

Files per server live in ``<data_dir>/libvirt/<server_id>/``:

  disk.qcow2          the root disk, a qcow2 overlay on the image's file
  console.log         the serial console (ttyS0), appended across boots
  rescue.qcow2        while rescued: the rescue guest's own disk
  unrescue.xml        while rescued: the definition unrescue restores
  pre-resize.xml      until confirm/revert: the definition before a resize
  disk.pre-resize     and its disk

Image files are linked into ``<data_dir>/libvirt/_base/`` before an
overlay is made on them, so deleting an image (an unshelved snapshot) never
takes a guest's backing file away. Images with ``kernel_id``/``ramdisk_id``
properties boot that kernel and initrd directly with the image's
``os_command_line`` (as Nova does); others boot from their disk.

Power: request_shutdown = virDomainShutdown (the ACPI power button),
force_off = virDomainDestroy, pause = virDomainSuspend, suspend =
virDomainManagedSave (a shut-off domain with a saved image reports
SUSPENDED). Lifecycle events (virConnectDomainEventRegisterAny) are handed
to the compute, which reports power states to the conductor at once.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

import libvirt

from taskvisor.states import power
from taskvisor.virt.driver import ComputeDriver, DriverError, GuestNotFound, console_log_tail, publish_image_file

LOG = logging.getLogger(__name__)
NS = "https://taskvisor.dev/xmlns/libvirt/instance/1"
KVM_GET_API_VERSION = 0xAE00

_event_loop_lock = threading.Lock()
_event_loop_started = False


def _start_event_loop() -> None:
    """libvirt delivers events through an event loop that must be registered
    before any connection is opened; one per process, in its own thread."""
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()
        # errors reach us as exceptions; libvirt's default handler would also
        # print each one (every "no such domain" lookup) to stderr
        libvirt.registerErrorHandler(lambda ctx, err: None, None)

        def run() -> None:
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except Exception:
                    LOG.exception("libvirt event loop")
                    time.sleep(1)

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


def kvm_works() -> bool:
    """/dev/kvm opens read-write and answers KVM_GET_API_VERSION, and we are
    not ourselves a guest: nested KVM often opens and answers but then fails
    guests with emulation errors (set virt_type = kvm where it is known good)."""
    try:
        with open("/proc/cpuinfo") as f:
            if any(line.startswith("flags") and " hypervisor" in line for line in f):
                return False
    except OSError:
        pass
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, KVM_GET_API_VERSION) == 12
    except OSError:
        return False
    finally:
        os.close(fd)


def _qemu_img(*args: str) -> str:
    try:
        return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError as exc:
        raise DriverError("qemu-img is missing (install qemu-utils: scripts/setup-libvirt)") from exc
    except subprocess.CalledProcessError as exc:
        raise DriverError(f"qemu-img {args[0]} failed: {exc.stderr.strip()}") from exc


def _power_state(dom) -> int:
    state, reason = dom.state()
    if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
        return power.RUNNING
    if state == libvirt.VIR_DOMAIN_SHUTDOWN:
        # libvirt's QEMU driver enters this state only once QEMU reports that
        # the guest has powered off (a shutdown request leaves it RUNNING);
        # what is left is libvirtd stopping the QEMU process. Nova maps it
        # to SHUTDOWN too.
        return power.SHUTDOWN
    if state == libvirt.VIR_DOMAIN_PAUSED:
        return power.PAUSED
    if state == libvirt.VIR_DOMAIN_PMSUSPENDED:
        return power.SUSPENDED
    if state == libvirt.VIR_DOMAIN_CRASHED:
        return power.CRASHED
    if state == libvirt.VIR_DOMAIN_SHUTOFF:
        if dom.hasManagedSaveImage(0):
            return power.SUSPENDED
        return power.CRASHED if reason == libvirt.VIR_DOMAIN_SHUTOFF_CRASHED else power.SHUTDOWN
    return power.NOSTATE


def _event_power_state(event: int, detail: int) -> int | None:
    """The power state a lifecycle event says the guest is in, without asking
    libvirtd (which answers nothing about the domain while it stops QEMU)."""
    if event in (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_RESUMED):
        return power.RUNNING
    if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
        return power.PAUSED
    if event == libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED:
        return power.SUSPENDED
    if event == libvirt.VIR_DOMAIN_EVENT_CRASHED:
        return power.CRASHED
    if event == libvirt.VIR_DOMAIN_EVENT_SHUTDOWN:
        return power.SHUTDOWN
    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED:
            return power.SUSPENDED
        return power.CRASHED if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED else power.SHUTDOWN
    return None  # defined, undefined: no change of power


def _not_found(exc: libvirt.libvirtError) -> bool:
    return exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


class LibvirtDriver(ComputeDriver):
    def __init__(self, conf):
        self.conf = conf
        self.host = conf.DEFAULT.host
        self.uri = conf.libvirt.connection_uri
        self.virt_type = conf.libvirt.virt_type or ("kvm" if kvm_works() else "qemu")
        if self.virt_type not in ("kvm", "qemu"):
            raise ValueError(f"[libvirt] virt_type {self.virt_type!r}: use kvm or qemu")
        data_dir = os.path.abspath(conf.DEFAULT.data_dir)
        self.images_dir = os.path.join(data_dir, "images")
        self.root = os.path.join(data_dir, "libvirt")
        self.base_dir = os.path.join(self.root, "_base")
        os.makedirs(self.base_dir, exist_ok=True)
        self._locks: dict[str, threading.RLock] = {}
        self._locks_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._conn: libvirt.virConnect | None = None
        self._owner: dict[str, str | None] = {}   # domain UUID → owning host (from its metadata)
        self._handler: Callable[[str, int], None] | None = None
        # Guest-off events since a shutdown request (wait_off): server id →
        # count of SHUTDOWN/STOPPED events seen, and the count when the
        # pending request was first sent. _stopped: STOPPED events (settle).
        self._events = threading.Condition()
        self._off_events: dict[str, int] = {}
        self._off_pending: dict[str, int] = {}
        self._stopped: dict[str, int] = {}
        _start_event_loop()

    # -- connection and events ----------------------------------------------------
    def conn(self) -> libvirt.virConnect:
        with self._conn_lock:
            if self._conn is not None:
                try:
                    if self._conn.isAlive():
                        return self._conn
                except libvirt.libvirtError:
                    pass
                LOG.warning("libvirt connection to %s lost; reconnecting", self.uri)
            try:
                conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise DriverError(f"cannot connect to libvirt at {self.uri}: {exc} "
                                  "(is libvirtd running? scripts/setup-libvirt starts it)") from exc
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None)
            conn.setKeepAlive(5, 3)
            self._conn = conn
            return conn

    def set_event_handler(self, handler: Callable[[str, int], None]) -> None:
        """handler(server_id, power_state) is called for every lifecycle event
        of one of our guests (from libvirt's event thread: keep it short)."""
        self._handler = handler

    def _on_lifecycle(self, conn, dom, event, detail, opaque) -> None:
        try:
            server_id = dom.UUIDString()
            if self._owner_of(dom) != self.host:
                return
            # Never query the domain here: this is libvirt's event thread, and
            # a query waits while libvirtd stops QEMU (seconds, where PID 1
            # reaps orphans slowly), holding back every later event.
            state = _event_power_state(event, detail)
            if event in (libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_STOPPED):
                with self._events:
                    self._off_events[server_id] = self._off_events.get(server_id, 0) + 1
                    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
                        self._stopped[server_id] = self._stopped.get(server_id, 0) + 1
                    self._events.notify_all()
            LOG.info("guest %s: lifecycle event %s/%s; power state %s", server_id, event, detail,
                     power.NAMES.get(state))
            if self._handler is not None and state is not None:
                self._handler(server_id, state)
        except libvirt.libvirtError as exc:
            if not _not_found(exc):
                LOG.warning("lifecycle event: %s", exc)
        except Exception:
            LOG.exception("lifecycle event handler")

    # -- bookkeeping --------------------------------------------------------------
    def _lock(self, server_id: str) -> threading.RLock:
        with self._locks_lock:
            return self._locks.setdefault(server_id, threading.RLock())

    def _dir(self, server_id: str, *parts: str) -> str:
        return os.path.join(self.root, server_id, *parts)

    @staticmethod
    def _spec_of(dom, live: bool = False) -> dict | None:
        """The taskvisor metadata of a domain (None: not one of ours)."""
        try:
            root = ET.fromstring(dom.XMLDesc(0 if live else libvirt.VIR_DOMAIN_XML_INACTIVE))
        except libvirt.libvirtError as exc:
            if _not_found(exc):
                return None
            raise
        node = root.find(f"metadata/{{{NS}}}instance/{{{NS}}}spec")
        return json.loads(node.text) if node is not None and node.text else None

    def _owner_of(self, dom) -> str | None:
        uuid = dom.UUIDString()
        if uuid not in self._owner:
            spec = self._spec_of(dom)
            self._owner[uuid] = spec.get("host") if spec else None
        return self._owner[uuid]

    def _lookup(self, server_id: str):
        """Our domain for server_id, or None."""
        try:
            dom = self.conn().lookupByUUIDString(server_id)
        except libvirt.libvirtError as exc:
            if _not_found(exc):
                return None
            raise DriverError(f"libvirt: {exc}") from exc
        return dom if self._owner_of(dom) == self.host else None

    def _domain(self, server_id: str):
        dom = self._lookup(server_id)
        if dom is None:
            raise GuestNotFound(f"guest {server_id} not found")
        return dom

    def _define(self, spec: dict):
        """Define (or redefine) the domain from its spec; atomic in libvirtd."""
        dom = self.conn().defineXML(self.domain_xml(spec))
        self._owner[spec["id"]] = spec["host"]
        return dom

    def _base(self, image_id: str | None) -> str:
        """The image's file, linked into the base cache (a deleted image keeps
        its data for the overlays made on it)."""
        if not image_id:
            raise DriverError("the libvirt driver needs an image to boot from")
        base = os.path.join(self.base_dir, image_id)
        if not os.path.exists(base):
            src = os.path.join(self.images_dir, image_id)
            if not os.path.isfile(src) or os.path.getsize(src) == 0:
                raise DriverError(f"image {image_id} has no data in the image store ({src})")
            part = f"{base}.{os.getpid()}.{threading.get_ident()}.part"
            try:
                os.link(src, part)
            except OSError:  # another file system, or links not allowed
                shutil.copyfile(src, part)
            os.replace(part, base)
        return base

    @staticmethod
    def _format(path: str) -> str:
        return json.loads(_qemu_img("info", "--output=json", "-U", path)).get("format", "raw")

    def _make_overlay(self, path: str, base: str, disk_gb: int) -> None:
        args = ["create", "-q", "-f", "qcow2", "-b", base, "-F", self._format(base), path + ".part"]
        base_size = json.loads(_qemu_img("info", "--output=json", "-U", base))["virtual-size"]
        if disk_gb and disk_gb * 1024 ** 3 > base_size:
            args.append(f"{disk_gb}G")
        _qemu_img(*args)
        os.replace(path + ".part", path)

    def _boot_files(self, image: dict) -> dict:
        """Kernel/initrd/cmdline for an image with kernel_id (direct boot)."""
        props = image.get("properties") or {}
        boot = {"kernel": None, "initrd": None, "cmdline": props.get("os_command_line") or ""}
        if props.get("kernel_id"):
            boot["kernel"] = self._base(props["kernel_id"])
            if props.get("ramdisk_id"):
                boot["initrd"] = self._base(props["ramdisk_id"])
        return boot

    # -- domain XML ---------------------------------------------------------------
    def domain_xml(self, spec: dict) -> str:
        flavor = spec["flavor"]
        rescue = spec.get("mode") == "rescue"
        boot = spec["rescue_boot"] if rescue else spec["boot"]
        os_parts = [f"<type arch='x86_64' machine={quoteattr(spec.get('machine') or 'pc')}>hvm</type>"]
        if boot.get("kernel"):
            # the serial console first: console output shows the guest's own boot messages
            cmdline = " ".join(p for p in ("console=ttyS0", boot.get("cmdline") or "") if p)
            os_parts.append(f"<kernel>{escape(boot['kernel'])}</kernel>")
            if boot.get("initrd"):
                os_parts.append(f"<initrd>{escape(boot['initrd'])}</initrd>")
            os_parts.append(f"<cmdline>{escape(cmdline)}</cmdline>")
        else:
            os_parts.append("<boot dev='hd'/>")
        disks = [self._dir(spec["id"], "rescue.qcow2"), self._dir(spec["id"], "disk.qcow2")] if rescue \
            else [self._dir(spec["id"], "disk.qcow2")]
        disk_xml = "".join(
            f"<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
            f"<source file={quoteattr(path)}/><target dev='vd{'abcdefgh'[i]}' bus='virtio'/></disk>"
            for i, path in enumerate(disks))
        meta = (f"<taskvisor:instance xmlns:taskvisor='{NS}'>"
                f"<taskvisor:host>{escape(spec['host'])}</taskvisor:host>"
                f"<taskvisor:name>{escape(spec['name'])}</taskvisor:name>"
                f"<taskvisor:project>{escape(spec.get('project_id') or '')}</taskvisor:project>"
                f"<taskvisor:flavor name={quoteattr(str(flavor.get('name', '')))} vcpus='{int(flavor['vcpus'])}'"
                f" ram='{int(flavor['ram'])}' disk='{int(flavor.get('disk') or 0)}'/>"
                f"<taskvisor:spec>{escape(json.dumps(spec, sort_keys=True))}</taskvisor:spec>"
                f"</taskvisor:instance>")
        return (f"<domain type={quoteattr(self.virt_type)}>"
                f"<name>taskvisor-{escape(spec['id'])}</name><uuid>{escape(spec['id'])}</uuid>"
                f"<title>{escape(spec['name'])}</title><metadata>{meta}</metadata>"
                f"<memory unit='MiB'>{int(flavor['ram'])}</memory><vcpu>{int(flavor['vcpus'])}</vcpu>"
                f"<os>{''.join(os_parts)}</os><features><acpi/><apic/></features>"
                + ("<cpu mode='host-passthrough'/>" if self.virt_type == "kvm" else "")
                + "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
                f"<devices>{disk_xml}"
                f"<serial type='file'><source path={quoteattr(self._dir(spec['id'], 'console.log'))} append='on'/>"
                f"<target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>"
                f"<memballoon model='none'/></devices></domain>")

    # -- the driver ---------------------------------------------------------------
    def init_host(self, host: str) -> None:
        self.host = host
        guests = self.list_guests()
        LOG.info("libvirt driver on %s (%s, %s): adopted %d guests %s", host, self.uri, self.virt_type,
                 len(guests), {k: power.NAMES.get(v) for k, v in guests.items()})

    def capabilities(self) -> dict:
        model, memory_mb, cpus, *_ = self.conn().getInfo()
        disk_gb = shutil.disk_usage(self.root).free // (1024 ** 3)
        comp = self.conf.compute
        return {"vcpus": int(cpus * comp.cpu_allocation_ratio),
                "memory_mb": int(memory_mb * comp.ram_allocation_ratio),
                "disk_gb": int(disk_gb * comp.disk_allocation_ratio),
                "physical": {"cpus": cpus, "memory_mb": memory_mb, "disk_free_gb": disk_gb, "model": model,
                             "virt_type": self.virt_type}}

    def list_guests(self) -> dict[str, int]:
        guests = {}
        for dom in self.conn().listAllDomains(0):
            try:
                if self._owner_of(dom) == self.host:
                    guests[dom.UUIDString()] = _power_state(dom)
            except libvirt.libvirtError as exc:
                if not _not_found(exc):  # undefined while we looked
                    raise
        return guests

    def spawn(self, server: dict, image: dict, flavor: dict) -> int:
        server_id = server["id"]
        with self._lock(server_id):
            dom = self._lookup(server_id)
            if dom is None:
                # Everything the domain needs exists before the one defineXML,
                # so a kill at any point leaves no domain or a whole one.
                os.makedirs(self._dir(server_id), exist_ok=True)
                self._make_overlay(self._dir(server_id, "disk.qcow2"), self._base(image.get("id")),
                                   int(flavor.get("disk") or 0))
                props = image.get("properties") or {}
                spec = {"id": server_id, "host": self.host, "name": server.get("name") or server_id,
                        "project_id": server.get("project_id"), "image_id": image.get("id"),
                        "flavor": {k: flavor.get(k) for k in ("name", "vcpus", "ram", "disk")},
                        "boot": self._boot_files(image), "machine": props.get("hw_machine_type") or "pc",
                        "mode": "normal"}
                dom = self._define(spec)
                LOG.info("guest %s defined (%s, %s vCPU, %s MiB)", server_id, self.virt_type, flavor.get("vcpus"),
                         flavor.get("ram"))
            self._settle(dom)
            if not dom.isActive():
                self._create(dom)
            return _power_state(dom)

    def _create(self, dom) -> None:
        try:
            dom.create()
        except libvirt.libvirtError as exc:
            raise DriverError(f"guest {dom.UUIDString()} did not start: {exc}") from exc

    def destroy(self, server_id: str) -> bool:
        with self._lock(server_id):
            dom = self._lookup(server_id)
            existed = dom is not None or os.path.isdir(self._dir(server_id))
            if dom is not None:
                try:
                    self._settle(dom)
                    if dom.isActive():
                        dom.destroy()
                    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                                      | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                                      | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
                except libvirt.libvirtError as exc:
                    if not _not_found(exc):
                        raise DriverError(f"guest {server_id}: {exc}") from exc
                self._owner.pop(server_id, None)
            with self._events:
                for counts in (self._off_events, self._off_pending, self._stopped):
                    counts.pop(server_id, None)
            shutil.rmtree(self._dir(server_id), ignore_errors=True)
            if existed:
                LOG.info("guest %s destroyed", server_id)
            return existed

    def power_state(self, server_id: str) -> int:
        return _power_state(self._domain(server_id))

    def request_shutdown(self, server_id: str) -> None:
        with self._lock(server_id):
            dom = self._domain(server_id)
            state = _power_state(dom)
            if state in (power.PAUSED, power.SUSPENDED):
                # A paused or saved guest cannot answer the power button: waiting
                # for it would only run out the timeout.
                LOG.info("guest %s is %s and cannot answer a shutdown request; forcing it off", server_id,
                         power.NAMES[state])
                self._force_off(dom)
                return
            with self._events:
                # Count guest-off events from the first request on. The guest
                # runs now, so an off event since an older mark was an earlier
                # life of it (a request that failed): start counting afresh.
                seen, mark = self._off_events.get(server_id, 0), self._off_pending.get(server_id)
                if mark is None or (seen > mark and state == power.RUNNING):
                    self._off_pending[server_id] = seen
            try:
                dom.shutdown()
            except libvirt.libvirtError as exc:
                # "domain is not running": it went off between our look and the request
                if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID and dom.isActive():
                    raise DriverError(f"guest {server_id}: shutdown request failed: {exc}") from exc

    def wait_off(self, server_id: str, timeout: float) -> bool:
        """True as soon as libvirt reports the guest off after our shutdown
        request: the SHUTDOWN event (QEMU saw the guest power off; libvirtd
        then stops QEMU, which can take seconds here, answering no state
        query meanwhile) or STOPPED. Without an event (a lost connection)
        libvirtd is asked once a second, and at the end."""
        deadline = time.monotonic() + timeout
        while True:
            with self._events:
                while True:
                    mark = self._off_pending.get(server_id)
                    if mark is not None and self._off_events.get(server_id, 0) > mark:
                        del self._off_pending[server_id]
                        return True
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._events.wait(min(left, 1.0)):
                        break
            try:
                off = self.power_state(server_id) in (power.SHUTDOWN, power.CRASHED)
            except GuestNotFound:
                off = True
            if off:
                with self._events:
                    self._off_pending.pop(server_id, None)
                return True
            if time.monotonic() >= deadline:
                return False

    def _settle(self, dom, timeout: float = 60.0) -> None:
        """Wait while libvirtd stops the QEMU of a guest that has powered off
        (state SHUTDOWN): starting or redefining it meanwhile would fail or
        see it still active."""
        server_id = dom.UUIDString()
        with self._events:
            stopped = self._stopped.get(server_id, 0)
        deadline = time.monotonic() + timeout
        while dom.state()[0] == libvirt.VIR_DOMAIN_SHUTDOWN:
            with self._events:
                self._events.wait_for(lambda: self._stopped.get(server_id, 0) > stopped,
                                      max(0.0, min(1.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                LOG.warning("guest %s: libvirtd still stopping it after %ss; destroying it", server_id, timeout)
                self._call(dom.destroy, "destroy")
                return

    def _force_off(self, dom) -> None:
        with self._events:
            self._off_pending.pop(dom.UUIDString(), None)
        try:
            if dom.isActive():
                dom.destroy()
            if dom.hasManagedSaveImage(0):
                dom.managedSaveRemove(0)
        except libvirt.libvirtError as exc:
            if dom.isActive():
                raise DriverError(f"guest {dom.UUIDString()}: destroy failed: {exc}") from exc

    def force_off(self, server_id: str) -> None:
        with self._lock(server_id):
            self._force_off(self._domain(server_id))

    def power_on(self, server_id: str) -> int:
        with self._lock(server_id):
            dom = self._domain(server_id)
            self._settle(dom)
            if not dom.isActive():
                self._create(dom)  # also restores a managed save
            return _power_state(dom)

    def _expect(self, dom, wanted: int, what: str) -> int:
        state = _power_state(dom)
        if state != wanted:
            raise DriverError(f"guest {dom.UUIDString()} is {power.NAMES.get(state)} after {what}")
        return state

    def pause(self, server_id: str) -> int:
        with self._lock(server_id):
            dom = self._domain(server_id)
            if _power_state(dom) != power.PAUSED:
                self._call(dom.suspend, "pause")
            return self._expect(dom, power.PAUSED, "pause")

    def unpause(self, server_id: str) -> int:
        with self._lock(server_id):
            dom = self._domain(server_id)
            if _power_state(dom) == power.PAUSED:
                self._call(dom.resume, "unpause")
            return self._expect(dom, power.RUNNING, "unpause")

    def suspend(self, server_id: str) -> int:
        with self._lock(server_id):
            dom = self._domain(server_id)
            if _power_state(dom) != power.SUSPENDED:
                self._call(lambda: dom.managedSave(0), "suspend")
            return self._expect(dom, power.SUSPENDED, "suspend")

    def resume(self, server_id: str) -> int:
        with self._lock(server_id):
            dom = self._domain(server_id)
            self._settle(dom)
            if not dom.isActive():
                self._create(dom)
            elif _power_state(dom) == power.PAUSED:
                self._call(dom.resume, "resume")
            return self._expect(dom, power.RUNNING, "resume")

    @staticmethod
    def _call(fn, what: str) -> None:
        try:
            fn()
        except libvirt.libvirtError as exc:
            raise DriverError(f"{what} failed: {exc}") from exc

    def _spec(self, server_id: str) -> tuple[object, dict]:
        dom = self._domain(server_id)
        spec = self._spec_of(dom)
        if spec is None:
            raise GuestNotFound(f"guest {server_id} has no taskvisor metadata")
        return dom, spec

    def _stop(self, dom) -> None:
        self._settle(dom)
        if dom.isActive():
            dom.destroy()  # the flows shut guests down cleanly before these steps

    def rescue(self, server_id: str, rescue_image: dict) -> int:
        with self._lock(server_id):
            dom, spec = self._spec(server_id)
            if spec.get("mode") != "rescue":
                self._stop(dom)
                with open(self._dir(server_id, "unrescue.xml.part"), "w") as f:
                    f.write(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
                os.replace(self._dir(server_id, "unrescue.xml.part"), self._dir(server_id, "unrescue.xml"))
                self._make_overlay(self._dir(server_id, "rescue.qcow2"), self._base(rescue_image.get("id")), 0)
                boot = self._boot_files(rescue_image)
                if not boot["kernel"]:  # a rescue disk without its own kernel boots the server's
                    boot = {**spec["boot"], "cmdline": boot["cmdline"] or spec["boot"].get("cmdline", "")}
                spec.update(mode="rescue", rescue_image_id=rescue_image.get("id"), rescue_boot=boot)
                dom = self._define(spec)
                LOG.info("guest %s: rescue image %s defined, the server's disk attached second", server_id,
                         rescue_image.get("id"))
            if not dom.isActive():
                self._create(dom)
            return _power_state(dom)

    def unrescue(self, server_id: str) -> int:
        with self._lock(server_id):
            dom, spec = self._spec(server_id)
            saved = self._dir(server_id, "unrescue.xml")
            if spec.get("mode") == "rescue":
                self._stop(dom)
                with open(saved) as f:
                    dom = self.conn().defineXML(f.read())
                os.unlink(saved)
                rescue_disk = self._dir(server_id, "rescue.qcow2")
                if os.path.exists(rescue_disk):
                    os.unlink(rescue_disk)
            if not dom.isActive():
                self._create(dom)
            return _power_state(dom)

    def snapshot(self, server_id: str, image_id: str) -> dict:
        with self._lock(server_id):
            dom = self._domain(server_id)
            self._settle(dom)
            if dom.isActive():
                raise DriverError(f"guest {server_id} must be off for a snapshot")
            os.makedirs(self.images_dir, exist_ok=True)
            path = os.path.join(self.images_dir, image_id)
            _qemu_img("convert", "-q", "-O", "qcow2", self._dir(server_id, "disk.qcow2"), path + ".part")
            size, checksum = publish_image_file(path + ".part", path)
            return {"size": size, "checksum": checksum, "container_format": "bare",
                    "disk_format": "qcow2"}

    def resize(self, server_id: str, new_flavor: dict) -> int:
        """Define the domain again with the new flavor (the guest is off); the
        old definition and disk are kept for revert."""
        with self._lock(server_id):
            dom, spec = self._spec(server_id)
            self._stop(dom)
            saved, disk = self._dir(server_id, "pre-resize.xml"), self._dir(server_id, "disk.qcow2")
            if not os.path.exists(saved):
                shutil.copyfile(disk, disk + ".pre-resize.part")
                os.replace(disk + ".pre-resize.part", self._dir(server_id, "disk.pre-resize"))
                with open(saved + ".part", "w") as f:
                    f.write(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
                os.replace(saved + ".part", saved)
            size = json.loads(_qemu_img("info", "--output=json", "-U", disk))["virtual-size"]
            new_gb = int(new_flavor.get("disk") or 0)
            if new_gb and new_gb * 1024 ** 3 > size:
                _qemu_img("resize", "-q", disk, f"{new_gb}G")
            spec["flavor"] = {k: new_flavor.get(k) for k in ("name", "vcpus", "ram", "disk")}
            dom = self._define(spec)
            return _power_state(dom)

    def confirm_resize(self, server_id: str) -> None:
        with self._lock(server_id):
            self._domain(server_id)
            for name in ("pre-resize.xml", "disk.pre-resize"):
                if os.path.exists(self._dir(server_id, name)):
                    os.unlink(self._dir(server_id, name))

    def revert_resize(self, server_id: str) -> int:
        with self._lock(server_id):
            dom = self._domain(server_id)
            saved = self._dir(server_id, "pre-resize.xml")
            if os.path.exists(saved):
                self._stop(dom)
                old_disk = self._dir(server_id, "disk.pre-resize")
                if os.path.exists(old_disk):
                    os.replace(old_disk, self._dir(server_id, "disk.qcow2"))
                with open(saved) as f:
                    dom = self.conn().defineXML(f.read())
                os.unlink(saved)
            return _power_state(dom)

    def console_output(self, server_id: str, length: int | None = None) -> str:
        self._domain(server_id)
        return console_log_tail(self._dir(server_id, "console.log"), length)

    def flavor(self, server_id: str) -> dict:
        """The flavor of the current definition (tests, operators)."""
        return self._spec(server_id)[1]["flavor"]
