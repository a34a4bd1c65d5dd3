"""kill -9 of a real `taskvisor all-in-one --driver baremetal` while a server
is deployed onto a node, while it is being deleted, and while the node
cleans afterwards: each time the work resumes at the step in flight, and in
the end neither the server nor the node holds the other."""
from __future__ import annotations


import httpx
import pytest

from tests.procs import all_in_one, wait_for

BM = "/baremetal/v1"
NOVA = "/compute/v2.1"
IRONIC = {"X-OpenStack-Ironic-API-Version": "1.115"}
TERMINAL = ("succeeded", "failed", "reverted", "cancelled")

pytestmark = pytest.mark.slow



class Client:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def rel(self, url: str) -> str:
        return url.split(self.base_url, 1)[-1]

    def node(self, uuid: str) -> dict:
        return self.http.get(f"{BM}/nodes/{uuid}", headers=IRONIC).json()

    def task(self, url: str) -> dict:
        return self.http.get(self.rel(url)).json()["task"]

    def finished(self, url: str, timeout: float, what: str) -> dict:
        return wait_for(lambda: (t := self.task(url))["status"] in TERMINAL and t, timeout, what)

    def provision(self, uuid: str, target: str) -> dict:
        resp = self.http.put(f"{BM}/nodes/{uuid}/states/provision", json={"target": target}, headers=IRONIC)
        assert resp.status_code == 202, resp.text
        return self.finished(resp.headers["X-Taskvisor-Task"], 30, target)


def test_kill_9_during_deploy_delete_and_cleaning(tmp_path, procs):
    data_dir = str(tmp_path)
    env = {"TASKVISOR_CONDUCTOR__LEASE_SECONDS": "3", "TASKVISOR_DEFAULT__SHUTDOWN_TIMEOUT": "5"}
    proc = all_in_one(data_dir, driver="baremetal", env=env).start()
    procs.append(proc)
    api = Client(proc.base_url)

    def restart():
        nonlocal proc
        proc.kill()
        proc = all_in_one(data_dir, port=proc.port, driver="baremetal", env=env).start()
        procs.append(proc)

    node = api.http.post(f"{BM}/nodes", headers=IRONIC, json={
        "driver": "fake-hardware", "name": "metal", "resource_class": "gold",
        "driver_info": {"fake_deploy_delay": 1.5, "fake_clean_delay": 1.5}}).json()
    uuid = node["uuid"]
    assert api.provision(uuid, "manage")["status"] == "succeeded"
    assert api.provision(uuid, "provide")["status"] == "succeeded"
    flavor = api.http.post(f"{NOVA}/flavors", json={"flavor": {"name": "bm", "ram": 1, "vcpus": 1, "disk": 0}}
                           ).json()["flavor"]["id"]
    api.http.post(f"{NOVA}/flavors/{flavor}/os-extra_specs", json={"extra_specs": {"resources:CUSTOM_GOLD": "1"}})
    image = api.http.get("/image/v2/images?name=cirros").json()["images"][0]["id"]

    # 1. kill while the node's image is written
    resp = api.http.post(f"{NOVA}/servers", json={"server": {"name": "m", "flavorRef": flavor, "imageRef": image}})
    server_id, boot_url = resp.json()["server"]["id"], resp.headers["X-Taskvisor-Task"]
    wait_for(lambda: api.task(boot_url)["current_step"] == "deploy", 15, "the deploy step")
    restart()
    boot = api.finished(boot_url, 60, "the boot after the restart")
    assert boot["status"] == "succeeded", boot
    steps = {s["name"]: s for s in boot["steps"]}
    assert steps["schedule"]["attempt"] == 1 and steps["deploy"]["attempt"] == 2
    assert api.http.get(f"{NOVA}/servers/{server_id}").json()["server"]["status"] == "ACTIVE"
    node = api.node(uuid)
    assert node["provision_state"] == "active" and node["instance_uuid"] == server_id
    assert node["reservation"] is None and node["power_state"] == "power on"

    # 2. kill while the delete powers the node off
    patch = [{"op": "add", "path": "/driver_info/fake_power_delay", "value": 1.5}]
    assert api.http.patch(f"{BM}/nodes/{uuid}", json=patch, headers=IRONIC).status_code == 200
    resp = api.http.delete(f"{NOVA}/servers/{server_id}")
    delete_url = resp.headers["X-Taskvisor-Task"]
    wait_for(lambda: api.task(delete_url)["current_step"] == "power_off", 15, "the power_off step")
    restart()
    delete = api.finished(delete_url, 60, "the delete after the restart")
    assert delete["status"] == "succeeded", delete
    assert delete["steps"][0]["attempt"] == 2
    assert api.http.get(f"{NOVA}/servers/{server_id}").status_code == 404
    clean_url = delete["steps"][2]["details"]["node_task"]

    # 3. kill while the node cleans
    wait_for(lambda: api.node(uuid)["clean_step"].get("step") == "erase_devices", 15, "the clean step")
    restart()
    clean = api.finished(clean_url, 60, "the clean after the restart")
    assert clean["status"] == "succeeded", clean
    assert {s["name"]: s["attempt"] for s in clean["steps"]}["deploy.erase_devices"] == 2
    node = api.node(uuid)
    assert node["provision_state"] == "available" and node["instance_uuid"] is None
    assert node["reservation"] is None and node["maintenance"] is False and node["power_state"] == "power off"
    hyps = api.http.get(f"{NOVA}/os-hypervisors").json()["hypervisors"]
    assert [(h["hypervisor_hostname"], h["state"], h["status"]) for h in hyps] == [(uuid, "up", "enabled")]
