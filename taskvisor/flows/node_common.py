"""Helpers shared by node (bare-metal) flows.

A node task owns the node (nodes.task_id) from the API's compare-and-swap
until its end, when it releases it (task_id and reservation cleared): that
is the node's lock, and ``reservation`` names the conductor running it.

``show`` writes what the node is doing *now* (reservation, clean_step,
provision_state) at the start of a step, fenced like a checkpoint
(``StepContext.write_now``): only while this conductor holds the task's
lease and the task owns the node. ``show_at_checkpoint`` writes with the
step's checkpoint instead, which saves a commit when nothing waits between.
"""
from __future__ import annotations

from typing import Any

from taskvisor.baremetal.drivers import get_driver
from taskvisor.baremetal.interfaces import HardwareTask
from taskvisor.db.session import utcnow
from taskvisor.flows.node_records import record_error
from taskvisor.states import node as node_states


def stamped(fields: dict) -> dict:
    """Every write of provision_state stamps provision_updated_at (Ironic
    does on each save that sets the state): node flows write through here."""
    if "provision_state" in fields:
        return {"provision_updated_at": utcnow(), **fields}
    return fields


def _bound(ctx: Any, fields: dict) -> dict:
    if "provision_state" in fields:
        node_states.check_transition(ctx.node.get("provision_state"), fields["provision_state"])
    return stamped(fields)


def show(ctx: Any, **fields: Any) -> None:
    """Write the fields that differ from the node's now (none: no write);
    provision_updated_at is stamped when provision_state changes."""
    fields = {k: v for k, v in fields.items() if ctx.node.get(k) != v}
    if fields:
        ctx.write_now(**_bound(ctx, fields))


def show_at_checkpoint(ctx: Any, **fields: Any) -> None:
    """As ``show``, but written with this step's checkpoint (moments later,
    in the commit that also starts the next step) rather than in a
    transaction of its own: for what the node shows once the step's work is
    done. A step that fails, or whose conductor dies, before its checkpoint
    writes none of it; run again, it writes it again."""
    fields = {k: v for k, v in fields.items() if ctx.node.get(k) != v}
    if fields:
        ctx.update(**_bound(ctx, fields))


def reserve(ctx: Any) -> None:
    """Every node step starts here: the node shows who runs it."""
    show(ctx, reservation=ctx.host)


def release(ctx: Any, **fields: Any) -> None:
    """The task's end: unlock the node with its final fields. An error it
    leaves (last_error) is also a history event, as in Ironic."""
    if fields.get("last_error"):
        record_error(ctx, fields["last_error"], fields)
    ctx.update(reservation=None, task_id=None, **_bound(ctx, fields))


def hardware(ctx: Any, abortable: bool = True) -> tuple[Any, HardwareTask]:
    """The node's driver and a task handle for its interfaces; ``abortable``
    is the running step's declaration, enforced on every wait."""
    return get_driver(ctx.node["driver"]), HardwareTask(ctx.node, ctx.conf, ctx.cancel_requested, abortable)


def keep_internal(ctx: Any, hw: HardwareTask) -> None:
    """Save what the driver noted in driver_internal_info with this checkpoint."""
    if hw.internal != (ctx.node.get("driver_internal_info") or {}):
        ctx.update(driver_internal_info=dict(hw.internal))
