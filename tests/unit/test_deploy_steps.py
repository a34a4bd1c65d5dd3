"""Deploy templates' steps: where they join a deploy (around deploy.deploy,
priority 100, ties by interface weight) and how they are checked against
the fake driver's steps."""
from __future__ import annotations

import pytest

from taskvisor.baremetal import steps as s
from taskvisor.baremetal.drivers import get_driver


def step(interface: str, name: str, priority, **args) -> dict:
    return {"interface": interface, "step": name, "args": args, "priority": priority}


def ids(steps: list[dict]) -> list[str]:
    return [s.step_id(x) for x in steps]


def test_split_around_the_core_deploy_step():
    steps = [step("raid", "create_configuration", 50), step("bios", "apply_configuration", 150),
             step("management", "set_boot_device", 100), step("bios", "factory_reset", 100),
             step("vendor", "burnin_cpu", 0), step("deploy", "burnin_disk", "200")]
    before, after = s.split_deploy_steps(steps)
    # management outweighs deploy at the same priority; bios does not
    assert ids(before) == ["deploy.burnin_disk", "bios.apply_configuration", "management.set_boot_device"]
    assert ids(after) == ["bios.factory_reset", "raid.create_configuration"]  # priority 0 never runs


def test_validate_completes_steps_with_the_drivers_data():
    known = s.driver_steps(get_driver("fake-hardware"))
    planned = s.validate_deploy_steps(known, [step("raid", "create_configuration", 10),
                                              step("bios", "apply_configuration", "120", settings=[])])
    assert ids(planned) == ["bios.apply_configuration", "raid.create_configuration"]
    assert planned[0]["priority"] == 120 and planned[0]["args"] == {"settings": []}
    assert planned[0]["argsinfo"]["settings"]["required"] is True


@pytest.mark.parametrize("steps, words", [
    ([step("bios", "overclock", 10)], "node does not support this deploy step"),
    ([step("deploy", "hold", 10)], "node does not support this deploy step"),
    ([step("bios", "factory_reset", 10), step("bios", "factory_reset", 20)], "Duplicate deploy steps for "
                                                                             "bios.factory_reset"),
    ([step("deploy", "burnin_disk", 10, passes="3")], "argument passes must be of type integer"),
])
def test_validate_refuses(steps, words):
    known = s.driver_steps(get_driver("fake-hardware"))
    with pytest.raises(s.InvalidSteps, match=words):
        s.validate_deploy_steps(known, steps)
