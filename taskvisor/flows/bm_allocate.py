"""Process an allocation (Ironic's do_allocate): find the nodes that match
it and reserve one of them.

A match is ``available``, not in maintenance, has a power state, holds no
instance, is of the allocation's resource class, among its candidates (if
any), owned or leased by its owner (if any) and has all its traits.
Reserving is one fenced transaction with two compare-and-swaps: the node
is still free (``instance_uuid`` := the allocation, which keeps Nova's
placement and every other allocation off it) and the allocation is still
this task's. Two allocations racing for one node: exactly one gets it, the
other moves on to its next candidate. No match: the allocation ends in
``error`` with Ironic's message.
"""
from __future__ import annotations

import random

from sqlalchemy import select, update

from taskvisor.db.models import allocations, node_traits, nodes
from taskvisor.db.session import utcnow
from taskvisor.states import node as node_states
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("bm_allocate", version=1, action="allocate", resource_type="allocation")

_FREE = (nodes.c.provision_state == node_states.AVAILABLE, nodes.c.maintenance.is_(False),
         nodes.c.instance_uuid.is_(None), nodes.c.power_state.is_not(None))


class AllocationFailed(StepFailed):
    def __init__(self, allocation_id: str, error: str, retryable: bool = False):
        super().__init__(f"Failed to process allocation {allocation_id}: {error}.", code=400)
        self.retryable = retryable  # nodes locked by a task: the engine tries again after a backoff


class _Gone(Exception):
    """The allocation was deleted while this task ran: undo the node's reservation."""


def _matching(conn, alloc: dict) -> list[dict]:
    conditions = [*_FREE, nodes.c.resource_class == alloc["resource_class"]]
    if alloc["candidate_nodes"]:
        conditions.append(nodes.c.id.in_(alloc["candidate_nodes"]))
    if alloc["owner"]:
        conditions.append((nodes.c.owner == alloc["owner"]) | (nodes.c.lessee == alloc["owner"]))
    return [dict(r) for r in conn.execute(select(nodes.c.id, nodes.c.name).where(*conditions)).mappings()]


def _has_traits(conn, node_id: str, wanted: set[str]) -> bool:
    if not wanted:
        return True
    have = set(conn.execute(select(node_traits.c.trait).where(node_traits.c.node_id == node_id)).scalars())
    return have >= wanted


def candidates(conn, alloc: dict) -> list[str]:
    """The matching nodes' ids, in the order to try them: shuffled, so that
    parallel allocations do not all try the same node first, except that a
    node named like the allocation goes first."""
    found = _matching(conn, alloc)
    if not found:
        raise AllocationFailed(alloc["id"], (
            "none of the requested nodes are available and match the resource class "
            if alloc["candidate_nodes"] else "no available nodes match the resource class ") + alloc["resource_class"])
    wanted = set(alloc["traits"] or [])
    found = [n for n in found if _has_traits(conn, n["id"], wanted)]
    if not found:
        raise AllocationFailed(alloc["id"], f"no suitable nodes have the requested traits {', '.join(sorted(wanted))}")
    random.shuffle(found)
    found.sort(key=lambda n: not (alloc["name"] and n["name"] == alloc["name"]))  # stable: the rest stay shuffled
    return [n["id"] for n in found]


def _reserve(conn, alloc: dict, task_id: str, node_id: str) -> str | None:
    """One node, checked again under its row lock: "taken", "busy" (a task
    holds it) or None (no longer suitable)."""
    node = conn.execute(select(nodes).where(nodes.c.id == node_id, *_FREE,
                                            nodes.c.resource_class == alloc["resource_class"]).with_for_update()
                        ).mappings().first()
    if node is None or not _has_traits(conn, node_id, set(alloc["traits"] or [])):
        return None
    if node["task_id"] is not None:
        return "busy"
    now = utcnow()
    info = {**(node["instance_info"] or {}), "traits": list(alloc["traits"] or [])}
    if not conn.execute(update(nodes).where(nodes.c.id == node_id, nodes.c.task_id.is_(None), *_FREE).values(
            instance_uuid=alloc["id"], instance_info=info, updated_at=now)).rowcount:
        return None
    if not conn.execute(update(allocations).where(allocations.c.id == alloc["id"], allocations.c.task_id == task_id)
                        .values(node_id=node_id, state="active", updated_at=now)).rowcount:
        raise _Gone()  # rolls the node's reservation back with it
    return "taken"


@flow.step(retries=3)
def reserve_node(ctx):
    alloc = ctx.resource
    if alloc["node_id"] is not None:  # a conductor that died after reserving it already did the work
        return {"node": alloc["node_id"], "resumed": True}
    with ctx.runtime.db.read() as conn:
        order = candidates(conn, alloc)
    busy = 0
    for node_id in order:
        try:
            with ctx.fenced() as conn:
                outcome = _reserve(conn, alloc, ctx.task["id"], node_id)
        except _Gone:
            raise StepFailed(f"Allocation {alloc['id']} was deleted while it was being processed", code=409) \
                from None
        if outcome == "taken":
            ctx.resource.update(node_id=node_id, state="active")
            return {"node": node_id, "candidates": len(order)}
        busy += outcome == "busy"
    if busy:
        raise AllocationFailed(alloc["id"], f"could not reserve any of {busy} suitable nodes", retryable=True)
    raise AllocationFailed(alloc["id"], "all nodes were filtered out during reservation")


@flow.on_success
def done(ctx):
    # the allocation last changed when it became active: releasing it keeps that time
    with ctx.runtime.db.read() as conn:
        changed = conn.execute(select(allocations.c.updated_at).where(allocations.c.id == ctx.resource["id"])).scalar()
    ctx.update(task_id=None, updated_at=changed)


@flow.on_failure
def failed(ctx, error):
    ctx.update(task_id=None, node_id=None, state="error", last_error=error.get("message"))
