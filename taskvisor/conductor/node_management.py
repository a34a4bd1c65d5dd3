"""Synchronous node reads a conductor answers for the API (Ironic's
conductor RPC calls): validate a node's interfaces, read its boot device and
the boot devices it supports, its indicators. They ask the hardware but change nothing, so
they are not tasks; setting a boot device is (flows/node_boot_device.py).
"""
from __future__ import annotations

from sqlalchemy import select

from taskvisor.baremetal.drivers import UnknownDriver, get_driver
from taskvisor.baremetal.interfaces import HardwareError, HardwareTask
from taskvisor.db.models import nodes
from taskvisor.db.session import Database

# Ironic's non-vendor interfaces, in its order; the answer names each
KINDS = ("boot", "console", "deploy", "inspect", "management", "network", "power", "raid", "rescue", "storage",
         "bios", "firmware")


class NodeGone(LookupError):
    pass


def _task(db: Database, conf, node_id: str) -> tuple[object, HardwareTask]:
    with db.read() as conn:
        row = conn.execute(select(nodes).where(nodes.c.id == node_id)).mappings().first()
    if row is None:
        raise NodeGone(node_id)
    node = dict(row)
    try:
        driver = get_driver(node["driver"])
    except UnknownDriver:
        raise HardwareError(f"No conductor supports driver {node['driver']}") from None
    return driver, HardwareTask(node, conf)


def validate(db: Database, conf, node_id: str) -> dict:
    """{kind: {"result": bool, "reason": str|None}}: each interface's own
    check of the node's driver_info. A kind the driver has no behaviour for
    (fake-hardware's boot, console…, no-* interfaces) has nothing to check."""
    driver, hw = _task(db, conf, node_id)
    answer = {}
    for kind in KINDS:
        iface = getattr(driver, kind, None)
        result, reason = True, None
        if iface is not None:
            try:
                iface.validate(hw)
            except HardwareError as exc:
                result, reason = False, str(exc)
        answer[kind] = {"result": result, "reason": reason}
    return answer


def boot_device(db: Database, conf, node_id: str) -> dict:
    driver, hw = _task(db, conf, node_id)
    return driver.management.get_boot_device(hw)


def supported_boot_devices(db: Database, conf, node_id: str) -> list[str]:
    driver, hw = _task(db, conf, node_id)
    return list(driver.management.supported_boot_devices(hw))


def indicators(db: Database, conf, node_id: str) -> dict:
    """{component: {indicator: {"readonly": bool, "states": [...]}}}"""
    driver, hw = _task(db, conf, node_id)
    return driver.management.supported_indicators(hw)


def indicator_state(db: Database, conf, node_id: str, component: str, indicator: str) -> str:
    driver, hw = _task(db, conf, node_id)
    return driver.management.get_indicator_state(hw, component, indicator)
