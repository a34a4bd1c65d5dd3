"""Abort cleaning of a node held in clean hold (no task runs then): the
node goes to clean failed, as in Ironic. An abort while a clean task runs
is a request to that task instead (see node_clean)."""
from __future__ import annotations

from taskvisor.baremetal.steps import step_id, without_plan
from taskvisor.flows.node_common import release, reserve
from taskvisor.states import node as states
from taskvisor.tasks.flow import Flow

flow = Flow("node_abort", version=1, action="abort", resource_type="node")


@flow.step
def abort_cleaning(ctx):
    reserve(ctx)
    return {"clean_step": ctx.node.get("clean_step") or None}


@flow.on_success
def clean_failed(ctx):
    message = "By request, the clean operation was aborted"
    if ctx.node.get("clean_step"):
        message += f' during or after the completion of step "{step_id(ctx.node["clean_step"])}"'
    release(ctx, provision_state=states.CLEANFAIL, last_error=message, clean_step={},
            driver_internal_info=without_plan(ctx.node.get("driver_internal_info")))


@flow.on_failure
def failed(ctx, error):
    release(ctx, last_error=error.get("message"))
