"""Distributed mode: separate API, conductor and compute processes on
PostgreSQL and RabbitMQ."""
from __future__ import annotations

import collections


from tests.integration.distributed import COMPUTE, Api, cluster_factory  # noqa: F401  (fixture)


def test_servers_spread_over_computes_and_services_show_up(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=2)
    api = Api(cluster.api.base_url)
    api.wait_services_up(2)
    # one boot at a time: each schedule step sees where the previous servers went, so the
    # least-loaded choice must alternate (boots scheduled at the same moment may all see the
    # same counts and pick one host: how they spread is load, not behaviour; a CI run saw 6/0)
    tasks = []
    for i in range(6):
        _, url = api.boot(f"vm-{i}")
        tasks.append(api.wait_task(url))
    assert all(t["status"] == "succeeded" for t in tasks), tasks
    hosts = collections.Counter(t["steps"][0]["details"]["host"] for t in tasks)
    assert hosts == {"compute-1": 3, "compute-2": 3}, hosts
    # steps ran where they say: conductor steps on a conductor, spawn on the compute
    for task in tasks:
        assert task["steps"][0]["host"].startswith("conductor-")
        assert task["steps"][2]["host"] == task["steps"][0]["details"]["host"]
    services = {(s["binary"], s["host"]): s for s in api.services()}
    assert {k for k in services} == {("nova-conductor", "conductor-1"), ("nova-conductor", "conductor-2"),
                                     ("nova-compute", "compute-1"), ("nova-compute", "compute-2")}
    assert all(s["state"] == "up" and s["status"] == "enabled" for s in services.values())


def test_disabled_compute_gets_no_new_servers_and_no_room_means_no_valid_host(cluster_factory):
    # no quota: the huge flavor must reach the scheduler (Nova's default RAM quota would refuse it first)
    cluster = cluster_factory(conductors=1, computes=2, env={"TASKVISOR_QUOTA__RAM": "-1"})
    api = Api(cluster.api.base_url)
    api.wait_services_up(2)
    compute_1 = next(s for s in api.services() if s["host"] == "compute-1")
    resp = api.http.put(f"{COMPUTE}/os-services/{compute_1['id']}",
                        json={"status": "disabled", "disabled_reason": "maintenance"})
    assert resp.status_code == 200 and resp.json()["service"]["status"] == "disabled"
    for i in range(3):
        _, url = api.boot(f"vm-{i}")
        assert api.wait_task(url)["steps"][0]["details"]["host"] == "compute-2"
    huge = api.http.post(f"{COMPUTE}/flavors", json={"flavor": {"name": "huge", "ram": 10**9, "vcpus": 1,
                                                                 "disk": 1}}).json()["flavor"]
    server_id, url = api.boot("too-big", flavor=huge["id"])
    task = api.wait_task(url)
    assert task["status"] == "failed" and "No valid host" in task["error"]["message"]
    assert api.server(server_id)["status"] == "ERROR"


def test_api_killed_after_answering_202_loses_nothing(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=1)
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    server_id, url = api.boot("survivor")
    cluster.api.kill()
    cluster.api.start()
    api = Api(cluster.api.base_url)
    assert api.wait_task(url)["status"] == "succeeded"
    assert api.server(server_id)["status"] == "ACTIVE"


def _rpc_calls(port: int) -> dict[tuple, float]:
    """{(target, method, outcome): count} from a process's own /metrics."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {(s.labels["target"], s.labels["method"], s.labels["outcome"]): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "taskvisor_rpc_call_duration_seconds_count"}


def test_cancel_reaches_the_compute_waiting_for_its_guest_and_rpc_latency_is_scraped(cluster_factory):
    """Over RabbitMQ: a stop waiting for a guest that ignores ACPI (600 s timeout)
    is cancelled through the API; the compute process stops waiting at once. The
    conductor's and the compute's own /metrics count the calls each made."""
    from tests.procs import free_port
    cluster = cluster_factory(conductors=0, computes=0)
    conductor_port, compute_port = free_port(), free_port()
    cluster.add_conductor("conductor-1", extra=("--metrics-port", str(conductor_port)))
    cluster.add_compute("compute-1", extra=("--metrics-port", str(compute_port)))
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    image = api.http.post("/image/v2/images", json={"name": "stubborn", "disk_format": "qcow2",
                                                     "container_format": "bare", "guest_on_shutdown": "ignore",
                                                     "os_shutdown_timeout": "600"}).json()["id"]
    assert api.http.put(f"/image/v2/images/{image}/file", content=b"disk").status_code == 204
    server_id, url = api.boot("stubborn", imageRef=image)
    assert api.wait_task(url)["status"] == "succeeded"
    stop = api.http.post(f"{COMPUTE}/servers/{server_id}/action", json={"os-stop": None})
    stop_url = api.rel(stop.headers["X-Taskvisor-Task"])
    task = api.wait_step(stop_url, "power_off")
    # a cancel that reaches the compute before its wait begins is remembered, so no wait is needed here
    cancel = api.http.post(f"{COMPUTE}/tasks/{task['id']}/action", json={"cancel": None})
    assert cancel.status_code == 202, cancel.text
    done = api.wait_task(stop_url, timeout=120)
    assert done["status"] == "cancelled", done
    assert done["steps"][0]["details"]["shutdown"] == "cancelled" and done["steps"][0]["host"] == "compute-1"
    server = api.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1

    conductor_calls = _rpc_calls(conductor_port)
    assert conductor_calls[("compute", "spawn", "ok")] == 1
    assert conductor_calls[("compute", "power_state", "ok")] == 1
    assert conductor_calls[("compute-alt", "power_off", "ok")] == 1
    assert _rpc_calls(compute_port)[("conductor", "report_service", "ok")] == 1  # its registration
