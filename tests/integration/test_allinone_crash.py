"""kill -9 of a real `taskvisor all-in-one` in the middle of boots loses
nothing: after a restart every task completes, every server is ACTIVE,
no step ran more than twice, and each server has exactly one guest."""
from __future__ import annotations

import json
import os

import httpx

from tests.procs import all_in_one, wait_for

COMPUTE = "/compute/v2.1"



def test_kill_9_mid_boot_then_restart_completes_every_task(tmp_path, procs):
    data_dir = str(tmp_path)
    env = {"TASKVISOR_FAKE__SPAWN_SECONDS": "2", "TASKVISOR_CONDUCTOR__LEASE_SECONDS": "3"}
    first = all_in_one(data_dir, env=env).start()
    procs.append(first)
    api = httpx.Client(base_url=first.base_url, timeout=10)
    image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    server_ids, task_urls = [], []
    for i in range(6):
        resp = api.post(f"{COMPUTE}/servers", json={"server": {"name": f"crash-{i}", "flavorRef": "1",
                                                                "imageRef": image}})
        assert resp.status_code == 202
        server_ids.append(resp.json()["server"]["id"])
        task_urls.append(resp.headers["X-Taskvisor-Task"].split(first.base_url, 1)[1])

    def spawning():
        return [u for u in task_urls if api.get(u).json()["task"]["current_step"] == "spawn"]

    wait_for(spawning, 15, "a boot to reach its spawn step")
    first.kill()

    second = all_in_one(data_dir, port=first.port, env=env).start()
    procs.append(second)
    tasks = wait_for(lambda: [t for t in (api.get(u).json()["task"] for u in task_urls)]
                     if all(api.get(u).json()["task"]["status"] == "succeeded" for u in task_urls) else None,
                     60, "every boot to succeed after the restart")
    for server_id in server_ids:
        server = api.get(f"{COMPUTE}/servers/{server_id}").json()["server"]
        assert server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None
    attempts = [s["attempt"] for t in tasks for s in t["steps"]]
    assert max(attempts) <= 2
    assert any(a == 2 for a in attempts), "the kill should have caught at least one step in flight"
    with open(os.path.join(data_dir, "fake-guests-localhost.json")) as f:
        state = json.load(f)
    assert sorted(state["guests"]) == sorted(server_ids)
    assert all(state["counts"][sid]["spawn"] == 1 for sid in server_ids)
    second.stop()
