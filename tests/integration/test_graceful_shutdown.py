"""Graceful compute shutdown (DESIGN §6) with real processes on RabbitMQ:
SIGTERM drains, in-flight operations finish through compute-alt, new work
goes elsewhere, older computes are still served."""
from __future__ import annotations

import signal
import subprocess

from tests.integration.distributed import COMPUTE, Api, cluster_factory  # noqa: F401  (fixture)
from tests.procs import wait_for

ENV = {"TASKVISOR_DEFAULT__SHUTDOWN_TIMEOUT": "20", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "5",
       "TASKVISOR_COMPUTE__SHUTDOWN_RETRY_INTERVAL": "30"}


def slow_guests(api: Api, seconds: int) -> None:
    """Guests booted from cirros take ``seconds`` to shut down when asked."""
    resp = api.http.patch(f"/image/v2/images/{api.image()}", json=[
        {"op": "add", "path": "/guest_shutdown_seconds", "value": str(seconds)}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert resp.status_code == 200, resp.text


def set_enabled(api: Api, host: str, enabled: bool) -> None:
    service = next(s for s in api.services() if s["host"] == host)
    body = {"status": "enabled"} if enabled else {"status": "disabled", "disabled_reason": "test"}
    assert api.http.put(f"{COMPUTE}/os-services/{service['id']}", json=body).status_code == 200


def action(api: Api, server_id: str, body: dict) -> str:
    resp = api.http.post(f"{COMPUTE}/servers/{server_id}/action", json=body)
    assert resp.status_code == 202, resp.text
    return api.rel(resp.headers["X-Taskvisor-Task"])


def service_state(api: Api, host: str) -> str:
    return next(s["state"] for s in api.services() if s["host"] == host)



def stop_in_flight(cluster) -> tuple[Api, str, str]:
    """One server whose guest takes 25 s to shut down, its stop inside the power_off step."""
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    slow_guests(api, 25)
    server_id, url = api.boot("slow")
    assert api.wait_task(url)["status"] == "succeeded"
    stop_url = action(api, server_id, {"os-stop": None})
    api.wait_step(stop_url, "power_off")
    return api, server_id, stop_url


def test_sigterm_finishes_in_flight_work_and_sends_new_work_elsewhere(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=2, env=ENV)
    api = Api(cluster.api.base_url)
    api.wait_services_up(2)
    slow_guests(api, 8)
    set_enabled(api, "compute-2", False)
    stopping, _ = api.boot("long-stop")
    resizing, _ = api.boot("resize")
    for server_id in (stopping, resizing):
        wait_for(lambda: api.server(server_id)["status"] == "ACTIVE", 30, "boot")
    set_enabled(api, "compute-2", True)
    stop_url = action(api, stopping, {"os-stop": None})
    resize_url = action(api, resizing, {"resize": {"flavorRef": "2"}})
    api.wait_step(stop_url, "power_off")
    api.wait_step(resize_url, "power_off")
    compute = cluster.computes["compute-1"]
    compute.signal(signal.SIGTERM)
    wait_for(lambda: service_state(api, "compute-1") == "draining", 10, "os-services to show draining")
    assert compute.running
    new_server, new_url = api.boot("while-draining")
    assert api.wait_task(new_url)["status"] == "succeeded"
    assert api.server(new_server)["OS-EXT-SRV-ATTR:host"] == "compute-2"  # not started on the draining host
    assert compute.running  # still finishing the stop and the resize
    assert api.wait_task(stop_url)["status"] == "succeeded"
    resize = api.wait_task(resize_url)
    assert resize["status"] == "succeeded", resize["error"]
    assert api.server(stopping)["status"] == "SHUTOFF"
    assert api.server(resizing)["status"] == "VERIFY_RESIZE"
    # several calls of the resize went to compute-1; all after the first on compute-alt
    assert sum(1 for s in resize["steps"] if s["host"] == "compute-1") >= 2
    assert compute.proc.wait(30) == 0
    assert "drained in" in compute.log()  # it ended when its work did, not at graceful_shutdown_timeout
    wait_for(lambda: service_state(api, "compute-1") == "down", 10, "os-services to show down")


def test_timeout_shorter_than_the_work_exits_then_the_operation_completes_after_restart(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=1, env={**ENV, "TASKVISOR_DEFAULT__GRACEFUL_SHUTDOWN_TIMEOUT": "2",
                                                              "TASKVISOR_DEFAULT__SHUTDOWN_TIMEOUT": "60"})
    api, server_id, stop_url = stop_in_flight(cluster)
    compute = cluster.computes["compute-1"]
    compute.signal(signal.SIGTERM)
    assert compute.proc.wait(30) == 0
    # it stopped at its 2 s timeout with the stop still in flight, not after the guest's 25 s
    assert "stopping with 1 operation(s) in flight (timeout)" in compute.log()
    assert api.task(stop_url)["status"] == "running"  # not lost, not failed
    compute.start(wait_http=False)
    assert api.wait_task(stop_url, timeout=90)["status"] == "succeeded"
    assert api.server(server_id)["status"] == "SHUTOFF"


def test_a_compute_pinned_to_the_old_version_gets_everything_on_compute(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=0, env=ENV)
    cluster.add_compute("compute-1", env={"TASKVISOR_UPGRADE_LEVELS__COMPUTE": "2026.1"})  # serves 1.0 only
    cluster.add_compute("compute-2")
    api = Api(cluster.api.base_url)
    api.wait_services_up(2)
    # two servers on each compute, placed by the admin's zone:host (concurrent boots may all see the
    # same least-loaded host: the spread is load, the placement here is the test's premise)
    servers = [api.boot(f"mixed-{i}", availability_zone=f"nova:compute-{1 + i % 2}")[0] for i in range(4)]
    for server_id in servers:
        wait_for(lambda: api.server(server_id)["status"] == "ACTIVE", 60, "boot")
    assert {api.server(s)["OS-EXT-SRV-ATTR:host"] for s in servers} == {"compute-1", "compute-2"}
    # multi-call operations on both: resize, then revert
    for body, status in (({"resize": {"flavorRef": "2"}}, "VERIFY_RESIZE"), ({"revertResize": None}, "ACTIVE")):
        urls = [action(api, s, body) for s in servers]
        for url in urls:
            assert api.wait_task(url)["status"] == "succeeded"
        assert {api.server(s)["status"] for s in servers} == {status}
    queues = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name"], capture_output=True, text=True,
                            timeout=60).stdout.split()
    ns = cluster.namespace
    assert f"{ns}.compute-alt.compute-2" in queues
    assert f"{ns}.compute-alt.compute-1" not in queues  # the old compute has no such topic and got no calls there
    assert f"{ns}.compute.compute-1" in queues


def test_a_second_sigterm_ends_the_drain_at_once(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=1, env={**ENV, "TASKVISOR_DEFAULT__SHUTDOWN_TIMEOUT": "60"})
    api, server_id, stop_url = stop_in_flight(cluster)
    compute = cluster.computes["compute-1"]
    compute.signal(signal.SIGTERM)
    wait_for(lambda: service_state(api, "compute-1") == "draining", 10, "draining")
    compute.signal(signal.SIGTERM)
    assert compute.proc.wait(30) == 0
    assert "(signal)" in compute.log()  # cut short by the second signal, not after the guest's 25 s
    assert api.task(stop_url)["status"] == "running"  # the stop was still in flight: not lost, not failed
    compute.start(wait_http=False)
    assert api.wait_task(stop_url, timeout=90)["status"] == "succeeded"


def test_console_output_is_served_by_a_draining_compute(cluster_factory):
    """Console output goes to compute-alt when the compute serves it (issue 14 #10), so a
    compute that drains (and no longer takes calls on ``compute``) still answers."""
    cluster = cluster_factory(conductors=1, computes=1, env=ENV)
    api, server_id, stop_url = stop_in_flight(cluster)
    cluster.computes["compute-1"].signal(signal.SIGTERM)
    wait_for(lambda: service_state(api, "compute-1") == "draining", 10, "os-services to show draining")
    resp = api.http.post(f"{COMPUTE}/servers/{server_id}/action", json={"os-getConsoleOutput": {"length": 5}})
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json()["output"], str)
    assert api.wait_task(stop_url)["status"] == "succeeded"
