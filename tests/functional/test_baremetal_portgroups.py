"""Port groups over HTTP (API 1.23+): Ironic's shapes, gates, codes and
messages; membership rules between ports and their group."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

OTHER = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member,reader"}


@pytest.fixture
def bm(any_db_cloud) -> Baremetal:
    """Each test on SQLite and on PostgreSQL."""
    return Baremetal(any_db_cloud)


def _group(bm, node, **fields):
    resp = bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _port(bm, node, address, **fields):
    return bm.req("POST", "/ports", {"node_uuid": node["uuid"], "address": address, **fields})


def test_create_show_list_patch_delete(bm):
    node = bm.create("n1")
    made = bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], "address": "52:54:00:AA:00:01", "name": "bond0",
                                          "extra": {"foo": "bar"}})
    assert made.status_code == 201, made.text
    group = made.json()
    assert group["address"] == "52:54:00:aa:00:01" and group["name"] == "bond0" and group["mode"] == "active-backup"
    assert group["standalone_ports_supported"] is True and group["properties"] == {}
    assert group["ports"][0]["href"].endswith(f"/v1/portgroups/{group['uuid']}/ports")
    assert made.headers["Location"].endswith(f"/baremetal/v1/portgroups/{group['uuid']}")
    assert bm.req("GET", "/portgroups/bond0").json() == group
    assert _group(bm, node)["address"] is None

    brief = bm.req("GET", "/portgroups").json()["portgroups"]
    assert {g["name"] for g in brief} == {"bond0", None} and set(brief[0]) == {"uuid", "address", "name", "links"}
    assert len(bm.req("GET", "/portgroups/detail").json()["portgroups"]) == 2
    assert len(bm.req("GET", f"/nodes/{node['uuid']}/portgroups").json()["portgroups"]) == 2
    assert bm.req("GET", "/portgroups?address=52:54:00:aa:00:01").json()["portgroups"][0]["uuid"] == group["uuid"]
    assert bm.node(node["uuid"])["portgroups"][0]["href"].endswith(f"/v1/nodes/{node['uuid']}/portgroups")

    patched = bm.req("PATCH", f"/portgroups/{group['uuid']}", [
        {"op": "replace", "path": "/address", "value": "52:54:00:aa:00:02"},
        {"op": "add", "path": "/properties/miimon", "value": "100"}, {"op": "remove", "path": "/extra/foo"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["address"] == "52:54:00:aa:00:02" and patched.json()["properties"] == {"miimon": "100"}
    assert patched.json()["extra"] == {}
    assert bm.req("PATCH", f"/portgroups/{group['uuid']}",
                  [{"op": "remove", "path": "/mode"}]).status_code == 400

    assert bm.req("DELETE", f"/portgroups/{group['uuid']}").status_code == 204
    gone = bm.req("GET", f"/portgroups/{group['uuid']}")
    assert gone.status_code == 404 and fault(gone) == f"Portgroup {group['uuid']} could not be found."


def test_versions(any_db_cloud):
    bm = Baremetal(any_db_cloud)
    node = bm.create("n1")
    group = _group(bm, node, name="bond0")
    assert Baremetal(any_db_cloud, "1.22").req("GET", "/portgroups").status_code == 404
    assert Baremetal(any_db_cloud, "1.22").req("GET", f"/portgroups/{group['uuid']}").status_code == 404
    at_23 = Baremetal(any_db_cloud, "1.23")
    shown = at_23.req("GET", f"/portgroups/{group['uuid']}").json()
    assert "mode" not in shown and "properties" not in shown and "name" in shown
    assert at_23.req("POST", "/portgroups", {"node_uuid": node["uuid"], "mode": "802.3ad"}).status_code == 406
    assert at_23.req("GET", f"/nodes/{node['uuid']}/portgroups").status_code == 404  # 1.24+
    assert at_23.req("GET", f"/portgroups/{group['uuid']}/ports").status_code == 404
    # ".json" after the identifier: stripped up to 1.90, an unknown name after
    at_90 = Baremetal(any_db_cloud, "1.90")
    assert at_90.req("GET", f"/portgroups/{group['uuid']}.json").json()["uuid"] == group["uuid"]
    assert bm.req("GET", f"/portgroups/{group['uuid']}.json").status_code == 404


def test_conflicts_and_bad_input(bm):
    node = bm.create("n1")
    group = _group(bm, node, name="bond0", address="52:54:00:aa:00:01")
    dup_name = bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], "name": "bond0"})
    assert dup_name.status_code == 409 and fault(dup_name) == "A portgroup with name bond0 already exists."
    dup_mac = bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], "address": "52:54:00:aa:00:01"})
    assert dup_mac.status_code == 409 and "MAC address" in fault(dup_mac)
    assert bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], "address": "bad"}).status_code == 400
    assert bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], "name": "bad name"}).status_code == 400
    assert bm.req("POST", "/portgroups", {"name": "x"}).status_code == 400
    assert bm.req("GET", "/portgroups/bad:name").status_code == 400
    # a port and its group may share a MAC; a group with ports cannot be deleted
    assert _port(bm, node, "52:54:00:aa:00:01", portgroup_uuid=group["uuid"]).status_code == 201
    refused = bm.req("DELETE", f"/portgroups/{group['uuid']}")
    assert refused.status_code == 400 and "contains ports" in fault(refused)
    assert [p["address"] for p in bm.req("GET", f"/portgroups/{group['uuid']}/ports").json()["ports"]] == \
        ["52:54:00:aa:00:01"]


def test_port_membership_rules(bm):
    node, elsewhere = bm.create("n1"), bm.create("n2")
    group = _group(bm, node)
    foreign = _port(bm, elsewhere, "52:54:00:aa:00:09", portgroup_uuid=group["uuid"])
    assert foreign.status_code == 400 and "different node" in fault(foreign)
    assert _port(bm, node, "52:54:00:aa:00:08", portgroup_uuid="8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1"
                 ).status_code == 400
    assert _port(bm, node, "52:54:00:aa:00:01", portgroup_uuid=group["uuid"],
                 physical_network="physnet1").status_code == 201
    mismatch = _port(bm, node, "52:54:00:aa:00:02", portgroup_uuid=group["uuid"], physical_network="physnet2")
    assert mismatch.status_code == 409
    loose = _port(bm, node, "52:54:00:aa:00:03", physical_network="physnet2").json()
    join = [{"op": "replace", "path": "/portgroup_uuid", "value": group["uuid"]}]
    assert bm.req("PATCH", f"/ports/{loose['uuid']}", join).status_code == 409
    fix = [{"op": "replace", "path": "/physical_network", "value": "physnet1"}, *join]
    joined = bm.req("PATCH", f"/ports/{loose['uuid']}", fix)
    assert joined.status_code == 200 and joined.json()["portgroup_uuid"] == group["uuid"]

    strict = _group(bm, node, standalone_ports_supported=False)
    pxe = _port(bm, node, "52:54:00:aa:00:04", portgroup_uuid=strict["uuid"], pxe_enabled=True)
    assert pxe.status_code == 409


def test_other_projects_see_nothing(bm):
    node = bm.create("n1", owner="projA")
    group = _group(bm, node)
    assert bm.req("GET", f"/portgroups/{group['uuid']}", headers=OTHER).status_code == 404
    assert bm.req("GET", "/portgroups", headers=OTHER).json()["portgroups"] == []
    assert bm.req("DELETE", f"/portgroups/{group['uuid']}", headers=OTHER).status_code == 404
    assert bm.req("POST", "/portgroups", {"node_uuid": node["uuid"]}, headers=OTHER).status_code == 403


def test_deleting_a_node_deletes_its_portgroups(bm):
    node = bm.create("n1")
    group = _group(bm, node, name="bond0")
    assert bm.req("DELETE", f"/nodes/{node['uuid']}").status_code == 204
    assert bm.req("GET", f"/portgroups/{group['uuid']}").status_code == 404


def test_racing_creates_of_one_name_one_201_and_409s(bm):
    from tests.threads import together
    node = bm.create("n1")
    responses = together(8, lambda: bm.req("POST", "/portgroups", {"node_uuid": node["uuid"], "name": "bond0"}))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [(r.status_code, r.text) for r in responses]
    assert {fault(r) for r in responses if r.status_code == 409} == {"A portgroup with name bond0 already exists."}
