"""Servers: create, list, show, delete, and each server's tasks."""
from __future__ import annotations

import base64
import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import bindparam, insert, select

from taskvisor.api import fragments, gc_pause, openapi
from taskvisor.api.compute import server_filters
from taskvisor.api.compute.availability_zones import requested_zone
from taskvisor.api.compute.server_metadata import METADATA as SERVER_METADATA, check_count
from taskvisor.api.compute.server_tags import TAGS_SCHEMA, attach as attach_tags, list_filters as tag_filters, tags_of
from taskvisor.api.compute.server_update import access_ip
from taskvisor.api.compute.submit import (TASK_HEADER, AlreadyInFlight, check_unlocked, get_server, start_server_task,
                                         target_of, task_url, visible)
from taskvisor.api.compute import keypairs, quota, server_groups
from taskvisor.api.compute.flavors import visible_flavor
from taskvisor.api.compute.views import detail_versions, flavor_snapshot, last_fault, server_brief, server_detail
from taskvisor.api.context import RequestContext, context_of, get_context
from taskvisor.api.policy import allowed, authorize, memo_allowed
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.responses import JsonResponse
from taskvisor.api.short_reads import short_read
from taskvisor.api.tasks_view import load_steps, load_task, load_tasks, load_visible_task, render_task
from taskvisor.api.validation import NAME, json_body, page_limit, validate
from taskvisor.baremetal.placement import flow_for
from taskvisor.db import direct
from taskvisor.db.models import images, server_tags, servers
from taskvisor.db.session import utcnow
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.store import insert_task, new_task_row

router = APIRouter(prefix="/compute/v2.1")

PERSONALITY = {"type": "array", "items": {"type": "object", "additionalProperties": False, "properties": {
    "path": {"type": "string"}, "contents": {"type": "string"}}}}
NETWORK = {"type": "object", "properties": {"uuid": {"type": "string"}, "port": {"type": ["string", "null"]},
                                            "fixed_ip": {"type": "string"}, "tag": {"type": "string"}},
           "additionalProperties": False}
CREATE_SCHEMA = {
    "type": "object", "required": ["server"], "additionalProperties": False,
    "properties": {
        "server": {
            "type": "object", "required": ["name", "flavorRef"], "additionalProperties": False,
            "properties": {
                "name": NAME, "flavorRef": {"type": ["string", "integer"], "minLength": 1},
                "imageRef": {"type": "string"}, "metadata": SERVER_METADATA,
                "networks": {"oneOf": [{"type": "string", "enum": ["auto", "none"]},
                                       {"type": "array", "items": NETWORK}]},
                "key_name": {"type": ["string", "null"]}, "availability_zone": {"type": ["string", "null"]},
                "min_count": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1},
                "max_count": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1},
                "return_reservation_id": {"type": "boolean"},
                "security_groups": {"type": "array", "items": {"type": "object"}},
                "user_data": {"type": ["string", "null"]}, "config_drive": {"type": ["boolean", "string"]},
                "description": {"type": ["string", "null"], "maxLength": 255},
                "adminPass": {"type": "string"}, "accessIPv4": {"type": "string"}, "accessIPv6": {"type": "string"},
                "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
                "block_device_mapping_v2": {"type": "array"}, "tags": {"type": "array"},
                "hostname": {"type": "string"}, "host": {"type": "string"},
                "hypervisor_hostname": {"type": "string"},
                "personality": PERSONALITY,  # below 2.57 (nova-quotas: held to the injected_files quotas)
            },
        },
        "os:scheduler_hints": {"type": "object"}, "OS-SCH-HNT:scheduler_hints": {"type": "object"},
    },
}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def personality_files(ctx: RequestContext, personality: list) -> list[tuple[str, bytes]]:
    """Injected files (gone at 2.57): their paths and decoded contents."""
    if ctx.at_least("2.57"):
        raise BadRequest("Additional properties are not allowed ('personality' was unexpected).")
    files = []
    for item in personality:
        try:
            files.append((item.get("path", ""), base64.b64decode(item.get("contents", ""), validate=True)))
        except (ValueError, TypeError):
            raise BadRequest(f"Personality content for {item.get('path', '')[:255]} cannot be decoded") from None
    return files


def _ref_id(ref) -> str:
    """flavorRef/imageRef may be an id or a link ending with it."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


_IMAGE = select(images).where(images.c.id == bindparam("image_id"))  # built once: every create reads it
_INSERT_SERVER = insert(servers)  # and writes it (a new insert() per request made a new cache key)


@router.post("/servers", status_code=202, openapi_extra=openapi.body(CREATE_SCHEMA))
def create_server(request: Request, body=Depends(json_body)):
    ctx = context_of(request)
    authorize(ctx, "os_compute_api:servers:create")
    spec = validate(body, CREATE_SCHEMA)["server"]
    if spec.get("host") or spec.get("hypervisor_hostname"):
        authorize(ctx, "os_compute_api:servers:create:forced_host")
    db = request.app.state.tv.db
    min_count, max_count = int(spec.get("min_count", 1)), int(spec.get("max_count", spec.get("min_count", 1)))
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    if max_count > 50:
        raise BadRequest("max_count must be <= 50")
    with db.read() as conn:
        flavor = visible_flavor(conn, ctx, _ref_id(spec["flavorRef"]))  # nova-quotas: private flavors
        if flavor is None:
            raise BadRequest(f"Flavor {_ref_id(spec['flavorRef'])} could not be found.")
        image = None
        if spec.get("imageRef"):
            image = direct.mapping(conn, _IMAGE, {"image_id": _ref_id(spec["imageRef"])})
            if image is None:
                raise BadRequest(f"Image {_ref_id(spec['imageRef'])} could not be found.")
            if image["status"] != "active":
                raise BadRequest(f"Image {image['id']} is not active.")
            if flavor["ram"] < image["min_ram"]:
                raise BadRequest("Flavor's memory is too small for requested image.")
            if flavor["disk"] and flavor["disk"] < image["min_disk"]:
                raise BadRequest("Flavor's disk is too small for requested image.")
        else:
            raise BadRequest("Missing imageRef attribute (booting from volume is not supported).")
        zone, forced_host = requested_zone(conn, ctx, spec.get("availability_zone"),
                                           request.app.state.tv.conf.DEFAULT.default_availability_zone)
    check_count(spec.get("metadata") or {})
    tags = list(dict.fromkeys(validate(spec.get("tags") or [], TAGS_SCHEMA))) if ctx.at_least("2.52") else []
    flow = request.app.state.tv.flows.get(flow_for(flavor, "boot"))  # a bare-metal flavor boots onto a node
    now = utcnow()
    created = []
    snapshot = flavor_snapshot(dict(flavor))
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    with db.write() as conn:
        # nova-quotas: the key, the group and the quotas, checked in the transaction that inserts
        system_metadata = {"description": spec.get("description")}
        if spec.get("key_name"):
            key = keypairs.public_key_of(conn, ctx.user_id, spec["key_name"])
            if key is None:
                raise BadRequest("Invalid key_name provided.")
            system_metadata["key_data"] = key["public_key"]
        quota.lock_project(conn, ctx.project_id)
        project_limits, user_limits = quota.limits_of(conn, request.app.state.tv.conf, ctx.project_id, ctx.user_id)
        quota.check_metadata(project_limits, spec.get("metadata"))
        if "personality" in spec:
            files = personality_files(ctx, spec["personality"])
            quota.check_injected_files(project_limits, files)
            system_metadata["personality"] = [{"path": p, "contents": base64.b64encode(c).decode()}
                                              for p, c in files]
        max_count = quota.check_instances(conn, user_limits, ctx.project_id, flavor, min_count, max_count)
        group = (server_groups.join_group(conn, request.app.state.tv.conf, ctx, hints["group"], max_count)
                 if "group" in hints else None)
        for n in range(max_count):
            server_id = str(uuid.uuid4())
            name = spec["name"] if max_count == 1 else f"{spec['name']}-{n + 1}"
            task = new_task_row(resource_type="server", resource_id=server_id, action="create", flow=flow.name,
                                flow_version=flow.version, request_id=ctx.request_id, user_id=ctx.user_id,
                                project_id=ctx.project_id)
            conn.execute(_INSERT_SERVER, {
                "id": server_id, "name": name, "project_id": ctx.project_id, "user_id": ctx.user_id,
                "vm_state": states.BUILDING, "task_state": "scheduling", "task_id": task["id"],
                "power_state": power.NOSTATE, "flavor": snapshot, "vcpus": snapshot["vcpus"], "ram": snapshot["ram"],
                "disk": snapshot["disk"],
                "image_id": image["id"], "image_properties": image["properties"] or {},
                "metadata": spec.get("metadata") or {}, "requested_networks": spec.get("networks"),
                "addresses": {}, "system_metadata": {**system_metadata,
                                                     "disk_config": spec.get("OS-DCF:diskConfig") or "MANUAL"},
                "access_ip_v4": access_ip("accessIPv4", spec.get("accessIPv4") or "", 4) or None,
                "access_ip_v6": access_ip("accessIPv6", spec.get("accessIPv6") or "", 6) or None,
                "key_name": spec.get("key_name"), "availability_zone": zone, "host": forced_host, "node": forced_host,
                "progress": 0, "created_at": now, "updated_at": now, "deleted": False})
            insert_task(conn, task)
            if group is not None:
                server_groups.add_member(conn, group["id"], server_id)
            if tags:
                conn.execute(insert(server_tags), [{"server_id": server_id, "tag": t} for t in tags])
            created.append((server_id, task["id"]))
    request.app.state.tv.wake_conductors()
    server_id, task_id = created[0]
    base = base_url(request)
    if spec.get("return_reservation_id"):
        payload = {"reservation_id": f"r-{server_id[:8]}"}
    else:
        payload = {"server": {"id": server_id, "links": server_brief({"id": server_id, "name": ""}, base)["links"],
                              "OS-DCF:diskConfig": spec.get("OS-DCF:diskConfig") or "MANUAL",
                              "security_groups": [{"name": "default"}]}}
        # Nova answers with the admin password (enable_instance_password defaults to on).
        payload["server"]["adminPass"] = spec.get("adminPass") or uuid.uuid4().hex[:12]
    return JsonResponse(payload, status_code=202, headers={
        TASK_HEADER: task_url(request, server_id, task_id),
        "Location": f"{base}/compute/v2.1/servers/{server_id}"})


# What the list views read: not the resize flavors, image properties or
# requested networks, which only the engine needs.
_LIST_COLUMNS = [servers.c[name] for name in (
    "id", "name", "vm_state", "task_state", "project_id", "user_id", "power_state", "host", "node", "flavor",
    "image_id", "metadata", "addresses", "system_metadata", "key_name", "availability_zone", "progress",
    "created_at", "updated_at", "launched_at", "terminated_at",
    "locked_by", "locked_reason", "access_ip_v4", "access_ip_v6")]
_BRIEF_COLUMNS = [servers.c.id, servers.c.name, servers.c.vm_state, servers.c.task_state]  # states: ?status=
_ID, _NAME, _VM_STATE, _TASK_STATE = range(4)  # where both lists' rows hold these
_NEWEST_FIRST = (servers.c.created_at.desc(), servers.c.id)


def _list(request: Request, ctx: RequestContext, detail: bool):
    """Newest first. ``limit`` and ``marker`` are applied in SQL (an index on
    project, deleted, created_at serves the order), except with the name or
    status filters, which are evaluated here and so page here too. The
    detailed list reads its rows undecoded and answers each from its cached
    JSON when the row is unchanged (see ``_render_details``)."""
    params = request.query_params
    db = request.app.state.tv.db
    authorize(ctx, "os_compute_api:servers:detail" if detail else "os_compute_api:servers:index")
    visible = [servers.c.deleted == False]  # noqa: E712 (= false, not IS FALSE: PostgreSQL indexes equality)
    all_tenants = "all_tenants" in params and params["all_tenants"].lower() not in ("0", "false", "no")
    if all_tenants:
        authorize(ctx, "os_compute_api:servers:index:get_all_tenants")
    else:
        visible.append(servers.c.project_id == ctx.project_id)
    if params.get("host") and allowed(ctx, "os_compute_api:servers:allow_all_filters"):
        visible.append(servers.c.host == params["host"])
    visible = server_filters.apply(request, ctx, visible)
    visible.extend(tag_filters(params, ctx))
    raw = _raw_list_columns(db.reader.dialect) if detail else None
    query = select(*(raw.exprs if detail else _BRIEF_COLUMNS)).where(*visible).order_by(*_NEWEST_FIRST)
    limit, marker = page_limit(params, request.app.state.tv.conf.api.max_limit), params.get("marker")
    page_here = bool(params.get("name") or params.get("status"))
    if params.get("name"):
        pattern = _name_pattern(params["name"])
    with db.read() as conn:
        if marker and not page_here:
            mark = conn.execute(select(servers.c.created_at, servers.c.id).where(
                servers.c.id == marker, *visible)).first()
            if mark is None:
                raise BadRequest(f"marker [{marker[:64]}] not found")
            query = query.where((servers.c.created_at < mark.created_at)
                                | ((servers.c.created_at == mark.created_at) & (servers.c.id > mark.id)))
        if not page_here:
            query = query.limit(limit)
        rows = [tuple(r) for r in conn.execute(query).all()]  # both column lists start id, name, vm/task state
        if params.get("name"):
            rows = [r for r in rows if pattern.search(r[_NAME])]
        if params.get("status"):
            wanted = {s.upper() for s in params.getlist("status")}
            rows = [r for r in rows if states.status(r[_VM_STATE], r[_TASK_STATE]) in wanted]
        if page_here and marker:
            ids = [r[_ID] for r in rows]
            if marker not in ids:
                raise BadRequest(f"marker [{marker[:64]}] not found")
            rows = rows[ids.index(marker) + 1:]
        if page_here:
            rows = rows[:limit]
        base = base_url(request)
        if not detail:
            out = {"servers": [server_brief({"id": r[_ID], "name": r[_NAME]}, base) for r in rows]}
        else:
            fragments_ = _render_details(conn, ctx, base, raw, rows)
    links = None
    if rows and len(rows) == limit:  # Nova: a full page links to the next one
        query_args = [(k, v) for k, v in params.multi_items() if k not in ("marker", "limit")]
        query_args += [("limit", str(limit)), ("marker", rows[-1][_ID])]
        path = "servers/detail" if detail else "servers"
        links = [{"rel": "next", "href": f"{base}/compute/v2.1/{path}?{urlencode(query_args)}"}]
    if detail:
        return fragments.JsonBytes(fragments.join("servers", fragments_, {"servers_links": links} if links else None))
    if links:
        out["servers_links"] = links
    return JsonResponse(out)


_DETAILS = fragments.FragmentCache()  # (base URL, microversion flags, server id) -> the server's JSON
_EXTENDED = "os_compute_api:os-extended-server-attributes"


def _render_details(conn, ctx: RequestContext, base: str, raw: fragments.RawColumns, rows: list[tuple]) -> list[bytes]:
    """Each server's JSON in Nova's detailed view. A fragment's version is
    everything its view reads: the row as read (every listed column), its
    tags, and whether this caller sees the extended attributes of its
    (project, user); the request's microversion and base URL are in the
    key. A server in ERROR shows its last fault (another table): it is
    rendered afresh every time."""
    tags = tags_of(conn, [r[_ID] for r in rows])
    check, versions = memo_allowed(ctx), detail_versions(ctx)
    scope = (base, versions)
    project, user = raw.index["project_id"], raw.index["user_id"]
    keys = [(scope, r[_ID]) for r in rows]
    row_versions = [(r, tuple(tags[r[_ID]]), check(_EXTENDED, {"project_id": r[project], "user_id": r[user]}))
                    for r in rows]
    found = _DETAILS.get_many(keys, row_versions)
    fresh = []
    for i, fragment in enumerate(found):
        if fragment is not None:
            continue
        server = raw.decode(rows[i])
        server["tags"] = tags[server["id"]]
        if server["vm_state"] == states.ERROR:
            found[i] = fragments.dumps(server_detail(server, ctx, base, last_fault(conn, server["id"], ctx.is_admin),
                                                     check, versions))
            continue
        found[i] = fragments.dumps(server_detail(server, ctx, base, None, check, versions))
        fresh.append((keys[i], row_versions[i], found[i]))
    _DETAILS.put_many(fresh)
    return found


def _raw_list_columns(dialect) -> fragments.RawColumns:
    return fragments.raw_columns(servers, tuple(c.name for c in _LIST_COLUMNS), dialect)


MAX_PATTERN = 255


def _name_pattern(text: str):
    """Nova's name filter is a regular expression; it runs on RE2, whose
    time is linear in the name (no backtracking), never on Python's re."""
    if len(text) > MAX_PATTERN:
        raise BadRequest(f"Invalid input for query parameters name: at most {MAX_PATTERN} characters.")
    re2, options = server_filters.re2_engine()
    try:
        return re2.compile(text, options)
    except re2.error:
        raise BadRequest(f"Invalid regular expression in name filter: {text[:64]}") from None


@router.get("/servers", openapi_extra=openapi.query(openapi.LIMIT, openapi.MARKER, ("name", openapi.STRING), ("status", openapi.STRING),
                                        ("all_tenants", openapi.STRING), ("host", openapi.STRING),
                                        *server_filters.QUERY))
def list_servers(request: Request, ctx: RequestContext = Depends(get_context)):
    return _list(request, ctx, detail=False)


@router.get("/servers/detail", openapi_extra=openapi.query(openapi.LIMIT, openapi.MARKER, ("name", openapi.STRING), ("status", openapi.STRING),
                                        ("all_tenants", openapi.STRING), ("host", openapi.STRING),
                                        *server_filters.QUERY))
def list_servers_detail(request: Request, ctx: RequestContext = Depends(get_context)):
    with gc_pause.paused():  # _list's objects are freed when it returns (see gc_pause)
        return _list(request, ctx, detail=True)


@router.get("/servers/{server_id}")
async def show_server(server_id: str, request: Request):
    return await short_read(request, _show_server, server_id, request)


def _show_server(server_id: str, request: Request):
    ctx = context_of(request)
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
        authorize(ctx, "os_compute_api:servers:show", target_of(server))
        if ctx.at_least("2.26"):  # the view shows tags from 2.26
            attach_tags(conn, [server])
        fault = last_fault(conn, server_id, ctx.is_admin) if server["vm_state"] == "error" else None
    view = server_detail(server, ctx, base_url(request), fault)
    if ctx.at_least("2.71"):  # a show (not a list) names the server's group from 2.71
        view.setdefault("server_groups", [])
    return JsonResponse({"server": view})


@router.delete("/servers/{server_id}", status_code=204,
               openapi_extra=openapi.query(("force", {"type": "boolean"})))
def delete_server(server_id: str, request: Request):
    ctx = context_of(request)
    force = _force_query(request, ctx)
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    authorize(ctx, "os_compute_api:servers:delete", target_of(server))
    check_unlocked(ctx, server)
    from taskvisor.api.compute import deferred_delete  # (imports the actions, which import this module's peers)
    if (deferred_delete.soft_deletes(request) and server["task_state"] is None
            and server["vm_state"] in states.ACTIONS["softDelete"].sources):
        return deferred_delete.soft_delete(request, ctx, server_id)
    if server["task_state"] == "deleting":  # already on its way: answer as the first delete did
        return Response(status_code=204, headers={TASK_HEADER: task_url(request, server_id, server["task_id"])})
    try:
        _, url = start_server_task(request, ctx, server_id, action="delete", task_state="deleting",
                                   flow=flow_for(server["flavor"], "delete"),
                                   params={"force": force}, any_task_state=True, same_intent=True,
                                   unlocked=not ctx.is_admin)
    except AlreadyInFlight as exc:  # another delete won the race: it is this caller's delete too
        url = task_url(request, server_id, exc.task_id)
    return Response(status_code=204, headers={TASK_HEADER: url})


def _force_query(request: Request, ctx: RequestContext) -> bool:
    """``DELETE …?force=true`` skips the clean shutdown (microversion 2.101)."""
    value = request.query_params.get("force")
    if value is None:
        return False
    if not ctx.at_least("2.101"):
        raise BadRequest("The 'force' query parameter needs microversion 2.101 or later.")
    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise BadRequest(f"Invalid value {value!r} for 'force': it must be a boolean.")
    return value.lower() in ("true", "1", "yes")


# -- tasks --------------------------------------------------------------------
# built once (a client polling its task reads these on every poll)
_TASK_SERVER = select(servers.c.id, servers.c.project_id, servers.c.user_id).where(
    servers.c.id == bindparam("server_id"))
_PROJECT_TASK_SERVER = _TASK_SERVER.where(servers.c.project_id == bindparam("project_id"))


def _server_tasks_visible(conn, ctx: RequestContext, server_id: str, rule: str) -> None:
    """A deleted server's tasks stay readable, to its project and to admins."""
    if ctx.is_admin:
        row = conn.execute(_TASK_SERVER, {"server_id": server_id}).mappings().first()
    else:
        row = conn.execute(_PROJECT_TASK_SERVER, {"server_id": server_id, "project_id": ctx.project_id}
                           ).mappings().first()
    if row is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    authorize(ctx, rule, target_of(row))


@router.get("/servers/{server_id}/tasks")
def list_server_tasks(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        _server_tasks_visible(conn, ctx, server_id, "taskvisor:server:tasks:list")
        rows = load_tasks(conn, server_id)
        steps = load_steps(conn, [t["id"] for t in rows])
    flows = request.app.state.tv.flows
    return {"tasks": [render_task(flows, t, steps[t["id"]], allowed(ctx, "taskvisor:task:show:host", target_of(t)),
                                  task_url(request, server_id, t["id"]))
                      for t in rows]}


@router.get("/servers/{server_id}/tasks/{task_id}")
async def show_server_task(server_id: str, task_id: str, request: Request):
    return await short_read(request, _show_server_task, server_id, task_id, request)


def _show_server_task(server_id: str, task_id: str, request: Request):
    ctx = context_of(request)
    with request.app.state.tv.db.read() as conn:
        _server_tasks_visible(conn, ctx, server_id, "taskvisor:server:tasks:show")
        task = load_task(conn, server_id, task_id)
        if task is None:
            raise NotFound(f"Task {task_id} could not be found for instance {server_id}.")
        steps = load_steps(conn, [task_id])[task_id]
    return JsonResponse({"task": render_task(request.app.state.tv.flows, task, steps,
                                             allowed(ctx, "taskvisor:task:show:host", target_of(task)),
                                             task_url(request, server_id, task_id))})


@router.get("/tasks/{task_id}")
async def show_task(task_id: str, request: Request):
    """Any task by id (a server's or a node's), for whoever may see it."""
    return await short_read(request, _show_task, task_id, request)


def _show_task(task_id: str, request: Request):
    ctx = context_of(request)
    with request.app.state.tv.db.read() as conn:
        task = load_visible_task(conn, ctx, task_id)
        if task is None:
            raise NotFound(f"Task {task_id} could not be found.")
        authorize(ctx, "taskvisor:task:show", target_of(task))
        steps = load_steps(conn, [task_id])[task_id]
    return JsonResponse({"task": render_task(request.app.state.tv.flows, task, steps,
                                             allowed(ctx, "taskvisor:task:show:host", target_of(task)))})
