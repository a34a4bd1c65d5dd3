"""Rebuild: shut the guest down, destroy it, and spawn it again on the same
host from the server's (new) image. The API already wrote the new image,
name, metadata and password. A server rebuilt while stopped ends stopped
(as Nova); from active or error it ends active."""
from __future__ import annotations

from taskvisor.flows.common import finish, guest_spec, image_for, power_off_guest, require_host, settle, source_state
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow

flow = Flow("rebuild", version=1, action="rebuild")


@flow.step(task_state="rebuilding")
def power_off(ctx):
    if ctx.server["id"] not in ctx.compute(require_host(ctx)).call("list_guests"):
        return {"skipped": True, "reason": "no guest on the host"}
    return power_off_guest(ctx)


@flow.step(task_state="rebuild_block_device_mapping")
def destroy(ctx):
    existed = ctx.compute(require_host(ctx)).call("destroy", server_id=ctx.server["id"])
    ctx.update(power_state=power.NOSTATE)
    return {"destroyed": existed["existed"]}


@flow.step(task_state="rebuild_spawning")
def spawn(ctx):
    host = require_host(ctx)
    ctx.intend(host, "spawn")
    image = image_for(ctx, ctx.server["image_id"])
    result = ctx.compute(host).call("spawn", server=guest_spec(ctx.server), image=image, flavor=ctx.server["flavor"])
    ctx.update(power_state=result["power_state"])
    if source_state(ctx) == states.STOPPED:  # Nova keeps a stopped server stopped
        ctx.compute(host).call("power_off", server_id=ctx.server["id"], timeout=0, retry_interval=0, force=True)
        ctx.update(power_state=power.SHUTDOWN)
    return {"image_id": ctx.server["image_id"], "power_state": power.NAMES.get(ctx.server["power_state"])}


@flow.on_success
def rebuilt(ctx):
    finish(ctx, "rebuild", "stopped" if source_state(ctx) == states.STOPPED else states.DONE)


flow.on_failure(settle("rebuild"))
