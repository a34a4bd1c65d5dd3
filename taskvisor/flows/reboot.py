"""Reboot. Soft: clean shutdown, then power on; a guest that does not shut
down in time is forced off (the step records that it became a hard reboot).
Hard: force the guest off (recreating it if the host lost it), power on."""
from __future__ import annotations

from taskvisor.flows.common import finish, guest_spec, image_for, require_host, settle, shutdown_args
from taskvisor.states import power
from taskvisor.tasks.flow import Flow

soft = Flow("reboot", version=1, action="reboot")


# cancellable: a user may stop the clean shutdown wait (the guest keeps running)
@soft.step(task_state="rebooting", name="shutdown", cancellable=True)
def soft_shutdown(ctx):
    args = {**shutdown_args(ctx), "force": False}
    details = ctx.compute(require_host(ctx)).call("power_off", server_id=ctx.server["id"], **args)
    if details["shutdown"] != "cancelled":
        details["reboot"] = "hard" if details["shutdown"] == "forced" else "soft"
        ctx.update(power_state=power.SHUTDOWN)
    return details



def _power_on(ctx):
    result = ctx.compute(ctx.server["host"]).call("power_on", server_id=ctx.server["id"])
    ctx.update(power_state=result["power_state"])
    return {"power_state": power.NAMES.get(result["power_state"])}


soft.step(_power_on, task_state="reboot_started", name="power_on")


@soft.on_success
def rebooted(ctx):
    finish(ctx, "reboot")


soft.on_failure(settle("reboot", undo_cancelled_stop=True))

hard = Flow("reboot_hard", version=1, action="reboot")


@hard.step(task_state="rebooting_hard")
def force_off(ctx):
    host = require_host(ctx)
    if ctx.server["id"] not in ctx.compute(host).call("list_guests"):
        # Nova's hard reboot rebuilds the guest's definition; ours makes it again
        image = image_for(ctx, ctx.server.get("image_id"))
        ctx.compute(host).call("spawn", server=guest_spec(ctx.server), image=image, flavor=ctx.server["flavor"])
        details = {"recreated": True}
    else:
        details = {}
    details.update(ctx.compute(host).call("power_off", server_id=ctx.server["id"], timeout=0,
                                          retry_interval=0, force=True))
    ctx.update(power_state=power.SHUTDOWN)
    return details


hard.step(_power_on, task_state="reboot_started_hard", name="power_on")


@hard.on_success
def hard_rebooted(ctx):
    finish(ctx, "reboot_hard")


hard.on_failure(settle("reboot_hard"))
