"""rebuild: validate the new image and fields, write them with the task's
compare-and-swap (so the answer already shows the new image and name), and
start the rebuild task. 202 with the server, its new adminPass and Location."""
from __future__ import annotations

import uuid

from fastapi.responses import JSONResponse
from sqlalchemy import select

from taskvisor.api.compute.actions import _body, _inner
from taskvisor.api.compute.server_metadata import METADATA, check_count
from taskvisor.api.compute.server_tags import attach
from taskvisor.api.compute.server_update import access_ip, action_view
from taskvisor.api.compute.submit import TASK_HEADER, check_unlocked, get_server, start_server_task
from taskvisor.api.compute.views import server_detail
from taskvisor.api.errors import BadRequest, Conflict
from taskvisor.api.validation import NAME
from taskvisor.baremetal.placement import flow_for
from taskvisor.db.models import images
from taskvisor.db.session import utcnow
from taskvisor.states import server as states

_FIELDS = {"imageRef": {"type": "string", "minLength": 1}, "name": NAME, "adminPass": {"type": "string"},
           "metadata": METADATA, "preserve_ephemeral": {"type": "boolean"},
           "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
           "accessIPv4": {"type": "string"}, "accessIPv6": {"type": "string"},
           "personality": {"type": "array"}}
_LATER = {"description": ("2.19", {"type": ["string", "null"], "maxLength": 255}),
          "key_name": ("2.54", {"type": ["string", "null"]}),
          "user_data": ("2.57", {"type": ["string", "null"]}),
          "trusted_image_certificates": ("2.63", {"type": ["array", "null"]}),
          "hostname": ("2.90", {"type": "string"})}
REBUILD_LATEST = _inner({**_FIELDS, **{k: s for k, (_, s) in _LATER.items()}}, required=["imageRef"],
                        nullable=False)


def _schema(ctx) -> dict:
    fields = {k: v for k, v in _FIELDS.items() if k != "personality" or not ctx.at_least("2.57")}
    fields.update({k: s for k, (since, s) in _LATER.items() if ctx.at_least(since)})
    return _inner(fields, required=["imageRef"], nullable=False)


def rebuild(request, ctx, server_id, body):
    args = _body(body, "rebuild", _schema(ctx))
    spec = states.ACTIONS["rebuild"]
    image_id = args["imageRef"].rstrip("/").rsplit("/", 1)[-1]
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
        image = conn.execute(select(images).where(images.c.id == image_id)).mappings().first()
    check_unlocked(ctx, server)
    if server["vm_state"] not in spec.sources:
        raise Conflict(f"Cannot 'rebuild' instance {server_id} while it is in vm_state {server['vm_state']}")
    if image is None:
        raise BadRequest("Cannot find image for rebuild")
    if image["status"] != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    if server["flavor"]["ram"] < image["min_ram"]:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if server["flavor"]["disk"] and server["flavor"]["disk"] < image["min_disk"]:
        raise BadRequest("Flavor's disk is too small for requested image.")
    updates = {"image_id": image["id"], "image_properties": image["properties"] or {}}
    if "name" in args:
        updates["name"] = args["name"]
    if "metadata" in args:
        check_count(args["metadata"])
        updates["metadata"] = args["metadata"]
    if "accessIPv4" in args:
        updates["access_ip_v4"] = access_ip("accessIPv4", args["accessIPv4"], 4) or None
    if "accessIPv6" in args:
        updates["access_ip_v6"] = access_ip("accessIPv6", args["accessIPv6"], 6) or None
    if "key_name" in args:
        updates["key_name"] = args["key_name"]
    system_metadata = dict(server["system_metadata"] or {})
    if "description" in args:
        system_metadata["description"] = args["description"]
    if "OS-DCF:diskConfig" in args:
        system_metadata["disk_config"] = args["OS-DCF:diskConfig"]
    updates["system_metadata"] = system_metadata
    flow = flow_for(server["flavor"], spec.flow)
    if flow is None:
        raise Conflict(f"Cannot 'rebuild' instance {server_id}: a bare-metal server does not support it")
    password = args.get("adminPass") or uuid.uuid4().hex[:12]
    updates["updated_at"] = utcnow()  # the compare-and-swap's stamp, named here so the answer shows it
    task, url = start_server_task(request, ctx, server_id, action=spec.instance_action, flow=flow,
        task_state=spec.task_states[0],
        params={"source": server["vm_state"]}, vm_states=[server["vm_state"]], action_label=spec.label,
        updates=updates, unlocked=not ctx.is_admin)
    # The answer is the server as this request left it (REBUILD), not as a
    # read a moment later finds it: a quick rebuild may already have ended.
    server = {**server, **updates, "task_state": spec.task_states[0], "task_id": task["id"]}
    with request.app.state.tv.db.read() as conn:
        attach(conn, [server])
    base = str(request.base_url).rstrip("/")
    view = action_view(server_detail(server, ctx, base), ctx, rebuild=True)
    view["adminPass"] = password
    if ctx.at_least("2.57"):  # user data is not kept: what this request gave, if anything
        view["user_data"] = args.get("user_data")
    return JSONResponse({"server": view}, status_code=202, headers={
        TASK_HEADER: url, "Location": f"{base}/compute/v2.1/servers/{server_id}"})


HANDLERS = {"rebuild": rebuild}
INNER = {"rebuild": REBUILD_LATEST}
RULES = {"rebuild": "os_compute_api:servers:rebuild"}
