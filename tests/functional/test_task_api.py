"""The global task API: lists with filters and markers, who sees what,
planned steps from creation, cancel, node tasks by name."""
from __future__ import annotations

from urllib.parse import urlsplit

from taskvisor.conductor.service import Conductor
from taskvisor.flows import FLOWS

MEMBER = {"X-Project-Id": "other", "X-User-Id": "bob", "X-Roles": "member"}


def tasks(cloud, query: str = "", headers: dict | None = None, api: str = "/compute/v2.1"):
    resp = cloud.client.get(f"{api}/tasks{query}", headers=headers or {})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_global_list_filters_and_markers(cloud):
    first = cloud.boot("a")
    second = cloud.boot("b")
    cloud.act(first, {"os-stop": None})
    listed = tasks(cloud)["tasks"]
    assert [(t["resource_id"], t["action"]) for t in listed] == [(first, "stop"), (second, "create"),
                                                                (first, "create")]
    assert all(t["links"][0]["href"].endswith(f"/compute/v2.1/tasks/{t['id']}") for t in listed)
    assert [t["action"] for t in tasks(cloud, f"?resource_id={first}")["tasks"]] == ["stop", "create"]
    assert [t["resource_id"] for t in tasks(cloud, "?action=create")["tasks"]] == [second, first]
    assert tasks(cloud, "?status=running,queued")["tasks"] == []
    assert len(tasks(cloud, "?status=succeeded&host=localhost")["tasks"]) == 3
    assert tasks(cloud, "?host=elsewhere")["tasks"] == []
    assert tasks(cloud, "?changes-since=2999-01-01T00:00:00Z")["tasks"] == []

    page = tasks(cloud, "?limit=2")
    assert [t["id"] for t in page["tasks"]] == [t["id"] for t in listed[:2]]
    next_href = page["tasks_links"][0]["href"]
    assert f"marker={listed[1]['id']}" in next_href
    rest = cloud.client.get(urlsplit(next_href).path + "?" + urlsplit(next_href).query).json()
    assert [t["id"] for t in rest["tasks"]] == [listed[2]["id"]] and "tasks_links" not in rest


def test_list_errors_are_nova_shaped(cloud):
    resp = cloud.client.get("/compute/v2.1/tasks?status=bogus")
    assert resp.status_code == 400 and "bogus" in resp.json()["badRequest"]["message"]
    resp = cloud.client.get("/compute/v2.1/tasks?marker=nope")
    assert resp.status_code == 400 and "marker [nope] not found" in resp.json()["badRequest"]["message"]
    resp = cloud.client.get("/compute/v2.1/tasks?limit=x")
    assert resp.status_code == 400
    resp = cloud.client.get("/compute/v2.1/tasks?changes-since=yesterday")
    assert resp.status_code == 400


def test_projects_see_their_own(cloud):
    mine = cloud.boot("mine")
    theirs = cloud.post("/servers", {"server": {"name": "theirs", "flavorRef": "1", "imageRef": cloud.image_id}},
                        headers=MEMBER)
    cloud.wait_task(theirs.headers["X-Taskvisor-Task"])
    theirs_id = theirs.json()["server"]["id"]
    assert [t["resource_id"] for t in tasks(cloud, headers=MEMBER)["tasks"]] == [theirs_id]
    assert [t["resource_id"] for t in tasks(cloud)["tasks"]] == [mine]          # admin: own project
    every = [t["resource_id"] for t in tasks(cloud, "?all_tenants=1")["tasks"]]  # admin: all projects
    assert every == [theirs_id, mine]
    denied = cloud.client.get("/compute/v2.1/tasks?all_tenants=1", headers=MEMBER)
    assert denied.status_code == 403 and "forbidden" in denied.json()
    member_view = tasks(cloud, headers=MEMBER)["tasks"][0]
    assert "owner" not in member_view and all("traceback" not in s for s in member_view["steps"])
    task_id = tasks(cloud)["tasks"][0]["id"]
    assert cloud.client.get(f"/baremetal/v1/tasks/{task_id}", headers=MEMBER).status_code == 404


def _pause_conductor(cloud):
    cloud.node.conductor.stop(wait=1)


def _resume_conductor(cloud):
    cloud.node.conductor = Conductor(cloud.node.conf, cloud.node.db, cloud.node.transport, FLOWS)
    cloud.node.conductor.start()


def test_queued_task_shows_planned_steps_and_can_be_cancelled(cloud):
    server_id = cloud.boot()
    _pause_conductor(cloud)
    resp = cloud.action(server_id, {"os-stop": None})
    assert resp.status_code == 202
    url = resp.headers["X-Taskvisor-Task"]
    queued = cloud.task(url)
    assert queued["status"] == "queued"
    assert [(s["name"], s["status"]) for s in queued["steps"]] == [("power_off", "pending")]

    cancel = cloud.post(f"/tasks/{queued['id']}/action", {"cancel": None})
    assert cancel.status_code == 202, cancel.text
    _resume_conductor(cloud)
    done = cloud.wait_task(url)
    assert done["status"] == "cancelled" and "cancelled" in done["error"]["message"]
    assert done["steps"][0]["status"] == "pending"          # nothing ran
    server = cloud.wait_status(server_id, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == 1

    again = cloud.post(f"/tasks/{queued['id']}/action", {"cancel": None})
    assert again.status_code == 409 and "already ended (cancelled)" in again.json()["conflictingRequest"]["message"]
    retry = cloud.post(f"/tasks/{queued['id']}/action", {"retry": None})  # the dead-letter action, same route
    assert retry.status_code == 409 and "not dead-lettered" in retry.text
    bad = cloud.post(f"/tasks/{queued['id']}/action", {"reboot": None})
    assert bad.status_code == 400 and "badRequest" in bad.json()
    member = cloud.post(f"/tasks/{queued['id']}/action", {"cancel": None}, headers=MEMBER)
    assert member.status_code == 404


def test_running_step_that_cannot_stop_answers_409(cloud_factory):
    cloud = cloud_factory(fake__spawn_seconds=3.0)
    resp = cloud.post("/servers", {"server": {"name": "slow", "flavorRef": "1", "imageRef": cloud.image_id}})
    url = resp.headers["X-Taskvisor-Task"]
    from tests.procs import wait_for
    wait_for(lambda: cloud.task(url)["current_step"] == "spawn", 30, "the boot to reach spawn")
    task_id = cloud.task(url)["id"]
    answer = cloud.post(f"/tasks/{task_id}/action", {"cancel": None})
    assert answer.status_code == 409 and "spawn, which cannot be cancelled" in answer.text
    assert cloud.wait_task(url)["status"] == "succeeded"


def _stubborn_image(cloud, **props) -> str:
    """A guest that ignores the ACPI power button, with a long shutdown timeout."""
    image = cloud.client.post("/image/v2/images", json={"name": "stubborn", "disk_format": "qcow2",
                                                         "container_format": "bare", "visibility": "public",
                                                         "guest_on_shutdown": "ignore", "os_shutdown_timeout": "600",
                                                         **props})
    assert image.status_code == 201, image.text
    cloud.client.put(f"/image/v2/images/{image.json()['id']}/file", content=b"disk")
    return image.json()["id"]


def _cancel_during_wait(cloud, server_id: str, body: dict) -> dict:
    """Start an action whose first step waits for the guest to shut down, cancel
    it in that wait, and return the ended task."""
    from tests.procs import wait_for
    resp = cloud.action(server_id, body)
    assert resp.status_code in (200, 202), resp.text  # rescue answers 200 (its adminPass), as Nova
    url = resp.headers["X-Taskvisor-Task"]
    # the compute has asked the guest (the console shows it) and is now waiting
    wait_for(lambda: cloud.driver.guests[server_id]["shutdown_requests"] >= 1, 30, "the shutdown request")
    task = cloud.task(url)
    assert task["status"] == "running" and task["steps"][0]["status"] == "running"
    cancel = cloud.post(f"/tasks/{task['id']}/action", {"cancel": None})
    assert cancel.status_code == 202, cancel.text
    # 600 s of timeout would be left: the task ends long before that
    return cloud.wait_task(url, timeout=60)


def test_stop_cancelled_during_its_shutdown_wait_leaves_the_guest_running(cloud):
    server_id = cloud.boot(image=_stubborn_image(cloud))
    done = _cancel_during_wait(cloud, server_id, {"os-stop": None})
    assert done["status"] == "cancelled", done
    assert "cancelled" in done["error"]["message"]
    wait = done["steps"][0]
    assert wait["name"] == "power_off" and wait["status"] == "succeeded"  # it stopped waiting: nothing to undo
    assert wait["details"]["shutdown"] == "cancelled" and wait["details"]["seconds"] < 600
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1
    assert server["OS-EXT-STS:task_state"] is None and "fault" not in server
    assert cloud.driver.guests[server_id]["power_state"] == 1  # never forced off
    # the server takes the next action as usual
    _, again = cloud.act(server_id, {"reboot": {"type": "HARD"}})
    assert again["status"] == "succeeded"


def test_soft_reboot_and_shelve_cancelled_in_the_wait_end_cancelled(cloud):
    server_id = cloud.boot(image=_stubborn_image(cloud))
    for body in ({"reboot": {"type": "SOFT"}}, {"shelve": None}, {"rescue": {}}):
        done = _cancel_during_wait(cloud, server_id, body)
        assert done["status"] == "cancelled", (body, done)
        assert done["steps"][0]["details"]["shutdown"] == "cancelled"
        assert all(s["status"] == "pending" for s in done["steps"][1:]), done["steps"]
        assert cloud.server(server_id)["status"] == "ACTIVE"
        assert cloud.driver.guests[server_id]["power_state"] == 1
        cloud.driver.guests[server_id]["shutdown_requests"] = 0  # the next wait looks for a new request


def test_cancel_reaching_a_guest_that_already_went_off_powers_it_back_on(cloud):
    """The cancel lands after the wait ended (an old compute finishes its wait):
    the task still ends cancelled, and undoing the stop powers the guest on."""
    server_id = cloud.boot(image=_stubborn_image(cloud, os_shutdown_timeout="1"))
    from taskvisor.flows import power as power_flows
    step = power_flows.stop.steps[0]
    real = step.execute

    def wait_then_cancel(ctx):
        details = real(ctx)  # forced off after 1 s
        cloud.post(f"/tasks/{ctx.task['id']}/action", {"cancel": None})
        return details
    step.execute = wait_then_cancel
    try:
        _, task = cloud.act(server_id, {"os-stop": None})
    finally:
        step.execute = real
    assert task["status"] == "cancelled", task
    assert task["steps"][0]["details"]["shutdown"] == "forced"
    assert cloud.server(server_id)["status"] == "ACTIVE"
    assert cloud.driver.guests[server_id]["power_state"] == 1
