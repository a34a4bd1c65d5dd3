"""Helpers for tests with real QEMU guests through libvirtd.

The guest image is built once (scripts/build-guest-image, cached under
TASKVISOR_GUEST_IMAGE_DIR, default /var/tmp/taskvisor-guest) and shared by
every test; each test's compute uses a host name of its own, so its domains
never mix with anyone else's, and every domain it made is destroyed after.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET

from tests.services import unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE_DIR = os.environ.get("TASKVISOR_GUEST_IMAGE_DIR", "/var/tmp/taskvisor-guest")
URI = os.environ.get("TASKVISOR_LIBVIRT__CONNECTION_URI", "qemu:///system")
# Nested KVM on these machines opens and answers ioctls but fails guests
# (emulation failures): tests use TCG unless told otherwise.
VIRT_TYPE = os.environ.get("TASKVISOR_TEST_VIRT_TYPE", "qemu")


def require_libvirt() -> None:
    """libvirt-python importable and libvirtd answering, else fail (CI) or skip."""
    try:
        import libvirt
    except ImportError:
        unavailable("libvirt-python is not installed (pip install -e '.[libvirt]')")
    try:
        libvirt.registerErrorHandler(lambda ctx, err: None, None)
        libvirt.open(URI).close()
    except libvirt.libvirtError as exc:
        unavailable(f"libvirtd does not answer on {URI} ({exc}); run scripts/setup-libvirt")


def build_images() -> dict:
    """Build (or reuse) the guest image; returns its manifest with 'dir'."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "build-guest-image"), "--out", IMAGE_DIR],
                            capture_output=True, text=True)
    if result.returncode != 0:
        unavailable(f"scripts/build-guest-image failed: {result.stderr[-2000:]}")
    with open(os.path.join(IMAGE_DIR, "manifest.json")) as f:
        return {**json.load(f), "dir": IMAGE_DIR}


def register(client, manifest: dict, prefix: str = "") -> dict[str, str]:
    """Upload the kernel, initrd and machine images through the Image API
    (``client`` is a TestClient or httpx.Client whose paths start at /image)."""

    def upload(name: str, path: str, disk_format: str, container_format: str, props: dict) -> str:
        resp = client.post(f"{prefix}/image/v2/images", json={"name": name, "disk_format": disk_format,
                                                              "container_format": container_format, **props})
        assert resp.status_code == 201, resp.text
        image_id = resp.json()["id"]
        with open(os.path.join(manifest["dir"], path), "rb") as f:
            resp = client.put(f"{prefix}/image/v2/images/{image_id}/file", content=f.read(),
                              headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text
        return image_id

    ids = {"kernel": upload("taskvisor-kernel", manifest["kernel"], "aki", "aki", {}),
           "initrd": upload("taskvisor-initrd", manifest["initrd"], "ari", "ari", {})}
    for variant in manifest["variants"]:
        props = {**manifest["common_properties"], **variant["properties"], "kernel_id": ids["kernel"],
                 "ramdisk_id": ids["initrd"], "os_command_line": variant["cmdline"]}
        ids[variant["name"]] = upload(variant["name"], variant["disk"], "qcow2", "bare", props)
    return ids


def unique_host(tag: str) -> str:
    return f"lv-{tag}-{uuid.uuid4().hex[:8]}"


def domains_of(host: str) -> dict[str, int]:
    """UUID → libvirt state of every domain whose metadata names ``host``."""
    import libvirt

    from taskvisor.virt.libvirt import NS
    conn = libvirt.open(URI)
    try:
        found = {}
        for dom in conn.listAllDomains(0):
            try:
                meta = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NS, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            except libvirt.libvirtError:
                continue
            owner = ET.fromstring(meta).find("host")  # libvirt returns it without its namespace
            if owner is not None and owner.text == host:
                found[dom.UUIDString()] = dom.state()[0]
        return found
    finally:
        conn.close()


def qemu_pid(server_id: str) -> int | None:
    try:
        with open(f"/run/libvirt/qemu/taskvisor-{server_id}.pid") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def destroy_domains(host: str) -> None:
    """Remove every domain a test's host left behind (guests never outlive their test)."""
    import libvirt
    conn = libvirt.open(URI)
    try:
        for server_id in domains_of(host):
            try:
                dom = conn.lookupByUUIDString(server_id)
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            except libvirt.libvirtError:
                pass
    finally:
        conn.close()
