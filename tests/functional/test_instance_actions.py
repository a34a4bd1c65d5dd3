"""os-instance-actions and faults as views over tasks; shelve's image;
console output; bad action bodies; random action sequences vs the machine."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskvisor.states import server as states
from tests.functional.test_server_actions import BODIES

MEMBER = {"X-Project-Id": "admin", "X-User-Id": "alice", "X-Roles": "member"}


def test_instance_actions_list_and_show_in_novas_shapes(cloud):
    server_id = cloud.boot()
    stop, _ = cloud.act(server_id, BODIES["stop"])
    actions = cloud.instance_actions(server_id)
    assert [a["action"] for a in actions] == ["stop", "create"]
    first = actions[0]
    assert set(first) == {"action", "instance_uuid", "request_id", "user_id", "project_id", "start_time", "message"}
    assert first["instance_uuid"] == server_id and first["request_id"] == stop.headers["x-openstack-request-id"]
    shown = cloud.instance_action(server_id, first["request_id"])
    assert [e["event"] for e in shown["events"]] == ["compute_power_off"]
    event = shown["events"][0]
    assert event["result"] == "Success" and event["start_time"] and event["finish_time"]
    assert "traceback" in event and "hostId" not in event and "details" not in event  # 2.1, admin


def test_microversion_members(cloud):
    server_id = cloud.boot()
    latest = {"OpenStack-API-Version": "compute 2.84"}
    actions = cloud.instance_actions(server_id, headers=latest)
    assert actions[0]["updated_at"]
    event = cloud.instance_action(server_id, actions[0]["request_id"], headers=latest)["events"][0]
    assert event["host"] == "localhost" and len(event["hostId"]) == 56
    assert event["details"] == "host=localhost"  # the step's details, as one line
    member = cloud.instance_action(server_id, actions[0]["request_id"], headers={**latest, **MEMBER})["events"][0]
    assert member["details"] is None  # its only detail names the host, which is for admins
    assert "host" not in member and "traceback" not in member and member["hostId"] == event["hostId"]


def test_list_filters_from_2_58(cloud):
    server_id = cloud.boot()
    for action in ("stop", "start", "pause"):
        cloud.act(server_id, BODIES[action])
    v = {"OpenStack-API-Version": "compute 2.58"}
    everything = cloud.instance_actions(server_id, headers=v)
    assert [a["action"] for a in everything] == ["pause", "start", "stop", "create"]
    page = cloud.get(f"/servers/{server_id}/os-instance-actions?limit=2", headers=v).json()["instanceActions"]
    assert [a["action"] for a in page] == ["pause", "start"]
    rest = cloud.get(f"/servers/{server_id}/os-instance-actions?marker={page[-1]['request_id']}",
                     headers=v).json()["instanceActions"]
    assert [a["action"] for a in rest] == ["stop", "create"]
    since = everything[1]["updated_at"]
    recent = cloud.get(f"/servers/{server_id}/os-instance-actions", params={"changes-since": since},
                       headers=v).json()["instanceActions"]
    assert [a["action"] for a in recent][:2] == ["pause", "start"] and "create" not in [a["action"] for a in recent]
    assert cloud.get(f"/servers/{server_id}/os-instance-actions?marker=nope", headers=v).status_code == 400
    assert cloud.get(f"/servers/{server_id}/os-instance-actions?changes-since=soon", headers=v).status_code == 400
    assert cloud.get(f"/servers/{server_id}/os-instance-actions?limit=-1", headers=v).status_code == 400


def test_actions_of_a_deleted_server_stay_readable(cloud):
    server_id = cloud.boot()
    resp = cloud.delete(f"/servers/{server_id}")
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert [a["action"] for a in cloud.instance_actions(server_id)] == ["delete", "create"]
    other = {"X-Project-Id": "other", "X-User-Id": "u2", "X-Roles": "member"}
    assert cloud.get(f"/servers/{server_id}/os-instance-actions", headers=other).status_code == 404
    missing = cloud.get(f"/servers/{server_id}/os-instance-actions/req-nope")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()


def test_force_delete_is_recorded_as_delete(cloud):
    """Nova has no forceDelete instance action: every kind of delete records "delete"."""
    server_id = cloud.boot()
    resp, task = cloud.act(server_id, BODIES["forceDelete"], expect=202)
    assert resp.content == b"" and task["action"] == "delete"
    actions = cloud.instance_actions(server_id)
    assert [a["action"] for a in actions] == ["delete", "create"]
    assert actions[0]["request_id"] == resp.headers["x-openstack-request-id"]


def test_error_fault_is_the_failed_tasks_error_and_members_get_no_traceback(cloud):
    server_id = cloud.boot()
    cloud.driver.inject("power_on", fail="the power supply is gone")
    resp, task = cloud.act(server_id, BODIES["reboot"])
    server = cloud.server(server_id)
    assert server["status"] == "ERROR"
    assert server["fault"]["message"] == task["error"]["message"] and server["fault"]["code"] == 500
    assert "Traceback" in server["fault"]["details"]
    member = cloud.get(f"/servers/{server_id}", headers=MEMBER).json()["server"]
    assert "details" not in member["fault"]  # a 500 fault's details are for admins
    events = cloud.instance_action(server_id, resp.headers["x-openstack-request-id"], headers=MEMBER)["events"]
    assert [(e["event"], e["result"]) for e in events] == [("compute_shutdown", "Success"),
                                                           ("compute_power_on", "Error")]
    assert all("traceback" not in e for e in events)
    # a hard reboot brings it back and the fault goes away with the ERROR state
    _, task = cloud.act(server_id, BODIES["reboot_hard"])
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and "fault" not in server


def test_failed_reboot_that_never_touched_power_keeps_the_server_active(cloud):
    server_id = cloud.boot()
    cloud.driver.inject("request_shutdown", fail="acpi is broken")
    _, task = cloud.act(server_id, BODIES["reboot"])
    assert task["status"] == "failed" and "acpi is broken" in task["error"]["message"]
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1 and "fault" not in server


def test_soft_reboot_of_a_guest_that_ignores_shutdown_becomes_hard(cloud):
    image = cloud.client.post("/image/v2/images", json={"name": "stubborn", "disk_format": "qcow2",
                                                         "container_format": "bare", "visibility": "public",
                                                         "guest_on_shutdown": "ignore", "os_shutdown_timeout": "1"})
    cloud.client.put(f"/image/v2/images/{image.json()['id']}/file", content=b"disk")
    server_id = cloud.boot(image=image.json()["id"])
    _, task = cloud.act(server_id, BODIES["reboot"])
    assert task["status"] == "succeeded"
    assert task["steps"][0]["details"]["reboot"] == "hard" and task["steps"][0]["details"]["reason"] == "timeout"
    assert cloud.server(server_id)["status"] == "ACTIVE"


def test_shelve_offloads_by_default_and_unshelve_brings_the_disk_back(cloud):
    server_id = cloud.boot("keeper")
    cloud.driver.guests[server_id]["disk"]["data"] = "precious"
    _, task = cloud.act(server_id, BODIES["shelve"])
    server = cloud.server(server_id)
    assert server["status"] == "SHELVED_OFFLOADED" and server["OS-EXT-SRV-ATTR:host"] is None
    assert server_id not in cloud.driver.list_guests()
    image_id = task["steps"][1]["details"]["image_id"]
    image = cloud.client.get(f"/image/v2/images/{image_id}").json()
    assert image["name"] == "keeper-shelved" and image["shelved_server_id"] == server_id
    assert image["status"] == "active" and image["size"] > 0
    assert b"precious" in cloud.client.get(f"/image/v2/images/{image_id}/file").content
    _, task = cloud.act(server_id, BODIES["unshelve"])
    assert task["steps"][1]["details"]["guest"] == f"spawned from {image_id}"
    assert cloud.server(server_id)["status"] == "ACTIVE"
    assert cloud.driver.guests[server_id]["disk"]["data"] == "precious"
    assert cloud.client.get(f"/image/v2/images/{image_id}").status_code == 404  # the snapshot is gone


def test_unshelve_availability_zone(cloud):
    server_id = cloud.boot()
    cloud.act(server_id, BODIES["shelve"])
    bad = cloud.action(server_id, {"unshelve": {"availability_zone": "mars"}})
    assert bad.status_code == 400 and "availability zone" in bad.json()["badRequest"]["message"]
    _, task = cloud.act(server_id, {"unshelve": {"availability_zone": "nova"}})
    assert task["status"] == "succeeded"


def test_console_output(cloud):
    server_id = cloud.boot()
    cloud.act(server_id, BODIES["stop"])
    cloud.act(server_id, BODIES["start"])
    # Nova's length counts the items of output.split("\n"): the empty text after the last newline is one
    resp = cloud.action(server_id, {"os-getConsoleOutput": {"length": 3}})
    assert resp.status_code == 200 and "X-Taskvisor-Task" not in resp.headers
    assert resp.json()["output"] == "[fake] power off\n[fake] power on\n"
    assert len(resp.json()["output"].split("\n")) == 3  # as Tempest counts them
    assert cloud.action(server_id, {"os-getConsoleOutput": {"length": 0}}).json()["output"] == ""
    everything = cloud.action(server_id, {"os-getConsoleOutput": {"length": -1}}).json()["output"]
    assert everything.splitlines()[0] == "[fake] booted"
    assert cloud.action(server_id, {"os-getConsoleOutput": {"length": "2"}}).json()["output"] == "[fake] power on\n"
    assert cloud.action(server_id, {"os-getConsoleOutput": {"length": "x"}}).status_code == 400
    assert cloud.action(server_id, {"os-getConsoleOutput": {"length": -2}}).status_code == 400
    assert cloud.get(f"/servers/{server_id}/tasks").json()["tasks"][0]["action"] == "start"  # not a task


def test_bad_action_bodies_are_nova_400s(cloud):
    server_id = cloud.boot()
    cases = [
        ({"explode": None}, "There is no such action: explode"),
        ({"pause": None, "suspend": None}, "Only one action"),
        ({"reboot": {}}, "'type' is a required property"),
        ({"reboot": {"type": "GENTLE"}}, "reboot/type"),
        ({"resize": {}}, "'flavorRef' is a required property"),
        ({"resize": {"flavorRef": "1"}}, "instances must change flavor"),
        ({"resize": {"flavorRef": "999"}}, "Unable to locate requested flavor."),
        ({"rescue": {"rescue_image_ref": "00000000-0000-0000-0000-000000000000"}}, "could not be found"),
        ({"pause": {"now": True}}, "'now' was unexpected"),
        ({"os-stop": "please"}, "os-stop"),
        ([], "must be a JSON object"),
    ]
    for body, fragment in cases:
        resp = cloud.action(server_id, body)
        assert resp.status_code == 400, (body, resp.text)
        assert fragment in resp.json()["badRequest"]["message"], (body, resp.text)
    cloud.act(server_id, {"resize": {"flavorRef": "3"}})
    cloud.act(server_id, BODIES["confirmResize"])
    down = cloud.action(server_id, {"resize": {"flavorRef": "2"}})
    assert down.status_code == 400 and "resize disk down" in down.json()["badRequest"]["message"]
    assert cloud.action("00000000-0000-0000-0000-000000000000", BODIES["stop"]).status_code == 404
    assert cloud.server(server_id)["status"] == "ACTIVE"


def test_confirm_and_revert_of_a_stopped_resize_end_stopped(cloud):
    server_id = cloud.boot()
    cloud.act(server_id, BODIES["stop"])
    cloud.act(server_id, {"resize": {"flavorRef": "2"}})
    _, task = cloud.act(server_id, BODIES["revertResize"], expect=202)
    server = cloud.server(server_id)
    assert server["status"] == "SHUTOFF" and server["flavor"]["id"] == "1"
    cloud.act(server_id, {"resize": {"flavorRef": "2"}})
    cloud.act(server_id, BODIES["confirmResize"], expect=204)
    server = cloud.server(server_id)
    assert server["status"] == "SHUTOFF" and server["flavor"]["id"] == "2"
    assert cloud.driver.guests[server_id]["flavor"]["name"] == "m1.small"


ACTIONS = [a.name for a in states.API_ACTIONS if a.name in BODIES and a.name not in ("delete", "forceDelete")]


def test_random_action_sequences_follow_the_machine(cloud):
    """Whatever the sequence, the API accepts exactly what the machine allows
    from the server's state, and each accepted action ends where it says."""
    server_id = cloud.boot()
    model = {"pre_resize": None, "flavor": 1}

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=6))
    def run(sequence):
        for action in sequence:
            vm_state = cloud.vm_state(server_id)
            body = BODIES[action]
            if action == "resize":
                if model["flavor"] == 4:
                    continue
                body = {"resize": {"flavorRef": str(model["flavor"] + 1)}}
            resp = cloud.action(server_id, body)
            allowed = vm_state in states.allowed_from(action)
            assert (resp.status_code < 300) == allowed, (action, vm_state, resp.text)
            if not allowed:
                assert resp.status_code == 409
                continue
            task = cloud.wait_task(resp.headers["X-Taskvisor-Task"])
            assert task["status"] == "succeeded", task
            event = "done"
            if action == "resize":
                model["pre_resize"], model["flavor"] = vm_state, model["flavor"] + 1
            if action in ("confirmResize", "revertResize"):
                event = "stopped" if model["pre_resize"] == "stopped" else "done"
                if action == "revertResize":
                    model["flavor"] -= 1
            assert cloud.vm_state(server_id) == states.target(action, vm_state, event)

    run()


def test_hard_reboot_recreates_a_guest_the_host_lost(cloud):
    cloud.driver.inject("spawn", fail="no room at the inn")
    resp = cloud.post("/servers", {"server": {"name": "phoenix", "flavorRef": "1", "imageRef": cloud.image_id}})
    server_id = resp.json()["server"]["id"]
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert cloud.server(server_id)["status"] == "ERROR" and server_id not in cloud.driver.list_guests()
    _, task = cloud.act(server_id, BODIES["reboot_hard"])
    assert task["status"] == "succeeded" and task["steps"][0]["details"]["recreated"] is True
    assert cloud.server(server_id)["status"] == "ACTIVE" and cloud.driver.list_guests()[server_id] == 1


def test_stop_of_an_error_server_without_a_guest_fails_and_stays_error(cloud):
    cloud.driver.inject("spawn", fail="no room at the inn")
    resp = cloud.post("/servers", {"server": {"name": "ghost", "flavorRef": "1", "imageRef": cloud.image_id}})
    server_id = resp.json()["server"]["id"]
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    _, task = cloud.act(server_id, BODIES["stop"])
    assert task["status"] == "failed" and "not found" in task["error"]["message"]
    server = cloud.server(server_id)
    assert server["status"] == "ERROR" and server["fault"]["message"] == task["error"]["message"]
