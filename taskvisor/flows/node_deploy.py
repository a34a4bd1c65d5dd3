"""Deploy a node: available → deploying → active (write the image through
the deploy interface, then power on).

params: steps, the steps of the deploy templates matching the node's
instance traits, fixed and ordered by the API (so the task shows them from
its start). Each is its own task step, around the core deploy step:
higher priorities before it, lower ones after (``split_deploy_steps``).
"""
from __future__ import annotations

from taskvisor.baremetal.interfaces import POWER_ON, HardwareError
from taskvisor.baremetal.steps import split_deploy_steps, step_id
from taskvisor.flows.node_common import hardware, keep_internal, release, reserve
from taskvisor.flows.node_records import cache_bios_settings
from taskvisor.states import node as states
from taskvisor.tasks.flow import Flow, Step, StepFailed

flow = Flow("node_deploy", version=1, action="deploy", resource_type="node")


def deploy_steps(task: dict) -> list[Step]:
    """validate, template steps before deploy, deploy, those after, power_on
    (no templates: validate, deploy, power_on, as before)."""
    before, after = split_deploy_steps((task.get("params") or {}).get("steps") or [])
    return [Step("validate", validate), *(Step(step_id(s), _template_step(s)) for s in before),
            Step("deploy", deploy), *(Step(step_id(s), _template_step(s)) for s in after),
            Step("power_on", power_on)]


flow.expand(deploy_steps)


def _template_step(step: dict):
    def run(ctx):
        driver, hw = hardware(ctx, abortable=False)
        try:
            getattr(driver, step["interface"]).execute_clean_step(hw, step)
        except Exception as exc:
            keep_internal(ctx, hw)
            raise StepFailed(f"Deploy step {step_id(step)} failed on node {ctx.node['id']}. {exc}") from None
        keep_internal(ctx, hw)
        if step["interface"] == "bios":  # as after a BIOS clean step
            cache_bios_settings(ctx, driver.bios.get_settings(hw))
        return {"priority": step["priority"]}
    return run


def validate(ctx):
    reserve(ctx)
    driver, hw = hardware(ctx)
    try:
        driver.power.validate(hw)
        driver.deploy.validate(hw)
    except HardwareError as exc:
        raise StepFailed(f"Failed to validate deploy or power info for node {ctx.node['id']}. "
                         f"Errors: {exc}", 400) from None


def deploy(ctx):
    driver, hw = hardware(ctx)
    try:
        driver.deploy.deploy(hw)
    except HardwareError as exc:
        raise StepFailed(f"Deploy step deploy.deploy failed on node {ctx.node['id']}. {exc}") from None
    keep_internal(ctx, hw)


def power_on(ctx):
    driver, hw = hardware(ctx)
    try:
        state = driver.power.set_power_state(hw, POWER_ON)
    except HardwareError as exc:
        raise StepFailed(f"Failed to power on node {ctx.node['id']} after deploy. Error: {exc}") from None
    ctx.update(power_state=state)
    return {"power_state": state}


@flow.on_success
def active(ctx):
    release(ctx, provision_state=states.ACTIVE, target_provision_state=None, last_error=None)


@flow.on_failure
def deploy_failed(ctx, error):
    release(ctx, provision_state=states.DEPLOYFAIL, target_provision_state=states.ACTIVE,
            last_error=error.get("message"))
