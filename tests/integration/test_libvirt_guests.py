"""Real QEMU guests (TCG) through libvirtd and the API: an in-process cloud
whose compute runs the libvirt driver. The guests are the Debian kernel +
busybox initramfs of scripts/build-guest-image; what they print on their
serial console is the evidence of what happened inside them.

One cloud and one image upload serve the whole module (guests are the slow
part; each test boots one or two)."""
from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from taskvisor.allinone import AllInOne
from taskvisor.states import power
from tests import libvirt_guests as lg
from tests.conftest import Cloud, make_conf
from tests.procs import wait_for

pytestmark = pytest.mark.slow
V2101 = {"OpenStack-API-Version": "compute 2.101"}
BOOT_TIMEOUT = 120  # TCG on a loaded machine: a guest usually reaches userspace in 3-6 s


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    lg.require_libvirt()
    manifest = lg.build_images()
    host = lg.unique_host("api")
    conf = make_conf(tmp_path_factory.mktemp("libvirt"), compute__driver="libvirt", DEFAULT__host=host,
                     libvirt__virt_type=lg.VIRT_TYPE, compute__shutdown_retry_interval=1,
                     compute__sync_power_state_interval=0,  # only events (and the start) report power states
                     DEFAULT__rpc_response_timeout=60)
    node = AllInOne(conf).start()
    cloud = Cloud(node, TestClient(node.app()))
    cloud.images = lg.register(cloud.client, manifest)
    cloud.host = host
    yield cloud
    node.stop(wait=1)
    lg.destroy_domains(host)


def console(cloud, server_id: str) -> str:
    resp = cloud.action(server_id, {"os-getConsoleOutput": {}})
    assert resp.status_code == 200, resp.text
    return resp.json()["output"]


def complete_lines(out: str) -> str:
    """The console up to its last newline: a line the guest is still writing
    is not read (a wait for "disk vdb" once matched "disk vdb size_kb=1048576 labe")."""
    return out[:out.rfind("\n") + 1]


def wait_console(cloud, server_id: str, text: str, count: int = 1, timeout: float = BOOT_TIMEOUT) -> str:
    """The console's complete lines, once ``text`` stands in ``count`` of them."""
    return wait_for(lambda: (out := complete_lines(console(cloud, server_id))).count(text) >= count and out,
                    timeout, f"{count}x {text!r} on the console of {server_id}")


def boot(cloud, image: str, flavor: str = "1") -> str:
    server_id = cloud.boot(image=cloud.images[image], flavor=flavor, wait=False)
    server = cloud.wait_status(server_id, "ACTIVE", timeout=BOOT_TIMEOUT)
    assert server["OS-EXT-STS:power_state"] == power.RUNNING
    wait_console(cloud, server_id, "taskvisor-guest: ready")
    return server_id


def act(cloud, server_id: str, body: dict, headers: dict | None = None) -> dict:
    resp = cloud.action(server_id, body, headers)
    assert resp.status_code in (200, 202), resp.text  # rescue answers 200 with adminPass
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"], timeout=BOOT_TIMEOUT)
    assert task["status"] == "succeeded", (task.get("error"), task["steps"])
    return task


def step(task: dict, name: str) -> dict:
    return next(s for s in task["steps"] if s["name"] == name)["details"]


def delete(cloud, server_id: str) -> dict:
    resp = cloud.delete(f"/servers/{server_id}")
    assert resp.status_code == 204, resp.text
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"], timeout=BOOT_TIMEOUT)
    assert task["status"] == "succeeded", (task.get("error"), task["steps"])
    assert server_id not in lg.domains_of(cloud.host)
    return task


def test_boot_console_clean_stop_start_reboots_pause_and_quick_delete(cloud):
    server_id = boot(cloud, "taskvisor-guest-slow")
    out = console(cloud, server_id)
    assert "Linux version" in out  # the kernel's own boot messages
    assert "label='taskvisor guest disk' boots=1" in out
    domain = lg.domains_of(cloud.host)
    assert list(domain) == [server_id]  # the server's UUID is the domain's

    # clean stop: the guest takes 2 s after the ACPI power button
    task = act(cloud, server_id, {"os-stop": {}})
    details = step(task, "power_off")
    # (re-sent every second while it works on it: [compute] shutdown_retry_interval = 1)
    assert details["shutdown"] == "clean" and details["requested"] == 30 and details["seconds"] >= 2
    print(f"clean stop of a 2 s guest took {details['seconds']}s")
    assert "taskvisor-guest: power button: shutting down" in console(cloud, server_id)
    assert cloud.wait_status(server_id, "SHUTOFF")["OS-EXT-STS:power_state"] == power.SHUTDOWN

    act(cloud, server_id, {"os-start": None})
    cloud.wait_status(server_id, "ACTIVE")
    wait_console(cloud, server_id, "boots=2")  # same disk, booted again

    task = act(cloud, server_id, {"reboot": {"type": "SOFT"}})
    details = step(task, "shutdown")
    assert details["shutdown"] == "clean" and details["reboot"] == "soft"
    wait_console(cloud, server_id, "boots=3")

    task = act(cloud, server_id, {"reboot": {"type": "HARD"}})
    assert step(task, "force_off")["shutdown"] == "forced"
    wait_console(cloud, server_id, "boots=4")
    assert console(cloud, server_id).count("reboot: Power down") == 2  # stop + soft reboot only

    act(cloud, server_id, {"pause": None})
    assert cloud.wait_status(server_id, "PAUSED")["OS-EXT-STS:power_state"] == power.PAUSED
    assert lg.domains_of(cloud.host)[server_id] == 3  # VIR_DOMAIN_PAUSED
    act(cloud, server_id, {"unpause": None})
    cloud.wait_status(server_id, "ACTIVE")
    act(cloud, server_id, {"pause": None})
    cloud.wait_status(server_id, "PAUSED")

    # a paused guest cannot answer the power button: delete does not wait 30 s for it
    task = delete(cloud, server_id)
    details = step(task, "power_off")
    print(f"delete of a paused guest: {details}")
    assert details["seconds"] < details["requested"]


def test_ignoring_guest_is_forced_after_its_image_timeout_and_forced_stop_is_immediate(cloud):
    server_id = boot(cloud, "taskvisor-guest-ignore")
    task = act(cloud, server_id, {"os-stop": {}})
    details = step(task, "power_off")
    assert details["shutdown"] == "forced" and details["reason"] == "timeout"
    assert details["requested"] == 3 and details["seconds"] >= 3 and details["retries"] >= 1
    ignored = console(cloud, server_id).count("power button ignored")
    assert ignored >= 2  # the first request and at least one re-send reached the guest
    cloud.wait_status(server_id, "SHUTOFF")

    act(cloud, server_id, {"os-start": None})
    cloud.wait_status(server_id, "ACTIVE")
    wait_console(cloud, server_id, "boots=2")
    task = act(cloud, server_id, {"os-stop": {"force": True}}, V2101)
    details = step(task, "power_off")
    assert details["shutdown"] == "forced" and details["reason"] == "force requested" and details["retries"] == 0
    assert console(cloud, server_id).count("power button ignored") == ignored  # never asked
    cloud.wait_status(server_id, "SHUTOFF")
    delete(cloud, server_id)


def test_suspend_resume_and_rescue_with_the_disk_attached_second(cloud):
    server_id = boot(cloud, "taskvisor-guest")
    act(cloud, server_id, {"suspend": None})
    assert cloud.wait_status(server_id, "SUSPENDED")["OS-EXT-STS:power_state"] == power.SUSPENDED
    assert lg.domains_of(cloud.host)[server_id] == 5  # shut off, with a managed-save image
    act(cloud, server_id, {"resume": None})
    cloud.wait_status(server_id, "ACTIVE")
    time.sleep(1)
    assert console(cloud, server_id).count("taskvisor-guest: ready") == 1  # restored, not rebooted

    act(cloud, server_id, {"rescue": {"rescue_image_ref": cloud.images["taskvisor-rescue"]}})
    cloud.wait_status(server_id, "RESCUE")
    out = wait_console(cloud, server_id, "role=rescue")
    out = wait_console(cloud, server_id, "disk vdb")
    assert "disk vda size_kb=1024 label='taskvisor rescue disk' boots=1" in out
    assert "disk vdb size_kb=1048576 label='taskvisor guest disk' boots=1" in out  # the server's own disk

    act(cloud, server_id, {"unrescue": None})
    cloud.wait_status(server_id, "ACTIVE")
    out = wait_console(cloud, server_id, "label='taskvisor guest disk' boots=2")
    assert out.count("role=guest") == 2
    delete(cloud, server_id)


def test_shelve_offload_unshelve_keeps_the_disk_and_resize_then_revert(cloud):
    server_id = boot(cloud, "taskvisor-guest")
    act(cloud, server_id, {"shelve": None})
    cloud.wait_status(server_id, "SHELVED_OFFLOADED")
    assert server_id not in lg.domains_of(cloud.host)
    act(cloud, server_id, {"unshelve": None})
    cloud.wait_status(server_id, "ACTIVE")
    wait_console(cloud, server_id, "label='taskvisor guest disk' boots=2")  # the snapshot carried the disk

    act(cloud, server_id, {"resize": {"flavorRef": "3"}})  # m1.medium: 2 vCPUs, 4 GiB, 40 GB
    cloud.wait_status(server_id, "VERIFY_RESIZE")
    out = wait_console(cloud, server_id, "boots=3")
    assert re.search(r"cpus=2 mem_kb=\d+", out.split("boots=2")[-1])
    assert "disk vda size_kb=41943040" in out
    assert cloud.driver.flavor(server_id)["vcpus"] == 2

    act(cloud, server_id, {"revertResize": None})
    cloud.wait_status(server_id, "ACTIVE")
    out = wait_console(cloud, server_id, "boots=3", count=2)  # the old disk (boots=2) booted once more
    tail = out.rsplit("role=guest", 1)[1]
    assert "cpus=1" in tail and "size_kb=1048576" in tail and "boots=3" in tail
    assert cloud.driver.flavor(server_id)["vcpus"] == 1
    delete(cloud, server_id)


def test_guest_that_powers_itself_off_is_seen_as_shutoff_without_an_api_call(cloud):
    server_id = boot(cloud, "taskvisor-guest-selfstop")  # powers off 3 s after it is ready
    wait_console(cloud, server_id, "reboot: Power down", timeout=60)
    seen_off = time.monotonic()
    server = wait_for(lambda: (s := cloud.server(server_id))["status"] == "SHUTOFF" and s, 30,
                      "the server to show SHUTOFF")
    print(f"SHUTOFF seen {time.monotonic() - seen_off:.2f}s after the guest's power-down message "
          "(no periodic sync: [compute] sync_power_state_interval = 0)")
    assert server["OS-EXT-STS:power_state"] == power.SHUTDOWN
    delete(cloud, server_id)


def test_stop_is_reported_when_the_guest_powers_off_and_start_right_after_it_really_runs(cloud):
    """The clean stop answers at libvirt's SHUTDOWN event (the guest has
    powered off) while libvirtd may still be stopping QEMU; every power state
    after that must still be the truth: a start at once really boots the guest
    again, a stop really leaves the domain off, and a power-state sync agrees
    with the API each time."""
    server_id = boot(cloud, "taskvisor-guest")  # powers off at once on the ACPI button
    for n in range(2, 5):
        task = act(cloud, server_id, {"os-stop": None})
        details = step(task, "power_off")
        assert details["shutdown"] == "clean" and details["retries"] == 0 and details["seconds"] > 0
        assert console(cloud, server_id).count("reboot: Power down") == n - 1
        assert cloud.server(server_id)["status"] == "SHUTOFF"
        if n == 3:  # once: the stop as libvirtd and a power-state sync see it
            assert cloud.driver.power_state(server_id) == power.SHUTDOWN  # asks libvirtd
            wait_for(lambda: lg.domains_of(cloud.host)[server_id] == 5, 60, "libvirt to report the domain SHUTOFF")
            cloud.node.compute.sync_power_states()
            time.sleep(0.5)  # (a cast: give the conductor a moment to apply a disagreement, if any)
            assert cloud.server(server_id)["OS-EXT-STS:power_state"] == power.SHUTDOWN

        # otherwise start at once, while libvirtd may still be stopping QEMU: the
        # guest must really run again, not be left off
        act(cloud, server_id, {"os-start": None})
        server = cloud.wait_status(server_id, "ACTIVE")
        assert server["OS-EXT-STS:power_state"] == power.RUNNING
        wait_console(cloud, server_id, f"boots={n}")
        assert lg.domains_of(cloud.host)[server_id] == 1  # VIR_DOMAIN_RUNNING
        cloud.node.compute.sync_power_states()
        time.sleep(0.5)
        server = cloud.server(server_id)
        assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == power.RUNNING
        wait_console(cloud, server_id, "taskvisor-guest: ready", count=n)
    delete(cloud, server_id)
