"""Boots against a real `taskvisor all-in-one` for the stop tests (kill -9,
SIGTERM): start a batch, wait for all of it, read what the fake driver did."""
from __future__ import annotations

import os

import httpx

from taskvisor.virt.fake import saved_state
from tests.procs import TaskvisorProcess, all_in_one, wait_for

COMPUTE = "/compute/v2.1"
# boots slow enough to be caught mid-spawn, and a lease short enough to be taken over soon
ENV = {"TASKVISOR_FAKE__SPAWN_SECONDS": "2", "TASKVISOR_CONDUCTOR__LEASE_SECONDS": "3"}


def start_all_in_one(data_dir: str, procs: list, port: int | None = None,
                     extra: list[str] | None = None) -> TaskvisorProcess:
    """A started all-in-one on data_dir (again on `port` for a restart), stopped by the `procs` fixture."""
    proc = all_in_one(data_dir, port=port, env=ENV, extra=extra).start()
    procs.append(proc)
    return proc


def boot_servers(api: httpx.Client, base_url: str, count: int, prefix: str) -> tuple[list[str], list[str]]:
    """Starts `count` boots of cirros; returns their server ids and task URLs (paths)."""
    image = api.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    server_ids, task_urls = [], []
    for i in range(count):
        resp = api.post(f"{COMPUTE}/servers", json={"server": {"name": f"{prefix}-{i}", "flavorRef": "1",
                                                                "imageRef": image}})
        assert resp.status_code == 202
        server_ids.append(resp.json()["server"]["id"])
        task_urls.append(resp.headers["X-Taskvisor-Task"].split(base_url, 1)[1])
    return server_ids, task_urls


def wait_all_succeeded(api: httpx.Client, task_urls: list[str]) -> list[dict]:
    """The tasks, once every one of them has succeeded."""
    return wait_for(lambda: [t for t in (api.get(u).json()["task"] for u in task_urls)]
                    if all(api.get(u).json()["task"]["status"] == "succeeded" for u in task_urls) else None,
                    60, "every boot to succeed after the restart")


def fake_guests(data_dir: str) -> dict:
    """What the fake driver of the all-in-one's compute recorded: guests and calls per server."""
    return saved_state(os.path.join(data_dir, "fake-guests-localhost.json"))
