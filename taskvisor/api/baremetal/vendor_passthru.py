"""The vendor passthru methods of a node's driver and of a driver:
GET /v1/nodes/{id}/vendor_passthru/methods and
/v1/drivers/{name}/vendor_passthru/methods. taskvisor's vendor interfaces
expose no passthru methods (their work is clean steps), so both answer {}
for what exists; calling a method is not served."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import recorded_drivers
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import NotFound
from taskvisor.api.policy import authorize

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes


@router.get("/v1/nodes/{ident}/vendor_passthru/methods")
def node_vendor_methods(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node_for(request, ctx, ident, "baremetal:node:vendor_passthru")
    return {}


@router.get("/v1/drivers/{driver_name}/vendor_passthru/methods")
def driver_vendor_methods(driver_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "baremetal:driver:vendor_passthru")
    if driver_name not in recorded_drivers(request):
        raise NotFound(f"Could not find the following driver(s) or hardware type(s): {driver_name[:64]}.")
    return {}
