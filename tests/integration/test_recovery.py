"""Recovery with real processes on PostgreSQL and RabbitMQ: no operation is
lost, duplicated or stranded when a conductor or a compute dies or stalls."""
from __future__ import annotations

import json
import os
import signal
import time

from tests.integration.distributed import Api, cluster_factory  # noqa: F401  (fixture)

SLOW = {"TASKVISOR_FAKE__SPAWN_SECONDS": "3", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "6",
        "TASKVISOR_CONDUCTOR__COMPUTE_DOWN_DEADLINE": "12", "TASKVISOR_CONDUCTOR__RETRY_BACKOFF": "0.5"}


def guests(cluster, host: str) -> dict:
    path = os.path.join(cluster.data_dir, host, f"fake-guests-{host}.json")
    with open(path) as f:
        return json.load(f)


def test_conductor_killed_mid_task_another_takes_over(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=1, env=SLOW)
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("orphan")
    owner = api.wait_step(url, "spawn")["owner"]
    killed_at = time.monotonic()
    cluster.conductors[owner].kill()
    task = api.wait_task(url)
    assert task["status"] == "succeeded"
    assert task["owner"] != owner and task["takeovers"] == 1
    assert time.monotonic() - killed_at < 15
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
    deadline = time.monotonic() + 20
    while f"dropping task {task['id']}" not in paused.log():
        assert time.monotonic() < deadline, paused.log()
        time.sleep(0.2)
    # the woken conductor wrote nothing: the task and server are as the other one left them
    assert api.task(url)["status"] == "succeeded" and api.task(url)["owner"] != owner
    assert guests(cluster, "compute-1")["counts"][server_id]["spawn"] == 1
    assert api.server(server_id)["status"] == "ACTIVE"


def test_compute_killed_mid_step_then_restarted_the_step_completes(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=1, env=SLOW)
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("bounce")
    api.wait_step(url, "spawn")
    time.sleep(0.5)
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
