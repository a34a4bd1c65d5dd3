"""Bare-metal hardware: drivers (hardware types) made of interfaces, and
their clean steps. The conductor runs these itself (no compute involved)."""
from __future__ import annotations

from functools import lru_cache

DRIVERS = ("fake-hardware", "redfish")


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
