"""A real `taskvisor all-in-one --driver libvirt` killed with -9: its QEMU
guests keep running (libvirtd is their parent) and the restarted compute
adopts them; a spawn that the kill cut short is finished by the retried step
with exactly one domain."""
from __future__ import annotations

import os

import httpx
import pytest

from tests import libvirt_guests as lg
from tests.procs import all_in_one, wait_for

pytestmark = pytest.mark.slow
COMPUTE = "/compute/v2.1"


def test_kill_9_mid_spawn_then_restart_leaves_one_domain_and_adopts_running_guests(tmp_path, procs):
    lg.require_libvirt()
    manifest = lg.build_images()
    data_dir, host = str(tmp_path), lg.unique_host("kill")
    env = {"TASKVISOR_DEFAULT__HOST": host, "TASKVISOR_LIBVIRT__VIRT_TYPE": lg.VIRT_TYPE,
           "TASKVISOR_CONDUCTOR__LEASE_SECONDS": "3", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "60"}
    try:
        first = all_in_one(data_dir, driver="libvirt", env=env).start()
        procs.append(first)
        api = httpx.Client(base_url=first.base_url, timeout=120)
        images = lg.register(api, manifest)

        def boot(name: str) -> tuple[str, str]:
            resp = api.post(f"{COMPUTE}/servers", json={"server": {"name": name, "flavorRef": "1",
                                                                    "imageRef": images["taskvisor-guest"]}})
            assert resp.status_code == 202, resp.text
            return resp.json()["server"]["id"], resp.headers["X-Taskvisor-Task"].split(first.base_url, 1)[1]

        def server(server_id: str) -> dict:
            return api.get(f"{COMPUTE}/servers/{server_id}").json()["server"]

        def console(server_id: str) -> str:
            return api.post(f"{COMPUTE}/servers/{server_id}/action",
                            json={"os-getConsoleOutput": {}}).json()["output"]

        keep, _ = boot("keep")
        wait_for(lambda: server(keep)["status"] == "ACTIVE", 120, "the first server ACTIVE")
        wait_for(lambda: "taskvisor-guest: ready" in console(keep), 120, "the first guest's userspace")
        keep_pid = lg.qemu_pid(keep)
        assert keep_pid

        cut, task_url = boot("cut")
        # kill the compute while its driver is making the guest: its disk is being made
        wait_for(lambda: os.path.exists(os.path.join(data_dir, "libvirt", cut)), 60, "the spawn to start",
                 interval=0.002)
        first.kill()
        assert lg.qemu_pid(keep) == keep_pid and os.path.exists(f"/proc/{keep_pid}")  # guests outlive it
        print(f"killed mid-spawn; domains of {host} then: {lg.domains_of(host)}")

        second = all_in_one(data_dir, port=first.port, driver="libvirt", env=env).start()
        procs.append(second)
        task = wait_for(lambda: (t := api.get(task_url).json()["task"])["status"] in ("succeeded", "failed") and t,
                        180, "the cut boot to finish after the restart")
        assert task["status"] == "succeeded", task
        spawn = next(s for s in task["steps"] if s["name"] == "spawn")
        # (attempt 2 when the restarted conductor re-ran the step the kill cut short)
        print(f"spawn step after the restart: attempt {spawn['attempt']}, {spawn['details']}")
        assert server(cut)["status"] == "ACTIVE"

        domains = lg.domains_of(host)
        assert sorted(domains) == sorted([keep, cut])  # exactly one domain each, nothing half-made left over
        assert all(state == 1 for state in domains.values())  # VIR_DOMAIN_RUNNING
        wait_for(lambda: "taskvisor-guest: ready" in console(cut), 120, "the cut guest's userspace")
        assert "boots=1" in console(cut)

        # adopted, not restarted: the same QEMU process, booted once
        assert lg.qemu_pid(keep) == keep_pid
        assert server(keep)["status"] == "ACTIVE" and console(keep).count("taskvisor-guest: ready") == 1
        second.stop()
    finally:
        lg.destroy_domains(host)
