"""Intent before effect (issue 14 #2), with real processes on PostgreSQL and
RabbitMQ: a conductor SIGKILLed during a boot's spawn on compute-1, then a
SIGTERM of compute-1. The boot is taken over, rerouted to compute-2, and
compute-1 is first made to undo its spawn: exactly one guest exists, on
compute-2, and compute-1's drain ends."""
from __future__ import annotations

import os
import signal
import subprocess

from taskvisor.virt.fake import saved_state
from tests.integration.distributed import COMPUTE, Api, cluster_factory  # noqa: F401  (fixture)
from tests.procs import wait_for

ENV = {"TASKVISOR_FAKE__SPAWN_SECONDS": "4", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "30"}


def guests_on(cluster, host: str) -> dict:
    return saved_state(os.path.join(cluster.data_dir, host, f"fake-guests-{host}.json"))["guests"]


def unacked(cluster, queue: str) -> int:
    """Messages a consumer of the cluster's ``queue`` holds but has not acked yet."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name", "messages_unacknowledged"],
                         capture_output=True, text=True, timeout=60).stdout
    counts = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
    return int(counts.get(f"{cluster.namespace}.{queue}", 0))


def set_enabled(api: Api, host: str, enabled: bool) -> None:
    service = next(s for s in api.services() if s["host"] == host)
    body = {"status": "enabled"} if enabled else {"status": "disabled", "disabled_reason": "test"}
    assert api.http.put(f"{COMPUTE}/os-services/{service['id']}", json=body).status_code == 200


def test_conductor_killed_mid_spawn_then_compute_sigterm_leaves_exactly_one_guest(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=2, env=ENV)
    api = Api(cluster.api.base_url)
    api.wait_services_up(2)
    set_enabled(api, "compute-2", False)  # the boot goes to compute-1
    server_id, url = api.boot("once")
    task = api.wait_step(url, "spawn")
    assert api.server(server_id)["OS-EXT-SRV-ATTR:host"] == "compute-1"
    set_enabled(api, "compute-2", True)
    # compute-1 holds the spawn call (it acks a call only once it returns)
    wait_for(lambda: unacked(cluster, "compute.compute-1") >= 1, 60, "compute-1 to take the spawn call")
    owner = wait_for(lambda: api.task(url).get("owner"), 10, "the task's owner")
    cluster.conductors[owner].kill()  # SIGKILL mid-spawn: the call's answer is lost
    cluster.computes["compute-1"].signal(signal.SIGTERM)  # and compute-1 starts draining
    task = api.wait_task(url, timeout=120)
    assert task["status"] == "succeeded", task
    spawn = next(s for s in task["steps"] if s["name"] == "spawn")
    assert spawn["details"]["rerouted"] == {"from": "compute-1", "to": "compute-2"}, spawn
    assert spawn["details"]["undone_on"] == "compute-1"
    assert api.server(server_id)["OS-EXT-SRV-ATTR:host"] == "compute-2"
    assert cluster.computes["compute-1"].proc.wait(60) == 0  # its drain ends (nothing left waiting)
    everywhere = {host: sorted(guests_on(cluster, host)) for host in ("compute-1", "compute-2")}
    assert everywhere == {"compute-1": [], "compute-2": [server_id]}, everywhere
