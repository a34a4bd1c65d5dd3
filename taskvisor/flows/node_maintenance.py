"""Set or clear a node's maintenance flag (with its reason). Clearing it
also clears the fault that set it, as in Ironic."""
from __future__ import annotations

from taskvisor.flows.node_common import release, reserve
from taskvisor.tasks.flow import Flow

flow = Flow("node_maintenance", version=1, action="maintenance", resource_type="node")


@flow.step
def set_maintenance(ctx):
    reserve(ctx)
    on = bool(ctx.params["maintenance"])
    ctx.update(maintenance=on, maintenance_reason=ctx.params.get("reason") if on else None,
               **({} if on else {"fault": None}))
    return {"maintenance": on}


@flow.on_success
def done(ctx):
    release(ctx)


@flow.on_failure
def failed(ctx, error):
    release(ctx)
