"""Servers on bare metal (issue 9): a flavor with resources:CUSTOM_<CLASS>=1
boots onto an available node of that class; delete undeploys the node and
cleans it before it returns to the pool; power actions go through the
node's power interface. All through the real APIs of an in-process cloud
whose compute runs the baremetal driver."""
from __future__ import annotations

import time

import pytest

from taskvisor.states import power
from tests.functional.baremetal import Baremetal

ADMIN_2_101 = {"X-OpenStack-Nova-API-Version": "2.101"}


def bm_flavor(cloud, name: str = "bm.gold", resource_class: str = "CUSTOM_GOLD", extra: dict | None = None) -> str:
    resp = cloud.post("/flavors", {"flavor": {"name": name, "ram": 1, "vcpus": 1, "disk": 0}})
    assert resp.status_code == 200, resp.text
    flavor_id = resp.json()["flavor"]["id"]
    specs = {f"resources:{resource_class}": "1", "resources:VCPU": "0", "resources:MEMORY_MB": "0",
             "resources:DISK_GB": "0", **(extra or {})}
    assert cloud.post(f"/flavors/{flavor_id}/os-extra_specs", {"extra_specs": specs}).status_code == 200
    return flavor_id


@pytest.fixture
def bmcloud(cloud_factory):
    cloud = cloud_factory(compute__driver="baremetal")
    return cloud, Baremetal(cloud), bm_flavor(cloud)


def nodes_of(bm: Baremetal, count: int, rc: str = "gold", **fields) -> list[dict]:
    return [bm.available(f"{rc}-{i}", resource_class=rc,
                         properties={"cpus": 8, "memory_mb": 16384, "local_gb": 100}, **fields)
            for i in range(count)]


def boot(cloud, flavor: str, name: str = "metal") -> tuple[str, dict]:
    resp = cloud.post("/servers", {"server": {"name": name, "flavorRef": flavor, "imageRef": cloud.image_id}})
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"], cloud.wait_task(resp.headers["X-Taskvisor-Task"])


def delete(cloud, server_id: str, **kw) -> dict:
    resp = cloud.delete(f"/servers/{server_id}", **kw)
    assert resp.status_code == 204, resp.text
    return cloud.wait_task(resp.headers["X-Taskvisor-Task"])


def hypervisors(cloud) -> dict[str, dict]:
    resp = cloud.get("/os-hypervisors/detail")
    assert resp.status_code == 200, resp.text
    return {h["hypervisor_hostname"]: h for h in resp.json()["hypervisors"]}


def test_three_boots_take_three_nodes_and_a_fourth_finds_no_valid_host(bmcloud):
    cloud, bm, flavor = bmcloud
    nodes = {n["uuid"] for n in nodes_of(bm, 3)}
    placed = {}
    for i in range(3):
        server_id, task = boot(cloud, flavor, f"metal-{i}")
        assert task["status"] == "succeeded", task
        assert [s["name"] for s in task["steps"]] == ["schedule", "allocate_network", "validate", "deploy",
                                                      "power_on"]
        node_id = task["steps"][0]["details"]["node"]
        assert all(s["details"]["node"] == node_id for s in task["steps"][2:])
        server = cloud.server(server_id)
        assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1
        assert server["OS-EXT-SRV-ATTR:hypervisor_hostname"] == node_id
        node = bm.node(node_id)
        assert node["provision_state"] == "active" and node["instance_uuid"] == server_id
        assert node["power_state"] == "power on" and node["reservation"] is None
        assert node["instance_info"]["image_source"] == cloud.image_id
        placed[server_id] = node_id
    assert set(placed.values()) == nodes

    server_id, task = boot(cloud, flavor, "one-too-many")
    assert task["status"] in ("failed", "reverted") and "No valid host" in task["error"]["message"]
    server = cloud.server(server_id)
    assert server["status"] == "ERROR" and "No valid host" in server["fault"]["message"]
    assert all(bm.node(n)["instance_uuid"] in placed for n in nodes)


def test_concurrent_boots_never_share_a_node(bmcloud):
    cloud, bm, flavor = bmcloud
    nodes_of(bm, 3)
    resp = cloud.post("/servers", {"server": {"name": "race", "flavorRef": flavor, "imageRef": cloud.image_id,
                                              "min_count": 5, "max_count": 5}})
    assert resp.status_code == 202, resp.text
    servers = [s for s in cloud.get("/servers/detail").json()["servers"] if s["name"].startswith("race-")]
    assert len(servers) == 5
    final = {}
    for s in servers:
        deadline = time.monotonic() + 30
        while (server := cloud.server(s["id"]))["status"] == "BUILD":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        final[s["id"]] = server
    active = [s for s in final.values() if s["status"] == "ACTIVE"]
    assert len(active) == 3 and len({s["OS-EXT-SRV-ATTR:hypervisor_hostname"] for s in active}) == 3
    errored = [s for s in final.values() if s["status"] == "ERROR"]
    assert len(errored) == 2 and all("No valid host" in s["fault"]["message"] for s in errored)
    holders = {n["instance_uuid"] for n in bm.req("GET", "/nodes/detail").json()["nodes"]}
    assert holders == {s["id"] for s in active}


def test_delete_cleans_the_node_before_it_takes_another_server(bmcloud):
    cloud, bm, flavor = bmcloud
    (node,) = nodes_of(bm, 1, driver_info={"fake_clean_delay": 0.6})
    server_id, _ = boot(cloud, flavor)
    task = delete(cloud, server_id)
    assert task["status"] == "succeeded", task
    assert [s["name"] for s in task["steps"]] == ["power_off", "tear_down", "release_node", "release_network"]
    assert task["steps"][0]["details"]["shutdown"] == "clean"
    link = task["steps"][2]["details"]["node_task"]
    assert link.startswith(f"/baremetal/v1/nodes/{node['uuid']}/tasks/")
    # the server is gone while its node still cleans
    assert cloud.get(f"/servers/{server_id}").status_code == 404
    cleaning = bm.node(node["uuid"])
    assert cleaning["provision_state"] in ("cleaning", "clean wait") and cleaning["instance_uuid"] is None
    assert cleaning["power_state"] == "power off"
    # meanwhile the node is not in the pool
    busy_id, busy = boot(cloud, flavor, "too-early")
    assert "No valid host" in busy["error"]["message"]
    delete(cloud, busy_id)
    clean = bm.wait_task(link)
    assert clean["status"] == "succeeded" and "deploy.erase_devices" in [s["name"] for s in clean["steps"]]
    node = bm.wait_state(node["uuid"], "available")
    assert node["instance_uuid"] is None and node["instance_info"] == {} and node["maintenance"] is False
    again, task = boot(cloud, flavor, "again")
    assert task["status"] == "succeeded" and cloud.server(again)["OS-EXT-SRV-ATTR:hypervisor_hostname"] == node["uuid"]
    # the node's task list shows the server tasks that deployed and undeployed it too,
    # and it answers to the node's name without a version header
    listed = cloud.client.get(f"/baremetal/v1/nodes/{node['name']}/tasks").json()["tasks"]
    kinds = [(t["resource_type"], t["action"]) for t in listed]
    assert kinds[:2] == [("server", "create"), ("node", "clean")], kinds
    assert ("server", "delete") in kinds and ("node", "provide") in kinds
    assert kinds.count(("server", "create")) == 2  # the first boot and "again"; "too-early" never got it


def test_a_failed_clean_keeps_the_node_out_of_the_pool(bmcloud):
    cloud, bm, flavor = bmcloud
    (node,) = nodes_of(bm, 1)
    server_id, _ = boot(cloud, flavor)
    patch = [{"op": "add", "path": "/driver_info/fake_fail_step", "value": "deploy.erase_devices"}]
    assert bm.req("PATCH", f"/nodes/{node['uuid']}", patch).status_code == 200
    assert delete(cloud, server_id)["status"] == "succeeded"
    assert cloud.get(f"/servers/{server_id}").status_code == 404
    failed = bm.wait_state(node["uuid"], "clean failed")
    assert failed["maintenance"] is True and failed["fault"] == "clean failure"
    assert failed["instance_uuid"] is None and "fake failure injected" in failed["last_error"]
    hyp = hypervisors(cloud)[node["uuid"]]
    assert hyp["state"] == "down" and hyp["status"] == "disabled"
    assert hyp["vcpus"] == 0 and "fake failure injected" in hyp["service"]["disabled_reason"]
    _, task = boot(cloud, flavor, "nowhere")
    assert "No valid host" in task["error"]["message"]


def test_power_actions_go_through_the_node(bmcloud):
    cloud, bm, flavor = bmcloud
    (node,) = nodes_of(bm, 1)
    server_id, _ = boot(cloud, flavor)
    _, task = cloud.act(server_id, {"os-stop": None})
    assert task["status"] == "succeeded" and task["steps"][0]["details"]["shutdown"] == "clean"
    assert cloud.server(server_id)["status"] == "SHUTOFF" and bm.node(node["uuid"])["power_state"] == "power off"
    _, task = cloud.act(server_id, {"os-start": None})
    assert task["status"] == "succeeded" and cloud.server(server_id)["status"] == "ACTIVE"
    assert bm.node(node["uuid"])["power_state"] == "power on"
    _, task = cloud.act(server_id, {"reboot": {"type": "SOFT"}})
    assert [s["name"] for s in task["steps"]] == ["shutdown", "power_on"]
    assert task["steps"][0]["details"]["reboot"] == "soft"
    _, task = cloud.act(server_id, {"reboot": {"type": "HARD"}})
    assert [s["name"] for s in task["steps"]] == ["force_off", "power_on"]
    assert cloud.server(server_id)["status"] == "ACTIVE"
    node = bm.node(node["uuid"])
    assert node["power_state"] == "power on" and node["reservation"] is None and node["provision_state"] == "active"
    names = [a["action"] for a in cloud.instance_actions(server_id)]
    assert names == ["reboot", "reboot", "start", "stop", "create"]


def test_stop_forces_off_after_the_timeout_or_on_request(cloud_factory):
    cloud = cloud_factory(compute__driver="baremetal", DEFAULT__shutdown_timeout=1)
    bm, flavor = Baremetal(cloud), bm_flavor(cloud)
    (node,) = nodes_of(bm, 1, driver_info={"fake_soft_power_off_ignored": True})
    server_id, _ = boot(cloud, flavor)
    _, task = cloud.act(server_id, {"os-stop": None})
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "forced" and "soft power off failed" in details["reason"]
    assert details["seconds"] >= 1 and cloud.server(server_id)["status"] == "SHUTOFF"
    cloud.act(server_id, {"os-start": None})
    _, task = cloud.act(server_id, {"os-stop": {"force": True}}, headers=ADMIN_2_101)
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "forced" and details["reason"] == "force requested"
    assert bm.node(node["uuid"])["power_state"] == "power off"


def test_unsupported_actions_are_409(bmcloud):
    cloud, bm, flavor = bmcloud
    nodes_of(bm, 1)
    server_id, _ = boot(cloud, flavor)
    for body in ({"pause": None}, {"suspend": None}, {"rescue": None}, {"shelve": None}):
        resp = cloud.action(server_id, body)
        assert resp.status_code == 409, (body, resp.text)
        assert "bare-metal" in resp.json()["conflictingRequest"]["message"]
    assert cloud.server(server_id)["status"] == "ACTIVE"


def test_a_flavor_no_node_fits_finds_no_valid_host(bmcloud):
    cloud, bm, _ = bmcloud
    nodes_of(bm, 1)
    for flavor in (bm_flavor(cloud, "bm.silver", "CUSTOM_SILVER"),
                   bm_flavor(cloud, "bm.two", "CUSTOM_GOLD", {"resources:CUSTOM_SILVER": "1"})):
        server_id, task = boot(cloud, flavor)
        assert "No valid host" in task["error"]["message"]
        assert cloud.server(server_id)["status"] == "ERROR"


def test_resource_class_is_normalised_as_nova_does(bmcloud):
    cloud, bm, _ = bmcloud
    node = bm.available("odd", resource_class="baremetal.Large-2")
    flavor = bm_flavor(cloud, "bm.large", "CUSTOM_BAREMETAL_LARGE_2")
    server_id, task = boot(cloud, flavor)
    assert task["status"] == "succeeded" and bm.node(node["uuid"])["instance_uuid"] == server_id


def test_a_failed_deploy_frees_the_node_through_undeploy(bmcloud):
    cloud, bm, flavor = bmcloud
    (node,) = nodes_of(bm, 1)
    patch = [{"op": "add", "path": "/driver_info/fake_deploy_fail", "value": True}]
    assert bm.req("PATCH", f"/nodes/{node['uuid']}", patch).status_code == 200
    server_id, task = boot(cloud, flavor)
    assert task["status"] == "reverted" and "fake deploy failure" in task["error"]["message"]
    server = cloud.server(server_id)
    assert server["status"] == "ERROR" and server["OS-EXT-SRV-ATTR:hypervisor_hostname"] is None
    undeploy = bm.req("GET", f"/nodes/{node['uuid']}/tasks").json()["tasks"][0]
    assert undeploy["action"] == "undeploy"
    node = bm.wait_state(node["uuid"], "available")
    assert node["instance_uuid"] is None
    assert delete(cloud, server_id)["steps"][0]["details"]["skipped"] is True
    assert bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "remove", "path": "/driver_info/fake_deploy_fail"}]
                  ).status_code == 200
    again, task = boot(cloud, flavor)
    assert task["status"] == "succeeded" and bm.node(node["uuid"])["instance_uuid"] == again


def test_delete_during_deploy_frees_the_node(bmcloud):
    cloud, bm, flavor = bmcloud
    (node,) = nodes_of(bm, 1, driver_info={"fake_deploy_delay": 0.8})
    resp = cloud.post("/servers", {"server": {"name": "short", "flavorRef": flavor, "imageRef": cloud.image_id}})
    server_id = resp.json()["server"]["id"]
    bm.wait_for(node["uuid"], lambda n: n["provision_state"] == "deploying")
    task = delete(cloud, server_id)
    assert task["status"] == "succeeded"
    assert cloud.get(f"/servers/{server_id}").status_code == 404
    node = bm.wait_state(node["uuid"], "available")
    assert node["instance_uuid"] is None and node["maintenance"] is False
    boot_task = cloud.task(resp.headers["X-Taskvisor-Task"])
    assert boot_task["status"] == "cancelled"


def test_os_hypervisors_lists_nodes(bmcloud):
    cloud, bm, flavor = bmcloud
    nodes = nodes_of(bm, 2)
    held = bm.manageable("held", resource_class="gold")
    server_id, _ = boot(cloud, flavor)
    brief = cloud.get("/os-hypervisors").json()["hypervisors"]
    assert {h["hypervisor_hostname"] for h in brief} == {n["uuid"] for n in nodes} | {held["uuid"]}
    assert set(brief[0]) == {"id", "hypervisor_hostname", "state", "status"} and isinstance(brief[0]["id"], int)
    hyps = hypervisors(cloud)
    used = hyps[cloud.server(server_id)["OS-EXT-SRV-ATTR:hypervisor_hostname"]]
    assert used["running_vms"] == 1 and used["vcpus"] == used["vcpus_used"] == 8 and used["free_ram_mb"] == 0
    assert used["hypervisor_type"] == "ironic" and used["service"]["host"] == "localhost"
    assert used["state"] == "up" and used["status"] == "enabled"
    assert hyps[held["uuid"]]["status"] == "disabled" and hyps[held["uuid"]]["state"] == "up"
    assert "manageable" in hyps[held["uuid"]]["service"]["disabled_reason"]
    new = cloud.get("/os-hypervisors/detail", headers={"X-OpenStack-Nova-API-Version": "2.88"}).json()
    one = new["hypervisors"][0]
    assert "vcpus" not in one and one["id"] in {n["uuid"] for n in nodes} | {held["uuid"]}
    show = cloud.get(f"/os-hypervisors/{one['id']}", headers={"X-OpenStack-Nova-API-Version": "2.88"})
    assert show.status_code == 200 and show.json()["hypervisor"]["hypervisor_hostname"] == one["id"]
    assert cloud.get("/os-hypervisors/nope", headers={"X-OpenStack-Nova-API-Version": "2.88"}).status_code == 400
    assert cloud.get("/os-hypervisors/12345").status_code == 404
    assert cloud.get("/os-hypervisors", headers={"X-Roles": "member"}).status_code == 403


def test_power_sync_follows_a_node_powered_off_behind_novas_back(cloud_factory):
    cloud = cloud_factory(compute__driver="baremetal", compute__sync_power_state_interval=1,
                          DEFAULT__report_interval=1)
    bm, flavor = Baremetal(cloud), bm_flavor(cloud)
    (node,) = nodes_of(bm, 1)
    server_id, _ = boot(cloud, flavor)
    resp = bm.power(node["uuid"], "power off")
    assert resp.status_code == 202 and bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    server = cloud.wait_status(server_id, "SHUTOFF", timeout=10)
    assert server["OS-EXT-STS:power_state"] == 4
    cloud.act(server_id, {"os-start": None})
    assert cloud.server(server_id)["status"] == "ACTIVE" and bm.node(node["uuid"])["power_state"] == "power on"


def test_the_baremetal_compute_learns_its_nodes_from_the_conductor(bmcloud):
    """No database in a compute: its capacity and its guests' power states
    come from a conductor over the bus; with no conductor it offers nothing."""
    from taskvisor.rpc.inprocess import InProcessTransport
    from taskvisor.virt.baremetal import BaremetalDriver
    cloud, bm, flavor = bmcloud
    driver = cloud.node.driver
    assert isinstance(driver, BaremetalDriver) and not hasattr(driver, "db")
    nodes_of(bm, 2)
    assert driver.capabilities()["nodes"] == {"CUSTOM_GOLD": 2}
    server_id, task = boot(cloud, flavor)
    assert task["status"] == "succeeded", task
    assert driver.capabilities()["nodes"] == {"CUSTOM_GOLD": 1}
    assert driver.list_guests() == {server_id: power.RUNNING}
    alone = BaremetalDriver(cloud.node.conf.copy(DEFAULT__rpc_response_timeout=1), InProcessTransport())
    assert alone.capabilities()["nodes"] == {}  # no conductor on its bus (yet)
