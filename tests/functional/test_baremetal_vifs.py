"""Node VIFs over HTTP: the 1.28 gate, Ironic's noop network (nothing kept)
and flat network (the VIF recorded on a free port group or port), its 409
and 400s, and access through the node."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

OTHER = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member,reader"}
OWNER_READER = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}
VIF = "3f0d6b43-6c7e-4b53-9a0f-3b1f6d5b6f01"


@pytest.fixture
def bm(any_db_cloud) -> Baremetal:
    return Baremetal(any_db_cloud)


def _port(bm, node, address, **fields):
    resp = bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": address, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_noop_network_keeps_nothing(bm):
    node = bm.create("n1")
    assert node["network_interface"] == "noop"
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF}).status_code == 204
    assert bm.req("GET", f"/nodes/{node['uuid']}/vifs").json() == {"vifs": []}
    assert bm.req("DELETE", f"/nodes/{node['uuid']}/vifs/{VIF}").status_code == 204
    old = {"X-OpenStack-Ironic-API-Version": "1.27"}
    assert bm.req("GET", f"/nodes/{node['uuid']}/vifs", headers=old).status_code == 404
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF}, headers=old).status_code == 404
    assert bm.req("DELETE", f"/nodes/{node['uuid']}/vifs/{VIF}", headers=old).status_code == 404


def test_flat_network_records_vifs_on_ports(bm):
    node = bm.create("n1", network_interface="flat")
    none_free = bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF})
    assert none_free.status_code == 400
    assert fault(none_free) == f"Unable to attach VIF {VIF}, not enough free physical ports."
    port = _port(bm, node, "52:54:00:aa:bb:01")
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF}).status_code == 204
    assert bm.req("GET", f"/nodes/n1/vifs").json() == {"vifs": [{"id": VIF}]}
    assert bm.req("GET", f"/ports/{port['uuid']}").json()["internal_info"] == {"tenant_vif_port_id": VIF}
    again = bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF})
    assert again.status_code == 409
    assert fault(again) == f"Unable to attach VIF because VIF {VIF} is already attached to Ironic Port {port['uuid']}"
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": "test-vif-new"}).status_code == 400  # none free
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": "bad name!"}).status_code == 400
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {}).status_code == 400
    assert bm.req("DELETE", f"/nodes/{node['uuid']}/vifs/{VIF}").status_code == 204
    assert bm.req("GET", f"/nodes/{node['uuid']}/vifs").json() == {"vifs": []}
    assert "tenant_vif_port_id" not in bm.req("GET", f"/ports/{port['uuid']}").json()["internal_info"]
    twice = bm.req("DELETE", f"/nodes/{node['uuid']}/vifs/{VIF}")
    assert twice.status_code == 400
    assert fault(twice) == (f"Unable to detach VIF {VIF} from node {node['uuid']} because it is not attached "
                            "to it.")


def test_flat_network_prefers_port_groups(bm):
    node = bm.create("n1", network_interface="flat")
    group = bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], "address": "52:54:00:aa:bb:0f"}).json()
    port = _port(bm, node, "52:54:00:aa:bb:01", portgroup_uuid=group["uuid"])
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF}).status_code == 204
    assert bm.req("GET", f"/portgroups/{group['uuid']}").json()["internal_info"]["tenant_vif_port_id"] == VIF
    assert "tenant_vif_port_id" not in bm.req("GET", f"/ports/{port['uuid']}").json()["internal_info"]
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF}).status_code == 409
    assert bm.req("DELETE", f"/nodes/{node['uuid']}/vifs/{VIF}").status_code == 204
    assert "tenant_vif_port_id" not in bm.req("GET", f"/portgroups/{group['uuid']}").json()["internal_info"]


def test_vif_access_follows_the_node(bm):
    node = bm.create("n1", owner="projA")
    assert bm.req("GET", f"/nodes/{node['uuid']}/vifs", headers=OTHER).status_code == 404
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF}, headers=OTHER).status_code == 404
    assert bm.req("GET", f"/nodes/{node['uuid']}/vifs", headers=OWNER_READER).status_code == 200
    assert bm.req("POST", f"/nodes/{node['uuid']}/vifs", {"id": VIF}, headers=OWNER_READER).status_code == 403
    assert bm.req("DELETE", f"/nodes/{node['uuid']}/vifs/{VIF}", headers=OWNER_READER).status_code == 403
