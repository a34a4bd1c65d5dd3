"""The hardware drivers a conductor can run, and what each offers. A
conductor records ``describe_all()`` with its service row when it starts;
the API reads that record (it never loads a driver itself)."""
from __future__ import annotations

from functools import lru_cache

from taskvisor.baremetal.steps import driver_deploy_steps, driver_steps

DRIVERS = ("fake-hardware", "redfish")
# Interfaces a driver may leave out, which Ironic shows as "noop".
_NOOP = ("console", "rescue", "storage", "inspect", "network", "boot", "firmware")
INTERFACES = ("boot", "console", "deploy", "inspect", "management", "power", "raid", "vendor", "storage",
              "rescue", "bios", "firmware", "network")
# Network interfaces do not depend on the hardware type (Ironic enables flat and noop for
# every one): flat records VIFs on the node's ports (api/baremetal/vifs.py); no Neutron here.
NETWORK_ALTERNATIVES = ["flat"]


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
    """What the API shows of a driver (GET /v1/drivers…) and checks nodes
    against: its interface per kind (the default of node.<kind>_interface),
    the names a node may choose instead (``enabled_interfaces``), the
    driver_info properties its interfaces read, the logical disk properties
    of its RAID interface (None: no RAID), and its clean and deploy steps."""
    driver = get_driver(name)
    interfaces, properties = {}, {}
    for kind in INTERFACES:
        interface = getattr(driver, kind, None)
        interfaces[kind] = (getattr(interface, "name", None) or getattr(driver, "named", {}).get(kind)
                            or ("noop" if kind in _NOOP else None))
        properties.update(getattr(interface, "properties", None) or {})
    raid = getattr(driver, "raid", None)
    return {"interfaces": interfaces,
            "enabled_interfaces": {kind: ([iface] if iface else []) + getattr(driver, "alternatives", {}).get(kind, [])
                                   + (NETWORK_ALTERNATIVES if kind == "network" else [])
                                   for kind, iface in interfaces.items()},
            "properties": properties,
            "raid_logical_disk_properties": getattr(raid, "logical_disk_properties", None),
            "clean_steps": driver_steps(driver), "deploy_steps": driver_deploy_steps(driver)}


def describe_all() -> dict[str, dict]:
    return {name: describe(name) for name in DRIVERS}
