"""os-hypervisors in Nova's shape: one hypervisor per virtual compute, and one
per bare-metal node (hypervisor_hostname = the node's UUID, as Nova's ironic
driver reports them), served by the bare-metal compute its UUID hashes to.

A node out of the pool shows it: in maintenance or a failure state (clean
failed, deploy failed, error) it is ``down`` and ``disabled``; enrolled,
manageable or held it is ``disabled``; either way with no capacity and the
reason in ``service.disabled_reason``.
"""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select

from taskvisor import servicegroup
from taskvisor.api.policy import authorize
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.validation import page_limit
from taskvisor.baremetal.placement import HYPERVISOR_TYPE, host_for
from taskvisor.db.models import nodes, servers
from taskvisor.db.session import utcnow
from taskvisor.servicegroup import COMPUTE_BINARY
from taskvisor.states import node as node_states

router = APIRouter(prefix="/compute/v2.1")
BROKEN = (node_states.CLEANFAIL, node_states.DEPLOYFAIL, node_states.ERROR)
OUT_OF_POOL = (node_states.ENROLL, node_states.VERIFYING, node_states.MANAGEABLE, node_states.CLEANHOLD)
_USAGE = (select(servers.c.host, func.count(), func.sum(servers.c.flavor["vcpus"].as_integer()),
                 func.sum(servers.c.flavor["ram"].as_integer()), func.sum(servers.c.flavor["disk"].as_integer()))
          .where(servers.c.deleted.is_(False), servers.c.node == servers.c.host).group_by(servers.c.host))


def _int(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _uuid_ids(ctx: RequestContext) -> bool:
    return ctx.at_least("2.53")


def _node_row(node: dict, svc: dict | None, up: bool, ctx: RequestContext) -> dict:
    broken = node["maintenance"] or node["provision_state"] in BROKEN
    out_of_pool = broken or node["provision_state"] in OUT_OF_POOL
    reason = (svc or {}).get("disabled_reason")
    if out_of_pool and not reason:
        reason = (node["maintenance_reason"] if node["maintenance"] else None) or node["last_error"] or \
            f"node is {node['provision_state']}"
    props = node["properties"] or {}
    total = {k: 0 if out_of_pool else _int(props.get(p))
             for k, p in (("vcpus", "cpus"), ("memory_mb", "memory_mb"), ("local_gb", "local_gb"))}
    used = total if node["instance_uuid"] else {k: 0 for k in total}
    return {"id": node["id"] if _uuid_ids(ctx) else int(node["id"].replace("-", "")[:7], 16) + 1000,
            "hypervisor_hostname": node["id"], "hypervisor_type": HYPERVISOR_TYPE,
            "state": "up" if up and not broken else "down",
            "status": "disabled" if (svc or {}).get("disabled") or out_of_pool else "enabled",
            "svc": svc, "reason": reason, "total": total, "used": used,
            "running_vms": 1 if node["instance_uuid"] else 0}


def _compute_row(svc: dict, up: bool, usage: dict, ctx: RequestContext) -> dict:
    cap = svc["capabilities"] or {}
    total = {"vcpus": _int(cap.get("vcpus")), "memory_mb": _int(cap.get("memory_mb")),
             "local_gb": _int(cap.get("disk_gb"))}
    count, vcpus, ram, disk = usage.get(svc["host"], (0, 0, 0, 0))
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, svc["host"])) if _uuid_ids(ctx) else svc["id"],
            "hypervisor_hostname": svc["host"], "hypervisor_type": cap.get("hypervisor_type", "QEMU"),
            "state": "up" if up else "down", "status": "disabled" if svc["disabled"] else "enabled",
            "svc": svc, "reason": svc["disabled_reason"], "total": total,
            "used": {"vcpus": vcpus or 0, "memory_mb": ram or 0, "local_gb": disk or 0}, "running_vms": count}


def _all(request: Request, ctx: RequestContext, rule: str) -> list[dict]:
    authorize(ctx, rule)
    down_time = request.app.state.tv.conf.DEFAULT.service_down_time
    with request.app.state.tv.db.read() as conn:
        computes = servicegroup.list_services(conn, COMPUTE_BINARY)
        bm = [s for s in computes if (s["capabilities"] or {}).get("hypervisor_type") == HYPERVISOR_TYPE]
        rows: list[dict] = []
        usage = {host: tuple(rest) for host, *rest in conn.execute(_USAGE)}
        for svc in computes:
            if svc not in bm:
                rows.append(_compute_row(svc, servicegroup.is_up(svc, down_time), usage, ctx))
        if bm:
            up_hosts = [s["host"] for s in bm if servicegroup.is_up(s, down_time)]
            by_host = {s["host"]: s for s in bm}
            for node in conn.execute(select(nodes).order_by(nodes.c.created_at, nodes.c.id)).mappings():
                host = host_for(node["id"], up_hosts or list(by_host))
                rows.append(_node_row(dict(node), by_host[host], host in up_hosts, ctx))
    pattern = request.query_params.get("hypervisor_hostname_pattern")
    if pattern is not None:
        rows = [r for r in rows if pattern in r["hypervisor_hostname"]]
    return rows


def _brief(row: dict) -> dict:
    return {k: row[k] for k in ("id", "hypervisor_hostname", "state", "status")}


def _detail(row: dict, ctx: RequestContext) -> dict:
    svc = row["svc"]
    out = {**_brief(row), "hypervisor_type": row["hypervisor_type"], "hypervisor_version": 1,
           "host_ip": "127.0.0.1", "service": {"host": svc["host"], "id": svc["id"], "disabled_reason": row["reason"]}}
    if ctx.at_least("2.88"):  # Nova dropped the resource figures at 2.88
        return {**out, "uptime": None}
    total, used = row["total"], row["used"]
    return {**out, "vcpus": total["vcpus"], "memory_mb": total["memory_mb"], "local_gb": total["local_gb"],
            "vcpus_used": used["vcpus"], "memory_mb_used": used["memory_mb"], "local_gb_used": used["local_gb"],
            "free_ram_mb": total["memory_mb"] - used["memory_mb"],
            "free_disk_gb": total["local_gb"] - used["local_gb"],
            "disk_available_least": total["local_gb"] - used["local_gb"], "running_vms": row["running_vms"],
            "current_workload": 0, "cpu_info": {} if ctx.at_least("2.28") else "{}"}  # an object from 2.28


@router.get("/os-hypervisors")
def list_hypervisors(request: Request, ctx: RequestContext = Depends(get_context)):
    rows, links = _page(request, ctx, _all(request, ctx, "os_compute_api:os-hypervisors:list"), "os-hypervisors")
    return {"hypervisors": _add_servers(request, ctx, rows, [_brief(r) for r in rows]), **links}


@router.get("/os-hypervisors/detail")
def list_hypervisors_detail(request: Request, ctx: RequestContext = Depends(get_context)):
    rows, links = _page(request, ctx, _all(request, ctx, "os_compute_api:os-hypervisors:list-detail"),
                        "os-hypervisors/detail")
    return {"hypervisors": _add_servers(request, ctx, rows, [_detail(r, ctx) for r in rows]), **links}


@router.get("/os-hypervisors/statistics")
def hypervisor_statistics(request: Request, ctx: RequestContext = Depends(get_context)):
    """Sums over every hypervisor (gone from 2.88, as in Nova)."""
    if ctx.at_least("2.88"):
        raise NotFound("The resource could not be found.")
    rows = _all(request, ctx, "os_compute_api:os-hypervisors:statistics")
    total = {k: sum(r["total"][k] for r in rows) for k in ("vcpus", "memory_mb", "local_gb")}
    used = {k: sum(r["used"][k] for r in rows) for k in ("vcpus", "memory_mb", "local_gb")}
    return {"hypervisor_statistics": {
        "count": len(rows), "vcpus": total["vcpus"], "memory_mb": total["memory_mb"], "local_gb": total["local_gb"],
        "vcpus_used": used["vcpus"], "memory_mb_used": used["memory_mb"], "local_gb_used": used["local_gb"],
        "free_ram_mb": total["memory_mb"] - used["memory_mb"], "free_disk_gb": total["local_gb"] - used["local_gb"],
        "disk_available_least": total["local_gb"] - used["local_gb"], "current_workload": 0,
        "running_vms": sum(r["running_vms"] for r in rows)}}


@router.get("/os-hypervisors/{hypervisor_id}")
def show_hypervisor(hypervisor_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-hypervisors:show")
    if _uuid_ids(ctx):
        try:
            uuid.UUID(hypervisor_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor_id}") from None
    for row in _all(request, ctx, "os_compute_api:os-hypervisors:show"):
        if str(row["id"]) == hypervisor_id:
            return {"hypervisor": _add_servers(request, ctx, [row], [_detail(row, ctx)])[0]}
    raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


# -- servers, search and uptime ------------------------------------------------
def _servers_on(request: Request, hostnames: list[str]) -> dict[str, list[dict]]:
    with request.app.state.tv.db.read() as conn:
        rows = conn.execute(select(servers.c.node, servers.c.id, servers.c.name).where(
            servers.c.node.in_(hostnames), servers.c.deleted.is_(False)).order_by(servers.c.created_at)).all()
    found: dict[str, list[dict]] = {}
    for node, server_id, name in rows:
        found.setdefault(node, []).append({"uuid": server_id, "name": name})
    return found


def _add_servers(request: Request, ctx: RequestContext, rows: list[dict], views: list[dict]) -> list[dict]:
    """``?with_servers=true`` (2.53): each hypervisor's servers, when it has any."""
    wanted = request.query_params.get("with_servers", "").lower() in ("true", "1", "yes", "on")
    if not (wanted and ctx.at_least("2.53")):
        return views
    on = _servers_on(request, [r["hypervisor_hostname"] for r in rows])
    for row, view in zip(rows, views):
        if on.get(row["hypervisor_hostname"]):
            view["servers"] = on[row["hypervisor_hostname"]]
    return views


def _matching(request: Request, ctx: RequestContext, pattern: str, rule: str) -> list[dict]:
    """Before 2.53 only: search and servers take a hostname pattern (later: query parameters)."""
    if ctx.at_least("2.53"):
        raise NotFound("The resource could not be found.")
    rows = [r for r in _all(request, ctx, rule) if pattern in r["hypervisor_hostname"]]
    if not rows:
        raise NotFound(f"No hypervisor matching '{pattern[:64]}' could be found.")
    return rows


@router.get("/os-hypervisors/{hypervisor_hostname_pattern}/search")
def search_hypervisors(hypervisor_hostname_pattern: str, request: Request,
                       ctx: RequestContext = Depends(get_context)):
    rows = _matching(request, ctx, hypervisor_hostname_pattern, "os_compute_api:os-hypervisors:search")
    return {"hypervisors": [_brief(r) for r in rows]}


@router.get("/os-hypervisors/{hypervisor_hostname_pattern}/servers")
def hypervisor_servers(hypervisor_hostname_pattern: str, request: Request,
                       ctx: RequestContext = Depends(get_context)):
    rows = _matching(request, ctx, hypervisor_hostname_pattern, "os_compute_api:os-hypervisors:servers")
    on = _servers_on(request, [r["hypervisor_hostname"] for r in rows])
    out = []
    for row in rows:
        view = _brief(row)
        if on.get(row["hypervisor_hostname"]):
            view["servers"] = on[row["hypervisor_hostname"]]
        out.append(view)
    return {"hypervisors": out}


@router.get("/os-hypervisors/{hypervisor_id}/uptime")
def hypervisor_uptime(hypervisor_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    """The compute's uptime, in the shape of uptime(1) as libvirt hosts report it (gone from 2.88)."""
    authorize(ctx, "os_compute_api:os-hypervisors:uptime")
    if ctx.at_least("2.88"):
        raise NotFound("The resource could not be found.")
    if _uuid_ids(ctx):
        try:
            uuid.UUID(hypervisor_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor_id}") from None
    for row in _all(request, ctx, "os_compute_api:os-hypervisors:uptime"):
        if str(row["id"]) == hypervisor_id:
            if row["hypervisor_type"] == HYPERVISOR_TYPE:
                raise ApiError(501, "Virt driver does not implement uptime function.")
            return {"hypervisor": {**_brief(row), "uptime": _uptime(row["svc"])}}
    raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


def _uptime(svc: dict) -> str:
    now = utcnow()
    up = max(0, int((now - svc["created_at"]).total_seconds()))
    days, rest = divmod(up, 86400)
    return (f" {now:%H:%M:%S} up {days} days, {rest // 3600:2d}:{rest % 3600 // 60:02d},  1 user,  "
            "load average: 0.00, 0.00, 0.00")


def _page(request: Request, ctx: RequestContext, rows: list[dict], path: str) -> tuple[list[dict], dict]:
    """``limit`` and ``marker`` (a hypervisor id) from 2.33, with a next link
    on a full page; from 2.53 a hostname pattern matching nothing is a 404
    and does not combine with paging, as in Nova."""
    params = request.query_params
    if ctx.at_least("2.53") and params.get("hypervisor_hostname_pattern") is not None:
        if params.get("limit") or params.get("marker"):
            raise BadRequest("Paging over hypervisors is not supported with hypervisor_hostname_pattern.")
        if not rows:
            raise NotFound(f"No hypervisor matching '{params['hypervisor_hostname_pattern'][:64]}' could be found.")
    if not ctx.at_least("2.33") or not (params.get("limit") or params.get("marker")):
        return rows, {}
    if params.get("marker"):
        ids = [str(r["id"]) for r in rows]
        if params["marker"] not in ids:
            raise BadRequest(f"marker [{params['marker'][:64]}] not found")
        rows = rows[ids.index(params["marker"]) + 1:]
    limit = page_limit(params, request.app.state.tv.conf.api.max_limit)
    rows = rows[:limit]
    links: dict = {}
    if rows and len(rows) == limit:
        base = str(request.base_url).rstrip("/")
        links["hypervisors_links"] = [{"rel": "next", "href": f"{base}/compute/v2.1/{path}?limit={limit}"
                                                                f"&marker={rows[-1]['id']}"}]
    return rows, links
