"""os-availability-zone in Nova's shape: the zones of the computes (from
their aggregates, else the default zone), available when one of their
computes is enabled; the detail (admin) adds the ``internal`` zone of the
other services and each host's services."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from taskvisor import servicegroup
from taskvisor.api.compute.services import BINARY_NAMES
from taskvisor.api.compute.views import iso_usec
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest
from taskvisor.api.policy import authorize
from taskvisor.db.zones import INTERNAL, host_zones, zone_of
from taskvisor.servicegroup import COMPUTE_BINARY

router = APIRouter(prefix="/compute/v2.1")


def service_zones(request: Request) -> list[tuple[dict, str]]:
    """Every service with its zone."""
    default = request.app.state.tv.conf.DEFAULT.default_availability_zone
    with request.app.state.tv.db.read() as conn:
        zones = host_zones(conn)
        rows = servicegroup.list_services(conn)
    return [(svc, zone_of(zones, svc["host"], default) if svc["binary"] == COMPUTE_BINARY else INTERNAL)
            for svc in rows]


def _zones(request: Request, detail: bool) -> list[dict]:
    down_time = request.app.state.tv.conf.DEFAULT.service_down_time
    available: dict[str, bool] = {}
    hosts: dict[str, dict] = {}
    for svc, zone in service_zones(request):
        if zone == INTERNAL and not detail:
            continue
        available[zone] = available.get(zone, False) or not svc["disabled"]
        binary = BINARY_NAMES.get(svc["binary"], svc["binary"])
        hosts.setdefault(zone, {}).setdefault(svc["host"], {})[binary] = {
            "available": servicegroup.is_up(svc, down_time), "active": not svc["disabled"],
            "updated_at": iso_usec(svc["updated_at"])}
    return [{"zoneName": zone, "zoneState": {"available": up}, "hosts": hosts[zone] if detail else None}
            for zone, up in sorted(available.items())]


@router.get("/os-availability-zone")
def list_zones(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-availability-zone:list", {})
    return {"availabilityZoneInfo": _zones(request, detail=False)}


@router.get("/os-availability-zone/detail")
def list_zones_detail(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-availability-zone:detail", {})
    return {"availabilityZoneInfo": _zones(request, detail=True)}


def requested_zone(conn, ctx: RequestContext, value: str | None, default: str) -> tuple[str | None, str | None]:
    """A server create's ``availability_zone``: ``zone``, or for admins
    ``zone:host`` (or ``:host``) to force a host. Returns (zone, host);
    an unknown zone or host is a 400, as in Nova."""
    if not value:
        return None, None
    zone, _, host = value.partition(":")
    host = host.split(":", 1)[0]
    if host:
        authorize(ctx, "os_compute_api:servers:create:forced_host")
    zones = host_zones(conn)
    computes = {s["host"] for s in servicegroup.list_services(conn, COMPUTE_BINARY)}
    if zone and zone not in {zone_of(zones, h, default) for h in computes}:
        raise BadRequest(f"The requested availability zone is not available: {zone[:64]}")
    if host and (host not in computes or (zone and zone_of(zones, host, default) != zone)):
        raise BadRequest(f"Compute host {host[:64]} could not be found in the requested availability zone.")
    return zone or (zone_of(zones, host, default) if host else None), host or None


def compute_zones(conn, default: str) -> set[str]:
    """The zones that hold a compute."""
    zones = host_zones(conn)
    return {zone_of(zones, s["host"], default) for s in servicegroup.list_services(conn, COMPUTE_BINARY)}
