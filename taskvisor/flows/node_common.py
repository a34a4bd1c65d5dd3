"""Helpers shared by node (bare-metal) flows.

A node task owns the node (nodes.task_id) from the API's compare-and-swap
until its end, when it releases it (task_id and reservation cleared): that
is the node's lock, and ``reservation`` names the conductor running it.

``show`` writes what the node is doing *now* (reservation, clean_step,
provision_state) at the start of a step, fenced like a checkpoint: only
while this conductor holds the task's lease and the task owns the node.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from taskvisor.baremetal import get_driver
from taskvisor.baremetal.interfaces import HardwareTask
from taskvisor.db.models import nodes, tasks
from taskvisor.db.session import utcnow
from taskvisor.tasks.flow import Fenced, Superseded


def show(ctx: Any, **fields: Any) -> None:
    fields = {k: v for k, v in fields.items() if ctx.node.get(k) != v}
    if not fields:
        return
    task = ctx.task
    with ctx.runtime.db.write() as conn:
        fenced = conn.execute(update(tasks).where(
            tasks.c.id == task["id"], tasks.c.generation == task["generation"],
            tasks.c.owner_instance == task["owner_instance"]).values(updated_at=utcnow()))
        if fenced.rowcount != 1:
            raise Fenced(f"task {task['id']}: lease generation {task['generation']} is no longer ours")
        owned = conn.execute(update(nodes).where(nodes.c.id == ctx.node["id"], nodes.c.task_id == task["id"])
                             .values(updated_at=utcnow(), **fields))
        if owned.rowcount != 1:
            raise Superseded(f"node {ctx.node['id']} is no longer owned by task {task['id']}")
    ctx.node.update(fields)


def reserve(ctx: Any) -> None:
    """Every node step starts here: the node shows who runs it."""
    show(ctx, reservation=ctx.host)


def release(ctx: Any, **fields: Any) -> None:
    """The task's end: unlock the node with its final fields."""
    ctx.update(reservation=None, task_id=None, **fields)


def abort_requested(ctx: Any) -> bool:
    with ctx.runtime.db.read() as conn:
        return bool(conn.execute(select(tasks.c.cancel_requested).where(tasks.c.id == ctx.task["id"])).scalar())


def hardware(ctx: Any) -> tuple[Any, HardwareTask]:
    """The node's driver and a task handle for its interfaces."""
    return get_driver(ctx.node["driver"]), HardwareTask(ctx.node, ctx.conf, lambda: abort_requested(ctx))


def keep_internal(ctx: Any, hw: HardwareTask) -> None:
    """Save what the driver noted in driver_internal_info with this checkpoint."""
    if hw.internal != (ctx.node.get("driver_internal_info") or {}):
        ctx.update(driver_internal_info=dict(hw.internal))
