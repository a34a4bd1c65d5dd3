"""Distributed mode: separate API, conductor and compute processes on
PostgreSQL and RabbitMQ."""
from __future__ import annotations

import collections


from tests.integration.distributed import COMPUTE, Api, cluster_factory  # noqa: F401  (fixture)


def test_servers_spread_over_computes_and_services_show_up(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=2)
    api = Api(cluster.api.base_url)
    api.wait_services_up(2)
    booted = [api.boot(f"vm-{i}") for i in range(6)]
    tasks = [api.wait_task(url) for _, url in booted]
    assert all(t["status"] == "succeeded" for t in tasks), tasks
    hosts = collections.Counter(t["steps"][0]["details"]["host"] for t in tasks)
    # the least-loaded choice uses both computes; how evenly depends on which
    # conductor's schedule step ran first, which is load, not behaviour
    assert set(hosts) == {"compute-1", "compute-2"} and sum(hosts.values()) == 6, hosts
    # steps ran where they say: conductor steps on a conductor, spawn on the compute
    for task in tasks:
        assert task["steps"][0]["host"].startswith("conductor-")
        assert task["steps"][2]["host"] == task["steps"][0]["details"]["host"]
    services = {(s["binary"], s["host"]): s for s in api.services()}
    assert {k for k in services} == {("nova-conductor", "conductor-1"), ("nova-conductor", "conductor-2"),
                                     ("nova-compute", "compute-1"), ("nova-compute", "compute-2")}
    assert all(s["state"] == "up" and s["status"] == "enabled" for s in services.values())


def test_disabled_compute_gets_no_new_servers_and_no_room_means_no_valid_host(cluster_factory):
    cluster = cluster_factory(conductors=1, computes=2)
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
