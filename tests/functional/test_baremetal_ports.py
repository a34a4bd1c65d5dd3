"""Ports over HTTP: Ironic's shapes, microversion gates, codes and messages,
and access through the port's node (other projects get 404)."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

MAC = "52:54:00:aa:bb:01"
OWNER_ADMIN = {"X-Project-Id": "projA", "X-User-Id": "ann", "X-Roles": "admin,member,reader"}
OTHER = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member,reader"}
OWNER_MEMBER = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member,reader"}


@pytest.fixture
def bm(any_db_cloud) -> Baremetal:
    """Each test on SQLite and on PostgreSQL."""
    return Baremetal(any_db_cloud)


def _port(bm, node, address=MAC, **fields):
    resp = bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": address, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_show_list_patch_delete(bm):
    node = bm.create("n1")
    made = bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": "52:54:00:AA:BB:01",
                                     "extra": {"k": "v"}, "local_link_connection": {"switch_id": "0a:1b:2c:3d:4e:5f",
                                                                                    "port_id": "Eth1"}})
    assert made.status_code == 201, made.text
    port = made.json()
    assert port["address"] == MAC  # normalised to lower case
    assert port["node_uuid"] == node["uuid"] and port["extra"] == {"k": "v"} and port["pxe_enabled"] is True
    assert port["portgroup_uuid"] is None and port["physical_network"] is None and port["is_smartnic"] is False
    assert port["updated_at"] is None and port["links"][0]["href"].endswith(f"/v1/ports/{port['uuid']}")
    assert made.headers["Location"].endswith(f"/baremetal/v1/ports/{port['uuid']}")
    assert bm.req("GET", f"/ports/{port['uuid']}").json() == port

    brief = bm.req("GET", "/ports").json()["ports"]
    assert [set(p) for p in brief] == [{"uuid", "address", "links"}]
    detail = bm.req("GET", "/ports/detail").json()["ports"]
    assert detail[0]["node_uuid"] == node["uuid"] and "node_id" not in detail[0]
    assert bm.req("GET", f"/ports/detail?address={MAC.upper()}").json()["ports"][0]["uuid"] == port["uuid"]
    assert bm.req("GET", f"/nodes/{node['uuid']}/ports").json()["ports"][0]["uuid"] == port["uuid"]
    assert bm.req("GET", f"/nodes/n1/ports/detail").json()["ports"][0]["extra"] == {"k": "v"}
    assert bm.req("GET", f"/ports?node={bm.create('n2')['uuid']}").json()["ports"] == []
    assert set(bm.req("GET", "/ports?fields=uuid,extra").json()["ports"][0]) == {"uuid", "extra", "links"}

    patched = bm.req("PATCH", f"/ports/{port['uuid']}", [{"op": "replace", "path": "/address",
                                                          "value": "52:54:00:AA:BB:02"},
                                                         {"op": "add", "path": "/extra/n", "value": 1},
                                                         {"op": "remove", "path": "/extra/k"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["address"] == "52:54:00:aa:bb:02" and patched.json()["extra"] == {"n": 1}
    assert patched.json()["updated_at"] is not None

    assert bm.req("DELETE", f"/ports/{port['uuid']}").status_code == 204
    gone = bm.req("GET", f"/ports/{port['uuid']}")
    assert gone.status_code == 404 and fault(gone) == f"Port {port['uuid']} could not be found."


def test_mac_conflicts_and_bad_input(bm):
    node = bm.create("n1")
    port = _port(bm, node)
    again = bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": MAC.upper()})
    assert again.status_code == 409 and fault(again) == f"A port with MAC address {MAC} already exists."
    same_id = bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": "52:54:00:aa:bb:09",
                                        "uuid": port["uuid"]})
    assert same_id.status_code == 409 and port["uuid"] in fault(same_id)
    other = _port(bm, node, "52:54:00:aa:bb:03")
    clash = bm.req("PATCH", f"/ports/{other['uuid']}", [{"op": "replace", "path": "/address", "value": MAC}])
    assert clash.status_code == 409 and "already exists" in fault(clash)

    bad = bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": "malformed:mac"})
    assert bad.status_code == 400 and fault(bad) == "Expected valid MAC address for address: malformed:mac"
    assert bm.req("POST", "/ports", {"address": "52:54:00:aa:bb:04"}).status_code == 400
    assert bm.req("POST", "/ports", {"node_uuid": node["uuid"]}).status_code == 400
    assert bm.req("POST", "/ports", {"node_uuid": None, "address": "52:54:00:aa:bb:04"}).status_code == 400
    assert bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": None}).status_code == 400
    missing = bm.req("POST", "/ports", {"node_uuid": "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1",
                                        "address": "52:54:00:aa:bb:04"})
    assert missing.status_code == 400 and "could not be found" in fault(missing)
    assert bm.req("POST", "/ports", {"node_uuid": "malformed:node", "address": "52:54:00:aa:bb:04"}).status_code == 400
    assert bm.req("GET", "/ports/malformed:uuid").status_code == 400
    assert bm.req("GET", f"/ports/{MAC}").status_code == 400  # by MAC: not an identifier
    assert bm.req("DELETE", f"/ports/{MAC}").status_code == 400
    for op in ([{"op": "remove", "path": "/address"}], [{"op": "remove", "path": "/uuid"}],
               [{"op": "add", "path": "/nonexistent", "value": 1}], [{"path": "/extra/x", " op": "add"}],
               [{"op": "replace", "path": "/node_uuid", "value": "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1"}],
               [{"op": "replace", "path": "/address", "value": "nope"}]):
        assert bm.req("PATCH", f"/ports/{port['uuid']}", op).status_code == 400, op
    # a failed patch changes nothing
    mixed = [{"op": "add", "path": "/extra/a", "value": 1}, {"op": "replace", "path": "/nonexistent", "value": 1}]
    assert bm.req("PATCH", f"/ports/{port['uuid']}", mixed).status_code == 400
    assert bm.req("GET", f"/ports/{port['uuid']}").json()["extra"] == {}


def test_microversion_gates(any_db_cloud):
    bm, old = Baremetal(any_db_cloud), Baremetal(any_db_cloud, "1.1")
    node = bm.create("n1")
    port = _port(bm, node, physical_network="physnet1")
    shown = old.req("GET", f"/ports/{port['uuid']}").json()
    assert set(shown) == {"uuid", "address", "node_uuid", "extra", "created_at", "updated_at", "links"}
    at_19 = Baremetal(any_db_cloud, "1.19").req("GET", f"/ports/{port['uuid']}").json()
    assert "pxe_enabled" in at_19 and "portgroup_uuid" not in at_19 and "internal_info" in at_19
    assert "physical_network" in Baremetal(any_db_cloud, "1.34").req("GET", f"/ports/{port['uuid']}").json()
    newer = old.req("POST", "/ports", {"node_uuid": node["uuid"], "address": "52:54:00:aa:bb:05",
                                       "physical_network": "physnet1"})
    assert newer.status_code == 406
    patch = [{"op": "replace", "path": "/physical_network", "value": "physnet2"}]
    assert old.req("PATCH", f"/ports/{port['uuid']}", patch).status_code == 406
    assert Baremetal(any_db_cloud, "1.8").req("GET", f"/ports/{port['uuid']}?fields=pxe_enabled").status_code == 406
    assert old.req("GET", f"/ports/{port['uuid']}?fields=uuid").status_code == 406  # fields: 1.8+
    assert bm.req("GET", f"/ports/{port['uuid']}?fields=colour").status_code == 400


def test_pagination_sorting_and_filters(bm):
    node = bm.create("n1")
    ids = [_port(bm, node, f"52:54:00:aa:bb:1{i}")["uuid"] for i in range(3)]
    first = bm.req("GET", "/ports?limit=2").json()
    assert [p["uuid"] for p in first["ports"]] == ids[:2] and f"marker={ids[1]}" in first["next"]
    rest = bm.req("GET", f"/ports?limit=2&marker={ids[1]}").json()
    assert [p["uuid"] for p in rest["ports"]] == ids[2:] and "next" not in rest
    down = bm.req("GET", "/ports?sort_key=address&sort_dir=desc").json()["ports"]
    assert [p["uuid"] for p in down] == ids[::-1]
    assert bm.req("GET", "/ports?sort_key=extra").status_code == 400
    assert bm.req("GET", "/ports?sort_dir=up").status_code == 400
    assert bm.req("GET", "/ports?limit=-1").status_code == 400
    assert bm.req("GET", "/ports?address=nope").status_code == 400
    assert bm.req("GET", "/ports?node=missing-node").status_code == 404


def test_other_projects_see_nothing(bm):
    node = bm.create("n1", owner="projA")
    port = _port(bm, node)
    assert bm.req("GET", f"/ports/{port['uuid']}", headers=OTHER).status_code == 404
    assert bm.req("GET", "/ports", headers=OTHER).json()["ports"] == []
    assert bm.req("GET", f"/nodes/{node['uuid']}/ports", headers=OTHER).status_code == 404
    patch = [{"op": "add", "path": "/extra/x", "value": 1}]
    assert bm.req("PATCH", f"/ports/{port['uuid']}", patch, headers=OTHER).status_code == 404
    assert bm.req("DELETE", f"/ports/{port['uuid']}", headers=OTHER).status_code == 404
    assert bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": "52:54:00:aa:bb:06"},
                  headers=OTHER).status_code == 403
    # the owner's project sees its ports; its member may not change them, its admin may
    assert [p["uuid"] for p in bm.req("GET", "/ports", headers=OWNER_MEMBER).json()["ports"]] == [port["uuid"]]
    assert bm.req("PATCH", f"/ports/{port['uuid']}", patch, headers=OWNER_MEMBER).status_code == 403
    assert bm.req("PATCH", f"/ports/{port['uuid']}", patch, headers=OWNER_ADMIN).status_code == 200


def test_deleting_a_node_deletes_its_ports(bm):
    node = bm.create("n1")
    port = _port(bm, node)
    assert bm.node(node["uuid"])["ports"][0]["href"].endswith(f"/v1/nodes/{node['uuid']}/ports")
    assert bm.req("DELETE", f"/nodes/{node['uuid']}").status_code == 204
    assert bm.req("GET", f"/ports/{port['uuid']}").status_code == 404
    assert _port(bm, bm.create("n2"))["address"] == MAC  # its MAC is free again


def test_connectivity_changes_need_a_manageable_or_maintenance_node(bm):
    node = bm.available("n1")
    port = _port(bm, node)
    patch = [{"op": "replace", "path": "/pxe_enabled", "value": False}]
    refused = bm.req("PATCH", f"/ports/{port['uuid']}", patch)
    assert refused.status_code == 409 and "connectivity" in fault(refused)
    assert bm.req("PATCH", f"/ports/{port['uuid']}", [{"op": "add", "path": "/extra/a", "value": 1}]).status_code == 200
    started = bm.req("PUT", f"/nodes/{node['uuid']}/maintenance", {"reason": "x"})
    assert started.status_code == 202, started.text
    assert bm.wait_task(started.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    assert bm.req("PATCH", f"/ports/{port['uuid']}", patch).json()["pxe_enabled"] is False


def test_racing_creates_of_one_mac_one_201_and_409s(bm):
    """The unique index decides between creates that all passed the check."""
    from tests.threads import together
    node = bm.create("n1")
    responses = together(8, lambda: bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": MAC}))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 7, [(r.status_code, r.text) for r in responses]
    for resp in responses:
        if resp.status_code == 409:
            assert fault(resp) == f"A port with MAC address {MAC} already exists."
    assert len(bm.req("GET", "/ports").json()["ports"]) == 1


def test_the_owners_manager_may_create_and_delete(bm):
    """Ironic's port rules let the owner project's manager act, as its admin."""
    node = bm.create("n1", owner="projA")
    manager = {"X-Project-Id": "projA", "X-User-Id": "meg", "X-Roles": "manager,member,reader"}
    made = bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": MAC}, headers=manager)
    assert made.status_code == 201, made.text
    assert bm.req("PATCH", f"/ports/{made.json()['uuid']}", [{"op": "add", "path": "/extra/a", "value": 1}],
                  headers=manager).status_code == 200
    assert bm.req("DELETE", f"/ports/{made.json()['uuid']}", headers=manager).status_code == 204


def test_a_busy_node_locks_its_ports(bm):
    """While a task holds the node, changing or deleting its ports is Ironic's NodeLocked 409."""
    import threading

    from taskvisor.baremetal import fake as fake_hardware
    node = bm.manageable("n1")
    port = _port(bm, node)
    in_flight = threading.Event()
    fake_hardware.hold(node["uuid"], in_flight)
    try:
        started = bm.provision(node["uuid"], "provide")
        assert started.status_code == 202, started.text
        busy = bm.req("PATCH", f"/ports/{port['uuid']}", [{"op": "add", "path": "/extra/a", "value": 1}])
        assert busy.status_code == 409 and "is locked by host" in fault(busy)
        assert bm.req("DELETE", f"/ports/{port['uuid']}").status_code == 409
    finally:
        in_flight.set()
    assert bm.wait_task(started.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    assert bm.req("DELETE", f"/ports/{port['uuid']}").status_code == 204
