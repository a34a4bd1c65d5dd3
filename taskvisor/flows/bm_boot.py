"""Boot a server onto a bare-metal node (Nova's ironic driver spawn): reserve
an available node of the flavor's resource class, then deploy it
(available → deploying → active) as this task's own steps, each showing the
node it works on. A boot that fails or is superseded by a delete frees the
node: untouched, it is simply released; otherwise it is handed to an
undeploy task (tear down and automated cleaning)."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import POWER_ON, HardwareError
from taskvisor.flows import boot
from taskvisor.flows.bm_common import (automated_plan, hand_over, hardware, hold, node_of, node_task_link,
                                       release, set_power, with_plan, write)
from taskvisor.flows.common import utcnow
from taskvisor.scheduler.nodes import compute_for, reserve_node
from taskvisor.states import node as node_states
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("bm_boot", version=1, action="create")


@flow.step(task_state="scheduling")
def schedule(ctx):
    held = node_of(ctx)
    if held is None:  # a node reserved before a crash is kept
        info = {"image_source": ctx.server.get("image_id"), "root_gb": str(ctx.server["flavor"].get("disk", 0)),
                "display_name": ctx.server["name"], "project_id": ctx.server["project_id"]}
        held, host = reserve_node(ctx.runtime.db, ctx.server["id"], ctx.task["id"], ctx.server["flavor"], info,
                                  ctx.conf.DEFAULT.service_down_time, ctx.fenced)
        ctx.update(host=host, node=held["id"])
    elif ctx.server.get("node") != held["id"]:  # reserved, then killed before this step's checkpoint
        ctx.update(host=compute_for(ctx.runtime.db, held["id"], ctx.conf.DEFAULT.service_down_time),
                   node=held["id"])
    return {"host": ctx.server["host"], "node": held["id"], "resource_class": held["resource_class"]}


@schedule.revert
def free_node(ctx):
    """Release an untouched node; hand a deployed (or half-deployed) one to undeploy."""
    node = node_of(ctx)
    if node is None:
        return
    if node["task_id"] not in (None, ctx.task["id"]):
        raise StepFailed(f"Node {node['id']} is locked by another task; it still names instance "
                         f"{ctx.server['id']}.")
    if node["task_id"] is None:
        hold(ctx, node["id"])
    error = (ctx.task.get("error") or {}).get("message")
    if node["provision_state"] == node_states.AVAILABLE:
        release(ctx, node["id"], instance_uuid=None, instance_info={})
    else:
        plan = automated_plan(ctx, node)
        task_id = hand_over(ctx, node["id"], flow="node_undeploy", action="undeploy",
                            params={"steps": plan, "start": 0, "target": node_states.AVAILABLE},
                            provision_state=node_states.DELETING, target_provision_state=node_states.AVAILABLE,
                            instance_uuid=None, clean_step={}, driver_internal_info=with_plan(node, plan),
                            last_error=error)
        if task_id:
            ctx.store["node_undeploy"] = node_task_link(node["id"], task_id)
    ctx.update(node=None)


boot_network = flow.step(boot.allocate_network.execute, task_state="networking", name="allocate_network")
boot_network.revert(boot.release_network)


@flow.step(task_state="spawning")
def validate(ctx):
    node = hold(ctx)
    write(ctx, node, provision_state=node_states.DEPLOYING, target_provision_state=node_states.ACTIVE,
          provision_updated_at=utcnow(), last_error=None)
    driver, hw = hardware(ctx, node)
    try:
        driver.power.validate(hw)
        driver.deploy.validate(hw)
    except HardwareError as exc:
        raise StepFailed(f"Failed to validate deploy or power info for node {node['id']}. Errors: {exc}",
                         400) from None
    return {"node": node["id"]}


@flow.step(task_state="spawning")
def deploy(ctx):
    node = hold(ctx)
    driver, hw = hardware(ctx, node)
    try:
        driver.deploy.deploy(hw)
    except HardwareError as exc:
        raise StepFailed(f"Deploy step deploy.deploy failed on node {node['id']}. {exc}") from None
    if hw.internal != (node.get("driver_internal_info") or {}):
        write(ctx, node, driver_internal_info=dict(hw.internal))
    return {"node": node["id"]}


@flow.step(task_state="spawning")
def power_on(ctx):
    node = hold(ctx)
    state = set_power(ctx, node, POWER_ON)
    return {"node": node["id"], "power_state": state}


@flow.on_success
def active(ctx):
    release(ctx, ctx.server.get("node"), provision_state=node_states.ACTIVE, target_provision_state=None,
            provision_updated_at=utcnow(), last_error=None)
    ctx.update(vm_state=states.ACTIVE, task_state=None, power_state=power.RUNNING, launched_at=utcnow(),
               progress=100)


@flow.on_failure
def error(ctx, err):
    ctx.update(vm_state=states.ERROR, task_state=None, power_state=power.NOSTATE, node=None)
