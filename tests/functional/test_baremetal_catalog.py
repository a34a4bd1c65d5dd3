"""Drivers, conductors and shards over HTTP, the /v1 document, the node
fields that place a node (conductor, conductor_group, shard) and the node
list filters' microversion gates: Ironic's shapes, codes and policy."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from taskvisor import servicegroup
from taskvisor.baremetal.drivers import describe_all
from taskvisor.db.models import services
from tests.functional.baremetal import Baremetal, fault

MEMBER = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
READER = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def at(bm: Baremetal, version: str) -> Baremetal:
    return Baremetal(bm.cloud, version)


def add_conductor(cloud, host: str, group: str = "", alive: bool = True, drivers=("fake-hardware",)) -> None:
    """Another conductor's service row, as it records itself at start."""
    record = {name: rec for name, rec in describe_all().items() if name in drivers}
    servicegroup.report(cloud.node.db, binary=servicegroup.CONDUCTOR_BINARY, host=host, topic="conductor",
                        capabilities={"drivers": record, "conductor_group": group})
    if not alive:
        with cloud.node.db.write() as conn:
            conn.execute(update(services).where(services.c.host == host).values(last_seen=time.time() - 3600))


def my_host(bm: Baremetal) -> str:
    return bm.cloud.node.conf.DEFAULT.host


# drivers

def test_drivers_list_show_and_detail(bm):
    listed = bm.req("GET", "/drivers").json()["drivers"]
    names = [d["name"] for d in listed]
    assert "fake-hardware" in names and "redfish" in names
    fake = next(d for d in listed if d["name"] == "fake-hardware")
    assert fake["hosts"] == [my_host(bm)] and fake["type"] == "dynamic"
    assert fake["links"][0]["href"].endswith("/baremetal/v1/drivers/fake-hardware")
    assert fake["properties"][0]["href"].endswith("/v1/drivers/fake-hardware/properties")
    assert "default_deploy_interface" not in fake  # only with ?detail=True

    detail = bm.req("GET", "/drivers?detail=True").json()["drivers"]
    fake = next(d for d in detail if d["name"] == "fake-hardware")
    assert fake["default_deploy_interface"] == "fake" and fake["enabled_deploy_interfaces"] == ["fake"]
    assert fake["default_network_interface"] == "noop" and fake["default_firmware_interface"] == "fake"
    shown = bm.req("GET", "/drivers/fake-hardware").json()
    assert shown == fake

    assert bm.req("GET", "/drivers?type=classic").json() == {"drivers": []}
    assert [d["name"] for d in bm.req("GET", "/drivers?type=dynamic").json()["drivers"]] == names
    bad = bm.req("GET", "/drivers?type=other")
    assert bad.status_code == 400 and '"type" filter' in fault(bad)
    only = bm.req("GET", "/drivers/fake-hardware?fields=name,hosts").json()
    assert set(only) == {"name", "hosts", "links"}
    assert bm.req("GET", "/drivers?fields=name&detail=True").status_code == 400
    missing = bm.req("GET", "/drivers/ipmi")
    assert missing.status_code == 404 and "ipmi" in fault(missing)


def test_driver_fields_by_microversion(bm):
    old = at(bm, "1.29").req("GET", "/drivers").json()["drivers"][0]
    assert "type" not in old and "properties" in old
    assert "properties" not in at(bm, "1.13").req("GET", "/drivers").json()["drivers"][0]
    v39 = at(bm, "1.39").req("GET", "/drivers/fake-hardware").json()
    assert "default_rescue_interface" in v39 and "default_bios_interface" not in v39
    assert "default_firmware_interface" not in v39
    for query in ("?detail=True", "?type=dynamic"):
        assert at(bm, "1.29").req("GET", f"/drivers{query}").status_code == 406
    assert at(bm, "1.76").req("GET", "/drivers?fields=name").status_code == 406
    assert at(bm, "1.76").req("GET", "/drivers/fake-hardware?fields=name").status_code == 406


def test_driver_properties_and_raid(bm):
    props = bm.req("GET", "/drivers/fake-hardware/properties").json()
    assert "fake_power_delay" in props and "fake_clean_delay" in props
    assert "redfish_address" in bm.req("GET", "/drivers/redfish/properties").json()
    raid = bm.req("GET", "/drivers/fake-hardware/raid/logical_disk_properties")
    assert raid.status_code == 200 and {"raid_level", "size_gb"} <= set(raid.json())
    assert at(bm, "1.11").req("GET", "/drivers/fake-hardware/raid/logical_disk_properties").status_code == 406
    assert at(bm, "1.12").req("GET", "/drivers/fake-hardware/raid/logical_disk_properties").status_code == 200
    assert bm.req("GET", "/drivers/nope/properties").status_code == 404
    assert bm.req("GET", "/drivers/nope/raid/logical_disk_properties").status_code == 404


def test_dead_conductors_drivers_are_not_listed(bm):
    add_conductor(bm.cloud, "gone-host", alive=False)
    fake = next(d for d in bm.req("GET", "/drivers").json()["drivers"] if d["name"] == "fake-hardware")
    assert fake["hosts"] == [my_host(bm)]
    add_conductor(bm.cloud, "b-host")
    fake = next(d for d in bm.req("GET", "/drivers").json()["drivers"] if d["name"] == "fake-hardware")
    assert sorted(fake["hosts"]) == sorted([my_host(bm), "b-host"])


def test_fake_hardware_offers_ironics_fake_steps(bm):
    record = describe_all()["fake-hardware"]
    steps = {f"{s['interface']}.{s['step']}": s for s in record["clean_steps"]}
    assert steps["vendor.log_passthrough"]["priority"] == 1
    assert {"bios.apply_configuration", "bios.factory_reset", "bios.cache_bios_settings",
            "firmware.update"} <= set(steps)
    assert all(steps[k]["priority"] == 0 for k in ("bios.apply_configuration", "bios.factory_reset",
                                                     "bios.cache_bios_settings", "firmware.update"))
    assert [(s["interface"], s["step"], s["priority"]) for s in record["deploy_steps"]] == \
        [("deploy", "deploy", 100)]
    node = bm.create("steps")
    planned = bm.req("GET", f"/nodes/{node['uuid']}/cleaning/steps").json()["steps"]
    assert ("vendor", "log_passthrough", 1) in [(s["interface"], s["step"], s["priority"]) for s in planned]


# conductors

def test_conductors_list_show_detail(bm):
    add_conductor(bm.cloud, "other-host", group="rack2", alive=False)
    listed = bm.req("GET", "/conductors").json()["conductors"]
    by_host = {c["hostname"]: c for c in listed}
    assert set(by_host) == {my_host(bm), "other-host"}
    mine = by_host[my_host(bm)]
    assert set(mine) == {"hostname", "conductor_group", "alive", "links"}
    assert mine["alive"] is True and mine["conductor_group"] == ""
    assert by_host["other-host"]["alive"] is False and by_host["other-host"]["conductor_group"] == "rack2"
    detail = {c["hostname"]: c for c in bm.req("GET", "/conductors?detail=True").json()["conductors"]}
    assert detail[my_host(bm)]["drivers"] == ["fake-hardware", "redfish"]
    assert detail["other-host"]["drivers"] == ["fake-hardware"] and detail["other-host"]["created_at"]
    shown = bm.req("GET", f"/conductors/{my_host(bm)}").json()
    assert set(shown) == {"hostname", "conductor_group", "alive", "drivers", "created_at", "updated_at", "links"}
    assert shown["links"][0]["href"].endswith(f"/v1/conductors/{my_host(bm)}")
    assert set(bm.req("GET", f"/conductors/{my_host(bm)}?fields=alive").json()) == {"alive", "links"}
    missing = bm.req("GET", "/conductors/nowhere")
    assert missing.status_code == 404 and fault(missing) == "Conductor nowhere could not be found."
    assert bm.req("GET", "/conductors?sort_key=alive").status_code == 400
    assert bm.req("GET", "/conductors?fields=colour").status_code == 400
    page = bm.req("GET", "/conductors?limit=1&sort_key=hostname").json()
    assert len(page["conductors"]) == 1 and "marker=" in page["next"]


def test_conductors_need_149(bm):
    for version in ("1.39", "1.48"):
        old = at(bm, version)
        assert old.req("GET", "/conductors").status_code == 404
        assert old.req("GET", f"/conductors/{my_host(bm)}").status_code == 404
    assert at(bm, "1.49").req("GET", "/conductors").status_code == 200


def test_node_conductor_and_group(bm):
    node = bm.create("placed")
    assert node["conductor"] == my_host(bm) and node["conductor_group"] == ""
    listed = bm.req("GET", f"/nodes?conductor={my_host(bm)}").json()["nodes"]
    assert node["uuid"] in [n["uuid"] for n in listed]
    assert bm.req("GET", "/nodes?conductor=elsewhere").json()["nodes"] == []
    assert "conductor" not in at(bm, "1.48").node(node["uuid"])
    assert "conductor_group" not in at(bm, "1.45").node(node["uuid"])

    refused = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "replace", "path": "/conductor_group",
                                                          "value": "rack2"}])
    assert refused.status_code == 400 and 'conductor group "rack2"' in fault(refused)
    add_conductor(bm.cloud, "rack2-host", group="rack2")
    patched = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "replace", "path": "/conductor_group",
                                                          "value": "RACK2"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["conductor_group"] == "rack2" and patched.json()["conductor"] == "rack2-host"
    assert [n["uuid"] for n in bm.req("GET", "/nodes?conductor_group=Rack2").json()["nodes"]] == [node["uuid"]]
    made = bm.create("grouped", conductor_group="rack2")
    assert made["conductor_group"] == "rack2"
    assert bm.req("POST", "/nodes", {"driver": "fake-hardware", "conductor_group": "bad group!"}).status_code == 400
    assert at(bm, "1.45").req("POST", "/nodes", {"driver": "fake-hardware",
                                                 "conductor_group": "rack2"}).status_code == 406


# shards

def test_shards_on_nodes_and_counts(bm):
    a = bm.create("s1", shard="alpha")
    assert a["shard"] == "alpha"
    b = bm.create("s2", shard="alpha")
    c = bm.create("s3")
    assert c["shard"] is None
    patched = bm.req("PATCH", f"/nodes/{c['uuid']}", [{"op": "replace", "path": "/shard", "value": "beta"}])
    assert patched.status_code == 200 and patched.json()["shard"] == "beta"
    d = bm.create("s4")

    def uuids(query: str) -> set:
        return {n["uuid"] for n in bm.req("GET", f"/nodes{query}").json()["nodes"]}
    assert uuids("?shard=alpha") == {a["uuid"], b["uuid"]}
    assert uuids("?shard=alpha,beta") == {a["uuid"], b["uuid"], c["uuid"]}
    assert uuids("?sharded=true") == {a["uuid"], b["uuid"], c["uuid"]}
    assert uuids("?sharded=False") == {d["uuid"]}
    assert uuids("/detail?shard=beta") == {c["uuid"]}
    shards = bm.req("GET", "/shards").json()["shards"]
    assert shards == [{"name": "alpha", "count": 2}, {"name": "None", "count": 1}, {"name": "beta", "count": 1}]
    cleared = bm.req("PATCH", f"/nodes/{c['uuid']}", [{"op": "remove", "path": "/shard"}])
    assert cleared.status_code == 200 and cleared.json()["shard"] is None
    assert bm.req("POST", "/nodes", {"driver": "fake-hardware", "shard": ""}).status_code == 400


def test_shards_need_182(bm):
    node = bm.create("old")
    for version in ("1.72", "1.81"):
        old = at(bm, version)
        assert old.req("GET", "/shards").status_code == 404
        assert old.req("GET", "/nodes?shard=alpha").status_code == 406
        assert old.req("GET", "/nodes?sharded=true").status_code == 406
        assert old.req("POST", "/nodes", {"driver": "fake-hardware", "shard": "x"}).status_code == 406
        assert old.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/shard",
                                                             "value": "x"}]).status_code == 406
        assert "shard" not in old.node(node["uuid"])
    assert at(bm, "1.82").req("GET", "/shards").status_code == 200


# node list filters and fields below their microversion

@pytest.mark.parametrize("query,since", [("driver=fake-hardware", 16), ("resource_class=x", 21),
                                         ("fault=power%20failure", 42), ("conductor_group=g", 46),
                                         ("conductor=h", 49), ("owner=p", 50), ("lessee=p", 65)])
def test_list_filters_are_refused_below_their_version(bm, query, since):
    for path in ("/nodes", "/nodes/detail"):
        resp = at(bm, f"1.{since - 1}").req("GET", f"{path}?{query}")
        assert resp.status_code == 406 and f"1.{since}" in fault(resp), resp.text
        assert at(bm, f"1.{since}").req("GET", f"{path}?{query}").status_code == 200


def test_fault_filter(bm):
    node = bm.create("f")
    assert node["uuid"] in [n["uuid"] for n in bm.req("GET", "/nodes").json()["nodes"]]
    assert bm.req("GET", "/nodes?fault=power%20failure").json()["nodes"] == []
    bad = bm.req("GET", "/nodes?fault=somefake")
    assert bad.status_code == 400 and "somefake" in fault(bad)


def test_patch_of_a_newer_field_is_not_acceptable(bm):
    node = bm.create("rc")
    resp = at(bm, "1.1").req("PATCH", f"/nodes/{node['uuid']}", [{"op": "replace", "path": "/resource_class",
                                                                  "value": "gold"}])
    assert resp.status_code == 406
    assert at(bm, "1.1").req("POST", "/nodes", {"driver": "fake-hardware",
                                                "resource_class": "gold"}).status_code == 406


# /v1 and / documents

def test_v1_document_links_by_version(bm):
    client = bm.client
    old = client.get("/baremetal/v1", headers={"X-OpenStack-Ironic-API-Version": "1.1"}).json()
    assert {"nodes", "chassis", "ports", "drivers", "links", "media_types", "version"} <= set(old)
    assert not {"portgroups", "conductors", "shards", "allocations", "deploy_templates", "runbooks", "volume",
                "inspection_rules"} & set(old)
    new = client.get("/baremetal/v1/", headers={"X-OpenStack-Ironic-API-Version": "1.115"}).json()
    for name in ("portgroups", "conductors", "shards", "allocations", "deploy_templates", "runbooks", "volume",
                 "inspection_rules"):
        assert new[name][0]["href"].endswith(f"/baremetal/v1/{name}/"), name
        assert new[name][1] == {"href": new[name][0]["href"].replace("/v1/", "/"), "rel": "bookmark"}
    v81 = client.get("/baremetal/v1", headers={"X-OpenStack-Ironic-API-Version": "1.81"}).json()
    assert "conductors" in v81 and "shards" not in v81
    unversioned = client.get("/baremetal/v1").json()
    assert "conductors" not in unversioned  # no header: 1.1, as Ironic
    root = client.get("/baremetal/").json()
    assert root["default_version"]["id"] == "v1" and [v["id"] for v in root["versions"]] == ["v1"]
    assert root["name"] == "OpenStack Ironic API"


# policy: system readers and admins only

@pytest.mark.parametrize("path", ["/drivers", "/drivers/fake-hardware", "/drivers/fake-hardware/properties",
                                  "/drivers/fake-hardware/raid/logical_disk_properties", "/conductors",
                                  "/shards"])
def test_catalog_is_for_system_readers(bm, path):
    """Ironic's SYSTEM_READER: a project's reader or member is refused, the admin reads."""
    for persona in (READER, MEMBER):
        refused = bm.req("GET", path, headers=persona)
        assert refused.status_code == 403 and "Policy doesn't allow" in fault(refused), refused.text
    assert bm.req("GET", path).status_code == 200


def test_shard_and_group_patch_rules(bm):
    node = bm.create("p", owner="projA")
    shard = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/shard", "value": "x"}],
                   headers={"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member,reader"})
    assert shard.status_code == 403 and "baremetal:node:update:shard" in fault(shard)
    group = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/conductor_group", "value": "g"}],
                   headers={"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member,reader"})
    assert group.status_code == 403 and "baremetal:node:update:conductor_group" in fault(group)
    assert bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/shard",
                                                       "value": "x"}]).status_code == 200


# provision_updated_at

def _when(text: str):
    from datetime import datetime, timezone
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def test_provision_updated_at_is_stamped_when_a_node_task_ends(bm):
    """The API stamps the state a task starts in; the task's end stamps the
    state it leaves the node in (after its last step started)."""
    node = bm.create("stamp")
    assert node["provision_updated_at"] is None
    for target, state in (("manage", "manageable"), ("provide", "available")):
        task = bm.act(node["uuid"], target)
        shown = bm.node(node["uuid"])
        assert shown["provision_state"] == state
        last_step = max(_when(s["started_at"]) for s in task["steps"] if s["started_at"])
        assert _when(shown["provision_updated_at"]) >= last_step, (target, shown["provision_updated_at"], task)


# both databases: the 0006 columns and the shard counts

def test_shards_and_groups_on_every_database(any_db_cloud):
    bm = Baremetal(any_db_cloud)
    made = [bm.create(f"db{i}", shard=shard) for i, shard in enumerate(("x", "x", None))]
    assert bm.req("GET", "/shards").json()["shards"] == [{"name": "x", "count": 2}, {"name": "None", "count": 1}]
    assert {n["uuid"] for n in bm.req("GET", "/nodes?sharded=false").json()["nodes"]} == {made[2]["uuid"]}
    assert bm.node(made[0]["uuid"])["conductor_group"] == ""
    assert bm.req("GET", "/nodes?conductor_group=").json()["nodes"] != []


def test_paths_without_v1_route_as_v1(bm):
    """Ironic serves /drivers/x as /v1/drivers/x; its Tempest client asks so."""
    client, headers = bm.client, bm.headers
    props = client.get("/baremetal/drivers/fake-hardware/properties", headers=headers)
    assert props.status_code == 200 and "fake_power_delay" in props.json()
    node = bm.create("unversioned")
    assert client.get(f"/baremetal/nodes/{node['uuid']}", headers=headers).json()["uuid"] == node["uuid"]
    assert client.get("/baremetal/v2/nodes", headers=headers).status_code == 404
    assert client.get("/baremetal/", headers=headers).json()["name"] == "OpenStack Ironic API"


def test_patching_interfaces_to_what_the_driver_enables(bm):
    node = bm.create("ifaces")
    same = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "replace", "path": "/deploy_interface", "value": "fake"},
                                                      {"op": "add", "path": "/network_interface", "value": "noop"},
                                                      {"op": "remove", "path": "/raid_interface"},
                                                      {"op": "add", "path": "/extra/x", "value": 1}])
    assert same.status_code == 200, same.text
    assert same.json()["deploy_interface"] == "fake" and same.json()["extra"] == {"x": 1}
    other = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/deploy_interface", "value": "direct"}])
    assert other.status_code == 400 and "Valid interfaces are fake" in fault(other)
    old = at(bm, "1.30").req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/deploy_interface",
                                                                  "value": "fake"}])
    assert old.status_code == 406
    assert at(bm, "1.85").req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/firmware_interface",
                                                                   "value": "fake"}]).status_code == 406
    member = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/deploy_interface", "value": "fake"}],
                    headers={"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member,reader"})
    assert member.status_code == 404  # not its node: not even seen


def test_dot_json_suffix_is_stripped_until_190(bm):
    node = bm.create("dotjson")
    old, new = at(bm, "1.90"), at(bm, "1.91")
    assert old.req("GET", f"/nodes/{node['uuid']}.json").json()["uuid"] == node["uuid"]
    patched = old.req("PATCH", f"/nodes/{node['uuid']}.json", [{"op": "add", "path": "/extra/a", "value": 1}])
    assert patched.status_code == 200 and patched.json()["extra"] == {"a": 1}
    assert new.req("GET", f"/nodes/{node['uuid']}.json").status_code == 404
    assert new.req("DELETE", f"/nodes/{node['uuid']}.json").status_code == 404
    assert old.req("DELETE", f"/nodes/{node['uuid']}.json").status_code == 204


def test_description_from_151(bm):
    node = bm.create("described", description="meow")
    assert node["description"] == "meow"
    patched = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "replace", "path": "/description", "value": None}])
    assert patched.status_code == 200 and patched.json()["description"] is None
    assert bm.req("POST", "/nodes", {"driver": "fake-hardware", "description": "x" * 4097}).status_code == 400
    old = at(bm, "1.50")
    assert "description" not in old.node(node["uuid"])
    assert old.req("POST", "/nodes", {"driver": "fake-hardware", "description": "x"}).status_code == 406
    assert old.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/description",
                                                         "value": "x"}]).status_code == 406


def test_patch_of_an_unseen_node_is_404_whatever_the_body(bm):
    node = bm.create("unseen")
    other = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "reader"}
    assert bm.req("PATCH", f"/nodes/{node['uuid']}", [], headers=other).status_code == 404
    assert bm.req("PATCH", f"/nodes/{node['uuid']}", []).status_code == 400


def test_a_node_may_choose_an_interface_its_driver_enables(bm):
    """fake-hardware enables no-* interfaces (Ironic's): a node that names
    one shows it, and the kind's clean steps are gone from its plans."""
    node = bm.create("chooser", vendor_interface="no-vendor")
    assert node["vendor_interface"] == "no-vendor" and node["raid_interface"] == "fake"
    planned = bm.req("GET", f"/nodes/{node['uuid']}/cleaning/steps").json()["steps"]
    assert "vendor" not in {s["interface"] for s in planned}
    patched = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/raid_interface", "value": "no-raid"},
                                                         {"op": "remove", "path": "/vendor_interface"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["raid_interface"] == "no-raid" and patched.json()["vendor_interface"] == "fake"
    assert bm.req("GET", f"/nodes/{node['uuid']}?fields=raid_interface").json()["raid_interface"] == "no-raid"
    bm.act(node["uuid"], "manage")
    refused = bm.provision(node["uuid"], "clean", clean_steps=[{"interface": "raid", "step": "delete_configuration"}])
    assert refused.status_code == 400 and "does not support" in fault(refused)
    task = bm.act(node["uuid"], "provide")
    assert "vendor.log_passthrough" in [s["name"] for s in task["steps"]]
    bad = bm.req("POST", "/nodes", {"driver": "fake-hardware", "power_interface": "no-power"})
    assert bad.status_code == 400 and "Valid interfaces are fake" in fault(bad)
    moved = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "replace", "path": "/driver", "value": "redfish"}])
    assert moved.status_code == 200 and moved.json()["raid_interface"] == "fake"  # redfish has no no-raid


def test_protected_nodes(bm):
    node = bm.create("guarded", deploy_interface="fake")
    early = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/protected", "value": True}])
    assert early.status_code == 409 and "active" in fault(early)
    bm.act(node["uuid"], "manage")
    bm.act(node["uuid"], "provide")
    bm.act(node["uuid"], "active")
    assert bm.node(node["uuid"])["protected"] is False
    no_flag = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/protected_reason", "value": "r"}])
    assert no_flag.status_code == 400
    on = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/protected", "value": True},
                                                    {"op": "add", "path": "/protected_reason", "value": "prod"}])
    assert on.status_code == 200 and on.json()["protected"] is True and on.json()["protected_reason"] == "prod"
    for target in ("deleted", "undeploy", "rebuild"):
        refused = bm.provision(node["uuid"], target)
        assert refused.status_code == 403 and "is protected" in fault(refused), target
    bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/maintenance", "value": True}])
    assert bm.req("DELETE", f"/nodes/{node['uuid']}").status_code == 403
    off = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/protected", "value": False}])
    assert off.status_code == 200 and off.json()["protected_reason"] is None
    assert "protected" not in at(bm, "1.47").node(node["uuid"])
    assert at(bm, "1.47").req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/protected",
                                                                   "value": True}]).status_code == 406
    assert bm.provision(node["uuid"], "rebuild").status_code == 400  # not served when unprotected


def test_created_node_shows_what_a_show_shows(bm):
    """The create response is the row as stored (defaults included)."""
    made = bm.create("same")
    shown = bm.node(made["uuid"])
    assert {k: v for k, v in made.items() if k != "updated_at"} == {k: v for k, v in shown.items()
                                                                      if k != "updated_at"}
