"""os-hosts (deprecated in Nova, gone from microversion 2.43): the enabled
services' hosts with their zone, a compute host's resources by project,
enabling or disabling a compute, and the power actions no driver here
implements (501, as with Nova's libvirt driver)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select, update

from taskvisor.api import openapi
from taskvisor.api.compute.availability_zones import service_zones
from taskvisor.api.compute.services import BINARY_NAMES
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import json_body, validate
from taskvisor.db.models import servers, services
from taskvisor.db.session import utcnow
from taskvisor.servicegroup import COMPUTE_BINARY

router = APIRouter(prefix="/compute/v2.1")
RULE = "os_compute_api:os-hosts:%s"
_SWITCH = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]}
UPDATE_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1,
                 "properties": {"status": _SWITCH, "maintenance_mode": _SWITCH}}


def _check_version(ctx: RequestContext) -> None:
    if ctx.at_least("2.43"):
        raise NotFound("The resource could not be found.")


def _topic(binary: str) -> str:
    return BINARY_NAMES.get(binary, binary).removeprefix("nova-").removeprefix("taskvisor-")


def _compute(request: Request, host: str) -> dict:
    with request.app.state.tv.db.read() as conn:
        row = conn.execute(select(services).where(services.c.binary == COMPUTE_BINARY,
                                                  services.c.host == host)).mappings().first()
    if row is None:
        raise NotFound(f"Compute host {host} could not be found.")
    return dict(row)


@router.get("/os-hosts", openapi_extra=openapi.query(("zone", openapi.STRING)))
def list_hosts(request: Request, ctx: RequestContext = Depends(get_context)):
    _check_version(ctx)
    authorize(ctx, RULE % "list", {})
    zone = request.query_params.get("zone")
    return {"hosts": [{"host_name": svc["host"], "service": _topic(svc["binary"]), "zone": svc_zone}
                      for svc, svc_zone in service_zones(request)
                      if not svc["disabled"] and (not zone or svc_zone == zone)]}


def _resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict:
    return {"resource": {"host": host, "project": project, "cpu": cpu, "memory_mb": memory_mb, "disk_gb": disk_gb}}


@router.get("/os-hosts/{host_name}")
def show_host(host_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _check_version(ctx)
    authorize(ctx, RULE % "show", {})
    svc = _compute(request, host_name)
    cap = svc["capabilities"] or {}
    with request.app.state.tv.db.read() as conn:
        rows = conn.execute(select(servers.c.project_id, servers.c.flavor).where(
            servers.c.host == host_name, servers.c.deleted.is_(False))).all()
    by_project: dict[str, list[int]] = {}
    for project, flavor in rows:
        sums = by_project.setdefault(project, [0, 0, 0])
        sums[0] += int(flavor.get("vcpus", 0))
        sums[1] += int(flavor.get("ram", 0))
        sums[2] += int(flavor.get("disk", 0)) + int(flavor.get("ephemeral", 0) or 0)
    used = [sum(s[i] for s in by_project.values()) for i in range(3)]
    out = [_resource(host_name, "(total)", int(cap.get("vcpus", 0)), int(cap.get("memory_mb", 0)),
                     int(cap.get("disk_gb", 0))),
           _resource(host_name, "(used_now)", *used), _resource(host_name, "(used_max)", *used)]
    out += [_resource(host_name, project, *sums) for project, sums in sorted(by_project.items())]
    return {"host": out}


@router.put("/os-hosts/{host_name}", openapi_extra=openapi.body(UPDATE_SCHEMA))
def update_host(host_name: str, request: Request, body=Depends(json_body),
                ctx: RequestContext = Depends(get_context)):
    _check_version(ctx)
    authorize(ctx, RULE % "update", {})
    spec = validate(body, UPDATE_SCHEMA)
    _compute(request, host_name)
    if "maintenance_mode" in spec:  # checked before any change: never half-applied
        raise ApiError(501, "Virt driver does not implement host maintenance mode.")
    disabled = spec["status"].lower() == "disable"
    with request.app.state.tv.db.write() as conn:
        conn.execute(update(services).where(services.c.binary == COMPUTE_BINARY, services.c.host == host_name)
                     .values(disabled=disabled, disabled_reason=None, updated_at=utcnow()))
    return {"host": host_name, "status": "disabled" if disabled else "enabled"}


def _power_action(request: Request, ctx: RequestContext, host_name: str, rule: str):
    _check_version(ctx)
    authorize(ctx, RULE % rule, {})
    _compute(request, host_name)
    raise ApiError(501, "Virt driver does not implement host power management.")


@router.get("/os-hosts/{host_name}/startup")
def startup_host(host_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _power_action(request, ctx, host_name, "start")


@router.get("/os-hosts/{host_name}/shutdown")
def shutdown_host(host_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _power_action(request, ctx, host_name, "shutdown")


@router.get("/os-hosts/{host_name}/reboot")
def reboot_host(host_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _power_action(request, ctx, host_name, "reboot")
