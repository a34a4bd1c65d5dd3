"""Server groups (``os-server-groups``): a named placement policy for its
member servers. ``policies`` (a list of one) before 2.64, ``policy`` and
``rules`` from 2.64; soft policies from 2.15; owners shown from 2.13."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select

from taskvisor.api import openapi
from taskvisor.api.compute import quota
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import NAME, json_body, strict_query, validate
from taskvisor.db.models import server_group_members, server_groups, servers
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/compute/v2.1")

HARD = ["anti-affinity", "affinity"]
ALL_POLICIES = HARD + ["soft-anti-affinity", "soft-affinity"]


def _create_schema(policies: list[str], v264: bool) -> dict:
    group: dict = {"type": "object", "additionalProperties": False, "properties": {"name": NAME}}
    if v264:
        group["required"] = ["name", "policy"]
        group["properties"]["policy"] = {"type": "string", "enum": policies}
        group["properties"]["rules"] = {"type": "object", "additionalProperties": False, "properties": {
            "max_server_per_host": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1}}}
    else:
        group["required"] = ["name", "policies"]
        group["properties"]["policies"] = {"type": "array", "minItems": 1, "maxItems": 1, "uniqueItems": True,
                                           "items": {"type": "string", "enum": policies}}
    return {"type": "object", "required": ["server_group"], "additionalProperties": False,
            "properties": {"server_group": group}}


CREATE_V21, CREATE_V215, CREATE_V264 = (_create_schema(HARD, False), _create_schema(ALL_POLICIES, False),
                                        _create_schema(ALL_POLICIES, True))
CREATE_BODY = {"type": "object", "required": ["server_group"], "additionalProperties": False, "properties": {
    "server_group": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
        **CREATE_V264["properties"]["server_group"]["properties"],
        "policies": CREATE_V215["properties"]["server_group"]["properties"]["policies"]}}}}


def members_of(conn, group_ids: list[str]) -> dict[str, list[str]]:
    """Each group's members that are not deleted."""
    out: dict[str, list[str]] = {g: [] for g in group_ids}
    if group_ids:
        rows = conn.execute(select(server_group_members.c.group_id, server_group_members.c.server_id)
                            .join(servers, servers.c.id == server_group_members.c.server_id)
                            .where(server_group_members.c.group_id.in_(group_ids), servers.c.deleted == False)  # noqa: E712
                            .order_by(servers.c.created_at))
        for group_id, server_id in rows:
            out[group_id].append(server_id)
    return out


def render(row: dict, members: list[str], ctx: RequestContext) -> dict:
    out = {"id": row["id"], "name": row["name"]}
    if ctx.at_least("2.64"):
        out.update(policy=row["policy"], rules=row["rules"] or {})
    else:
        out.update(policies=[row["policy"]], metadata={})
    out["members"] = members
    if ctx.at_least("2.13"):
        out.update(project_id=row["project_id"], user_id=row["user_id"])
    return out


def load(conn, ctx: RequestContext, group_id: str) -> dict:
    row = conn.execute(select(server_groups).where(server_groups.c.id == group_id)).mappings().first()
    if row is None or (row["project_id"] != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Instance group {group_id} could not be found.")
    return dict(row)


@router.post("/os-server-groups", openapi_extra=openapi.body(CREATE_BODY))
def create_server_group(request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-server-groups:create", {"project_id": ctx.project_id})
    schema = CREATE_V264 if ctx.at_least("2.64") else CREATE_V215 if ctx.at_least("2.15") else CREATE_V21
    spec = validate(body, schema)["server_group"]
    if ctx.at_least("2.64"):
        policy, rules = spec["policy"], spec.get("rules") or {}
        if policy != "anti-affinity" and rules:
            raise BadRequest("Only anti-affinity policy supports rules.")
        rules = {k: int(v) for k, v in rules.items()}
    else:
        policy, rules = spec["policies"][0], {}
    row = {"id": str(uuid.uuid4()), "name": spec["name"], "project_id": ctx.project_id, "user_id": ctx.user_id,
           "policy": policy, "rules": rules, "created_at": utcnow()}
    with request.app.state.tv.db.write() as conn:
        quota.lock_project(conn, ctx.project_id)
        quota.check_count(conn, request.app.state.tv.conf, ctx.project_id, None, "server_groups", 1,
                          "Quota exceeded, too many server groups.")
        conn.execute(insert(server_groups).values(**row))
    return {"server_group": render(row, [], ctx)}


@router.get("/os-server-groups", openapi_extra=openapi.query(
    ("all_projects", openapi.STRING), ("limit", {"type": "integer", "minimum": 0}),
    ("offset", {"type": "integer", "minimum": 0})))
def list_server_groups(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-server-groups:index", {"project_id": ctx.project_id})
    params = request.query_params
    strict_query(params, ctx, ("all_projects", "limit", "offset"))
    query = select(server_groups).order_by(server_groups.c.created_at, server_groups.c.id)
    if "all_projects" in params and ctx.is_admin:
        authorize(ctx, "os_compute_api:os-server-groups:index:all_projects", {"project_id": ctx.project_id})
    else:
        query = query.where(server_groups.c.project_id == ctx.project_id)
    offset, limit = _non_negative(params, "offset", 0), _non_negative(params, "limit", None)
    max_limit = request.app.state.tv.conf.api.max_limit
    query = query.offset(offset).limit(min(limit, max_limit) if limit is not None else max_limit)
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        members = members_of(conn, [r["id"] for r in rows])
    return {"server_groups": [render(r, members[r["id"]], ctx) for r in rows]}


def _non_negative(params, name: str, default):
    text = params.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 18:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text[:20]}. "
                         "It must be a non-negative integer.")
    return int(text)


@router.get("/os-server-groups/{server_group_id}")
def show_server_group(server_group_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        row = load(conn, ctx, server_group_id)
        authorize(ctx, "os_compute_api:os-server-groups:show", {"project_id": row["project_id"]})
        return {"server_group": render(row, members_of(conn, [row["id"]])[row["id"]], ctx)}


@router.delete("/os-server-groups/{server_group_id}", status_code=204)
def delete_server_group(server_group_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.write() as conn:
        row = load(conn, ctx, server_group_id)
        authorize(ctx, "os_compute_api:os-server-groups:delete", {"project_id": row["project_id"]})
        conn.execute(delete(server_group_members).where(server_group_members.c.group_id == row["id"]))
        conn.execute(delete(server_groups).where(server_groups.c.id == row["id"]))
    return Response(status_code=204)


def join_group(conn, conf, ctx: RequestContext, group_id, count: int) -> dict:
    """Server create with ``os:scheduler_hints: {"group": id}``: the group (400 if
    unknown) after checking it has room for ``count`` more members (403)."""
    if not isinstance(group_id, str):
        raise BadRequest("Invalid input for field/attribute group. Value: must be a server group UUID.")
    row = conn.execute(select(server_groups).where(server_groups.c.id == group_id)).mappings().first()
    if row is None or (row["project_id"] != ctx.project_id and not ctx.is_admin):
        raise BadRequest(f"Invalid input for field/attribute group. Value: {group_id[:64]}. "
                         f"Instance group {group_id[:64]} could not be found.")
    have = len(members_of(conn, [group_id])[group_id])
    quota.check_count(conn, conf, row["project_id"], None, "server_group_members", count,
                      "Quota exceeded, too many servers in group", current=have)
    return dict(row)


def add_member(conn, group_id: str, server_id: str) -> None:
    conn.execute(insert(server_group_members).values(group_id=group_id, server_id=server_id))
