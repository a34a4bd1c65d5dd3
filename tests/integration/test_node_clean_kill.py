"""kill -9 of a real `taskvisor all-in-one` in the middle of a manual clean:
after a restart the clean continues from the step that was running (Ironic
would leave the node in clean failed); every step runs at most twice and
the node ends manageable, then provides to available."""
from __future__ import annotations


import httpx
import pytest

from tests.procs import all_in_one, wait_for

BM = "/baremetal/v1"
HEADERS = {"X-OpenStack-Ironic-API-Version": "1.115"}
STEPS = [{"interface": "raid", "step": "delete_configuration"},
         {"interface": "bios", "step": "factory_reset"},
         {"interface": "management", "step": "set_boot_device", "args": {"device": "pxe"}},
         {"interface": "raid", "step": "create_configuration"}]

pytestmark = pytest.mark.slow



def finished(api: httpx.Client, url: str):
    task = api.get(url).json()["task"]
    return task if task["status"] in ("succeeded", "failed", "reverted", "cancelled") else None


def test_kill_9_mid_clean_resumes_at_the_current_step(tmp_path, procs):
    data_dir = str(tmp_path)
    env = {"TASKVISOR_CONDUCTOR__LEASE_SECONDS": "3"}
    first = all_in_one(data_dir, env=env).start()
    procs.append(first)
    api = httpx.Client(base_url=first.base_url, timeout=10, headers=HEADERS)
    node = api.post(f"{BM}/nodes", json={"driver": "fake-hardware", "name": "slow",
                                         "driver_info": {"fake_clean_delay": 1.5}}).json()
    uuid = node["uuid"]
    manage = api.put(f"{BM}/nodes/{uuid}/states/provision", json={"target": "manage"})
    wait_for(lambda: finished(api, manage.headers["X-Taskvisor-Task"].split(first.base_url, 1)[1]), 15, "manage")

    resp = api.put(f"{BM}/nodes/{uuid}/states/provision", json={"target": "clean", "clean_steps": STEPS})
    assert resp.status_code == 202, resp.text
    url = resp.headers["X-Taskvisor-Task"].split(first.base_url, 1)[1]
    # kill while the second clean step runs
    wait_for(lambda: api.get(f"{BM}/nodes/{uuid}").json()["clean_step"].get("step") == "factory_reset",
             15, "the second clean step to start")
    first.kill()

    second = all_in_one(data_dir, port=first.port, env=env).start()
    procs.append(second)
    # Ironic would have moved the node to clean failed; here it is still
    # cleaning (or already done: the restarted conductor resumes at once)
    assert api.get(f"{BM}/nodes/{uuid}").json()["provision_state"] in ("cleaning", "manageable")
    task = wait_for(lambda: finished(api, url), 60, "the clean to finish after the restart")
    assert task["status"] == "succeeded", task
    by_name = {s["name"]: s for s in task["steps"]}
    assert by_name["raid.delete_configuration"]["attempt"] == 1  # done before the kill: not run again
    assert by_name["bios.factory_reset"]["attempt"] == 2         # in flight: run again
    assert max(s["attempt"] for s in task["steps"]) <= 2
    assert all(s["status"] == "succeeded" for s in task["steps"])

    node = api.get(f"{BM}/nodes/{uuid}").json()
    assert node["provision_state"] == "manageable" and node["reservation"] is None
    assert node["clean_step"] == {} and node["last_error"] is None and node["maintenance"] is False
    runs = node["driver_internal_info"]["fake_step_runs"]
    assert runs == {"raid.delete_configuration": 1, "bios.factory_reset": 1, "management.set_boot_device": 1,
                    "raid.create_configuration": 1}

    provide = api.put(f"{BM}/nodes/{uuid}/states/provision", json={"target": "provide"})
    done = wait_for(lambda: finished(api, provide.headers["X-Taskvisor-Task"].split(first.base_url, 1)[1]),
                    30, "provide")
    assert done["status"] == "succeeded"
    assert api.get(f"{BM}/nodes/{uuid}").json()["provision_state"] == "available"
