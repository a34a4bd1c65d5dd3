"""Node provision transitions, power and maintenance as tasks: each 202
names its task, the node shows the conductor holding it, conflicting
requests get Ironic's 400/409."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def test_enroll_to_active_and_back(bm):
    node = bm.create("life")
    uuid = node["uuid"]
    task = bm.act(uuid, "manage")
    assert task["action"] == "manage" and task["steps"][0]["host"] == "localhost"
    node = bm.node(uuid)
    assert node["provision_state"] == "manageable" and node["power_state"] == "power off"
    task = bm.act(uuid, "provide")
    assert [s["name"] for s in task["steps"]] == ["prepare_cleaning", "deploy.erase_devices",
                                                  "vendor.log_passthrough", "finish_cleaning"]
    node = bm.node(uuid)
    assert node["provision_state"] == "available" and node["target_provision_state"] is None
    assert node["clean_step"] == {} and node["reservation"] is None
    bm.act(uuid, "active")
    node = bm.node(uuid)
    assert node["provision_state"] == "active" and node["power_state"] == "power on"
    task = bm.act(uuid, "deleted")
    assert [s["name"] for s in task["steps"]][:2] == ["power_off", "tear_down"]
    assert "deploy.erase_devices" in [s["name"] for s in task["steps"]]
    node = bm.node(uuid)
    assert node["provision_state"] == "available" and node["power_state"] == "power off"
    bm.act(uuid, "manage")
    assert bm.node(uuid)["provision_state"] == "manageable"
    tasks = bm.req("GET", f"/nodes/{uuid}/tasks").json()["tasks"]
    assert [t["action"] for t in tasks] == ["manage", "undeploy", "deploy", "provide", "manage"]


def test_deploy_and_undeploy_verbs_from_1_73(bm):
    node = bm.available("verbs")
    old = Baremetal(bm.cloud, "1.72")
    assert old.provision(node["uuid"], "deploy").status_code == 406
    bm.act(node["uuid"], "deploy")
    bm.act(node["uuid"], "undeploy")
    assert bm.node(node["uuid"])["provision_state"] == "available"


def test_automated_clean_off_skips_cleaning(cloud_factory):
    bm = Baremetal(cloud_factory(conductor__automated_clean=False))
    task = bm.act(bm.manageable("off")["uuid"], "provide")
    assert [s["name"] for s in task["steps"]] == ["prepare_cleaning", "finish_cleaning"]
    # the node's own setting wins over the config
    node = bm.manageable("on", automated_clean=True)
    task = bm.act(node["uuid"], "provide")
    assert "deploy.erase_devices" in [s["name"] for s in task["steps"]]


def test_invalid_transitions_are_400(bm):
    node = bm.create("bad")
    for target in ("provide", "active", "deleted", "abort", "unhold"):
        resp = bm.provision(node["uuid"], target)
        assert resp.status_code == 400, (target, resp.text)
        assert fault(resp) == (f'The requested action "{target}" can not be performed on node "{node["uuid"]}" '
                               'while it is in state "enroll".')
    resp = bm.provision(node["uuid"], "dance")
    assert resp.status_code == 400 and fault(resp) == 'The requested action "dance" could not be understood.'
    assert Baremetal(bm.cloud, "1.3").provision(node["uuid"], "manage").status_code == 406


def test_node_locked_while_a_task_runs(bm):
    node = bm.manageable("busy", driver_info={"fake_clean_delay": 1.5})
    uuid = node["uuid"]
    resp = bm.provision(uuid, "provide")
    assert resp.status_code == 202
    url = resp.headers["X-Taskvisor-Task"]
    busy = bm.wait_for(uuid, lambda n: n["reservation"] is not None and n["clean_step"])
    assert busy["reservation"] == "localhost" and busy["provision_state"] == "clean wait"
    assert busy["clean_step"]["step"] == "erase_devices" and busy["target_provision_state"] == "available"
    for resp in (bm.provision(uuid, "manage"), bm.provision(uuid, "provide"),
                 bm.req("PATCH", f"/nodes/{uuid}", [{"op": "add", "path": "/extra/a", "value": 1}]),
                 bm.req("PUT", f"/nodes/{uuid}/maintenance", {"reason": "x"}), bm.req("DELETE", f"/nodes/{uuid}")):
        assert resp.status_code == 409, resp.text
        assert fault(resp) == (f"Node {uuid} is locked by host localhost, please retry after the current "
                               "operation is completed.")
    resp = bm.power(uuid, "power on")  # refused in cleaning before any lock question
    assert resp.status_code == 400 and '"clean wait"' in fault(resp)
    assert bm.wait_task(url)["status"] == "succeeded"
    assert bm.node(uuid)["reservation"] is None


def test_concurrent_requests_exactly_one_wins(bm):
    from concurrent.futures import ThreadPoolExecutor
    node = bm.manageable("race", driver_info={"fake_clean_delay": 0.5})
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(lambda _: bm.provision(node["uuid"], "provide").status_code, range(8)))
    assert codes.count(202) == 1 and set(codes) <= {202, 400, 409}, codes


def test_power_actions_are_tasks(bm):
    node = bm.manageable("pwr", driver_info={"fake_power_delay": 0.3})
    uuid = node["uuid"]
    resp = bm.power(uuid, "power on")
    assert resp.status_code == 202 and resp.headers["X-Taskvisor-Task"]
    moving = bm.wait_for(uuid, lambda n: n["target_power_state"] is not None or n["power_state"] == "power on")
    assert moving["target_power_state"] in ("power on", None)
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["action"] == "power" and task["steps"][0]["details"]["power_state"] == "power on"
    node = bm.node(uuid)
    assert node["power_state"] == "power on" and node["target_power_state"] is None
    for target, result in (("rebooting", "power on"), ("power off", "power off"), ("soft rebooting", "power on"),
                           ("soft power off", "power off")):
        resp = bm.power(uuid, target)
        assert resp.status_code == 202, resp.text
        assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
        assert bm.node(uuid)["power_state"] == result
    resp = bm.power(uuid, "sideways")
    assert resp.status_code == 400 and '"sideways"' in fault(resp)
    assert Baremetal(bm.cloud, "1.26").power(uuid, "soft power off").status_code == 406
    assert bm.power(uuid, "power on", timeout=0).status_code == 400


def test_power_state_reached_means_node_unlocked(bm):
    # Tempest acts as soon as the power state reads as reached: the task must
    # have released the node by then (else the next request gets 409 locked)
    node = bm.manageable("pwr-race", driver_info={"fake_power_delay": 0.2})
    uuid = node["uuid"]
    for target, result in (("power on", "power on"), ("power off", "power off"), ("rebooting", "power on")):
        before = bm.node(uuid)["power_state"]
        resp = bm.power(uuid, target)
        assert resp.status_code == 202, resp.text
        if before != result:
            reached = bm.wait_for(uuid, lambda n: n["power_state"] == result)
            assert reached["reservation"] is None and reached["target_power_state"] is None, reached
        assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"


def test_power_request_waits_for_a_finishing_task(bm):
    # Tempest's power test asks for "power off" as soon as a reboot's node
    # reads "power on" (it already did): Ironic retries taking the node lock
    # ([conductor] node_locked_retry_*) instead of answering 409 at once
    node = bm.manageable("pwr-wait", driver_info={"fake_power_delay": 0.3})
    uuid = node["uuid"]
    first = bm.power(uuid, "rebooting")
    assert first.status_code == 202, first.text
    second = bm.power(uuid, "power off")
    assert second.status_code == 202, second.text
    assert bm.wait_task(second.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    assert bm.node(uuid)["power_state"] == "power off"


def test_power_failure_keeps_state_and_sets_last_error(bm):
    node = bm.manageable("pf")
    bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/driver_info/fake_power_fail",
                                                "value": True}])
    resp = bm.power(node["uuid"], "power on")
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "failed"
    node = bm.node(node["uuid"])
    assert node["power_state"] == "power off" and node["target_power_state"] is None
    assert node["last_error"].startswith("Failed to change power state to 'power on' by 'power on'")


def test_maintenance_set_and_unset(bm):
    node = bm.manageable("m")
    resp = bm.req("PUT", f"/nodes/{node['uuid']}/maintenance", {"reason": "fan broken"})
    assert resp.status_code == 202
    bm.wait_task(resp.headers["X-Taskvisor-Task"])
    node = bm.node(node["uuid"])
    assert node["maintenance"] is True and node["maintenance_reason"] == "fan broken"
    resp = bm.provision(node["uuid"], "provide")  # allowed in maintenance (Ironic's default)
    bm.wait_task(resp.headers["X-Taskvisor-Task"])
    resp = bm.provision(node["uuid"], "active")
    assert resp.status_code == 400 and "maintenance mode" in fault(resp)
    resp = bm.req("DELETE", f"/nodes/{node['uuid']}/maintenance")
    bm.wait_task(resp.headers["X-Taskvisor-Task"])
    node = bm.node(node["uuid"])
    assert node["maintenance"] is False and node["maintenance_reason"] is None


def test_maintenance_shows_as_soon_as_the_request_is_answered(bm):
    """Ironic saves the flag before answering (openstacksdk's set_node_maintenance
    reads the node straight back); the task still records the change."""
    uuid = bm.create("m-sync")["uuid"]
    resp = bm.req("PUT", f"/nodes/{uuid}/maintenance", {"reason": "fan broken"})
    assert resp.status_code == 202 and resp.content == b""
    node = bm.node(uuid)
    assert node["maintenance"] is True and node["maintenance_reason"] == "fan broken"
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    resp = bm.req("DELETE", f"/nodes/{uuid}/maintenance")
    assert resp.status_code == 202
    node = bm.node(uuid)
    assert node["maintenance"] is False and node["maintenance_reason"] is None
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    assert bm.node(uuid)["maintenance"] is False


def test_failed_verify_returns_to_enroll(bm):
    node = bm.create("rf", driver="redfish", driver_info={"redfish_address": "http://127.0.0.1:9"})
    resp = bm.provision(node["uuid"], "manage")
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "failed"
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "enroll" and node["target_provision_state"] is None
    assert "redfish_system_id" in node["last_error"] and node["reservation"] is None


def test_inspect_is_a_task_from_manageable(bm):
    node = bm.manageable("insp")
    uuid = node["uuid"]
    assert Baremetal(bm.cloud, "1.5").provision(uuid, "inspect").status_code == 406
    task = bm.act(uuid, "inspect")
    assert task["action"] == "inspect" and [s["name"] for s in task["steps"]] == ["inspect_hardware"]
    node = bm.node(uuid)
    assert node["provision_state"] == "manageable" and node["target_provision_state"] is None
    assert node["reservation"] is None and node["last_error"] is None
    # not from available: Ironic inspects only manageable nodes
    bm.act(uuid, "provide")
    resp = bm.provision(uuid, "inspect")
    assert resp.status_code == 400 and '"inspect"' in fault(resp) and '"available"' in fault(resp)

