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
