"""Process guests through the API: an in-process cloud whose compute runs
real guest processes (compute driver "process")."""
from __future__ import annotations

import json
import os
import signal

import pytest
from fastapi.testclient import TestClient

from taskvisor.allinone import AllInOne
from taskvisor.states import power
from taskvisor.virt.process import proc_stat
from tests.conftest import Cloud, make_conf
from tests.guests import kill_guests
from tests.procs import wait_for

V2101 = {"OpenStack-API-Version": "compute 2.101"}


@pytest.fixture
def clouds(tmp_path):
    """Start (and restart) process-driver clouds on one data dir."""
    nodes: list[AllInOne] = []

    def start(**overrides) -> Cloud:
        node = AllInOne(make_conf(tmp_path, compute__driver="process", **overrides)).start()
        nodes.append(node)
        return Cloud(node, TestClient(node.app()))

    def stop(cloud: Cloud) -> None:
        nodes.remove(cloud.node)
        cloud.node.stop(wait=1)

    start.stop = stop
    yield start
    for node in nodes:
        node.stop(wait=1)
    kill_guests(tmp_path)


def make_image(cloud: Cloud, **props) -> str:
    resp = cloud.client.post("/image/v2/images", json={"name": "guest", "disk_format": "raw",
                                                        "container_format": "bare",
                                                        **{k: str(v) for k, v in props.items()}})
    assert resp.status_code == 201, resp.text
    image_id = resp.json()["id"]
    assert cloud.client.put(f"/image/v2/images/{image_id}/file", content=b"").status_code == 204
    return image_id


def pid(cloud: Cloud, server_id: str) -> int:
    with open(cloud.driver._dir(server_id, "pid")) as f:
        return json.load(f)["pid"]


def disk(cloud: Cloud, server_id: str, *parts: str) -> str:
    return cloud.driver._dir(server_id, "disk", *parts)


def console(cloud: Cloud, server_id: str, length: int | None = None) -> str:
    # the last ``length`` lines: Nova's length also counts the empty text after the last newline
    body = {"os-getConsoleOutput": {} if length is None else {"length": length + 1}}
    resp = cloud.action(server_id, body)
    assert resp.status_code == 200, resp.text
    return resp.json()["output"]


def sigterms(cloud: Cloud, server_id: str) -> int:
    return console(cloud, server_id).count("signal SIGTERM")


def wait_dead(p: int) -> None:
    wait_for(lambda: (proc_stat(p) or "Z")[0] == "Z", 60, f"guest process {p} to end", interval=0.01)


def test_boot_then_delete_runs_the_clean_path(clouds):
    cloud = clouds(compute__shutdown_retry_interval=10)
    server_id = cloud.boot(image=make_image(cloud, guest_shutdown_seconds=1))
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == power.RUNNING
    guest = pid(cloud, server_id)
    assert proc_stat(guest)[0] in "RS"
    assert "ready" in console(cloud, server_id, 1)

    resp = cloud.delete(f"/servers/{server_id}")
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded"
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "clean" and details["requested"] == 5 and details["retries"] == 0
    assert details["seconds"] >= 1.0  # it waited for the guest; "clean" says the timeout did not pass
    assert proc_stat(guest) is None and not os.path.exists(cloud.driver._dir(server_id))


def test_image_timeout_overrides_the_config(clouds):
    cloud = clouds(DEFAULT__shutdown_timeout=30)
    server_id = cloud.boot(image=make_image(cloud, guest_on_shutdown="ignore", os_shutdown_timeout=1))
    task = cloud.wait_task(cloud.delete(f"/servers/{server_id}").headers["X-Taskvisor-Task"])
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "forced" and details["reason"] == "timeout"
    assert details["requested"] == 1 and details["seconds"] >= 1


def test_zero_timeout_forces_at_once_without_a_request(clouds):
    cloud = clouds(DEFAULT__shutdown_timeout=0)
    server_id = cloud.boot(image=make_image(cloud, guest_shutdown_seconds=30))
    _, task = cloud.act(server_id, {"os-stop": {}})
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "forced" and details["reason"] == "shutdown timeout is 0"
    assert cloud.wait_status(server_id, "SHUTOFF")["OS-EXT-STS:power_state"] == power.SHUTDOWN
    assert sigterms(cloud, server_id) == 0


def test_stop_cleanly_then_start_again_on_the_same_disk(clouds):
    cloud = clouds()
    server_id = cloud.boot(image=make_image(cloud, guest_shutdown_seconds=0.5))
    _, task = cloud.act(server_id, {"os-stop": {}})
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "clean" and details["seconds"] >= 0.5
    assert cloud.wait_status(server_id, "SHUTOFF")["OS-EXT-STS:power_state"] == power.SHUTDOWN
    assert "shutdown complete" in console(cloud, server_id)
    cloud.act(server_id, {"os-start": None})
    cloud.wait_status(server_id, "ACTIVE")
    assert "boot=2" in console(cloud, server_id)


def test_stop_with_force_kills_without_asking(clouds):
    cloud = clouds()
    server_id = cloud.boot(image=make_image(cloud, guest_shutdown_seconds=30))
    _, task = cloud.act(server_id, {"os-stop": {"force": True}}, V2101)
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "forced" and details["reason"] == "force requested"
    cloud.wait_status(server_id, "SHUTOFF")
    assert sigterms(cloud, server_id) == 0


def test_guest_that_answers_the_second_request(clouds):
    cloud = clouds()  # shutdown_retry_interval is 1 s in tests
    server_id = cloud.boot(image=make_image(cloud, guest_on_shutdown="second-request"))
    _, task = cloud.act(server_id, {"os-stop": {}})
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "clean" and details["retries"] == 1 and details["seconds"] >= 1
    assert sigterms(cloud, server_id) == 2


def test_pause_unpause_and_delete_while_paused(clouds):
    cloud = clouds()
    server_id = cloud.boot(image=make_image(cloud))
    cloud.act(server_id, {"pause": None})
    assert cloud.wait_status(server_id, "PAUSED")["OS-EXT-STS:power_state"] == power.PAUSED
    assert proc_stat(pid(cloud, server_id))[0] == "T"
    cloud.act(server_id, {"unpause": None})
    cloud.wait_status(server_id, "ACTIVE")
    cloud.act(server_id, {"pause": None})
    task = cloud.wait_task(cloud.delete(f"/servers/{server_id}").headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded" and task["steps"][0]["details"]["shutdown"] == "forced"


def test_rescue_and_unrescue(clouds):
    cloud = clouds()
    server_id = cloud.boot(image=make_image(cloud))
    with open(disk(cloud, server_id, "data.txt"), "w") as f:
        f.write("precious")
    original = pid(cloud, server_id)
    rescue_image = make_image(cloud, guest_boot_seconds=0.2)
    _, task = cloud.act(server_id, {"rescue": {"rescue_image_ref": rescue_image}})
    assert task["status"] == "succeeded", task
    assert task["steps"][0]["details"]["shutdown"] == "clean"
    cloud.wait_status(server_id, "RESCUE")
    assert proc_stat(original) is None
    out = console(cloud, server_id)
    assert "booting rescue" in out and "original disk attached read-only" in out
    attached = cloud.driver._dir(server_id, "rescue", "attached", "data.txt")
    with open(attached) as f:
        assert f.read() == "precious"
    cloud.act(server_id, {"unrescue": None})
    cloud.wait_status(server_id, "ACTIVE")
    assert "booting guest" in console(cloud, server_id, 2)
    with open(disk(cloud, server_id, "boot_count")) as f:
        assert f.read() == "2"


def test_shelve_and_unshelve_restore_the_disk(clouds):
    cloud = clouds()
    server_id = cloud.boot(image=make_image(cloud, guest_shutdown_seconds=0.2))
    with open(disk(cloud, server_id, "data.txt"), "w") as f:
        f.write("survives shelving")
    _, task = cloud.act(server_id, {"shelve": None})
    assert task["status"] == "succeeded", task
    assert task["steps"][0]["details"]["shutdown"] == "clean"
    cloud.wait_status(server_id, "SHELVED_OFFLOADED")
    assert not os.path.exists(cloud.driver._dir(server_id))
    _, task = cloud.act(server_id, {"unshelve": None})
    assert task["status"] == "succeeded", task
    cloud.wait_status(server_id, "ACTIVE")
    with open(disk(cloud, server_id, "data.txt")) as f:
        assert f.read() == "survives shelving"
    with open(disk(cloud, server_id, "boot_count")) as f:
        assert f.read() == "2"
    # the guest keeps its image's behaviour after unshelve
    _, task = cloud.act(server_id, {"os-stop": {}})
    assert task["steps"][0]["details"]["shutdown"] == "clean"


def test_resize_is_visible_in_the_guests_environment(clouds):
    cloud = clouds()
    server_id = cloud.boot(image=make_image(cloud))
    assert "flavor=m1.tiny vcpus=1 ram_mb=512 disk_gb=1" in console(cloud, server_id)
    _, task = cloud.act(server_id, {"resize": {"flavorRef": "3"}})
    assert task["status"] == "succeeded", task
    cloud.wait_status(server_id, "VERIFY_RESIZE")
    assert "flavor=m1.medium vcpus=2 ram_mb=4096 disk_gb=40" in console(cloud, server_id, 3)
    cloud.act(server_id, {"revertResize": None})
    cloud.wait_status(server_id, "ACTIVE")
    assert "flavor=m1.tiny vcpus=1 ram_mb=512 disk_gb=1" in console(cloud, server_id, 3)


def test_compute_restart_adopts_guests_and_reports_dead_ones(clouds):
    cloud = clouds()
    image = make_image(cloud)
    alive, dead = cloud.boot(image=image), cloud.boot(image=image)
    alive_pid, dead_pid = pid(cloud, alive), pid(cloud, dead)
    clouds.stop(cloud)
    os.kill(dead_pid, signal.SIGKILL)  # the guest dies while its compute is down
    wait_dead(dead_pid)

    cloud = clouds()
    assert cloud.wait_status(dead, "SHUTOFF")["OS-EXT-STS:power_state"] == power.SHUTDOWN
    server = cloud.wait_status(alive, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == power.RUNNING and pid(cloud, alive) == alive_pid
    # the adopted guest is driven as before; the dead one starts again
    _, task = cloud.act(alive, {"os-stop": {}})
    assert task["steps"][0]["details"]["shutdown"] == "clean"
    assert proc_stat(alive_pid) is None
    cloud.act(dead, {"os-start": None})
    cloud.wait_status(dead, "ACTIVE")
    assert pid(cloud, dead) != dead_pid


def test_periodic_sync_notices_a_guest_that_died(clouds):
    cloud = clouds(compute__sync_power_state_interval=1)
    server_id = cloud.boot(image=make_image(cloud))
    guest = pid(cloud, server_id)
    os.kill(guest, signal.SIGKILL)
    assert cloud.wait_status(server_id, "SHUTOFF", timeout=10)["OS-EXT-STS:power_state"] == power.SHUTDOWN


def test_soft_and_hard_reboot_restart_the_guest_process(clouds):
    cloud = clouds()
    server_id = cloud.boot(image=make_image(cloud, guest_shutdown_seconds=0.2))
    first = pid(cloud, server_id)
    _, task = cloud.act(server_id, {"reboot": {"type": "SOFT"}})
    assert task["steps"][0]["details"]["reboot"] == "soft"
    cloud.wait_status(server_id, "ACTIVE")
    second = pid(cloud, server_id)
    assert second != first and sigterms(cloud, server_id) == 1
    _, task = cloud.act(server_id, {"reboot": {"type": "HARD"}})
    assert task["steps"][0]["details"]["shutdown"] == "forced"
    cloud.wait_status(server_id, "ACTIVE")
    assert pid(cloud, server_id) != second and sigterms(cloud, server_id) == 1
    assert "boot=3" in console(cloud, server_id, 2)
