"""Recovery with real processes on PostgreSQL and RabbitMQ: no operation is
lost, duplicated or stranded when a conductor or a compute dies or stalls."""
from __future__ import annotations

import json
import os
import signal
import subprocess

from taskvisor.virt.fake import saved_state
from tests.integration.distributed import Api, cluster_factory  # noqa: F401  (fixture)
from tests.procs import wait_for

SLOW = {"TASKVISOR_FAKE__SPAWN_SECONDS": "3", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "6",
        "TASKVISOR_CONDUCTOR__COMPUTE_DOWN_DEADLINE": "12", "TASKVISOR_CONDUCTOR__RETRY_BACKOFF": "0.5"}


def guests(cluster, host: str) -> dict:
    return saved_state(os.path.join(cluster.data_dir, host, f"fake-guests-{host}.json"))


def unacked(cluster, queue: str) -> int:
    """Messages a consumer of the cluster's ``queue`` holds but has not acked yet."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name", "messages_unacknowledged"],
                         capture_output=True, text=True, timeout=60).stdout
    counts = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
    return int(counts.get(f"{cluster.namespace}.{queue}", 0))


def test_conductor_killed_mid_task_another_takes_over(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=1, env=SLOW)
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("orphan")
    owner = api.wait_step(url, "spawn")["owner"]
    cluster.conductors[owner].kill()
    task = api.wait_task(url)
    assert task["status"] == "succeeded"
    assert task["owner"] != owner and task["takeovers"] == 1
    spawn = task["steps"][2]
    assert spawn["name"] == "spawn" and spawn["attempt"] == 2  # the step in flight ran again...
    assert guests(cluster, "compute-1")["counts"][server_id]["spawn"] == 1  # ...without a second guest
    assert api.server(server_id)["status"] == "ACTIVE"


def test_paused_conductor_past_its_lease_is_fenced_and_drops_the_task(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=1, env=SLOW)
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("paused")
    owner = api.wait_step(url, "spawn")["owner"]
    paused = cluster.conductors[owner]
    paused.signal(signal.SIGSTOP)
    try:
        task = api.wait_task(url)
    finally:
        paused.signal(signal.SIGCONT)
    assert task["status"] == "succeeded" and task["owner"] != owner
    wait_for(lambda: f"dropping task {task['id']}" in paused.log(), 20, "the woken conductor to drop the task")
    # the woken conductor wrote nothing: the task and server are as the other one left them
    assert api.task(url)["status"] == "succeeded" and api.task(url)["owner"] != owner
    assert guests(cluster, "compute-1")["counts"][server_id]["spawn"] == 1
    assert api.server(server_id)["status"] == "ACTIVE"


# A spawn long enough that the (slow, under load) rabbitmqctl polls see it in
# flight, and a call timeout that outlasts the kill, the restart and the
# redelivered spawn, so the one spawn that counts is the redelivered one.
MID_STEP = {**SLOW, "TASKVISOR_FAKE__SPAWN_SECONDS": "10", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "90",
            "TASKVISOR_CONDUCTOR__COMPUTE_DOWN_DEADLINE": "120"}


def test_compute_killed_mid_step_then_restarted_the_step_completes(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=1, env=MID_STEP)
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("bounce")
    api.wait_step(url, "spawn")
    # the compute has taken the spawn call (acked only once it returns)
    wait_for(lambda: unacked(cluster, "compute.compute-1") >= 1, 60, "the compute to take the spawn call")
    compute = cluster.computes["compute-1"]
    compute.kill()
    compute.start(wait_http=False)
    task = api.wait_task(url)
    assert task["status"] == "succeeded", task
    assert api.server(server_id)["status"] == "ACTIVE"
    assert list(guests(cluster, "compute-1")["guests"]) == [server_id]
    assert guests(cluster, "compute-1")["counts"][server_id]["spawn"] == 1


def test_compute_that_stays_down_fails_the_task_naming_the_host(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=1, env=SLOW)
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("stranded")
    api.wait_step(url, "spawn")
    cluster.computes["compute-1"].kill()
    task = api.wait_task(url, timeout=90)
    assert task["status"] in ("failed", "reverted")
    assert "compute-1" in task["error"]["message"]
    server = api.server(server_id)
    assert server["status"] == "ERROR" and server["OS-EXT-STS:task_state"] is None
    assert "compute-1" in server["fault"]["message"]


# action body, the status it starts from (reached by the setup actions), the
# driver call made slow so the kill lands inside it, and the status it ends in
EVERY_STATE = {
    "rescue": ({"rescue": {}}, [], "rescue", "RESCUE"),
    "unrescue": ({"unrescue": None}, [{"rescue": {}}], "unrescue", "ACTIVE"),
    "suspend": ({"suspend": None}, [], "suspend", "SUSPENDED"),
    "resume": ({"resume": None}, [{"suspend": None}], "resume", "ACTIVE"),
    "pause": ({"pause": None}, [], "pause", "PAUSED"),
    "unpause": ({"unpause": None}, [{"pause": None}], "unpause", "ACTIVE"),
    "shelve": ({"shelve": None}, [], "snapshot", "SHELVED_OFFLOADED"),
    "unshelve": ({"unshelve": None}, [{"shelve": None}], "spawn", "ACTIVE"),
    "resize": ({"resize": {"flavorRef": "2"}}, [], "resize", "VERIFY_RESIZE"),
    "revertResize": ({"revertResize": None}, [{"resize": {"flavorRef": "2"}}], "revert_resize", "ACTIVE"),
    "stop": ({"os-stop": None}, [], "request_shutdown", "SHUTOFF"),
    "start": ({"os-start": None}, [{"os-stop": None}], "power_on", "ACTIVE"),
    "reboot": ({"reboot": {"type": "HARD"}}, [], "power_on", "ACTIVE"),
}


def test_every_task_state_recovers_after_every_conductor_is_killed(cluster_factory):
    """Nova's compute restart leaves rescuing, unrescuing, suspending,
    resuming, shelving, unshelving and resize_* stuck; here every action,
    caught mid-step by a kill -9 of all conductors, completes after restart."""
    cluster = cluster_factory(conductors=2, computes=1, env={  # one server per state: more than 10
        "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "8", "TASKVISOR_QUOTA__INSTANCES": "-1",
        "TASKVISOR_QUOTA__CORES": "-1", "TASKVISOR_QUOTA__RAM": "-1"})
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    servers = {}
    for name, (_, setup, _, _) in EVERY_STATE.items():
        server_id, url = api.boot(name)
        assert api.wait_task(url)["status"] == "succeeded"
        for body in setup:
            resp = api.http.post(f"/compute/v2.1/servers/{server_id}/action", json=body)
            assert resp.status_code in (200, 202), resp.text
            assert api.wait_task(api.rel(resp.headers["X-Taskvisor-Task"]))["status"] == "succeeded"
        servers[name] = server_id
    inject = os.path.join(cluster.data_dir, "compute-1", "fake-inject.json")
    with open(inject, "w") as f:
        json.dump({method: [{"delay": 4.0}] for _, _, method, _ in EVERY_STATE.values()}, f)
    urls = {}
    for name, (body, _, _, _) in EVERY_STATE.items():
        resp = api.http.post(f"/compute/v2.1/servers/{servers[name]}/action", json=body)
        assert resp.status_code in (200, 202), resp.text
        urls[name] = api.rel(resp.headers["X-Taskvisor-Task"])
    def mid_operation() -> dict | None:  # every server has a task_state: its operation is in flight
        states = {name: api.server(servers[name])["OS-EXT-STS:task_state"] for name in EVERY_STATE}
        return states if all(states.values()) else None
    caught = wait_for(mid_operation, 60, "every server to be mid-operation")
    for conductor in cluster.conductors.values():
        conductor.kill()
    os.unlink(inject)
    for conductor in cluster.conductors.values():
        conductor.start(wait_http=False)
    for name, (_, _, _, final) in EVERY_STATE.items():
        task = api.wait_task(urls[name], timeout=90)
        assert task["status"] == "succeeded", (name, caught[name], task["error"])
        server = api.server(servers[name])
        assert server["status"] == final and server["OS-EXT-STS:task_state"] is None, (name, server["status"])


def test_deleting_a_server_whose_compute_is_down_deletes_it_locally(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=1, env={**SLOW, "TASKVISOR_DEFAULT__SHUTDOWN_TIMEOUT": "2"})
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("on-a-dead-host")
    assert api.wait_task(url)["status"] == "succeeded"
    cluster.computes["compute-1"].kill()
    resp = api.http.delete(f"/compute/v2.1/servers/{server_id}")
    assert resp.status_code == 204
    task = api.wait_task(api.rel(resp.headers["X-Taskvisor-Task"]), timeout=90)
    assert task["status"] == "succeeded", task["error"]
    assert task["steps"][0]["details"]["local_delete"] is True
    assert "compute-1 is down" in task["steps"][1]["details"]["reason"]
    assert api.http.get(f"/compute/v2.1/servers/{server_id}").status_code == 404
    assert server_id in guests(cluster, "compute-1")["guests"]  # left behind on the dead host
    cluster.computes["compute-1"].start(wait_http=False)
    # reaped once the compute reports its guests again
    wait_for(lambda: server_id not in guests(cluster, "compute-1")["guests"], 30, "the leftover guest to go")
