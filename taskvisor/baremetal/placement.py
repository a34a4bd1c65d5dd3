"""Servers on bare metal: which flavors ask for a node, and which flows run
their actions.

A bare-metal flavor carries ``resources:CUSTOM_<CLASS>=1`` (Nova's
convention); it fits a node whose ``resource_class``, normalised as Nova's
placement does, is that class.
"""
from __future__ import annotations

import hashlib
import re

_PREFIX = "resources:CUSTOM_"
# Server actions a bare-metal server supports, and the flow each one runs.
BAREMETAL_FLOWS = {"boot": "bm_boot", "delete": "bm_delete", "stop": "bm_stop", "start": "bm_start",
         "reboot": "bm_reboot", "reboot_hard": "bm_reboot_hard"}


def normalize(resource_class: str) -> str:
    """Nova's ``orc.normalize_name``: upper case, anything but A-Z0-9_ → _, CUSTOM_ prefix."""
    name = re.sub(r"[^A-Z0-9_]", "_", resource_class.upper())
    return name if name.startswith("CUSTOM_") else f"CUSTOM_{name}"


def requested_classes(flavor: dict | None) -> dict[str, int]:
    """{CUSTOM_X: amount} a flavor asks for (amounts that are not integers count as 0)."""
    out = {}
    for key, value in ((flavor or {}).get("extra_specs") or {}).items():
        if key.startswith(_PREFIX):
            try:
                out[key.split(":", 1)[1]] = int(str(value).strip())
            except ValueError:
                out[key.split(":", 1)[1]] = 0
    return out


def is_baremetal(flavor: dict | None) -> bool:
    return bool(requested_classes(flavor))


def node_class(flavor: dict) -> str | None:
    """The one node resource class the flavor fits, or None when no node can
    fit it (several classes, or an amount other than 1: a node is one unit)."""
    wanted = {rc: n for rc, n in requested_classes(flavor).items() if n}
    if len(wanted) != 1:
        return None
    (rc, amount), = wanted.items()
    return rc if amount == 1 else None


def flow_for(flavor: dict | None, flow: str) -> str | None:
    """The flow that runs ``flow`` for a server of this flavor; None when a
    bare-metal server cannot do it (pause, rescue, resize ...)."""
    if not is_baremetal(flavor):
        return flow
    return BAREMETAL_FLOWS.get(flow)


HYPERVISOR_TYPE = "ironic"  # what a compute running the baremetal virt driver reports


def host_for(node_id: str, hosts: list[str]) -> str | None:
    """The compute that answers for a node: a stable hash over the sorted
    hosts (Nova's hash ring, without the ring)."""
    if not hosts:
        return None
    hosts = sorted(hosts)
    return hosts[int(hashlib.sha1(node_id.encode()).hexdigest(), 16) % len(hosts)]
