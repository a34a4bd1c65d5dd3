"""Volume connectors and targets over HTTP: Ironic's shapes, the 1.32 gate,
uniqueness conflicts, the powered-off rule for changes, and access through
the record's node (other projects get 404)."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

OWNER_ADMIN = {"X-Project-Id": "projA", "X-User-Id": "ann", "X-Roles": "admin,member,reader"}
OWNER_READER = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}
OTHER = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member,reader"}
OLD = {"X-OpenStack-Ironic-API-Version": "1.31"}


@pytest.fixture
def bm(any_db_cloud) -> Baremetal:
    return Baremetal(any_db_cloud)


def _power(bm, node, target):
    resp = bm.power(node["uuid"], target)
    assert resp.status_code == 202, resp.text
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"


def _connector(bm, node, connector_id="iqn.2017-01.org.example:n1", **fields):
    resp = bm.req("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn",
                                                  "connector_id": connector_id, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _target(bm, node, boot_index=0, **fields):
    resp = bm.req("POST", "/volume/targets", {"node_uuid": node["uuid"], "volume_type": "iscsi",
                                               "volume_id": f"vol-{boot_index}", "boot_index": boot_index, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_connector_create_show_list_patch_delete(bm):
    node = bm.create("n1")
    made = bm.req("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn",
                                                  "connector_id": "iqn.2017-01.org.example:n1", "extra": {"k": "v"}})
    assert made.status_code == 201, made.text
    conn = made.json()
    assert set(conn) == {"uuid", "type", "connector_id", "node_uuid", "extra", "created_at", "updated_at", "links"}
    assert conn["node_uuid"] == node["uuid"] and conn["extra"] == {"k": "v"} and conn["updated_at"] is None
    assert made.headers["Location"].endswith(f"/baremetal/v1/volume/connectors/{conn['uuid']}")
    assert conn["links"][0]["href"].endswith(f"/v1/volume/connectors/{conn['uuid']}")
    assert bm.req("GET", f"/volume/connectors/{conn['uuid']}").json() == conn

    brief = bm.req("GET", "/volume/connectors").json()["connectors"]
    assert [set(c) for c in brief] == [{"uuid", "node_uuid", "type", "connector_id", "links"}]
    assert bm.req("GET", "/volume/connectors?detail=true").json()["connectors"][0]["extra"] == {"k": "v"}
    assert set(bm.req("GET", "/volume/connectors?fields=uuid,extra").json()["connectors"][0]) == {
        "uuid", "extra", "links"}
    assert bm.req("GET", "/volume/connectors?fields=uuid&detail=true").status_code == 400
    assert bm.req("GET", "/volume/connectors?fields=nope").status_code == 400
    assert bm.req("GET", "/volume/connectors?sort_key=extra").status_code == 400
    assert bm.req("GET", f"/nodes/{node['uuid']}/volume/connectors").json()["connectors"][0]["uuid"] == conn["uuid"]
    assert bm.req("GET", f"/volume/connectors?node={bm.create('n2')['uuid']}").json()["connectors"] == []
    assert bm.req("GET", "/volume/connectors?node=missing").status_code == 404
    root = bm.req("GET", f"/nodes/{node['uuid']}/volume").json()
    assert root["connectors"][0]["href"].endswith(f"/v1/nodes/{node['uuid']}/volume/connectors")
    assert bm.req("GET", "/volume").json()["targets"][0]["href"].endswith("/v1/volume/targets")

    # a node never powered has no power state: Ironic's conductor refuses the update
    change = [{"op": "replace", "path": "/connector_id", "value": "iqn.new"}, {"op": "add", "path": "/extra/n",
                                                                              "value": 1}]
    _power(bm, node, "power on")
    refused = bm.req("PATCH", f"/volume/connectors/{conn['uuid']}", change)
    assert refused.status_code == 400
    assert fault(refused) == (f'The requested action "volume connector update" can not be performed on node '
                              f'"{node["uuid"]}" while it is in state "power on".')
    _power(bm, node, "power off")
    patched = bm.req("PATCH", f"/volume/connectors/{conn['uuid']}", change)
    assert patched.status_code == 200, patched.text
    assert patched.json()["connector_id"] == "iqn.new" and patched.json()["extra"] == {"k": "v", "n": 1}
    assert patched.json()["updated_at"] is not None
    assert bm.req("PATCH", f"/volume/connectors/{conn['uuid']}", [{"op": "remove", "path": "/extra"}]
                  ).json()["extra"] == {}
    assert bm.req("PATCH", f"/volume/connectors/{conn['uuid']}", [{"op": "remove", "path": "/type"}]
                  ).status_code == 400
    assert bm.req("PATCH", f"/volume/connectors/{conn['uuid']}", [{"op": "replace", "path": "/uuid",
                                                                   "value": node["uuid"]}]).status_code == 400

    assert bm.req("DELETE", f"/volume/connectors/{conn['uuid']}").status_code == 204
    gone = bm.req("GET", f"/volume/connectors/{conn['uuid']}")
    assert gone.status_code == 404 and fault(gone) == f"Volume connector {conn['uuid']} could not be found."


def test_connector_conflicts_and_bad_input(bm):
    node = bm.create("n1")
    conn = _connector(bm, node)
    again = bm.req("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn",
                                                  "connector_id": conn["connector_id"]})
    assert again.status_code == 409
    assert fault(again) == (f"A volume connector with type iqn and connector ID {conn['connector_id']} "
                            "already exists.")
    same_id = bm.req("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn",
                                                    "connector_id": "other", "uuid": conn["uuid"]})
    assert same_id.status_code == 409 and conn["uuid"] in fault(same_id)
    other = _connector(bm, node, "iqn.other")
    _power(bm, node, "power off")
    clash = bm.req("PATCH", f"/volume/connectors/{other['uuid']}", [{"op": "replace", "path": "/connector_id",
                                                                     "value": conn["connector_id"]}])
    assert clash.status_code == 409

    assert bm.req("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn"}).status_code == 400
    assert bm.req("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn", "connector_id": "x",
                                                 "bogus": 1}).status_code == 400
    missing = bm.req("POST", "/volume/connectors", {"node_uuid": "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1",
                                                    "type": "iqn", "connector_id": "x"})
    assert missing.status_code == 400
    assert bm.req("GET", "/volume/connectors/not-a-uuid").status_code == 400
    assert bm.req("DELETE", "/volume/connectors/not-a-uuid").status_code == 400


def test_volume_gate_is_1_32(bm):
    node = bm.create("n1")
    conn = _connector(bm, node)
    for method, path, body in (("GET", "/volume", None), ("GET", "/volume/connectors", None),
                               ("GET", f"/volume/connectors/{conn['uuid']}", None),
                               ("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn",
                                                               "connector_id": "y"}),
                               ("PATCH", f"/volume/connectors/{conn['uuid']}",
                                [{"op": "add", "path": "/extra/x", "value": 1}]),
                               ("DELETE", f"/volume/connectors/{conn['uuid']}", None),
                               ("GET", "/volume/targets", None), ("GET", f"/nodes/{node['uuid']}/volume", None),
                               ("GET", f"/nodes/{node['uuid']}/volume/targets", None)):
        assert bm.req(method, path, body, headers=OLD).status_code == 404, (method, path)


def test_delete_needs_power_off_outside_enroll_manageable(bm):
    node = bm.available("n1")
    target = _target(bm, node)
    _power(bm, node, "power on")
    refused = bm.req("DELETE", f"/volume/targets/{target['uuid']}")
    assert refused.status_code == 400 and '"volume target deletion"' in fault(refused)
    _power(bm, node, "power off")
    assert bm.req("DELETE", f"/volume/targets/{target['uuid']}").status_code == 204
    enrolled = bm.create("n2")
    on_enroll = _target(bm, enrolled)
    _power(bm, enrolled, "power on")
    assert bm.req("DELETE", f"/volume/targets/{on_enroll['uuid']}").status_code == 204  # enroll: any power state


def test_target_shapes_conflict_and_properties(bm):
    node = bm.create("n1", owner="projA")
    made = _target(bm, node, boot_index=0, properties={"target_iqn": "iqn.x", "auth_password": "s3cret"},
                   extra={"k": "v"})
    assert set(made) == {"uuid", "volume_type", "properties", "boot_index", "volume_id", "node_uuid", "extra",
                         "created_at", "updated_at", "links"}
    assert made["properties"] == {"target_iqn": "iqn.x", "auth_password": "******"}
    brief = bm.req("GET", "/volume/targets").json()["targets"]
    assert [set(t) for t in brief] == [{"uuid", "node_uuid", "volume_type", "boot_index", "volume_id", "links"}]
    dup = bm.req("POST", "/volume/targets", {"node_uuid": node["uuid"], "volume_type": "iscsi", "volume_id": "v2",
                                             "boot_index": 0})
    assert dup.status_code == 409
    assert fault(dup) == "A volume target with boot index '0' for the same node already exists."
    assert bm.req("POST", "/volume/targets", {"node_uuid": node["uuid"], "volume_type": "iscsi", "volume_id": "v2",
                                              "boot_index": "0"}).status_code == 400
    # the owner's reader sees the target, its properties redacted
    seen = bm.req("GET", f"/volume/targets/{made['uuid']}", headers=OWNER_READER)
    assert seen.status_code == 200 and set(seen.json()["properties"]) == {"redacted_contents"}
    assert bm.req("GET", f"/volume/targets/{made['uuid']}", headers=OWNER_ADMIN).json()["properties"][
        "target_iqn"] == "iqn.x"
    second = _target(bm, node, boot_index=1)
    page = bm.req("GET", "/volume/targets?limit=1").json()
    assert len(page["targets"]) == 1 and f"marker={made['uuid']}" in page["next"]
    rest = bm.req("GET", f"/volume/targets?limit=1&marker={made['uuid']}").json()["targets"]
    assert [t["uuid"] for t in rest] == [second["uuid"]]
    assert [t["uuid"] for t in bm.req("GET", "/volume/targets?sort_key=boot_index&sort_dir=desc").json()[
        "targets"]] == [second["uuid"], made["uuid"]]


def test_other_projects_see_nothing(bm):
    node = bm.create("n1", owner="projA")
    conn = _connector(bm, node)
    target = _target(bm, node)
    assert bm.req("GET", "/volume/connectors", headers=OTHER).json()["connectors"] == []
    assert bm.req("GET", "/volume/connectors", headers=OWNER_READER).json()["connectors"][0]["uuid"] == conn["uuid"]
    for path in (f"/volume/connectors/{conn['uuid']}", f"/volume/targets/{target['uuid']}",
                 f"/nodes/{node['uuid']}/volume/connectors"):
        assert bm.req("GET", path, headers=OTHER).status_code == 404, path
    assert bm.req("DELETE", f"/volume/targets/{target['uuid']}", headers=OTHER).status_code == 404
    assert bm.req("PATCH", f"/volume/connectors/{conn['uuid']}", [{"op": "add", "path": "/extra/x", "value": 1}],
                  headers=OTHER).status_code == 404
    denied = bm.req("POST", "/volume/connectors", {"node_uuid": node["uuid"], "type": "iqn", "connector_id": "z"},
                    headers=OTHER)
    assert denied.status_code == 403
    assert bm.req("DELETE", f"/volume/targets/{target['uuid']}", headers=OWNER_READER).status_code == 403
    # the node's delete takes its volume records with it
    assert bm.req("DELETE", f"/nodes/{node['uuid']}").status_code == 204
    assert bm.req("GET", f"/volume/connectors/{conn['uuid']}").status_code == 404
