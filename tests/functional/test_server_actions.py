"""Every server action through HTTP: happy paths from every allowed state,
409s from every other state (generated from the state machine's data),
failures injected at each driver step, races, and the force member."""
from __future__ import annotations

import threading

import pytest

from taskvisor.states import server as states

BODIES = {
    "stop": {"os-stop": None}, "start": {"os-start": None}, "reboot": {"reboot": {"type": "SOFT"}},
    "reboot_hard": {"reboot": {"type": "HARD"}}, "rescue": {"rescue": None}, "unrescue": {"unrescue": None},
    "shelve": {"shelve": None}, "shelveOffload": {"shelveOffload": None}, "unshelve": {"unshelve": None},
    "resize": {"resize": {"flavorRef": "3"}}, "confirmResize": {"confirmResize": None},
    "revertResize": {"revertResize": None}, "pause": {"pause": None}, "unpause": {"unpause": None},
    "suspend": {"suspend": None}, "resume": {"resume": None}, "forceDelete": {"forceDelete": None},
}
STATUS = {202: ("stop", "start", "reboot", "reboot_hard", "unrescue", "shelve", "shelveOffload", "unshelve",
                "resize", "revertResize", "pause", "unpause", "suspend", "resume", "forceDelete"),
          200: ("rescue",), 204: ("confirmResize",)}
EXPECTED_STATUS = {a: code for code, actions in STATUS.items() for a in actions}
SOURCES = [s for s in states.STABLE]


@pytest.fixture
def keep(cloud_factory):
    """A cloud where shelve keeps the guest (shelved_offload_time = -1), so SHELVED is reachable."""
    return cloud_factory(DEFAULT__shelved_offload_time=-1)


def into(cloud, server_id: str, vm_state: str) -> None:
    """Bring an ACTIVE server to ``vm_state`` through the API (``keep`` cloud)."""
    paths = {"active": [], "stopped": ["stop"], "paused": ["pause"], "suspended": ["suspend"],
             "rescued": ["rescue"], "resized": ["resize"], "shelved": ["shelve"],
             "shelved_offloaded": ["shelve", "shelveOffload"]}
    if vm_state == "error":  # a soft reboot whose power-on fails leaves the guest off: unknown → ERROR
        cloud.driver.inject("power_on", fail="no power")
        paths["error"] = ["reboot"]
    for action in paths[vm_state]:
        cloud.act(server_id, BODIES[action])
    assert cloud.vm_state(server_id) == vm_state


# -- happy paths: every action from every state it is allowed from --------------------
# (the actions added by nova-servers, and soft-delete as a source, are in test_server_more_actions.py)
HAPPY = [(a.name, s) for a in states.API_ACTIONS if a.name in BODIES for s in a.sources
         if s not in ("building", "soft-delete")]


@pytest.mark.parametrize("action, source", HAPPY, ids=[f"{a}-from-{s}" for a, s in HAPPY])
def test_action_from_each_allowed_state(keep, action, source):
    server_id = keep.boot()
    into(keep, server_id, source)
    resp, task = keep.act(server_id, BODIES[action], expect=EXPECTED_STATUS[action])
    assert task["status"] == "succeeded", task
    assert task["action"] == states.ACTIONS[action].instance_action  # reboot_hard → reboot, forceDelete → delete
    assert all(s["status"] in ("succeeded", "skipped") for s in task["steps"])
    if action == "forceDelete":
        assert keep.get(f"/servers/{server_id}").status_code == 404
        assert server_id not in keep.driver.list_guests()
        return
    server = keep.server(server_id)
    event = "kept" if action == "shelve" else "done"  # this cloud keeps shelved guests; resizes were from active
    assert server["OS-EXT-STS:vm_state"] == states.target(action, source, event)
    assert server["OS-EXT-STS:task_state"] is None and "fault" not in server
    power = {"active": 1, "rescued": 1, "paused": 3, "suspended": 7, "stopped": 4, "shelved": 4,
             "resized": 4 if source == "stopped" else 1, "shelved_offloaded": 0}[server["OS-EXT-STS:vm_state"]]
    assert server["OS-EXT-STS:power_state"] == power
    assert keep.driver.list_guests().get(server_id, 0) == power
    # the instance action is this task, its events are its steps
    action_view = keep.instance_action(server_id, resp.headers["x-openstack-request-id"])
    assert [e["event"] for e in action_view["events"]] == [f"compute_{s['name']}" for s in task["steps"]]
    assert {e["result"] for e in action_view["events"]} == {"Success"} and action_view["message"] is None


# -- 409 from every other state, generated from the machine ------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_actions_not_allowed_from_a_state_are_409(keep, source):
    server_id = keep.boot()
    into(keep, server_id, source)
    refused = [a for a in states.API_ACTIONS if a.name in BODIES and source not in a.sources]
    assert refused or source == "error"
    for action in refused:
        resp = keep.action(server_id, BODIES[action.name])
        assert resp.status_code == 409, (action.name, resp.text)
        assert resp.json()["conflictingRequest"]["message"] == (
            f"Cannot '{action.label}' instance {server_id} while it is in vm_state {source}")
        assert "X-Taskvisor-Task" not in resp.headers
    assert keep.vm_state(server_id) == source


def test_any_action_while_a_task_runs_is_409_with_the_task_state(cloud):
    server_id = cloud.boot()
    cloud.driver.inject("pause", delay=0.5)
    resp = cloud.action(server_id, {"pause": None})
    for action in ("stop", "reboot", "reboot_hard", "rescue", "shelve", "resize", "pause", "suspend"):
        refused = cloud.action(server_id, BODIES[action])
        assert refused.status_code == 409
        assert refused.json()["conflictingRequest"]["message"] == (
            f"Cannot '{states.ACTIONS[action].label}' instance {server_id} while it is in task_state pausing")
    assert cloud.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"


# -- failures injected at each driver step -----------------------------------------------
# (action, source, driver method that fails, failing step, task status, vm_state after)
FAILURES = [
    ("stop", "active", "request_shutdown", "power_off", "failed", "active"),
    ("start", "stopped", "power_on", "power_on", "failed", "stopped"),
    ("reboot", "active", "request_shutdown", "shutdown", "failed", "active"),
    ("reboot", "active", "power_on", "power_on", "failed", "error"),
    ("reboot_hard", "active", "force_off", "force_off", "failed", "active"),
    ("reboot_hard", "paused", "power_on", "power_on", "failed", "error"),
    ("rescue", "active", "request_shutdown", "power_off", "reverted", "active"),
    ("rescue", "active", "rescue", "boot_rescue_image", "reverted", "active"),
    ("unrescue", "rescued", "unrescue", "unrescue", "failed", "rescued"),
    ("shelve", "active", "request_shutdown", "power_off", "reverted", "active"),
    ("shelve", "active", "snapshot", "snapshot", "reverted", "active"),
    ("shelve", "stopped", "destroy", "offload", "reverted", "stopped"),
    ("shelveOffload", "shelved", "destroy", "offload", "failed", "shelved"),
    ("unshelve", "shelved", "power_on", "spawn", "reverted", "shelved"),
    ("unshelve", "shelved_offloaded", "spawn", "spawn", "reverted", "shelved_offloaded"),
    ("resize", "active", "request_shutdown", "power_off", "reverted", "active"),
    ("resize", "active", "resize", "migrate_disk", "reverted", "active"),
    ("resize", "active", "power_on", "finish", "reverted", "active"),
    ("resize", "stopped", "resize", "migrate_disk", "reverted", "stopped"),
    ("confirmResize", "resized", "confirm_resize", "confirm", "failed", "resized"),
    ("revertResize", "resized", "force_off", "power_off_new", "failed", "resized"),
    ("revertResize", "resized", "revert_resize", "revert_disk", "failed", "resized"),
    ("revertResize", "resized", "power_on", "finish_revert", "failed", "resized"),
    ("pause", "active", "pause", "pause", "failed", "active"),
    ("unpause", "paused", "unpause", "unpause", "failed", "paused"),
    ("suspend", "active", "suspend", "suspend", "failed", "active"),
    ("resume", "suspended", "resume", "resume", "failed", "suspended"),
    ("forceDelete", "active", "destroy", "destroy", "failed", "error"),
]


@pytest.mark.parametrize("action, source, method, step, status, after", FAILURES,
                         ids=[f"{f[0]}-{f[3]}-{f[2]}" for f in FAILURES])
def test_failure_at_a_step(keep, action, source, method, step, status, after):
    server_id = keep.boot()
    into(keep, server_id, source)
    if action == "shelve" and step == "offload":  # the offload step runs only when offloading
        keep.node.conductor.conf.set("DEFAULT", "shelved_offload_time", 0)
    flavor_before = keep.server(server_id)["flavor"]
    keep.driver.inject(method, fail=f"injected {method} failure")
    resp, task = keep.act(server_id, BODIES[action])
    assert task["status"] == status, task
    assert f"injected {method} failure" in task["error"]["message"]
    assert task["error"]["step"] == step
    by_name = {s["name"]: s for s in task["steps"]}
    assert by_name[step]["status"] in ("failed", "reverted")  # a step with a revert undoes itself too
    server = keep.server(server_id)
    assert server["OS-EXT-STS:vm_state"] == after and server["OS-EXT-STS:task_state"] is None
    if after == "error":  # the fault is the task's error, as Nova shows it
        assert f"injected {method} failure" in server["fault"]["message"]
        assert server["fault"]["code"] == 500 and "details" in server["fault"]  # admin sees details
    else:
        assert "fault" not in server
    if status == "reverted" or action in ("confirmResize", "revertResize"):
        assert server["flavor"] == flavor_before  # a failed resize keeps (or puts back) the old flavor
    # the instance action shows the failing event
    view = keep.instance_action(server_id, resp.headers["x-openstack-request-id"],
                                headers={"OpenStack-API-Version": "compute 2.84"})
    assert view["message"] == "Error"
    results = {e["event"]: e for e in view["events"]}
    assert results[f"compute_{step}"]["result"] == "Error"
    assert f"injected {method} failure" in results[f"compute_{step}"]["details"]
    assert results[f"compute_{step}"]["traceback"]  # admin caller
    if status == "failed" and after != "error" and action != "forceDelete":  # the server is usable again
        keep.driver._injections.clear()
        retry, task = keep.act(server_id, BODIES[action])
        assert task["status"] == "succeeded", task


def test_failed_shelve_removes_its_snapshot_image(keep):
    server_id = keep.boot("box")
    keep.driver.inject("snapshot", fail="disk unreadable")
    _, task = keep.act(server_id, BODIES["shelve"])
    assert task["status"] == "reverted"
    names = [i["name"] for i in keep.client.get("/image/v2/images").json()["images"]]
    assert "box-shelved" not in names


# -- races -------------------------------------------------------------------------------
def _race(cloud, server_id: str, bodies: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def go(i: int) -> None:
        barrier.wait()
        results[i] = cloud.action(server_id, bodies[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_identical_actions_exactly_one_wins(cloud):
    server_id = cloud.boot()
    results = _race(cloud, server_id, [BODIES["stop"]] * 8)
    accepted = [r for r in results if r.status_code == 202]
    assert len(accepted) == 1, [r.status_code for r in results]
    assert all(r.status_code == 409 and "conflictingRequest" in r.json() for r in results if r not in accepted)
    cloud.wait_task(accepted[0].headers["X-Taskvisor-Task"])
    assert cloud.vm_state(server_id) == "stopped"
    assert [t["action"] for t in cloud.get(f"/servers/{server_id}/tasks").json()["tasks"]] == ["stop", "create"]


def test_racing_conflicting_actions_exactly_one_wins(cloud):
    server_id = cloud.boot()
    for method in ("request_shutdown", "pause", "suspend", "force_off"):
        cloud.driver.inject(method, delay=0.3)
    bodies = [BODIES[a] for a in ("stop", "pause", "suspend", "reboot", "reboot_hard", "rescue", "shelve",
                                  "resize")]
    results = _race(cloud, server_id, bodies)
    accepted = [r for r in results if r.status_code < 300]
    assert len(accepted) == 1, [r.status_code for r in results]
    assert sum(r.status_code == 409 for r in results) == len(bodies) - 1
    assert cloud.wait_task(accepted[0].headers["X-Taskvisor-Task"])["status"] == "succeeded"


def test_delete_takes_over_a_running_action(cloud):
    server_id = cloud.boot()
    cloud.driver.inject("pause", delay=0.5)
    pause = cloud.action(server_id, BODIES["pause"])
    resp, task = cloud.act(server_id, BODIES["forceDelete"])
    assert task["status"] == "succeeded" and task["action"] == "delete"  # recorded as Nova does
    assert cloud.wait_task(pause.headers["X-Taskvisor-Task"])["status"] == "cancelled"
    assert cloud.get(f"/servers/{server_id}").status_code == 404


# -- force (microversion 2.101) ----------------------------------------------------------
FORCE_BODIES = {"os-stop": {}, "shelve": {}, "shelveOffload": {}, "rescue": {}, "resize": {"flavorRef": "3"}}
V2101 = {"OpenStack-API-Version": "compute 2.101"}


@pytest.mark.parametrize("key", sorted(FORCE_BODIES))
def test_force_is_rejected_below_2_101_and_must_be_boolean(cloud, key):
    server_id = cloud.boot()
    for headers in ({}, {"OpenStack-API-Version": "compute 2.100"}):
        resp = cloud.action(server_id, {key: {**FORCE_BODIES[key], "force": True}}, headers)
        assert resp.status_code == 400
        assert "'force' was unexpected" in resp.json()["badRequest"]["message"]
    resp = cloud.action(server_id, {key: {**FORCE_BODIES[key], "force": "yes"}}, V2101)
    assert resp.status_code == 400
    assert f"{key}/force" in resp.json()["badRequest"]["message"] and "boolean" in resp.json()["badRequest"]["message"]
    assert cloud.vm_state(server_id) == "active"


@pytest.mark.parametrize("action, key", [("stop", "os-stop"), ("shelve", "shelve"), ("rescue", "rescue"),
                                         ("resize", "resize")])
def test_force_skips_the_clean_shutdown(cloud, action, key):
    server_id = cloud.boot()
    _, task = cloud.act(server_id, {key: {**FORCE_BODIES[key], "force": True}}, V2101)
    assert task["status"] == "succeeded" and task["params"]["force"] is True
    off = next(s for s in task["steps"] if s["name"] == "power_off")
    assert off["details"]["shutdown"] == "forced" and off["details"]["reason"] == "force requested"
    assert cloud.driver.guests.get(server_id, {}).get("shutdown_requests", 0) == 0


def test_force_false_still_shuts_down_cleanly(cloud):
    server_id = cloud.boot()
    _, task = cloud.act(server_id, {"os-stop": {"force": False}}, V2101)
    assert task["steps"][0]["details"]["shutdown"] == "clean"
    assert "force" not in task["params"]
