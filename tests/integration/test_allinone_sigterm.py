"""SIGTERM of a real `taskvisor all-in-one` mid-boot is a graceful stop
(issue 14 #5): the process exits 0 after its running steps reached their
checkpoints, and after a restart every task completes without any step
having run twice."""
from __future__ import annotations

import json
import os
import signal

import httpx

from tests.procs import all_in_one, wait_for

COMPUTE = "/compute/v2.1"


def test_sigterm_mid_boot_exits_0_and_every_task_completes_after_restart(tmp_path, procs):
    data_dir = str(tmp_path)
    env = {"TASKVISOR_FAKE__SPAWN_SECONDS": "2", "TASKVISOR_CONDUCTOR__LEASE_SECONDS": "3"}
    first = all_in_one(data_dir, env=env).start()
    procs.append(first)
    api = httpx.Client(base_url=first.base_url, timeout=10)
    image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    server_ids, task_urls = [], []
    for i in range(4):
        resp = api.post(f"{COMPUTE}/servers", json={"server": {"name": f"term-{i}", "flavorRef": "1",
                                                                "imageRef": image}})
        assert resp.status_code == 202
        server_ids.append(resp.json()["server"]["id"])
        task_urls.append(resp.headers["X-Taskvisor-Task"].split(first.base_url, 1)[1])

    wait_for(lambda: any(api.get(u).json()["task"]["current_step"] == "spawn" for u in task_urls), 20,
             "a boot to reach its spawn step")
    first.signal(signal.SIGTERM)
    assert first.proc.wait(60) == 0, first.log()
    log = first.log()
    assert "SIGTERM" in log and "all-in-one stopped" in log, log

    second = all_in_one(data_dir, port=first.port, env=env).start()
    procs.append(second)
    tasks = wait_for(lambda: [t for t in (api.get(u).json()["task"] for u in task_urls)]
                     if all(api.get(u).json()["task"]["status"] == "succeeded" for u in task_urls) else None,
                     60, "every boot to succeed after the restart")
    # graceful: the spawns in flight finished before the exit, nothing ran twice
    assert all(s["attempt"] == 1 for t in tasks for s in t["steps"]), tasks
    with open(os.path.join(data_dir, "fake-guests-localhost.json")) as f:
        state = json.load(f)
    assert sorted(state["guests"]) == sorted(server_ids)
    assert all(state["counts"][sid]["spawn"] == 1 for sid in server_ids)
    assert second.stop() == 0
