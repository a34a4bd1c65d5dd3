"""The redfish driver against a real Redfish BMC (the sushy-tools emulator
in its own process): verify, power on / reboot / off, a boot-device clean
step; credentials never shown or logged. The emulator applies a power
change 1–11 s after it is asked, so every power task polls."""
from __future__ import annotations

import logging

import pytest

from tests.functional.baremetal import Baremetal
from tests.redfish_emulator import PASSWORD, redfish_bmc  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


@pytest.fixture
def bm(cloud_factory) -> Baremetal:
    return Baremetal(cloud_factory(conductor__power_state_poll_interval=0.3,
                                   conductor__power_state_change_timeout=30))


def power(bm: Baremetal, uuid: str, target: str) -> dict:
    resp = bm.power(uuid, target)
    assert resp.status_code == 202, resp.text
    return bm.wait_task(resp.headers["X-Taskvisor-Task"], timeout=45)


def test_power_and_boot_device_through_redfish(bm, redfish_bmc, caplog):
    caplog.set_level(logging.DEBUG)
    node = bm.create("rf", driver="redfish", driver_info=redfish_bmc.driver_info())
    assert node["driver_info"]["redfish_password"] == "******"
    assert node["power_interface"] == "redfish" and node["management_interface"] == "redfish"
    uuid = node["uuid"]
    bm.act(uuid, "manage")
    assert bm.node(uuid)["power_state"] == "power off"

    task = power(bm, uuid, "power on")
    assert task["status"] == "succeeded", task
    assert bm.node(uuid)["power_state"] == "power on"
    assert redfish_bmc.system()["PowerState"] == "On"

    task = power(bm, uuid, "rebooting")
    assert task["status"] == "succeeded", task
    assert bm.node(uuid)["power_state"] == "power on" and redfish_bmc.system()["PowerState"] == "On"

    task = power(bm, uuid, "power off")
    assert task["status"] == "succeeded", task
    assert task["steps"][0]["details"]["power_state"] == "power off"
    assert redfish_bmc.system()["PowerState"] == "Off"

    task = bm.act(uuid, "clean", clean_steps=[{"interface": "management", "step": "set_boot_device",
                                               "args": {"device": "pxe", "persistent": True}}])
    assert [s["name"] for s in task["steps"]][1] == "management.set_boot_device"
    boot = redfish_bmc.system()["Boot"]
    assert boot["BootSourceOverrideTarget"] == "Pxe" and boot["BootSourceOverrideEnabled"] == "Continuous"
    assert bm.node(uuid)["provision_state"] == "manageable"

    detail = bm.req("GET", "/nodes/detail").text + bm.req("GET", f"/nodes/{uuid}/tasks").text
    assert PASSWORD not in detail and PASSWORD not in caplog.text


def test_wrong_credentials_fail_verify_clearly(bm, redfish_bmc, caplog):
    node = bm.create("bad", driver="redfish", driver_info=redfish_bmc.driver_info(password="wrong-pw-123"))
    resp = bm.provision(node["uuid"], "manage")
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"], timeout=30)
    assert task["status"] == "failed"
    node = bm.node(node["uuid"])
    assert node["provision_state"] == "enroll"
    assert "Failed to get power state" in node["last_error"] and redfish_bmc.address in node["last_error"]
    assert "wrong-pw-123" not in node["last_error"] and "wrong-pw-123" not in caplog.text


def test_unknown_boot_device_fails_the_step(bm, redfish_bmc):
    node = bm.create("dev", driver="redfish", driver_info=redfish_bmc.driver_info())
    bm.act(node["uuid"], "manage")
    resp = bm.provision(node["uuid"], "clean", clean_steps=[{"interface": "management", "step": "set_boot_device",
                                                             "args": {"device": "floppy"}}])
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"], timeout=30)
    assert task["status"] == "failed" and "unknown boot device 'floppy'" in task["error"]["message"]
    assert bm.node(node["uuid"])["provision_state"] == "clean failed"
