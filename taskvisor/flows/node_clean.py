"""Clean a node: automated (provide, after undeploy) or manual (the user's
steps in the user's order). Every clean step is its own task step, so a
conductor killed mid-clean resumes at the step in flight (Ironic would
leave the node in clean failed).

params: steps (the full ordered list, fixed by the API), start (index to
begin at: unhold continues after the hold), target (available | manageable).

Reserved steps: ``hold`` ends the task with the node in clean hold (unhold
starts a new task at the next step); ``wait`` waits ``seconds`` in clean
wait; power_on / power_off / reboot act through the power interface. An
abort asked for while a step runs stops an abortable step at once, any
other after it.
"""
from __future__ import annotations

import time

from taskvisor.baremetal.interfaces import POWER_OFF, POWER_ON, REBOOT, Aborted, HardwareError
from taskvisor.baremetal.steps import step_id, without_plan
from taskvisor.flows.node_common import hardware, keep_internal, release, show, show_at_checkpoint
from taskvisor.flows.node_records import cache_bios_settings
from taskvisor.states import node as states
from taskvisor.tasks.flow import Flow, Step, StepFailed

flow = Flow("node_clean", version=1, action="clean", resource_type="node")
_POWER_STEPS = {"power_on": POWER_ON, "power_off": POWER_OFF, "reboot": REBOOT}


def clean_steps(task: dict) -> list[Step]:
    """prepare + one task step per clean step (from ``start``) + finish."""
    steps = task["params"].get("steps") or []
    start = int(task["params"].get("start") or 0)
    out = [Step("prepare_cleaning", prepare)]
    # an abortable clean step stops at once when the task is cancelled (or the node aborted)
    out += [Step(step_id(steps[i]), _clean_step(i), cancellable=bool(steps[i].get("abortable")))
            for i in range(start, len(steps))]
    out.append(Step("finish_cleaning", finish))
    return out


flow.expand(clean_steps)


def prepare(ctx):
    if ctx.store.get("held") is not None:
        return {"skipped": True}
    if ctx.node.get("provision_state") not in states.CLEANING_STATES:
        # an undeploy's clean (the node is deleting): cleaning starts now, so that a failed
        # validation finds the node cleaning (clean failed, not error)
        show(ctx, reservation=ctx.host, provision_state=states.CLEANING)
    driver, hw = hardware(ctx)
    try:
        driver.power.validate(hw)
    except HardwareError as exc:
        raise StepFailed(f"Validation of node {ctx.node['id']} for cleaning failed: {exc}", 400) from None
    # with the checkpoint that also starts the first clean step (one commit, not two), and
    # what the node shows while that step runs
    show_at_checkpoint(ctx, reservation=ctx.host, provision_state=states.CLEANING)
    _show_next(ctx, int(ctx.params.get("start") or 0))
    return {"steps": len(ctx.params.get("steps") or []), "start": int(ctx.params.get("start") or 0)}


def _showing(ctx, index: int) -> dict:
    """What the node shows while clean step ``index`` runs."""
    step = ctx.params["steps"][index]
    name = step["step"]
    state = (states.CLEANHOLD if name == "hold" else
             states.CLEANWAIT if name == "wait" or step.get("requires_ramdisk") else states.CLEANING)
    internal = {**(ctx.node.get("driver_internal_info") or {}), "clean_step_index": index}
    return {"reservation": ctx.host, "clean_step": step, "provision_state": state,
            "driver_internal_info": internal}


def _show_next(ctx, index: int) -> None:
    """The node shows clean step ``index`` from the checkpoint that starts it
    (this step's): a step's start is then one commit, not two. The step
    shows itself again as it starts, which writes nothing unless that
    checkpoint did not (a resumed task)."""
    if index < len(ctx.params.get("steps") or []):
        show_at_checkpoint(ctx, **_showing(ctx, index))


def _clean_step(index: int):
    def run(ctx):
        if ctx.store.get("held") is not None:
            return {"skipped": True}
        step = ctx.params["steps"][index]
        if ctx.cancel_requested():
            # the step before this one: the node already shows this one (its checkpoint started it),
            # which has not run, unless this is a step run again after its conductor died
            before = ctx.params["steps"][index - 1] if index > 0 else None
            _abort(ctx, ctx.node.get("clean_step") if ctx.attempt > 1 else before)
        shown = _showing(ctx, index)
        show(ctx, **shown)
        name, state = step["step"], shown["provision_state"]
        if name == "hold":
            ctx.store["held"] = index
            return {"hold": True}
        started = time.monotonic()
        driver, hw = hardware(ctx, abortable=bool(step.get("abortable")))
        try:
            if name == "wait":
                limit = ctx.conf.conductor.max_conductor_wait_step_seconds
                hw.wait(min(float((step.get("args") or {}).get("seconds", limit)), limit))
            elif name in _POWER_STEPS:
                ctx.update(power_state=driver.power.set_power_state(hw, _POWER_STEPS[name]))
            else:
                getattr(driver, step["interface"]).execute_clean_step(hw, step)
        except Aborted:
            _abort(ctx, step)
        except Exception as exc:
            keep_internal(ctx, hw)
            raise StepFailed(f"Node {ctx.node['id']} failed step {step_id(step)}: {exc}") from None
        keep_internal(ctx, hw)
        if step.get("interface") == "bios":  # Ironic re-reads the settings after a BIOS step
            cache_bios_settings(ctx, driver.bios.get_settings(hw))
        if state == states.CLEANWAIT:  # the ramdisk called back: clean wait --resume--> cleaning
            show_at_checkpoint(ctx, provision_state=states.CLEANING)
        _show_next(ctx, index + 1)
        return {"seconds": round(time.monotonic() - started, 3)}
    return run


def finish(ctx):
    if ctx.store.get("held") is not None:
        return {"skipped": True}
    if ctx.cancel_requested():
        _abort(ctx, ctx.node.get("clean_step"))
    return {}


def _abort(ctx, step: dict | None):
    ctx.store["aborted"] = True
    message = "By request, the clean operation was aborted"
    if step:
        message += f' during or after the completion of step "{step_id(step)}"'
    raise StepFailed(message, 400)


@flow.on_success
def cleaned(ctx):
    if ctx.store.get("held") is not None:  # clean hold until unhold or abort
        release(ctx, provision_state=states.CLEANHOLD)
        return
    release(ctx, provision_state=ctx.params.get("target") or states.AVAILABLE, target_provision_state=None,
            clean_step={}, driver_internal_info=without_plan(ctx.node.get("driver_internal_info")))


@flow.on_failure
def clean_failed(ctx, error):
    """clean failed (left only through manage). A failed step also puts the
    node in maintenance with fault "clean failure"; an abort does not."""
    message = error.get("message")
    fields = {"provision_state": states.CLEANFAIL, "last_error": message, "clean_step": {},
              "driver_internal_info": without_plan(ctx.node.get("driver_internal_info"))}
    if ctx.node.get("clean_step") and not ctx.store.get("aborted"):
        fields.update(maintenance=True, fault="clean failure",
                      maintenance_reason=ctx.node.get("maintenance_reason") or message)
    release(ctx, **fields)
