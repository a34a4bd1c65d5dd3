"""Boot and delete through HTTP: tasks, steps, statuses, errors."""
from __future__ import annotations

import pytest

from tests.procs import wait_for


def test_boot_then_delete_records_every_step(cloud):
    resp = cloud.post("/servers", {"server": {"name": "web", "flavorRef": "1", "imageRef": cloud.image_id,
                                              "networks": "auto", "metadata": {"role": "web"}}})
    assert resp.status_code == 202
    server_id = resp.json()["server"]["id"]
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded" and task["action"] == "create" and task["progress"] == 100
    assert [s["name"] for s in task["steps"]] == ["schedule", "allocate_network", "spawn"]
    assert all(s["status"] == "succeeded" and s["host"] == "localhost" for s in task["steps"])
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1
    assert server["metadata"] == {"role": "web"} and server["addresses"]["private"][0]["addr"].startswith("10.")
    assert cloud.driver.list_guests() == {server_id: 1}

    resp = cloud.delete(f"/servers/{server_id}")
    assert resp.status_code == 204
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded"
    assert task["steps"][0]["details"]["shutdown"] == "clean"
    assert cloud.get(f"/servers/{server_id}").status_code == 404
    assert cloud.driver.list_guests() == {}
    # a deleted server's tasks stay readable
    tasks = cloud.get(f"/servers/{server_id}/tasks").json()["tasks"]
    assert [t["action"] for t in tasks] == ["delete", "create"]


def test_status_moves_from_build_to_active(cloud):
    cloud.driver.inject("spawn", delay=0.5)
    server_id = cloud.boot(wait=False)
    server = cloud.server(server_id)
    assert server["status"] == "BUILD" and server["OS-EXT-STS:vm_state"] == "building"
    assert server["OS-EXT-STS:task_state"] in ("scheduling", "networking", "spawning")
    cloud.wait_status(server_id, "ACTIVE")


def test_steps_fill_in_while_the_task_runs(cloud):
    cloud.driver.inject("spawn", delay=0.6)
    resp = cloud.post("/servers", {"server": {"name": "slow", "flavorRef": "1", "imageRef": cloud.image_id}})
    url = resp.headers["X-Taskvisor-Task"]
    task = wait_for(lambda: (t := cloud.task(url))["current_step"] == "spawn" and t, 60, "the spawn step",
                    interval=0.01)
    assert task["status"] == "running"
    assert [s["status"] for s in task["steps"]] == ["succeeded", "succeeded", "running"]
    assert cloud.wait_task(url)["status"] == "succeeded"


def test_failed_spawn_reverts_and_shows_a_fault(cloud):
    cloud.driver.inject("spawn", fail="the hypervisor is on fire")
    resp = cloud.post("/servers", {"server": {"name": "doomed", "flavorRef": "1", "imageRef": cloud.image_id}})
    server_id = resp.json()["server"]["id"]
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "reverted"
    assert "the hypervisor is on fire" in task["error"]["message"]
    assert [s["status"] for s in task["steps"]] == ["succeeded", "reverted", "reverted"]
    server = cloud.server(server_id)
    assert server["status"] == "ERROR" and server["addresses"] == {}
    assert "the hypervisor is on fire" in server["fault"]["message"]
    assert cloud.driver.list_guests() == {}


def test_delete_supersedes_a_running_boot(cloud):
    cloud.driver.inject("spawn", delay=1.0)
    resp = cloud.post("/servers", {"server": {"name": "short-lived", "flavorRef": "1", "imageRef": cloud.image_id}})
    server_id, boot_url = resp.json()["server"]["id"], resp.headers["X-Taskvisor-Task"]
    delete = cloud.delete(f"/servers/{server_id}")
    assert delete.status_code == 204
    assert cloud.wait_task(delete.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    assert cloud.wait_task(boot_url)["status"] == "cancelled"
    assert cloud.get(f"/servers/{server_id}").status_code == 404
    assert cloud.driver.list_guests() == {}


def test_list_detail_and_name_filter(cloud):
    a, b = cloud.boot("alpha"), cloud.boot("beta")
    names = {s["name"] for s in cloud.get("/servers").json()["servers"]}
    assert names == {"alpha", "beta"}
    assert [s["id"] for s in cloud.get("/servers?name=^alp").json()["servers"]] == [a]
    detail = cloud.get("/servers/detail?name=beta").json()["servers"]
    assert [s["id"] for s in detail] == [b] and detail[0]["status"] == "ACTIVE"
    assert "OS-EXT-STS:vm_state" in detail[0]


def test_projects_see_only_their_servers(cloud):
    mine = cloud.boot("mine")
    other = {"X-Project-Id": "other", "X-User-Id": "u2", "X-Roles": "member"}
    assert cloud.get("/servers", headers=other).json()["servers"] == []
    assert cloud.get(f"/servers/{mine}", headers=other).status_code == 404
    assert cloud.delete(f"/servers/{mine}", headers=other).status_code == 404


@pytest.mark.parametrize("body, fragment", [
    ({"server": {"name": "x"}}, "'flavorRef' is a required property"),
    ({"server": {"name": 5, "flavorRef": "1"}}, "field/attribute server/name"),
    ({"server": {"name": "x", "flavorRef": "1", "colour": "red"}}, "'colour' was unexpected"),
    ({"server": {"name": "x", "flavorRef": "999", "imageRef": "abc"}}, "Flavor 999 could not be found"),
    ({"server": {"name": "x", "flavorRef": "1", "imageRef": "nope"}}, "Image nope could not be found"),
    ({"server": {"name": "x", "flavorRef": "1", "networks": "everything"}}, "field/attribute server/networks"),
    ([1, 2], "is not of type 'object'"),
])
def test_bad_boot_requests_get_nova_400s(cloud, body, fragment):
    resp = cloud.post("/servers", body)
    assert resp.status_code == 400, resp.text
    assert fragment in resp.json()["badRequest"]["message"]
    assert cloud.get("/servers").json()["servers"] == []


def test_malformed_json_is_a_400(cloud):
    resp = cloud.client.post("/compute/v2.1/servers", content=b"{nope", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["badRequest"]["message"] == "Malformed request body"


def test_unknown_server_is_404_so_clients_fall_back_to_names(cloud):
    for ident in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        resp = cloud.get(f"/servers/{ident}")
        assert resp.status_code == 404 and "itemNotFound" in resp.json()
