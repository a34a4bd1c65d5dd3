"""os-simple-tenant-usage (each project's servers' hours, vCPU, RAM and
disk hours over a period, from their launch and termination times) and
os-instance_usage_audit_log (Nova's monthly audit job report; no audit job
runs here, so every compute shows as not run for the period)."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from sqlalchemy import or_, select

from taskvisor import servicegroup
from taskvisor.api import openapi
from taskvisor.api.compute.views import iso_usec
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.db.models import servers
from taskvisor.db.session import utcnow
from taskvisor.servicegroup import COMPUTE_BINARY

router = APIRouter(prefix="/compute/v2.1")
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")
_QUERY = openapi.query(("start", openapi.STRING), ("end", openapi.STRING), ("detailed", openapi.STRING))


def _parse_time(text: str, name: str) -> dt.datetime:
    for fmt in _TIME_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed
    raise BadRequest(f"Invalid {name} time: {text[:40]}. It must be an ISO 8601 date and time.")


def _period(request: Request) -> tuple[dt.datetime, dt.datetime]:
    now = utcnow()
    params = request.query_params
    start = _parse_time(params["start"], "start") if params.get("start") else now
    end = _parse_time(params["end"], "end") if params.get("end") else now
    if start > end:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return start, end


def _usages(request: Request, start: dt.datetime, end: dt.datetime, project: str | None) -> dict[str, dict]:
    """Per project: the servers that ran during [start, end] and their share of it."""
    now = utcnow()
    query = select(servers).where(servers.c.launched_at.is_not(None), servers.c.launched_at < end,
                                  or_(servers.c.terminated_at.is_(None), servers.c.terminated_at > start))
    if project is not None:
        query = query.where(servers.c.project_id == project)
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(servers.c.created_at, servers.c.id)).mappings()]
    out: dict[str, dict] = {}
    for row in rows:
        stop = min(end, row["terminated_at"] or now, now)
        hours = max(0.0, (stop - max(start, row["launched_at"])).total_seconds() / 3600)
        flavor = row["flavor"] or {}
        local_gb = int(flavor.get("disk", 0)) + int(flavor.get("ephemeral", 0) or 0)
        ended = row["terminated_at"]
        usage = {"instance_id": row["id"], "name": row["name"], "hours": hours, "memory_mb": int(flavor.get("ram", 0)),
                 "local_gb": local_gb, "vcpus": int(flavor.get("vcpus", 0)), "tenant_id": row["project_id"],
                 "flavor": flavor.get("name", ""), "started_at": iso_usec(row["launched_at"]),
                 "ended_at": iso_usec(ended), "state": "terminated" if ended else row["vm_state"],
                 "uptime": int(((ended or now) - row["launched_at"]).total_seconds())}
        total = out.setdefault(row["project_id"], {
            "tenant_id": row["project_id"], "start": iso_usec(start), "stop": iso_usec(end), "total_hours": 0.0,
            "total_local_gb_usage": 0.0, "total_memory_mb_usage": 0.0, "total_vcpus_usage": 0.0,
            "server_usages": []})
        total["total_hours"] += hours
        total["total_local_gb_usage"] += local_gb * hours
        total["total_memory_mb_usage"] += usage["memory_mb"] * hours
        total["total_vcpus_usage"] += usage["vcpus"] * hours
        total["server_usages"].append(usage)
    return out


@router.get("/os-simple-tenant-usage", openapi_extra=_QUERY)
def list_usage(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-simple-tenant-usage:list", {})
    start, end = _period(request)
    detailed = request.query_params.get("detailed", "0").lower() in ("1", "true", "yes")
    found = _usages(request, start, end, None)
    if not detailed:
        for usage in found.values():
            del usage["server_usages"]
    return {"tenant_usages": list(found.values())}


@router.get("/os-simple-tenant-usage/", include_in_schema=False)
def show_usage_of_no_project(request: Request, ctx: RequestContext = Depends(get_context)):
    """An empty project id names no project (Nova's router answers 404)."""
    raise NotFound("The resource could not be found.")


@router.get("/os-simple-tenant-usage/{tenant_id}", openapi_extra=_QUERY)
def show_usage(tenant_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-simple-tenant-usage:show", {"project_id": tenant_id})
    start, end = _period(request)
    return {"tenant_usage": _usages(request, start, end, tenant_id).get(tenant_id, {})}


# -- os-instance_usage_audit_log ---------------------------------------------------
def _audit_period(before: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The last whole month before ``before`` (Nova's default audit period)."""
    end = before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - dt.timedelta(days=1)).replace(day=1)
    return start, end


def _audit_log(request: Request, before: dt.datetime) -> dict:
    begin, end = _audit_period(before)
    with request.app.state.tv.db.read() as conn:
        hosts = sorted({s["host"] for s in servicegroup.list_services(conn, COMPUTE_BINARY)})
    return {"period_beginning": str(begin), "period_ending": str(end), "num_hosts": len(hosts),
            "num_hosts_done": 0, "num_hosts_running": 0, "num_hosts_not_run": len(hosts), "hosts_not_run": hosts,
            "total_instances": 0, "total_errors": 0,
            "overall_status": f"{'ALL' if not hosts else f'0 of {len(hosts)}'} hosts done. 0 errors.", "log": {}}


@router.get("/os-instance_usage_audit_log")
def list_audit_log(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-instance-usage-audit-log:list", {})
    return {"instance_usage_audit_logs": _audit_log(request, utcnow())}


@router.get("/os-instance_usage_audit_log/{before_timestamp}")
def show_audit_log(before_timestamp: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-instance-usage-audit-log:show", {})
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in before_timestamp else "%Y-%m-%d %H:%M:%S"
    try:
        before = dt.datetime.strptime(before_timestamp, fmt)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {before_timestamp[:40]}") from None
    return {"instance_usage_audit_log": _audit_log(request, before)}

