"""Process guests outlive a real `taskvisor all-in-one --driver process` that
is killed with -9: the restarted compute adopts the same processes, and a
guest that died meanwhile shows SHUTOFF."""
from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest

from taskvisor.virt.process import proc_stat
from tests.guests import kill_guests
from tests.procs import all_in_one

COMPUTE = "/compute/v2.1"


@pytest.fixture
def data_dir(tmp_path):
    yield str(tmp_path)
    kill_guests(tmp_path)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def guest_pid(data_dir: str, server_id: str) -> int:
    with open(os.path.join(data_dir, "guests", server_id, "pid")) as f:
        return json.load(f)["pid"]


def test_guests_survive_kill_9_of_their_compute_and_are_adopted(data_dir, procs):
    first = all_in_one(data_dir, driver="process").start()
    procs.append(first)
    api = httpx.Client(base_url=first.base_url, timeout=10)
    image = api.post("/image/v2/images", json={"name": "g", "disk_format": "raw", "container_format": "bare",
                                               "guest_shutdown_seconds": "0.2"}).json()["id"]
    api.put(f"/image/v2/images/{image}/file", content=b"")
    ids = [api.post(f"{COMPUTE}/servers", json={"server": {"name": f"vm-{i}", "flavorRef": "1",
                                                           "imageRef": image}}).json()["server"]["id"]
           for i in range(2)]

    def status(server_id):
        server = api.get(f"{COMPUTE}/servers/{server_id}").json()["server"]
        return server["status"] if server["OS-EXT-STS:task_state"] is None else None

    wait_for(lambda: all(status(s) == "ACTIVE" for s in ids), 30, "both servers ACTIVE")
    alive, dead = ids
    alive_pid, dead_pid = guest_pid(data_dir, alive), guest_pid(data_dir, dead)
    first.kill()
    assert proc_stat(alive_pid)[0] in "RS" and proc_stat(dead_pid)[0] in "RS"  # guests outlive the compute
    os.kill(dead_pid, signal.SIGKILL)

    second = all_in_one(data_dir, port=first.port, driver="process").start()
    procs.append(second)
    wait_for(lambda: status(dead) == "SHUTOFF", 30, "the dead guest's server to show SHUTOFF")
    assert status(alive) == "ACTIVE" and guest_pid(data_dir, alive) == alive_pid
    # the adopted guest still shuts down cleanly through the new compute
    resp = api.post(f"{COMPUTE}/servers/{alive}/action", json={"os-stop": None})
    url = resp.headers["X-Taskvisor-Task"].split(second.base_url, 1)[1]
    task = wait_for(lambda: (t := api.get(url).json()["task"])["status"] == "succeeded" and t, 30, "stop")
    assert task["steps"][0]["details"]["shutdown"] == "clean"
    assert (proc_stat(alive_pid) or "Z")[0] == "Z"  # gone (or a zombie of init)
