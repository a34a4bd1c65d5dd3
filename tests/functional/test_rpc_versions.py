"""Rolling upgrades, RPC (issue 14 #10): with [upgrade_levels] compute = auto,
conductors and the API send no more than the lowest running compute serves, so
a compute pinned to an older RPC version (a second compute on the all-in-one's
in-process bus, through the real ComputeService, conductor and API code) is
still served; once it is gone, the cap rises on its own."""
from __future__ import annotations

from sqlalchemy import update

from taskvisor.compute.service import ComputeService
from taskvisor.db.models import services
from taskvisor.virt import load_driver
from tests.procs import wait_for


def test_auto_serves_a_compute_pinned_to_an_older_version_and_rises_when_it_goes(cloud_factory):
    cloud = cloud_factory(upgrade_levels__compute="auto")
    node = cloud.node
    versions = node.conductor.runtime.compute_versions
    assert versions.current_cap() == "1.1"
    old_conf = node.conf.copy(DEFAULT__host="old-1", upgrade_levels__compute="2026.1")
    old = ComputeService(old_conf, node.transport, load_driver(old_conf, node.transport))
    old.start()
    try:
        assert (old.rpc_version, old.version) == ("1.0", 1)
        wait_for(lambda: versions.current_cap() == "1.0", 30, "auto to take the old compute's version")
        with node.db.write() as conn:  # new servers go to the old compute
            conn.execute(update(services).where(services.c.host == node.conf.DEFAULT.host).values(disabled=True))
        server_id = cloud.boot("on-old")
        assert cloud.server(server_id)["OS-EXT-SRV-ATTR:host"] == "old-1"
        assert cloud.server(server_id)["status"] == "ACTIVE"
        # a multi-call operation: every call after the first would go to compute-alt on a 1.1 compute
        cloud.act(server_id, {"resize": {"flavorRef": "2"}})
        cloud.wait_status(server_id, "VERIFY_RESIZE")
        cloud.act(server_id, {"revertResize": None})
        cloud.wait_status(server_id, "ACTIVE")
        resp = cloud.post(f"/servers/{server_id}/action", {"os-getConsoleOutput": {"length": 5}})
        assert resp.status_code == 200, resp.text
        assert old.manager.RPC_API_VERSION == "1.0" and "compute-alt" not in old.rpc_servers
    finally:
        old.stop()
    wait_for(lambda: versions.current_cap() == "1.1", 30, "auto to rise once the old compute stopped")
