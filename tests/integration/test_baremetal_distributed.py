"""Servers on bare metal in distributed mode: `taskvisor compute --driver
baremetal` reports the nodes as capacity; a conductor killed while a deleted
server's node cleans is taken over by the other one, and the node returns
to the pool."""
from __future__ import annotations

import time

import pytest

from tests.integration.distributed import COMPUTE, Api, cluster_factory  # noqa: F401  (fixture)

BM = "/baremetal/v1"
IRONIC = {"X-OpenStack-Ironic-API-Version": "1.115"}

pytestmark = pytest.mark.slow


def wait_node(api: Api, uuid: str, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        node = api.http.get(f"{BM}/nodes/{uuid}", headers=IRONIC).json()
        if predicate(node):
            return node
        assert time.monotonic() < deadline, node
        time.sleep(0.1)


def provision(api: Api, uuid: str, target: str) -> None:
    resp = api.http.put(f"{BM}/nodes/{uuid}/states/provision", json={"target": target}, headers=IRONIC)
    assert resp.status_code == 202, resp.text
    assert api.wait_task(api.rel(resp.headers["X-Taskvisor-Task"]))["status"] == "succeeded"


def test_baremetal_cluster_boots_and_survives_a_conductor_kill_mid_clean(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=1, driver="baremetal")
    api = Api(cluster.api.base_url)
    api.wait_services_up(1)
    uuids = []
    for i in range(2):
        node = api.http.post(f"{BM}/nodes", headers=IRONIC, json={
            "driver": "fake-hardware", "name": f"metal-{i}", "resource_class": "gold",
            "driver_info": {"fake_clean_delay": 2}}).json()
        provision(api, node["uuid"], "manage")
        provision(api, node["uuid"], "provide")
        uuids.append(node["uuid"])
    flavor = api.http.post(f"{COMPUTE}/flavors", json={"flavor": {"name": "bm", "ram": 1, "vcpus": 1, "disk": 0}}
                           ).json()["flavor"]["id"]
    api.http.post(f"{COMPUTE}/flavors/{flavor}/os-extra_specs", json={"extra_specs": {"resources:CUSTOM_GOLD": "1"}})

    booted = [api.boot(f"m-{i}", flavor=flavor) for i in range(2)]
    for server_id, url in booted:
        assert api.wait_task(url)["status"] == "succeeded"
        server = api.server(server_id)
        assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == "compute-1"
    assert {api.server(s)["OS-EXT-SRV-ATTR:hypervisor_hostname"] for s, _ in booted} == set(uuids)
    hyps = api.http.get(f"{COMPUTE}/os-hypervisors").json()["hypervisors"]
    assert sorted(h["hypervisor_hostname"] for h in hyps) == sorted(uuids)

    server_id = booted[0][0]
    node_id = api.server(server_id)["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    resp = api.http.delete(f"{COMPUTE}/servers/{server_id}")
    assert api.wait_task(api.rel(resp.headers["X-Taskvisor-Task"]))["status"] == "succeeded"
    cleaning = wait_node(api, node_id, lambda n: n["clean_step"].get("step") == "erase_devices"
                         and n["reservation"], timeout=20)
    cluster.conductors[cleaning["reservation"]].kill()
    node = wait_node(api, node_id, lambda n: n["provision_state"] == "available" and n["reservation"] is None)
    assert node["instance_uuid"] is None and node["maintenance"] is False
    clean = api.http.get(f"{BM}/nodes/{node_id}/tasks", headers=IRONIC).json()["tasks"][0]
    assert clean["action"] == "clean" and clean["status"] == "succeeded"
    assert {s["name"]: s["attempt"] for s in clean["steps"]}["deploy.erase_devices"] == 2

    again, url = api.boot("again", flavor=flavor)
    assert api.wait_task(url)["status"] == "succeeded"
    assert api.server(again)["OS-EXT-SRV-ATTR:hypervisor_hostname"] == node_id
