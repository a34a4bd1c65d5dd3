"""Delete a server: shut the guest down cleanly (Nova does not; we do),
destroy it, release its address, and mark the server deleted."""
from __future__ import annotations

from taskvisor.flows.common import shutdown_args, utcnow
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow, register
from taskvisor.virt import power

flow = register(Flow("delete", version=1, action="delete"))


@flow.step
def power_off(ctx):
    if not ctx.server.get("host"):
        return {"skipped": True, "reason": "never placed on a host"}
    guests = ctx.compute(ctx.server["host"]).call("list_guests")
    if ctx.server["id"] not in guests:
        return {"shutdown": "already-off", "reason": "no guest on the host"}
    return ctx.compute(ctx.server["host"]).call("power_off", server_id=ctx.server["id"], **shutdown_args(ctx))


@flow.step
def destroy(ctx):
    if not ctx.server.get("host"):
        return {"skipped": True, "reason": "never placed on a host"}
    return ctx.compute(ctx.server["host"]).call("destroy", server_id=ctx.server["id"])


@flow.step
def release_network(ctx):
    ctx.update(addresses={})


@flow.on_success
def deleted(ctx):
    now = utcnow()
    ctx.update(vm_state=states.DELETED, task_state=None, power_state=power.NOSTATE, deleted=True,
               deleted_at=now, terminated_at=now)


@flow.on_failure
def error(ctx, err):
    ctx.update(vm_state=states.ERROR, task_state=None)
