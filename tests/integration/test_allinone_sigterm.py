"""SIGTERM of a real `taskvisor all-in-one` mid-boot is a graceful stop
(issue 14 #5): the process exits 0 after its running steps reached their
checkpoints, and after a restart every task completes without any step
having run twice."""
from __future__ import annotations

import signal

import httpx

from tests.integration.allinone_boots import boot_servers, fake_guests, start_all_in_one, wait_all_succeeded
from tests.procs import wait_for


def test_sigterm_mid_boot_exits_0_and_every_task_completes_after_restart(tmp_path, procs):
    data_dir = str(tmp_path)
    first = start_all_in_one(data_dir, procs)
    api = httpx.Client(base_url=first.base_url, timeout=10)
    server_ids, task_urls = boot_servers(api, first.base_url, 4, "term")

    wait_for(lambda: any(api.get(u).json()["task"]["current_step"] == "spawn" for u in task_urls), 20,
             "a boot to reach its spawn step")
    first.signal(signal.SIGTERM)
    assert first.proc.wait(60) == 0, first.log()
    log = first.log()
    assert "SIGTERM" in log and "all-in-one stopped" in log, log

    second = start_all_in_one(data_dir, procs, port=first.port)
    tasks = wait_all_succeeded(api, task_urls)
    # graceful: the spawns in flight finished before the exit, nothing ran twice
    assert all(s["attempt"] == 1 for t in tasks for s in t["steps"]), tasks
    state = fake_guests(data_dir)
    assert sorted(state["guests"]) == sorted(server_ids)
    assert all(state["counts"][sid]["spawn"] == 1 for sid in server_ids)
    assert second.stop() == 0
