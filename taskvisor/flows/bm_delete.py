"""Delete a bare-metal server: shut its node down cleanly (soft power off,
forced after the timeout or on request), tear the deploy down, and hand the
node to automated cleaning (deleting → cleaning → available) in the
transaction that frees it from the server. The server is gone as soon as
that is done; the node returns to the pool only if every clean step
succeeds (a failed clean leaves it in clean failed, in maintenance)."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows import delete
from taskvisor.flows.bm_common import (automated_plan, hand_over, hardware, hold, node_of, node_task_link,
                                       release, shutdown, with_plan, write)
from taskvisor.flows.common import utcnow
from taskvisor.states import node as node_states
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("bm_delete", version=1, action="delete")
# A node in these states holds a deployed (or half-deployed) server.
_DEPLOYED = (node_states.ACTIVE, node_states.DEPLOYING, node_states.DEPLOYFAIL, node_states.ERROR,
             node_states.DELETING)


def _node(ctx) -> dict | None:
    """The node this server holds, locked for this task; None = nothing to undo."""
    node = node_of(ctx)
    if node is None or node["id"] != ctx.server.get("node"):
        return None
    return hold(ctx)


@flow.step
def power_off(ctx):
    node = _node(ctx)
    if node is None:
        return {"skipped": True, "reason": "no node holds this server"}
    if node["provision_state"] not in _DEPLOYED:  # reserved, never deployed
        return {"skipped": True, "node": node["id"], "reason": f"node is {node['provision_state']}"}
    write(ctx, node, provision_state=node_states.DELETING, target_provision_state=node_states.AVAILABLE,
          provision_updated_at=utcnow())
    return shutdown(ctx, node)


@flow.step
def tear_down(ctx):
    node = _node(ctx)
    if node is None or node["provision_state"] != node_states.DELETING:
        return {"skipped": True}
    driver, hw = hardware(ctx, node)
    try:
        driver.deploy.tear_down(hw)
    except HardwareError as exc:
        raise StepFailed(f"Failed to tear down node {node['id']}: {exc}") from None
    write(ctx, node, instance_info={})
    return {"node": node["id"]}


@flow.step
def release_node(ctx):
    """Free the node from the server and start its cleaning, in one transaction."""
    node = _node(ctx)
    if node is None:  # (also: released, then killed before this step's checkpoint)
        return {"skipped": True, "reason": "no node holds this server"}
    if node["provision_state"] != node_states.DELETING:
        release(ctx, node["id"], instance_uuid=None, instance_info={})
        return {"node": node["id"], "cleaning": False}
    plan = automated_plan(ctx, node)
    task_id = hand_over(ctx, node["id"], flow="node_clean", action="clean",
                        params={"steps": plan, "start": 0, "target": node_states.AVAILABLE},
                        provision_state=node_states.CLEANING, target_provision_state=node_states.AVAILABLE,
                        instance_uuid=None, instance_info={}, clean_step={}, last_error=None,
                        driver_internal_info=with_plan(node, plan))
    link = node_task_link(node["id"], task_id)
    return {"node": node["id"], "node_task": link, "clean_steps": [s["interface"] + "." + s["step"] for s in plan]}


flow.step(delete.release_network.execute, name="release_network")


flow.on_success(delete.deleted)


@flow.on_failure
def error(ctx, err):
    node = node_of(ctx)
    if node is not None:
        fields = {"last_error": err.get("message")}
        if node["provision_state"] == node_states.DELETING:
            fields.update(provision_state=node_states.ERROR, target_provision_state=None)
        release(ctx, node["id"], **fields)
    ctx.update(vm_state=states.ERROR, task_state=None)
