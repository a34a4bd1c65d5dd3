"""The hardware drivers a conductor can run, and what each offers. A
conductor records ``describe_all()`` with its service row when it starts;
the API reads that record (it never loads a driver itself)."""
from __future__ import annotations

from functools import lru_cache

from taskvisor.baremetal.steps import driver_steps

DRIVERS = ("fake-hardware", "redfish")
# Interfaces a driver may leave out, which Ironic shows as "noop".
_NOOP = ("console", "rescue", "storage", "inspect", "network", "boot", "firmware")
INTERFACES = ("boot", "console", "deploy", "inspect", "management", "power", "raid", "vendor", "storage",
              "rescue", "bios", "firmware", "network")


class UnknownDriver(ValueError):
    pass


@lru_cache(maxsize=None)
def get_driver(name: str):
    if name == "fake-hardware":
        from taskvisor.baremetal.fake import FakeHardware
        return FakeHardware()
    if name == "redfish":
        from taskvisor.baremetal.redfish import Redfish
        return Redfish()
    raise UnknownDriver(name)


def describe(name: str) -> dict:
    """A driver's interface names (node.<kind>_interface) and clean steps."""
    driver = get_driver(name)
    interfaces = {}
    for kind in INTERFACES:
        interface = getattr(driver, kind, None)
        interfaces[kind] = getattr(interface, "name", None) or ("noop" if kind in _NOOP else None)
    return {"interfaces": interfaces, "clean_steps": driver_steps(driver)}


def describe_all() -> dict[str, dict]:
    return {name: describe(name) for name in DRIVERS}
