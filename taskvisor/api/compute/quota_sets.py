"""Quota sets (``os-quota-sets``), quota classes (``os-quota-class-sets``)
and ``GET /limits``: Nova's shapes per microversion."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, update

from taskvisor.api import openapi
from taskvisor.api.compute import quota
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest
from taskvisor.api.policy import authorize
from taskvisor.api.validation import json_body, strict_query, validate
from taskvisor.db.models import quota_classes, quotas

router = APIRouter(prefix="/compute/v2.1")

LIMIT = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1, "maximum": quota.MAX_INT}
BOOL = {"type": ["boolean", "string"], "enum": [True, False, "True", "False", "true", "false", "1", "0", "yes",
                                                "no", "on", "off"]}


def _body(names, with_force: bool, key: str) -> dict:
    props = {name: LIMIT for name in names}
    if with_force:
        props["force"] = BOOL
    return {"type": "object", "required": [key], "additionalProperties": False,
            "properties": {key: {"type": "object", "additionalProperties": False, "properties": props}}}


ALL = list(quota.RESOURCES)
# The body schema at each microversion band: 2.36 drops the network quotas, 2.57 the injected files.
SET_BODIES = {v: _body([r for r in ALL if r not in hidden], True, "quota_set")
              for v, hidden in (("2.1", ()), ("2.36", quota.NETWORK), ("2.57", quota.NETWORK + quota.FILES))}
CLASS_BODIES = {v: _body([r for r in ALL if r not in hidden], False, "quota_class_set")
                for v, hidden in (("2.1", ()), ("2.50", quota.NETWORK), ("2.57", quota.NETWORK + quota.FILES))}


def _band(ctx: RequestContext, bodies: dict) -> dict:
    return bodies[max((v for v in bodies if ctx.at_least(v)), key=lambda v: tuple(map(int, v.split("."))))]


def _int(value) -> int:
    return int(value)


def _shown(ctx: RequestContext, values: dict, class_api: bool = False) -> dict:
    hidden = quota.hidden(ctx)
    if class_api and not ctx.at_least("2.50"):
        hidden = ()
    elif class_api and not ctx.at_least("2.57"):
        hidden = quota.NETWORK
    out = {k: v for k, v in values.items() if k not in hidden}
    if class_api and not ctx.at_least("2.50"):
        out.pop("server_groups", None)  # Nova's quota class view added these two at 2.50
        out.pop("server_group_members", None)
    return out


def _user(request: Request) -> str | None:
    return request.query_params.get("user_id") or None


@router.get(f"/os-quota-sets/{{tenant_id}}", openapi_extra=openapi.query(("user_id", openapi.STRING)))
def show_quota_set(tenant_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-quota-sets:show", {"project_id": tenant_id})
    strict_query(request.query_params, ctx, ("user_id",))
    with request.app.state.tv.db.read() as conn:
        limits = quota.project_limits(conn, request.app.state.tv.conf, tenant_id, _user(request))
    return {"quota_set": {"id": tenant_id, **_shown(ctx, limits)}}


@router.get(f"/os-quota-sets/{{tenant_id}}/detail", openapi_extra=openapi.query(("user_id", openapi.STRING)))
def show_quota_set_detail(tenant_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-quota-sets:detail", {"project_id": tenant_id})
    strict_query(request.query_params, ctx, ("user_id",))
    user_id = _user(request)
    with request.app.state.tv.db.read() as conn:
        limits = quota.project_limits(conn, request.app.state.tv.conf, tenant_id, user_id)
        used = quota.usage(conn, tenant_id, user_id)
    detail = {k: {"limit": v, "in_use": used.get(k, 0), "reserved": 0} for k, v in limits.items()}
    return {"quota_set": {"id": tenant_id, **_shown(ctx, detail)}}


@router.get(f"/os-quota-sets/{{tenant_id}}/defaults")
def show_quota_defaults(tenant_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-quota-sets:defaults", {"project_id": tenant_id})
    with request.app.state.tv.db.read() as conn:
        limits = quota.class_limits(conn, request.app.state.tv.conf)
    return {"quota_set": {"id": tenant_id, **_shown(ctx, limits)}}


def _truthy(value) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


@router.put(f"/os-quota-sets/{{tenant_id}}",
            openapi_extra=openapi.extra(openapi.body(SET_BODIES["2.1"]), openapi.query(("user_id", openapi.STRING))))
def update_quota_set(tenant_id: str, request: Request, body=Depends(json_body),
                     ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-quota-sets:update", {"project_id": tenant_id})
    strict_query(request.query_params, ctx, ("user_id",))
    values = dict(validate(body, _band(ctx, SET_BODIES))["quota_set"])
    force = _truthy(values.pop("force", False))
    user_id = _user(request)
    conf = request.app.state.tv.conf
    with request.app.state.tv.db.write() as conn:
        quota.lock_project(conn, tenant_id)
        limits = quota.project_limits(conn, conf, tenant_id, user_id)
        used = quota.usage(conn, tenant_id, user_id)
        wanted = {k: _int(v) for k, v in values.items() if v not in (None, "")}
        for name, value in wanted.items():
            if force:
                continue
            minimum = used.get(name, 0)
            if value != -1 and value < minimum:
                raise BadRequest(f"Quota limit {value} for {name} must be greater than or equal to already used "
                                 f"and reserved {minimum}.")
            if user_id:  # a user's limit stays within the project's
                project = quota.project_limits(conn, conf, tenant_id)[name]
                if project != -1 and (value == -1 or value > project):
                    raise BadRequest(f"Quota limit {value} for {name} must be less than or equal to {project}.")
        for name, value in wanted.items():
            key = (quotas.c.project_id == tenant_id) & (quotas.c.user_id == (user_id or "")) & \
                  (quotas.c.resource == name)
            if conn.execute(update(quotas).where(key).values(hard_limit=value)).rowcount == 0:
                conn.execute(insert(quotas).values(project_id=tenant_id, user_id=user_id or "", resource=name,
                                                   hard_limit=value))
        limits = quota.project_limits(conn, conf, tenant_id, user_id)
    return {"quota_set": _shown(ctx, limits)}


@router.delete(f"/os-quota-sets/{{tenant_id}}", status_code=202,
               openapi_extra=openapi.query(("user_id", openapi.STRING)))
def delete_quota_set(tenant_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-quota-sets:delete", {"project_id": tenant_id})
    strict_query(request.query_params, ctx, ("user_id",))
    user_id = _user(request)
    where = [quotas.c.project_id == tenant_id]
    if user_id:
        where.append(quotas.c.user_id == user_id)
    with request.app.state.tv.db.write() as conn:
        conn.execute(delete(quotas).where(*where))
    return Response(status_code=202)


@router.get(f"/os-quota-class-sets/{{quota_class}}")
def show_quota_class(quota_class: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-quota-class-sets:show", {"quota_class": quota_class})
    with request.app.state.tv.db.read() as conn:
        limits = quota.class_limits(conn, request.app.state.tv.conf, quota_class)
    return {"quota_class_set": {"id": quota_class, **_shown(ctx, limits, class_api=True)}}


@router.put(f"/os-quota-class-sets/{{quota_class}}", openapi_extra=openapi.body(CLASS_BODIES["2.1"]))
def update_quota_class(quota_class: str, request: Request, body=Depends(json_body),
                       ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-quota-class-sets:update", {"quota_class": quota_class})
    if len(quota_class) > 255:
        raise BadRequest("Invalid input for field/attribute id. Value is too long (at most 255 characters).")
    values = validate(body, _band(ctx, CLASS_BODIES))["quota_class_set"]
    with request.app.state.tv.db.write() as conn:
        for name, value in values.items():
            key = (quota_classes.c.class_name == quota_class) & (quota_classes.c.resource == name)
            if conn.execute(update(quota_classes).where(key).values(hard_limit=_int(value))).rowcount == 0:
                conn.execute(insert(quota_classes).values(class_name=quota_class, resource=name,
                                                          hard_limit=_int(value)))
        limits = quota.class_limits(conn, request.app.state.tv.conf, quota_class)
    return {"quota_class_set": _shown(ctx, limits, class_api=True)}


# GET /limits: Nova's absolute limit names, and what is in use
LIMIT_NAMES = {"ram": ["maxTotalRAMSize"], "instances": ["maxTotalInstances"], "cores": ["maxTotalCores"],
               "key_pairs": ["maxTotalKeypairs"], "floating_ips": ["maxTotalFloatingIps"],
               "metadata_items": ["maxServerMeta", "maxImageMeta"], "injected_files": ["maxPersonality"],
               "injected_file_content_bytes": ["maxPersonalitySize"], "security_groups": ["maxSecurityGroups"],
               "security_group_rules": ["maxSecurityGroupRules"], "server_groups": ["maxServerGroups"],
               "server_group_members": ["maxServerGroupMembers"]}
USED_NAMES = {"totalRAMUsed": "ram", "totalCoresUsed": "cores", "totalInstancesUsed": "instances",
              "totalFloatingIpsUsed": "floating_ips", "totalSecurityGroupsUsed": "security_groups",
              "totalServerGroupsUsed": "server_groups"}


@router.get("/limits", openapi_extra=openapi.query(("tenant_id", openapi.STRING)))
def show_limits(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:limits", {})
    strict_query(request.query_params, ctx, ("tenant_id",))
    project_id = ctx.project_id
    if "tenant_id" in request.query_params:
        project_id = request.query_params["tenant_id"]
        authorize(ctx, "os_compute_api:limits:other_project", {"project_id": project_id})
    hidden = ("floating_ips", "security_groups", "security_group_rules") if ctx.at_least("2.36") else ()
    if ctx.at_least("2.57"):
        hidden += ("injected_files", "injected_file_content_bytes")
    with request.app.state.tv.db.read() as conn:
        limits = quota.project_limits(conn, request.app.state.tv.conf, project_id)
        used = quota.usage(conn, project_id)
    absolute = {}
    for resource, names in LIMIT_NAMES.items():
        if resource in hidden:
            continue
        for name in names:
            if name == "maxImageMeta" and ctx.at_least("2.39"):
                continue
            absolute[name] = limits[resource]
    for name, resource in USED_NAMES.items():
        if resource not in hidden:
            absolute[name] = used.get(resource, 0)
    return {"limits": {"rate": [], "absolute": absolute}}
