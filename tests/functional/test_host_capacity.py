"""The scheduler fills a host only as far as its vCPUs, RAM and disk go,
counting every live server's flavor: the one it booted with, or the one a
resize gave it; a deleted server's room is free again."""
from __future__ import annotations

from tests.procs import poll_until


def _boot(cloud, name: str, flavor: str = "1") -> dict:
    server_id = cloud.boot(name, flavor=flavor)
    return cloud.server(server_id)


def test_a_host_takes_what_fits_and_counts_resizes_and_deletes(cloud_factory):
    # m1.tiny: 1 vCPU, 512 MB, 1 GB disk; m1.small: 1 vCPU, 2048 MB, 20 GB
    cloud = cloud_factory(fake__vcpus=3, fake__memory_mb=8192, fake__disk_gb=22)
    a, b = _boot(cloud, "a"), _boot(cloud, "b")
    assert cloud.action(b["id"], {"resize": {"flavorRef": "2"}}).status_code == 202
    cloud.wait_status(b["id"], "VERIFY_RESIZE")
    assert cloud.action(b["id"], {"confirmResize": None}).status_code == 204
    cloud.wait_status(b["id"], "ACTIVE")
    assert _boot(cloud, "c")["status"] == "ACTIVE"  # 3 vCPUs, 22 GB: full on both
    full = _boot(cloud, "d")
    assert full["status"] == "ERROR"
    assert full["fault"]["message"] == "No valid host was found. No compute has room for flavor m1.tiny."

    assert cloud.delete(f"/servers/{a['id']}").status_code == 204
    poll_until(lambda: cloud.get(f"/servers/{a['id']}").status_code, lambda code: code == 404, 120,
               lambda code: f"server a still there ({code})")
    # a's vCPU and 1 GB are free; m1.small's 20 GB are not there (b holds 20, c 1)
    no_disk = _boot(cloud, "e", flavor="2")
    assert no_disk["status"] == "ERROR"
    assert no_disk["fault"]["message"] == "No valid host was found. No compute has room for flavor m1.small."
    assert _boot(cloud, "f")["status"] == "ACTIVE"

