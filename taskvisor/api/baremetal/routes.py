"""Bare Metal v1 (Ironic subset) under /baremetal: version documents,
nodes, their provision/power/maintenance actions (tasks), clean steps."""
from fastapi import APIRouter, Depends, Request

from taskvisor.api.baremetal import actions, chassis, nodes, versions
from taskvisor.api.baremetal import portgroups, ports
from taskvisor.api.baremetal import conductors, driver_routes, shards
from taskvisor.api.middleware.edge import CONTEXT_KEY
from taskvisor.api.baremetal import allocations, traits
from taskvisor.api.baremetal import deploy_templates, runbooks
from taskvisor.api.baremetal import node_management
from taskvisor.api.baremetal import inspection_rules, vifs, volume, volume_connectors, volume_targets
from taskvisor.api.baremetal import heartbeat, node_bios, node_boot_mode, node_console, node_firmware
from taskvisor.api.baremetal import node_history, node_indicators, node_raid, node_vmedia, vendor_passthru
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError

# Every router here declares the full "/baremetal" prefix itself and is
# included with no options, so flat_routes.flatten() lifts all their routes
# into the app's one table (a prefix given at include time would keep them
# behind FastAPI's lazy per-request matching). Order is kept: the catch-all
# below comes after the specific states routes.
router = APIRouter()
_versions = APIRouter(prefix="/baremetal")
_fallback = APIRouter(prefix="/baremetal")


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/baremetal"


@_versions.get("")
@_versions.get("/")
async def root(request: Request):
    return versions.root_doc(_base(request))


@_versions.get("/v1")
@_versions.get("/v1/")
async def v1(request: Request):
    # an open path (no context): the version the edge middleware negotiated
    _, version = request.scope.get("state", {}).get(CONTEXT_KEY, (None, None))
    return versions.v1_doc(_base(request), version or versions.MIN_VERSION)


router.include_router(_versions)
router.include_router(nodes.router)
router.include_router(actions.router)
router.include_router(chassis.router)
router.include_router(ports.router)
router.include_router(portgroups.router)
router.include_router(driver_routes.router)
router.include_router(conductors.router)
router.include_router(shards.router)
router.include_router(traits.router)
router.include_router(allocations.router)
router.include_router(deploy_templates.router)
router.include_router(runbooks.router)
router.include_router(node_management.router)
router.include_router(volume.router)
router.include_router(volume_connectors.router)
router.include_router(volume_targets.router)
router.include_router(vifs.router)
router.include_router(inspection_rules.router)
for module in (node_raid, node_console, node_boot_mode, node_bios, node_firmware, node_history, node_vmedia,
               node_indicators, vendor_passthru, heartbeat):
    router.include_router(module.router)


@_fallback.put("/v1/nodes/{ident}/states/{action}", include_in_schema=False)
def unknown_state_action(ident: str, action: str, ctx: RequestContext = Depends(get_context)):
    """Ironic's states controller has a fixed set of PUT actions; any other
    is 405 before any lookup or policy (pecan's answer)."""
    raise ApiError(405, "The method is not allowed for the requested URL.")


router.include_router(_fallback)
