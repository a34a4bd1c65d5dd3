"""Deploy a node: available → deploying → active (write the image through
the deploy interface, then power on)."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import POWER_ON, HardwareError
from taskvisor.flows.node_common import hardware, keep_internal, release, reserve
from taskvisor.states import node as states
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_deploy", version=1, action="deploy", resource_type="node")


@flow.step
def validate(ctx):
    reserve(ctx)
    driver, hw = hardware(ctx)
    try:
        driver.power.validate(hw)
        driver.deploy.validate(hw)
    except HardwareError as exc:
        raise StepFailed(f"Failed to validate deploy or power info for node {ctx.node['id']}. "
                         f"Errors: {exc}", 400) from None


@flow.step
def deploy(ctx):
    driver, hw = hardware(ctx)
    try:
        driver.deploy.deploy(hw)
    except HardwareError as exc:
        raise StepFailed(f"Deploy step deploy.deploy failed on node {ctx.node['id']}. {exc}") from None
    keep_internal(ctx, hw)


@flow.step
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
