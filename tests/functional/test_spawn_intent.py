"""Intent before effect for the steps that ask a host for a guest (boot's
spawn, an offloaded unshelve's spawn; issue 14 #2), in process: the host a
spawn is asked of is written, fenced, before the call; a takeover that finds
an unanswered intent on a host that is down records the undo there and
places the server elsewhere."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from sqlalchemy import insert, select, update

from taskvisor.db.models import servers, services, tasks
from taskvisor.db.session import utcnow
from taskvisor.states import power
from taskvisor.tasks.store import insert_task, new_task_row
from tests.procs import wait_for


def _offloaded(cloud) -> str:
    server_id = cloud.boot()
    cloud.act(server_id, {"shelve": None})  # [DEFAULT] shelved_offload_time = 0: offloaded at once
    cloud.wait_status(server_id, "SHELVED_OFFLOADED")
    assert cloud.driver.list_guests() == {}
    return server_id


def _task_row(cloud, task_id: str) -> dict:
    with cloud.node.db.read() as conn:
        return dict(conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().one())


def _start_boot(cloud, held):
    cloud.driver.inject("spawn", hold=held)
    resp = cloud.post("/servers", {"server": {"name": "vm", "flavorRef": "1", "imageRef": cloud.image_id}})
    return resp.json()["server"]["id"], resp


def _start_unshelve(cloud, held):
    server_id = _offloaded(cloud)
    cloud.driver.inject("spawn", hold=held)
    return server_id, cloud.action(server_id, {"unshelve": None})


@pytest.mark.parametrize("start", [_start_boot, _start_unshelve], ids=["boot", "unshelve"])
def test_the_intent_is_written_before_the_spawn_call(cloud, start):
    held = threading.Event()
    try:
        server_id, resp = start(cloud, held)
        assert resp.status_code == 202, resp.text
        url = resp.headers["X-Taskvisor-Task"]
        task_id = url.rstrip("/").rsplit("/", 1)[-1]
        wait_for(lambda: cloud.task(url)["current_step"] == "spawn", 60, "the spawn step")
        # the compute holds the call; the database already says whom it asked
        row = wait_for(lambda: (r := _task_row(cloud, task_id))["store"].get("asked") and r, 60,
                       "the intent to be written")
        assert row["store"]["asked"] == {"localhost": {"what": "spawn", "generation": row["generation"]}}
        assert server_id not in cloud.driver.list_guests()  # the spawn has not happened yet
        assert [s["status"] for s in cloud.task(url)["steps"] if s["name"] == "spawn"] == ["running"]
    finally:
        held.set()
    task = cloud.wait_task(url)
    assert task["status"] == "succeeded", task
    assert cloud.driver.list_guests() == {server_id: power.RUNNING}


def _mid_boot(cloud):
    """A booting server whose guest was never made here (the boot's spawn
    went to "gone")."""
    server_id = cloud.boot()
    cloud.driver.destroy(server_id)
    return server_id, "boot", "create", {}, {"vm_state": "building", "power_state": power.NOSTATE}


def _mid_unshelve(cloud):
    return _offloaded(cloud), "unshelve", "unshelve", {"source": "shelved_offloaded"}, {}


@pytest.mark.parametrize("mid_spawn", [_mid_boot, _mid_unshelve], ids=["boot", "unshelve"])
def test_a_takeover_with_an_intent_on_a_down_host_undoes_there_then_spawns_elsewhere(cloud, mid_spawn):
    """The state a conductor leaves when it dies mid-spawn on compute "gone"
    (which then went down): the task is running with an expired lease and
    its store names the host it asked. The conductor that takes it over
    must not spawn there again nor forget it."""
    server_id, flow, action, params, server_fields = mid_spawn(cloud)
    now = utcnow()
    with cloud.node.db.write() as conn:
        local = dict(conn.execute(select(services).where(services.c.binary == "taskvisor-compute"))
                     .mappings().one())
        conn.execute(insert(services), {**{k: v for k, v in local.items() if k != "id"}, "host": "gone",
                                        "forced_down": True, "created_at": now, "updated_at": now})
        task = new_task_row(resource_type="server", resource_id=server_id, action=action, flow=flow,
                            flow_version=1, params=params, project_id="admin")
        task.update(status="running", owner="dead-conductor", owner_instance=str(uuid.uuid4()), generation=3,
                    lease_expires=time.time() - 1,
                    store={"asked": {"gone": {"what": "spawn", "generation": 3}}})
        insert_task(conn, task)
        conn.execute(update(servers).where(servers.c.id == server_id).values(
            host="gone", node="gone", task_state="spawning", task_id=task["id"], **server_fields))
    cloud.node.conductor.wake()
    ended = cloud.wait_task(f"http://testserver/compute/v2.1/tasks/{task['id']}")
    assert ended["status"] == "succeeded", ended
    assert _task_row(cloud, task["id"])["takeovers"] == 1  # claimed from the dead owner
    spawn = next(s for s in ended["steps"] if s["name"] == "spawn")
    assert spawn["details"]["rerouted"] == {"from": "gone", "to": "localhost"}, spawn
    assert spawn["details"]["undone_on"].startswith("gone (down: its reconciler destroys"), spawn
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == "localhost"
    assert cloud.driver.list_guests() == {server_id: power.RUNNING}
    # the new host's intent is recorded beside the old one's
    assert set(_task_row(cloud, task["id"])["store"]["asked"]) == {"gone", "localhost"}
