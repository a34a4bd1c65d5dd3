"""kill -9 of a real `taskvisor all-in-one` in the middle of boots loses
nothing: after a restart every task completes, every server is ACTIVE,
no step ran more than twice, and each server has exactly one guest."""
from __future__ import annotations

import httpx

from tests.integration.allinone_boots import COMPUTE, boot_servers, fake_guests, start_all_in_one, wait_all_succeeded
from tests.procs import wait_for


def test_kill_9_mid_boot_then_restart_completes_every_task(tmp_path, procs):
    data_dir = str(tmp_path)
    first = start_all_in_one(data_dir, procs)
    api = httpx.Client(base_url=first.base_url, timeout=10)
    server_ids, task_urls = boot_servers(api, first.base_url, 6, "crash")

    def spawning():
        return [u for u in task_urls if api.get(u).json()["task"]["current_step"] == "spawn"]

    wait_for(spawning, 15, "a boot to reach its spawn step")
    first.kill()

    second = start_all_in_one(data_dir, procs, port=first.port)
    tasks = wait_all_succeeded(api, task_urls)
    for server_id in server_ids:
        server = api.get(f"{COMPUTE}/servers/{server_id}").json()["server"]
        assert server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None
    attempts = [s["attempt"] for t in tasks for s in t["steps"]]
    assert max(attempts) <= 2
    assert any(a == 2 for a in attempts), "the kill should have caught at least one step in flight"
    state = fake_guests(data_dir)
    assert sorted(state["guests"]) == sorted(server_ids)
    assert all(state["counts"][sid]["spawn"] == 1 for sid in server_ids)
    second.stop()
