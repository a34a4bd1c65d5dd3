"""Bare Metal API over HTTP: version negotiation, node CRUD, Ironic's
field names and error shapes."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import BM, Baremetal, fault

VERSION_HEADERS = ("X-OpenStack-Ironic-API-Minimum-Version", "X-OpenStack-Ironic-API-Maximum-Version",
                   "X-OpenStack-Ironic-API-Version")


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def test_version_documents_in_ironic_shape(cloud):
    root = cloud.client.get("/baremetal/")
    assert root.status_code == 200
    body = root.json()
    assert body["name"] == "OpenStack Ironic API"
    assert body["default_version"]["min_version"] == "1.1" and body["default_version"]["version"] == "1.115"
    assert body["versions"][0]["id"] == "v1" and body["versions"][0]["status"] == "CURRENT"
    v1 = cloud.client.get("/baremetal/v1").json()
    assert v1["id"] == "v1" and v1["version"]["version"] == "1.115"
    assert v1["media_types"]["type"] == "application/vnd.openstack.ironic.v1+json"
    assert v1["nodes"][0]["href"].endswith("/baremetal/v1/nodes/")


@pytest.mark.parametrize("path", ["/baremetal/", "/baremetal/v1", "/baremetal/v1/nodes",
                                  "/baremetal/v1/nodes/nope", "/baremetal/v1/nothing-here"])
def test_every_response_carries_the_version_headers(cloud, path):
    resp = cloud.client.get(path)
    for header in VERSION_HEADERS:
        assert header in resp.headers, (path, resp.status_code, dict(resp.headers))
    assert resp.headers["X-OpenStack-Ironic-API-Version"] == "1.1"  # no header = 1.1


def test_negotiation_406_above_the_maximum(cloud):
    # the baremetal CLI asks for its newest known version and reads the range from the 406
    resp = cloud.client.get(f"{BM}/nodes", headers={"X-OpenStack-Ironic-API-Version": "1.116"})
    assert resp.status_code == 406
    assert resp.headers["X-OpenStack-Ironic-API-Minimum-Version"] == "1.1"
    assert resp.headers["X-OpenStack-Ironic-API-Maximum-Version"] == "1.115"
    assert "[1.1, 1.115]" in fault(resp)
    assert cloud.client.get(f"{BM}/nodes", headers={"X-OpenStack-Ironic-API-Version": "2.0"}).status_code == 406
    assert cloud.client.get(f"{BM}/nodes", headers={"X-OpenStack-Ironic-API-Version": "one"}).status_code == 406
    ok = cloud.client.get(f"{BM}/nodes", headers={"X-OpenStack-Ironic-API-Version": "latest"})
    assert ok.status_code == 200 and ok.headers["X-OpenStack-Ironic-API-Version"] == "1.115"
    alt = cloud.client.get(f"{BM}/nodes", headers={"OpenStack-API-Version": "baremetal 1.50"})
    assert alt.headers["X-OpenStack-Ironic-API-Version"] == "1.50"


def test_new_nodes_start_available_below_1_11_and_enroll_from_it(cloud):
    old = Baremetal(cloud, "1.10").create("old")
    assert old["provision_state"] == "available"
    legacy = Baremetal(cloud, "1.1")
    node = legacy.req("POST", "/nodes", {"driver": "fake-hardware"}).json()
    assert node["provision_state"] is None  # Ironic before 1.2 shows available as None
    assert "name" not in node and "clean_step" not in node and "fault" not in node
    assert Baremetal(cloud, "1.11").create("new")["provision_state"] == "enroll"


def test_create_show_list_detail_fields(bm):
    node = bm.create("n-1", driver_info={"redfish_password": "s3cret", "redfish_username": "admin"},
                     properties={"cpus": 8}, resource_class="baremetal.large")
    assert node["provision_state"] == "enroll" and node["target_provision_state"] is None
    assert node["driver_info"] == {"redfish_password": "******", "redfish_username": "admin"}
    for field in ("power_state", "target_power_state", "clean_step", "last_error", "reservation", "maintenance",
                  "maintenance_reason", "fault", "automated_clean", "driver_internal_info", "instance_uuid",
                  "resource_class", "links", "properties"):
        assert field in node, field
    assert bm.node("n-1")["uuid"] == node["uuid"]
    assert bm.node(node["uuid"])["name"] == "n-1"
    listed = bm.req("GET", "/nodes").json()["nodes"]
    assert listed == [{"instance_uuid": None, "maintenance": False, "name": "n-1", "power_state": None,
                       "provision_state": "enroll", "uuid": node["uuid"], "links": node["links"]}]
    detail = bm.req("GET", "/nodes/detail").json()["nodes"][0]
    assert detail["driver_info"]["redfish_password"] == "******" and detail["properties"] == {"cpus": 8}
    some = bm.req("GET", f"/nodes/{node['uuid']}?fields=uuid,provision_state").json()
    assert set(some) == {"uuid", "provision_state", "links"}
    resp = bm.req("GET", "/nodes?fields=uuid,bogus")
    assert resp.status_code == 400 and fault(resp) == "Field bogus is not a valid field."


def test_list_filters_and_pagination(bm):
    ids = [bm.create(f"p{i}")["uuid"] for i in range(5)]
    page = bm.req("GET", "/nodes?limit=2").json()
    assert [n["uuid"] for n in page["nodes"]] == ids[:2] and "marker=" in page["next"]
    rest = bm.req("GET", f"/nodes?limit=10&marker={ids[1]}").json()
    assert [n["uuid"] for n in rest["nodes"]] == ids[2:] and "next" not in rest
    assert len(bm.req("GET", "/nodes?provision_state=enroll").json()["nodes"]) == 5
    assert bm.req("GET", "/nodes?provision_state=available").json()["nodes"] == []
    assert fault(bm.req("GET", "/nodes?provision_state=weird")) == 'Provision state "weird" is not valid'


def test_create_errors_are_ironic_shaped(bm):
    bm.create("dup")
    resp = bm.req("POST", "/nodes", {"driver": "fake-hardware", "name": "dup"})
    assert resp.status_code == 409 and fault(resp) == "A node with name dup already exists."
    resp = bm.req("POST", "/nodes", {"driver": "no-such-driver"})
    assert resp.status_code == 400 and "No valid host was found" in fault(resp)
    resp = bm.req("POST", "/nodes", {"name": "x"})
    assert resp.status_code == 400 and "driver" in fault(resp)
    resp = bm.req("POST", "/nodes", {"driver": "fake-hardware", "colour": "red"})
    assert resp.status_code == 400 and "'colour' was unexpected" in fault(resp)
    resp = bm.req("POST", "/nodes", {"driver": "fake-hardware", "driver_info": "nope"})
    assert resp.status_code == 400
    resp = bm.req("POST", "/nodes", {"driver": "fake-hardware", "name": "has space"})
    assert resp.status_code == 400 and "invalid name" in fault(resp)
    resp = bm.req("GET", "/nodes/missing")
    assert resp.status_code == 404 and fault(resp) == "Node missing could not be found."
    resp = bm.client.post(f"{BM}/nodes", content=b"{not json", headers={**bm.headers, "Content-Type": "application/json"})
    assert resp.status_code == 400 and fault(resp)
    resp = Baremetal(bm.cloud, "1.20").req("POST", "/nodes", {"driver": "fake-hardware", "automated_clean": False})
    assert resp.status_code == 406  # a field newer than the requested version


def test_patch_and_delete(bm):
    node = bm.create("p")
    resp = bm.req("PATCH", f"/nodes/{node['uuid']}", [
        {"op": "replace", "path": "/name", "value": "q"},
        {"op": "add", "path": "/properties/memory_mb", "value": 4096},
        {"op": "add", "path": "/driver_info/ipmi_password", "value": "pw"},
        {"op": "replace", "path": "/automated_clean", "value": False}])
    assert resp.status_code == 200, resp.text
    patched = resp.json()
    assert patched["name"] == "q" and patched["properties"] == {"memory_mb": 4096}
    assert patched["driver_info"] == {"ipmi_password": "******"} and patched["automated_clean"] is False
    resp = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "remove", "path": "/properties/memory_mb"}])
    assert resp.json()["properties"] == {}
    resp = bm.req("PATCH", "/nodes/q", [{"op": "replace", "path": "/provision_state", "value": "active"}])
    assert resp.status_code == 400 and fault(resp).startswith("Cannot patch /provision_state")
    resp = bm.req("PATCH", "/nodes/q", [{"op": "remove", "path": "/extra/nothing"}])
    assert resp.status_code == 400
    resp = bm.req("PATCH", "/nodes/q", [{"op": "replace", "path": "/driver", "value": "bogus"}])
    assert resp.status_code == 400
    assert bm.req("DELETE", "/nodes/q").status_code == 204
    assert bm.req("GET", f"/nodes/{node['uuid']}").status_code == 404


def test_delete_refused_while_active(bm):
    node = bm.available("a")
    bm.act(node["uuid"], "active")
    resp = bm.req("DELETE", f"/nodes/{node['uuid']}")
    assert resp.status_code == 409 and 'while it is in provision state "active"' in fault(resp)


def test_states_endpoint(bm):
    node = bm.create("s")
    states = bm.req("GET", f"/nodes/{node['uuid']}/states").json()
    assert states["provision_state"] == "enroll" and states["power_state"] is None
    assert {"target_provision_state", "target_power_state", "last_error", "provision_updated_at",
            "console_enabled"} <= set(states)
