"""Bare Metal v1 (Ironic subset) under /baremetal: version documents,
nodes, their provision/power/maintenance actions (tasks), clean steps."""
from fastapi import APIRouter, Request

from taskvisor.api.baremetal import actions, chassis, nodes, versions
from taskvisor.api.baremetal import deploy_templates, runbooks

router = APIRouter(prefix="/baremetal")


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/baremetal"


@router.get("")
@router.get("/")
def root(request: Request):
    return versions.root_doc(_base(request))


@router.get("/v1")
@router.get("/v1/")
def v1(request: Request):
    return versions.v1_doc(_base(request))


router.include_router(nodes.router)
router.include_router(actions.router)
router.include_router(chassis.router)
router.include_router(deploy_templates.router)
router.include_router(runbooks.router)
