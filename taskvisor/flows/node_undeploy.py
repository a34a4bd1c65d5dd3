"""Undeploy a node: active (or deploy failed / error) → deleting → cleaning
→ available. Tear-down and automated cleaning are one task, so the clean
steps resume like any other (params as node_clean, target available)."""
from __future__ import annotations

from sqlalchemy import delete

from taskvisor.baremetal.interfaces import POWER_OFF, HardwareError
from taskvisor.db.models import allocations
from taskvisor.flows import node_clean
from taskvisor.flows.node_common import hardware, release, reserve
from taskvisor.states import node as states
from taskvisor.tasks.flow import Flow, Step, StepFailed

flow = Flow("node_undeploy", version=1, action="undeploy", resource_type="node")


def power_off(ctx):
    reserve(ctx)
    driver, hw = hardware(ctx)
    try:
        state = driver.power.set_power_state(hw, POWER_OFF)
    except HardwareError as exc:
        raise StepFailed(f"Failed to tear down node {ctx.node['id']}: power off failed: {exc}") from None
    ctx.update(power_state=state)
    return {"power_state": state}


def tear_down(ctx):
    driver, hw = hardware(ctx)
    try:
        driver.deploy.tear_down(hw)
    except HardwareError as exc:
        raise StepFailed(f"Failed to tear down node {ctx.node['id']}: {exc}") from None
    with ctx.fenced() as conn:  # Ironic: tearing down ends the node's allocation (repeatable: a delete)
        conn.execute(delete(allocations).where(allocations.c.node_id == ctx.node["id"]))
    ctx.update(instance_uuid=None, instance_info={})


@flow.expand
def steps(task: dict) -> list[Step]:
    return [Step("power_off", power_off), Step("tear_down", tear_down), *node_clean.clean_steps(task)]


flow.on_success(node_clean.cleaned)


@flow.on_failure
def failed(ctx, error):
    if ctx.node.get("provision_state") == states.DELETING:
        release(ctx, provision_state=states.ERROR, target_provision_state=None, last_error=error.get("message"))
    else:
        node_clean.clean_failed(ctx, error)
