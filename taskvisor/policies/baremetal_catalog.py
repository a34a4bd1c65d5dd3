"""Bare-metal drivers, conductors and shards, and the node fields that
place a node (conductor group, shard): Ironic's rule names and defaults."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op


def op(*args):
    return _op(*args, scope_types=["system", "project"])


D = "/baremetal/v1/drivers"
ONE_DRIVER = f"{D}/{{driver_name}}"
C = "/baremetal/v1/conductors"
NODE = "/baremetal/v1/nodes/{node_ident}"

rules = [
    op("baremetal:driver:get", b.SYSTEM_READER, "List drivers, or show one", "GET", f"{D}|{ONE_DRIVER}"),
    op("baremetal:driver:get_properties", b.SYSTEM_READER, "Show the driver_info properties a driver reads",
       "GET", f"{ONE_DRIVER}/properties"),
    op("baremetal:driver:get_raid_logical_disk_properties", b.SYSTEM_READER,
       "Show what a logical disk of a driver's RAID configuration may say", "GET",
       f"{ONE_DRIVER}/raid/logical_disk_properties"),
    op("baremetal:conductor:get", b.SYSTEM_READER, "List conductors, or show one", "GET",
       f"{C}|{C}/{{hostname}}"),
    op("baremetal:shards:get", b.SYSTEM_READER, "List the shards nodes are in, with their node counts", "GET",
       "/baremetal/v1/shards"),
    op("baremetal:node:update:conductor_group", b.SYSTEM_MEMBER, "Update a node's conductor_group", "PATCH", NODE),
    op("baremetal:node:update:shard", b.SYSTEM_ADMIN, "Update a node's shard", "PATCH", NODE),
]
