"""Soft delete ([DEFAULT] reclaim_instance_interval > 0): DELETE shuts the
guest down and leaves the server SOFT_DELETED, stamped with deleted_at;
restore powers it on again; forceDelete, or the conductor's reclaim once the
interval has passed, deletes it for good (the delete flow)."""
from __future__ import annotations

from taskvisor.flows.common import finish, power_off_guest, settle, utcnow
from taskvisor.states import power
from taskvisor.tasks.flow import Flow

soft_delete = Flow("soft_delete", version=1, action="delete")


def _has_guest(ctx) -> bool:
    host = ctx.server.get("host")
    return bool(host) and ctx.server["id"] in ctx.compute(host).call("list_guests")


@soft_delete.step(task_state="soft-deleting")
def power_off(ctx):
    if not _has_guest(ctx):
        return {"skipped": True, "reason": "no guest on a host"}
    return power_off_guest(ctx)


soft_delete.on_success(lambda ctx: finish(ctx, "softDelete", deleted_at=utcnow()))
soft_delete.on_failure(settle("softDelete"))

restore = Flow("restore", version=1, action="restore")


@restore.step(task_state="restoring")
def power_on(ctx):
    if not _has_guest(ctx):
        return {"skipped": True, "reason": "no guest on a host"}
    result = ctx.compute(ctx.server["host"]).call("power_on", server_id=ctx.server["id"])
    ctx.update(power_state=result["power_state"])
    return {"power_state": power.NAMES.get(result["power_state"])}


restore.on_success(lambda ctx: finish(ctx, "restore", deleted_at=None))
restore.on_failure(settle("restore"))
