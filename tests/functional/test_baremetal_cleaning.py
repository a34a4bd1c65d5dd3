"""Cleaning over HTTP: step validation, ordering, manual order, hold /
unhold / wait / abort, failure → clean failed."""
from __future__ import annotations

import threading

import pytest

from taskvisor.baremetal import fake
from tests.functional.baremetal import Baremetal, fault
from tests.procs import poll_until

FACTORY_RESET = {"interface": "bios", "step": "factory_reset"}
DELETE_RAID = {"interface": "raid", "step": "delete_configuration"}


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def names(task: dict) -> list[str]:
    return [s["name"] for s in task["steps"]]


@pytest.mark.parametrize("steps, message", [
    ([{"interface": "disk", "step": "x"}], "Invalid clean_steps"),
    ([{"step": "factory_reset"}], "Invalid clean_steps"),
    ([{"interface": "bios", "step": "factory_reset", "extra": 1}], "Invalid clean_steps"),
    ([{"interface": "bios", "step": "overclock"}], "node does not support this clean step"),
    ([{"interface": "bios", "step": "apply_configuration"}], "is missing these required arguments: settings"),
    ([{"interface": "bios", "step": "apply_configuration", "args": {"settings": "fast"}}],
     "argument settings must be of type array"),
    ([{"interface": "deploy", "step": "burnin_disk", "args": {"passes": "3"}}],
     "argument passes must be of type integer"),
    ([{"interface": "bios", "step": "factory_reset", "args": {"hard": True}}], "unexpected arguments: hard"),
    ([{"interface": "deploy", "step": "wait", "args": {"seconds": "soon"}}], "must be of type integer"),
    ("erase", "Wrong type"),
    ([], '"clean_steps" is required'),
])
def test_bad_clean_steps_are_400_at_the_api(bm, steps, message):
    node = bm.manageable("v")
    resp = bm.provision(node["uuid"], "clean", clean_steps=steps)
    assert resp.status_code == 400, resp.text
    assert message in fault(resp)
    assert bm.node(node["uuid"])["provision_state"] == "manageable"
    assert bm.req("GET", f"/nodes/{node['uuid']}/tasks").json()["tasks"][0]["action"] == "manage"


def test_clean_steps_only_with_clean_and_from_1_15(bm):
    node = bm.manageable("c")
    resp = bm.provision(node["uuid"], "provide", clean_steps=[FACTORY_RESET])
    assert resp.status_code == 400 and "only valid when setting target provision state to clean" in fault(resp)
    assert Baremetal(bm.cloud, "1.14").provision(node["uuid"], "clean", clean_steps=[FACTORY_RESET]).status_code == 406


def test_manual_clean_runs_the_users_order(bm):
    node = bm.manageable("m")
    steps = [DELETE_RAID, {"interface": "management", "step": "set_boot_device", "args": {"device": "pxe"}},
             FACTORY_RESET, {"interface": "raid", "step": "create_configuration"}]
    task = bm.act(node["uuid"], "clean", clean_steps=steps)
    assert names(task) == ["prepare_cleaning", "raid.delete_configuration", "management.set_boot_device",
                           "bios.factory_reset", "raid.create_configuration", "finish_cleaning"]
    assert all(s["status"] == "succeeded" and s["attempt"] == 1 for s in task["steps"])
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "manageable" and node["target_provision_state"] is None
    assert node["clean_step"] == {} and node["reservation"] is None
    runs = node["driver_internal_info"]["fake_step_runs"]
    assert runs == {"raid.delete_configuration": 1, "management.set_boot_device": 1, "bios.factory_reset": 1,
                    "raid.create_configuration": 1}
    assert node["driver_internal_info"]["fake_boot_device"] == "pxe"


def test_cleaning_steps_endpoint(bm):
    node = bm.manageable("e", driver_info={"fake_clean_delay": {"bios.factory_reset": 1.0}})
    planned = bm.req("GET", f"/nodes/{node['uuid']}/cleaning/steps").json()
    assert planned["steps"] == [{"interface": "deploy", "step": "erase_devices", "priority": 10,
                                 "abortable": True, "argsinfo": {}, "requires_ramdisk": True},
                                {"interface": "vendor", "step": "log_passthrough", "priority": 1,
                                 "abortable": False, "argsinfo": {}, "requires_ramdisk": True}]
    resp = bm.provision(node["uuid"], "clean", clean_steps=[DELETE_RAID, FACTORY_RESET])
    bm.wait_for(node["uuid"], lambda n: n["clean_step"].get("step") == "factory_reset")
    running = bm.req("GET", f"/nodes/{node['uuid']}/cleaning/steps").json()
    assert running["manual"] is True and running["current_step_index"] == 1
    assert [s["step"] for s in running["steps"]] == ["delete_configuration", "factory_reset"]
    assert running["steps"][1]["abortable"] is False and running["steps"][1]["args"] == {}
    bm.wait_task(resp.headers["X-Taskvisor-Task"])


def test_automated_order_ties_and_overrides(cloud_factory, tmp_path):
    override = "bios.factory_reset:10,raid.delete_configuration:10,management.set_boot_device:0"
    bm = Baremetal(cloud_factory(conductor__clean_step_priority_override=override))
    node = bm.manageable("o")
    planned = bm.req("GET", f"/nodes/{node['uuid']}/cleaning/steps").json()["steps"]
    # all priority 10: ties go deploy (3) > bios (2) > raid (1)
    assert [(s["interface"], s["priority"]) for s in planned] == [("deploy", 10), ("bios", 10), ("raid", 10),
                                                                  ("vendor", 1)]
    task = bm.act(node["uuid"], "provide")
    assert names(task) == ["prepare_cleaning", "deploy.erase_devices", "bios.factory_reset",
                           "raid.delete_configuration", "vendor.log_passthrough", "finish_cleaning"]
    # a database of its own: on the first's, the first conductor (other override) could claim its provide
    bm2 = Baremetal(cloud_factory(DEFAULT__data_dir=str(tmp_path / "second"),
                                  conductor__clean_step_priority_override="deploy.erase_devices:0,"
                                                                          "raid.delete_configuration:5"))
    node = bm2.manageable("o2")
    assert names(bm2.act(node["uuid"], "provide")) == ["prepare_cleaning", "raid.delete_configuration",
                                                        "vendor.log_passthrough", "finish_cleaning"]


def test_the_commit_that_starts_a_clean_step_shows_it_on_the_node(bm):
    """The task's step row turns running in the same commit that makes the
    node show the step: whoever sees one sees the other."""
    node = bm.manageable("s")
    release = threading.Event()
    fake.hold(node["uuid"], release)  # factory_reset's driver call waits
    try:
        resp = bm.provision(node["uuid"], "clean", clean_steps=[FACTORY_RESET, DELETE_RAID])
        assert resp.status_code == 202, resp.text
        url = resp.headers["X-Taskvisor-Task"]
        poll_until(lambda: bm.task(url), lambda t: t["steps"][1]["status"] == "running", 60,
                   lambda t: f"factory_reset never started: {t}")
        shown = bm.node(node["uuid"])
        assert shown["clean_step"]["step"] == "factory_reset" and shown["provision_state"] == "cleaning"
        assert shown["driver_internal_info"]["clean_step_index"] == 0 and shown["reservation"]
    finally:
        release.set()
    assert bm.wait_task(url)["status"] == "succeeded"
    done = bm.node(node["uuid"])
    assert done["provision_state"] == "manageable" and done["clean_step"] == {} and done["reservation"] is None
    assert done["driver_internal_info"]["fake_step_runs"] == {"bios.factory_reset": 1, "raid.delete_configuration": 1}
    assert "clean_step_index" not in done["driver_internal_info"]


def test_hold_then_unhold_continues_at_the_next_step(bm):
    node = bm.manageable("h")
    steps = [FACTORY_RESET, {"interface": "deploy", "step": "hold"}, DELETE_RAID]
    first = bm.act(node["uuid"], "clean", clean_steps=steps)
    assert [s["status"] for s in first["steps"]] == ["succeeded", "succeeded", "succeeded", "skipped", "skipped"]
    held = bm.node(node["uuid"])
    assert held["provision_state"] == "clean hold" and held["target_provision_state"] == "manageable"
    assert held["clean_step"]["step"] == "hold" and held["reservation"] is None
    resp = bm.power(node["uuid"], "power on")
    assert resp.status_code == 400 and '"clean hold"' in fault(resp)
    assert Baremetal(bm.cloud, "1.84").provision(node["uuid"], "unhold").status_code == 406
    second = bm.act(node["uuid"], "unhold")
    assert second["action"] == "unhold"
    assert names(second) == ["prepare_cleaning", "raid.delete_configuration", "finish_cleaning"]
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "manageable" and node["clean_step"] == {}
    assert node["driver_internal_info"]["fake_step_runs"] == {"bios.factory_reset": 1,
                                                              "raid.delete_configuration": 1}


def test_abort_in_clean_hold(bm):
    node = bm.manageable("ah")
    bm.act(node["uuid"], "clean", clean_steps=[{"interface": "deploy", "step": "hold"}, DELETE_RAID])
    task = bm.act(node["uuid"], "abort")
    assert task["action"] == "abort"
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "clean failed" and node["maintenance"] is False
    assert node["last_error"] == ('By request, the clean operation was aborted during or after the completion '
                                  'of step "deploy.hold"')
    assert bm.provision(node["uuid"], "provide").status_code == 400  # clean failed leaves only via manage
    bm.act(node["uuid"], "manage")
    assert bm.node(node["uuid"])["provision_state"] == "manageable"


def test_wait_step_waits_in_clean_wait(bm):
    node = bm.manageable("w")
    resp = bm.provision(node["uuid"], "clean", clean_steps=[{"interface": "deploy", "step": "wait",
                                                             "args": {"seconds": 1}}, FACTORY_RESET])
    waiting = bm.wait_for(node["uuid"], lambda n: n["clean_step"].get("step") == "wait")
    assert waiting["provision_state"] == "clean wait"
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded" and task["steps"][1]["details"]["seconds"] >= 1
    assert bm.node(node["uuid"])["provision_state"] == "manageable"


def test_abort_stops_an_abortable_step_at_once(bm):
    node = bm.manageable("aa", driver_info={"fake_clean_delay": {"deploy.burnin_disk": 30}})
    resp = bm.provision(node["uuid"], "clean", clean_steps=[
        {"interface": "deploy", "step": "burnin_disk", "args": {"passes": 2}}, FACTORY_RESET])
    url = resp.headers["X-Taskvisor-Task"]
    bm.wait_for(node["uuid"], lambda n: n["provision_state"] == "clean wait")
    resp = bm.provision(node["uuid"], "abort")
    assert resp.status_code == 202 and resp.headers["X-Taskvisor-Task"] == url
    task = bm.wait_task(url, timeout=10)
    assert task["status"] == "cancelled" and task["steps"][1]["status"] == "failed"  # stopped by request
    assert task["steps"][2]["status"] == "pending"  # factory_reset never ran
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "clean failed" and node["maintenance"] is False
    assert 'step "deploy.burnin_disk"' in node["last_error"] and node["reservation"] is None


def test_abort_waits_for_a_step_that_cannot_be_interrupted(bm):
    node = bm.manageable("an", driver_info={"fake_clean_delay": {"vendor.burnin_cpu": 1.5}})
    resp = bm.provision(node["uuid"], "clean", clean_steps=[
        {"interface": "vendor", "step": "burnin_cpu", "args": {"duration": 1}}, FACTORY_RESET])
    url = resp.headers["X-Taskvisor-Task"]
    bm.wait_for(node["uuid"], lambda n: n["clean_step"].get("step") == "burnin_cpu")
    assert bm.provision(node["uuid"], "abort").status_code == 202
    task = bm.wait_task(url)
    assert task["status"] == "cancelled"
    assert [s["status"] for s in task["steps"][:2]] == ["succeeded", "succeeded"]  # burnin_cpu finished
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "clean failed"
    assert node["last_error"].endswith('after the completion of step "vendor.burnin_cpu"')
    assert "bios.factory_reset" not in node["driver_internal_info"].get("fake_step_runs", {})


def test_abort_while_cleaning_is_refused(bm):
    node = bm.manageable("ac", driver_info={"fake_clean_delay": {"bios.factory_reset": 1.0}})
    resp = bm.provision(node["uuid"], "clean", clean_steps=[FACTORY_RESET])
    bm.wait_for(node["uuid"], lambda n: n["provision_state"] == "cleaning" and n["clean_step"])
    assert bm.provision(node["uuid"], "abort").status_code == 409  # Ironic: locked, not abortable here
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"


def test_failed_step_leaves_clean_failed_in_maintenance(bm):
    node = bm.manageable("f", driver_info={"fake_fail_step": "raid.delete_configuration"})
    resp = bm.provision(node["uuid"], "clean", clean_steps=[FACTORY_RESET, DELETE_RAID,
                                                            {"interface": "raid", "step": "create_configuration"}])
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "failed" and task["error"]["step"] == "raid.delete_configuration"
    assert [s["status"] for s in task["steps"]] == ["succeeded", "succeeded", "failed", "pending", "pending"]
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "clean failed" and node["target_provision_state"] == "manageable"
    assert node["maintenance"] is True and node["fault"] == "clean failure"
    assert node["last_error"].startswith(f"Node {node['uuid']} failed step raid.delete_configuration: "
                                         "fake failure injected")
    assert node["maintenance_reason"] == node["last_error"] and node["clean_step"] == {}
    for target in ("provide", "clean", "active"):  # only manage leaves clean failed
        assert bm.provision(node["uuid"], target, **({"clean_steps": [FACTORY_RESET]} if target == "clean"
                                                      else {})).status_code == 400
    bm.act(node["uuid"], "manage")
    resp = bm.req("DELETE", f"/nodes/{node['uuid']}/maintenance")
    bm.wait_task(resp.headers["X-Taskvisor-Task"])
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "manageable" and node["maintenance"] is False and node["fault"] is None


def test_failed_automated_clean_never_becomes_available(bm):
    node = bm.manageable("fa", driver_info={"fake_fail_step": ["deploy.erase_devices"]})
    resp = bm.provision(node["uuid"], "provide")
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "failed"
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "clean failed" and node["target_provision_state"] == "available"


def test_task_api_cancels_a_clean_in_an_abortable_step(bm):
    node = bm.manageable("tc", driver_info={"fake_clean_delay": {"deploy.burnin_disk": 30, "vendor.burnin_cpu": 2}})
    resp = bm.provision(node["uuid"], "clean", clean_steps=[
        {"interface": "vendor", "step": "burnin_cpu", "args": {"duration": 1}},
        {"interface": "deploy", "step": "burnin_disk", "args": {"passes": 2}}, FACTORY_RESET])
    url = resp.headers["X-Taskvisor-Task"]
    task_id = url.rsplit("/", 1)[1]
    bm.wait_for(node["uuid"], lambda n: n["clean_step"].get("step") == "burnin_cpu")
    refused = bm.req("POST", f"/tasks/{task_id}/action", {"cancel": None})
    assert refused.status_code == 409 and "vendor.burnin_cpu, which cannot be cancelled" in fault(refused)
    bm.wait_for(node["uuid"], lambda n: n["clean_step"].get("step") == "burnin_disk")
    accepted = bm.req("POST", f"/tasks/{task_id}/action", {"cancel": None})
    assert accepted.status_code == 202, accepted.text
    task = bm.wait_task(url, timeout=20)
    assert task["status"] == "cancelled" and task["steps"][2]["status"] == "failed"
    assert task["steps"][3]["status"] == "pending"  # factory_reset never ran
    assert bm.node(node["uuid"])["provision_state"] == "clean failed"
