"""Pause and unpause: the guest keeps its memory, its vCPUs stop."""
from __future__ import annotations

from taskvisor.flows.common import finish, require_host, settle
from taskvisor.states import power
from taskvisor.tasks.flow import Flow


def driver_step(method: str):
    def execute(ctx):
        result = ctx.compute(require_host(ctx)).call(method, server_id=ctx.server["id"])
        ctx.update(power_state=result["power_state"])
        return {"power_state": power.NAMES.get(result["power_state"])}
    execute.__name__ = method
    return execute


def simple_flow(action: str, task_state: str) -> Flow:
    """A one-step action: one driver call, then the machine's target state."""
    flow = Flow(action, version=1, action=action)
    flow.step(driver_step(action), task_state=task_state)
    flow.on_success(lambda ctx: finish(ctx, action))
    flow.on_failure(settle(action))
    return flow


pause = simple_flow("pause", "pausing")
unpause = simple_flow("unpause", "unpausing")
