"""os-networks (deprecated, gone from 2.36) in Nova's shape. Without
Neutron the only network is the simulated private one the boot flow gives
every server an address on (10.0.0.0/8, label ``private``); Nova answers
the fields Neutron cannot fill with null."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import NotFound
from taskvisor.api.policy import authorize

router = APIRouter(prefix="/compute/v2.1")

PRIVATE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "taskvisor:network:private"))
_FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6", "label",
           "netmask_v6")
# Shown to admins only (Nova's nova-network era columns)
_ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
                 "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start", "project_id", "host",
                 "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp",
                 "share_address")
_PRIVATE = {"id": PRIVATE_ID, "label": "private", "cidr": "10.0.0.0/8", "netmask": "255.0.0.0"}


def _gone(ctx: RequestContext) -> None:
    if ctx.at_least("2.36"):
        raise NotFound("The resource could not be found.")


def _view(ctx: RequestContext) -> dict:
    fields = _FIELDS + (_ADMIN_FIELDS if ctx.is_admin else ())
    return {field: _PRIVATE.get(field) for field in fields}


@router.get("/os-networks")
def list_networks(ctx: RequestContext = Depends(get_context)):
    _gone(ctx)
    authorize(ctx, "os_compute_api:os-networks:list", {"project_id": ctx.project_id})
    return {"networks": [_view(ctx)]}


@router.get("/os-networks/{network_id}")
def show_network(network_id: str, ctx: RequestContext = Depends(get_context)):
    _gone(ctx)
    authorize(ctx, "os_compute_api:os-networks:view", {"project_id": ctx.project_id})
    if network_id != PRIVATE_ID:
        raise NotFound(f"Network {network_id[:64]} could not be found.")
    return {"network": _view(ctx)}
