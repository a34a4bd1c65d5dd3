"""Helpers shared by bare-metal server flows (bm_*.py).

A bare-metal server's task runs its node's steps itself, as its own steps:
one task, one lease, one resume point (a conductor killed mid-deploy resumes
the step in flight), and no conductor worker blocked waiting on another task
that may never get a worker. While it runs, the task holds the node's lock
(``nodes.task_id`` = the server's task): every step takes it (``hold``, so a
step run again after a crash takes it again) and the task's end gives it
back. Node writes go through ``ctx.fenced()``: only while this conductor
holds the task's lease, and only while the task holds the node.

Cleaning is the node's own business: ``hand_over`` gives the node to a new
node task (undeploy or clean) in the transaction that frees it from the
server, so the server is done as soon as the node is off and released.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import or_, select, update

from taskvisor.baremetal import steps as clean_steps
from taskvisor.baremetal.drivers import get_driver
from taskvisor.baremetal.interfaces import POWER_OFF, POWER_ON, SOFT_POWER_OFF, HardwareError, HardwareTask
from taskvisor.db.models import nodes
from taskvisor.db.session import utcnow
from taskvisor.flows import common
from taskvisor.flows.common import shutdown_args
from taskvisor.flows.node_common import stamped
from taskvisor.states import node as node_states
from taskvisor.states import power
from taskvisor.tasks.flow import StepFailed
from taskvisor.tasks.store import insert_task, new_task_row

LOG = logging.getLogger(__name__)
POWER = {POWER_ON: power.RUNNING, POWER_OFF: power.SHUTDOWN}


class NodeGone(StepFailed):
    """The node no longer holds this server (or was taken from its task)."""

    def __init__(self, message: str):
        super().__init__(message, code=409)


class NodeLocked(StepFailed):
    """Another task holds the node's lock: worth another try."""
    retryable = True

    def __init__(self, node: dict):
        super().__init__(f"Node {node['id']} is locked by host {node.get('reservation') or 'unknown'}, please "
                         "retry after the current operation is completed.", code=409)


def node_of(ctx: Any) -> dict | None:
    """The node that holds this server, if any."""
    with ctx.runtime.db.read() as conn:
        row = conn.execute(select(nodes).where(nodes.c.instance_uuid == ctx.server["id"])).mappings().first()
    return dict(row) if row else None


def hold(ctx: Any, node_id: str | None = None) -> dict:
    """Take the node's lock for this task (idempotent); returns the node."""
    node_id, me = node_id or ctx.server.get("node"), ctx.task["id"]
    with ctx.fenced() as conn:
        taken = conn.execute(update(nodes).where(
            nodes.c.id == node_id, nodes.c.instance_uuid == ctx.server["id"],
            or_(nodes.c.task_id.is_(None), nodes.c.task_id == me)).values(
            task_id=me, reservation=ctx.host, updated_at=utcnow())).rowcount
        row = conn.execute(select(nodes).where(nodes.c.id == node_id)).mappings().first()
    if taken:
        return dict(row)
    if row is None or row["instance_uuid"] != ctx.server["id"]:
        raise NodeGone(f"Node {node_id} is no longer associated with instance {ctx.server['id']}.")
    raise NodeLocked(dict(row))


def write(ctx: Any, node: dict, **fields: Any) -> None:
    """Change the held node now (fenced)."""
    if "provision_state" in fields:
        node_states.check_transition(node.get("provision_state"), fields["provision_state"])
    with ctx.fenced() as conn:
        if not conn.execute(update(nodes).where(nodes.c.id == node["id"], nodes.c.task_id == ctx.task["id"])
                            .values(updated_at=utcnow(), **stamped(fields))).rowcount:
            raise NodeGone(f"Node {node['id']} was taken from task {ctx.task['id']}.")
    node.update(fields)


def release(ctx: Any, node_id: str | None, **fields: Any) -> bool:
    """Give the node's lock back with its final fields; False when this task did not hold it."""
    if not node_id:
        return False
    with ctx.fenced() as conn:
        return bool(conn.execute(update(nodes).where(nodes.c.id == node_id, nodes.c.task_id == ctx.task["id"])
                                 .values(task_id=None, reservation=None, updated_at=utcnow(),
                                         **stamped(fields))).rowcount)


def hand_over(ctx: Any, node_id: str, *, flow: str, action: str, params: dict, **fields: Any) -> str | None:
    """Pass the node's lock to a new node task, queued in the same
    transaction; returns its id (None when this task did not hold the node)."""
    task = new_task_row(resource_type="node", resource_id=node_id, action=action, flow=flow,
                        flow_version=ctx.runtime.flows.get(flow).version, params=params, request_id=ctx.task.get("request_id"),
                        user_id=ctx.task.get("user_id"), project_id=ctx.task.get("project_id"))
    with ctx.fenced() as conn:
        if not conn.execute(update(nodes).where(nodes.c.id == node_id, nodes.c.task_id == ctx.task["id"]).values(
                task_id=task["id"], reservation=None, provision_updated_at=utcnow(), updated_at=utcnow(),
                **fields)).rowcount:
            return None
        insert_task(conn, task)
    try:
        ctx.runtime.transport.notify("conductor.wake", {})
    except Exception:  # conductors also look every poll_interval
        LOG.warning("could not wake conductors for node task %s", task["id"])
    return task["id"]


def automated_plan(ctx: Any, node: dict) -> list[dict]:
    """The clean steps automated cleaning runs on this node ([] when it is off)."""
    known = clean_steps.for_node(clean_steps.driver_steps(get_driver(node["driver"])), node)
    return clean_steps.automated_plan(known, node, ctx.conf)


def with_plan(node: dict, plan: list[dict]) -> dict:
    """driver_internal_info as the node API shows a running automated clean."""
    return clean_steps.with_plan(node["driver_internal_info"], plan, manual=False)


def node_task_link(node_id: str, task_id: str) -> str:
    return f"/baremetal/v1/nodes/{node_id}/tasks/{task_id}"


def hardware(ctx: Any, node: dict) -> tuple[Any, HardwareTask]:
    return get_driver(node["driver"]), HardwareTask(node, ctx.conf)


def set_power(ctx: Any, node: dict, target: str, timeout: float | None = None) -> str:
    driver, hw = hardware(ctx, node)
    try:
        state = driver.power.set_power_state(hw, target, timeout=timeout)
    except HardwareError as exc:
        raise StepFailed(f"Node {node['id']}: power action '{target}' failed: {exc}") from None
    write(ctx, node, power_state=state)
    ctx.update(power_state=POWER.get(state, power.NOSTATE))
    return state


def shutdown(ctx: Any, node: dict, force: bool | None = None) -> dict:
    """Clean shutdown of a node (architecture.md §5): soft power off within the
    timeout, else hard power off. Re-sending the request every
    shutdown_retry_interval is the node's BMC's business (Ironic's soft
    power off takes only a timeout)."""
    args = shutdown_args(ctx)
    force = args["force"] if force is None else force
    timeout, started = args["timeout"], time.monotonic()
    driver, hw = hardware(ctx, node)
    details: dict = {"node": node["id"], "requested": timeout}
    try:
        current = driver.power.get_power_state(hw)
    except HardwareError as exc:
        raise StepFailed(f"Node {node['id']}: cannot read its power state: {exc}") from None
    if current == POWER_OFF:
        write(ctx, node, power_state=POWER_OFF)
        ctx.update(power_state=power.SHUTDOWN)
        return {**details, "shutdown": "already-off", "seconds": 0.0}
    if force or timeout <= 0:
        set_power(ctx, node, POWER_OFF)
        return {**details, "shutdown": "forced", "seconds": round(time.monotonic() - started, 3),
                "reason": "force requested" if force else "shutdown timeout is 0"}
    try:
        state = driver.power.set_power_state(hw, SOFT_POWER_OFF, timeout=timeout)
    except HardwareError as exc:
        LOG.info("node %s did not power off softly (%s); forcing it off", node["id"], exc)
        set_power(ctx, node, POWER_OFF)
        return {**details, "shutdown": "forced", "seconds": round(time.monotonic() - started, 3),
                "reason": f"soft power off failed: {exc}"}
    write(ctx, node, power_state=state)
    ctx.update(power_state=POWER.get(state, power.NOSTATE))
    return {**details, "shutdown": "clean", "seconds": round(time.monotonic() - started, 3)}


def actual_power(ctx: Any, node: dict | None) -> int | None:
    """The server's power state as its node reports it (None: unknown)."""
    if node is None:
        return power.NOSTATE
    driver, hw = hardware(ctx, node)
    try:
        return POWER.get(driver.power.get_power_state(hw), power.NOSTATE)
    except Exception:
        return None


def _free_node_and_look(ctx: Any, error: dict) -> int | None:
    node = node_of(ctx)
    if node is not None:
        release(ctx, node["id"], last_error=error.get("message"))
    return actual_power(ctx, node)


def settle(action: str):
    """``on_failure`` of a power action: release the node, then the server
    goes back to its source state if the node still looks as it did."""
    return common.settle(action, look=_free_node_and_look)
