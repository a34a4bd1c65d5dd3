"""Rescue: shut the guest down cleanly, boot the rescue image with the
guest's disk attached. Unrescue: drop the rescue guest, start the original."""
from __future__ import annotations

from taskvisor.flows.common import finish, image_for, power_off_guest, require_host, settle, source_state
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow

rescue = Flow("rescue", version=1, action="rescue")


# cancellable: a user may stop the clean shutdown wait (reverted: the guest runs on)
@rescue.step(task_state="rescuing", cancellable=True)
def power_off(ctx):
    return power_off_guest(ctx)


@power_off.revert
def power_back_on(ctx):
    if source_state(ctx) == states.ACTIVE:  # it was running before we shut it down
        ctx.compute(ctx.server["host"]).call("power_on", server_id=ctx.server["id"])
        ctx.update(power_state=power.RUNNING)


@rescue.step
def boot_rescue_image(ctx):
    image = image_for(ctx, ctx.params.get("rescue_image_ref") or ctx.server.get("image_id"))
    result = ctx.compute(require_host(ctx)).call("rescue", server_id=ctx.server["id"], rescue_image=image)
    ctx.update(power_state=result["power_state"])
    return {"rescue_image": image["id"]}


@rescue.on_success
def rescued(ctx):
    finish(ctx, "rescue")


rescue.on_failure(settle("rescue"))

unrescue = Flow("unrescue", version=1, action="unrescue")


@unrescue.step(task_state="unrescuing", name="unrescue")
def drop_rescue_guest(ctx):
    result = ctx.compute(require_host(ctx)).call("unrescue", server_id=ctx.server["id"])
    ctx.update(power_state=result["power_state"])
    return {"power_state": power.NAMES.get(result["power_state"])}


@unrescue.on_success
def unrescued(ctx):
    finish(ctx, "unrescue")


unrescue.on_failure(settle("unrescue"))
