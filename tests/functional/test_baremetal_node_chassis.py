"""A node's chassis over HTTP: chassis_uuid on create and JSON-patch (an
unknown chassis is a 400), the chassis' node list, and Ironic's refusal to
delete a chassis that still has nodes."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

MISSING = "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1"


@pytest.fixture
def bm(any_db_cloud) -> Baremetal:
    """Each test on SQLite and on PostgreSQL."""
    return Baremetal(any_db_cloud)


def _chassis(bm) -> str:
    return bm.req("POST", "/chassis", {"description": "rack"}).json()["uuid"]


def test_node_in_a_chassis(bm):
    rack = _chassis(bm)
    node = bm.create("n1", chassis_uuid=rack, properties={"cpus": 8})
    assert node["chassis_uuid"] == rack and bm.node("n1")["chassis_uuid"] == rack
    assert bm.create("n2", chassis_uuid=None)["chassis_uuid"] is None
    listed = bm.req("GET", f"/chassis/{rack}/nodes").json()["nodes"]
    assert [n["uuid"] for n in listed] == [node["uuid"]]
    assert bm.req("GET", f"/chassis/{rack}/nodes/detail").json()["nodes"][0]["chassis_uuid"] == rack
    assert [n["uuid"] for n in bm.req("GET", f"/nodes?chassis_uuid={rack}").json()["nodes"]] == [node["uuid"]]
    assert bm.req("GET", f"/chassis/{MISSING}/nodes").status_code == 404

    refused = bm.req("DELETE", f"/chassis/{rack}")
    assert refused.status_code == 400
    assert fault(refused) == f"Cannot complete the requested action because chassis {rack} contains nodes."
    other = _chassis(bm)
    moved = bm.req("PATCH", "/nodes/n1", [{"op": "replace", "path": "/chassis_uuid", "value": other}])
    assert moved.status_code == 200 and moved.json()["chassis_uuid"] == other
    assert bm.req("DELETE", f"/chassis/{rack}").status_code == 204
    removed = bm.req("PATCH", "/nodes/n1", [{"op": "remove", "path": "/chassis_uuid"}])
    assert removed.status_code == 200 and removed.json()["chassis_uuid"] is None


def test_unknown_chassis_is_a_bad_request(bm):
    made = bm.req("POST", "/nodes", {"driver": "fake-hardware", "chassis_uuid": MISSING})
    assert made.status_code == 400 and fault(made) == f"Chassis {MISSING} could not be found."
    assert bm.req("POST", "/nodes", {"driver": "fake-hardware", "chassis_uuid": "nope"}).status_code == 400
    bm.create("n1")
    patch = [{"op": "add", "path": "/chassis_uuid", "value": MISSING}]
    assert bm.req("PATCH", "/nodes/n1", patch).status_code == 400
    assert bm.node("n1")["chassis_uuid"] is None


def test_removing_a_chassis_needs_1_25(any_db_cloud):
    bm = Baremetal(any_db_cloud)
    rack = _chassis(bm)
    node = bm.create("n1", chassis_uuid=rack)
    old = Baremetal(any_db_cloud, "1.24")
    assert old.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "remove", "path": "/chassis_uuid"}]).status_code == 406


def test_only_the_admin_changes_a_chassis(bm):
    rack = _chassis(bm)
    bm.create("n1", owner="projA")
    owner_admin = {"X-Project-Id": "projA", "X-User-Id": "ann", "X-Roles": "admin"}
    member = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member,reader"}
    patch = [{"op": "add", "path": "/chassis_uuid", "value": rack}]
    assert bm.req("PATCH", "/nodes/n1", patch, headers=member).status_code == 403
    assert bm.req("PATCH", "/nodes/n1", patch, headers=owner_admin).status_code == 200

