"""Clean step declaration, collection, ordering and validation, on real
interface classes (a small driver declared here plus the fake one)."""
from __future__ import annotations

import pytest

from taskvisor.baremetal import steps as s
from taskvisor.baremetal.drivers import get_driver
from taskvisor.baremetal.interfaces import BiosInterface, DeployInterface, ManagementInterface, PowerInterface
from taskvisor.baremetal.interfaces import RaidInterface, VendorInterface


class Power(PowerInterface):
    @s.clean_step(priority=5)
    def a(self, task): ...


class Management(ManagementInterface):
    @s.clean_step(priority=5)
    def b(self, task): ...

    @s.clean_step(priority=0, argsinfo={"n": {"required": True, "type": "integer"}})
    def manual_only(self, task, n): ...


class Deploy(DeployInterface):
    @s.clean_step(priority=99, abortable=True)
    def c(self, task): ...


class Bios(BiosInterface):
    @s.clean_step(priority=5)
    def d(self, task): ...


class Raid(RaidInterface):
    @s.clean_step(priority=5)
    def e(self, task): ...


class Vendor(VendorInterface):
    @s.clean_step(priority=5)
    def f(self, task): ...


class TiedDriver:
    power, management, deploy, bios, raid, vendor = Power(), Management(), Deploy(), Bios(), Raid(), Vendor()


def order(steps):
    return [s.step_id(x) for x in steps]


def test_collects_every_interface_step_with_its_metadata():
    found = {s.step_id(x): x for x in s.driver_steps(TiedDriver())}
    assert set(found) == {"power.a", "management.b", "management.manual_only", "deploy.c", "bios.d", "raid.e",
                          "vendor.f"}
    assert found["deploy.c"] == {"interface": "deploy", "step": "c", "priority": 99, "abortable": True,
                                 "argsinfo": {}, "requires_ramdisk": True}


def test_priority_then_interface_weight():
    assert order(s.automated_steps(s.driver_steps(TiedDriver()))) == ["deploy.c", "vendor.f", "power.a", "management.b", "bios.d",
                                                      "raid.e"]


def test_overrides_reorder_and_disable():
    overrides = s.parse_overrides("raid.e:100, deploy.c:0,management.manual_only:6")
    assert overrides == {"raid.e": 100, "deploy.c": 0, "management.manual_only": 6}
    assert order(s.automated_steps(s.driver_steps(TiedDriver()), overrides)) == ["raid.e", "management.manual_only", "vendor.f",
                                                                 "power.a", "management.b", "bios.d"]
    with pytest.raises(ValueError):
        s.parse_overrides("raid.e=100")


def test_fake_hardware_has_two_automated_steps_and_manual_ones_with_required_args():
    driver = get_driver("fake-hardware")
    # erase_devices, then Ironic's fake vendor step (priority 1)
    assert order(s.automated_steps(s.driver_steps(driver))) == ["deploy.erase_devices", "vendor.log_passthrough"]
    manual = [x for x in s.driver_steps(driver) if x["priority"] == 0]
    assert len(manual) >= 5
    assert any(info.get("required") for x in manual for info in x["argsinfo"].values())


def test_user_steps_keep_the_users_order_and_reserved_steps():
    steps = s.validate_user_steps(s.driver_steps(TiedDriver()), [
        {"interface": "raid", "step": "e"}, {"interface": "deploy", "step": "hold"},
        {"interface": "management", "step": "manual_only", "args": {"n": 3}},
        {"interface": "power", "step": "wait", "args": {"seconds": 2}}])
    assert order(steps) == ["raid.e", "deploy.hold", "management.manual_only", "power.wait"]
    assert steps[2]["args"] == {"n": 3} and steps[1]["abortable"] is True


@pytest.mark.parametrize("bad, words", [
    ([{"interface": "nic", "step": "x"}], "Invalid clean_steps"),
    ([{"interface": "raid", "step": "zz"}], "does not support"),
    ([{"interface": "management", "step": "manual_only"}], "missing these required arguments: n"),
    ([{"interface": "management", "step": "manual_only", "args": {"n": "3"}}], "must be of type integer"),
    ([{"interface": "raid", "step": "e", "args": {"x": 1}}], "unexpected arguments: x"),
])
def test_user_step_errors(bad, words):
    with pytest.raises(s.InvalidSteps, match=words):
        s.validate_user_steps(s.driver_steps(TiedDriver()), bad)


def test_declaration_errors():
    with pytest.raises(ValueError):
        s.clean_step(priority=-1)
    with pytest.raises(ValueError):
        s.clean_step(priority=1, argsinfo={"x": {"type": "float"}})
