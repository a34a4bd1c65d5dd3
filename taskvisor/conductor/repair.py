"""Periodic repair: a server whose task_state has no live task behind it.

The API writes a task with every state change and a task's end clears the
state in the same transaction, so this should find nothing; it is the net
under bugs and hand edits (Nova's _init_instance leaves such servers stuck
for good). A conductor that finds one puts the server where the owning
flow's failure handler would (or ERROR when no task owns it) and records a
failed ``repair`` task, which the user sees as the server's fault.
"""
from __future__ import annotations

import logging

from sqlalchemy import and_, exists, select, update

from taskvisor.db.models import servers, tasks
from taskvisor.db.session import utcnow
from taskvisor.states import server as states
from taskvisor.tasks.runner import StepContext
from taskvisor.tasks.store import ACTIVE, Claim, insert_task, new_task_row

LOG = logging.getLogger(__name__)

_ORPHANS = select(servers).where(
    servers.c.task_state.is_not(None), servers.c.deleted.is_(False),
    ~exists().where(and_(tasks.c.resource_id == servers.c.id, tasks.c.status.in_(ACTIVE)))).limit(100)


def repair_orphans(runtime) -> int:
    with runtime.db.read() as conn:
        orphans = [dict(r) for r in conn.execute(_ORPHANS).mappings()]
        owners = {r["id"]: dict(r) for r in conn.execute(select(tasks).where(
            tasks.c.id.in_([o["task_id"] for o in orphans if o["task_id"]]))).mappings()} if orphans else {}
    repaired = 0
    for server in orphans:
        owner = owners.get(server["task_id"])
        updates = {"vm_state": states.ERROR, "task_state": None}
        if owner is not None:
            try:
                flow = runtime.flows.get(owner["flow"])
            except KeyError:
                flow = None
            if flow is not None and flow.failure_fn is not None:
                ctx = StepContext(runtime, Claim(owner, owner["generation"]), dict(server), 0)
                try:
                    flow.failure_fn(ctx, {"code": 500, "message": "repair"})
                    updates = {**ctx.updates, "task_state": None}
                except Exception:
                    LOG.exception("repair of server %s: the %s failure handler failed; using ERROR",
                                  server["id"], owner["flow"])
        message = (f"server was left in task_state {server['task_state']} with no live task behind it "
                   f"(owning task {server['task_id'] or 'none'}: {owner['status'] if owner else 'missing'}); "
                   f"repaired by conductor {runtime.host} to vm_state {updates.get('vm_state', server['vm_state'])}")
        record = new_task_row(resource_type="server", resource_id=server["id"], action="repair", flow="repair",
                              flow_version=1, request_id=None, user_id=server["user_id"],
                              project_id=server["project_id"])
        now = utcnow()
        record.update(status="failed", started_at=now, finished_at=now, owner=runtime.host,
                      error={"code": 500, "message": message})
        with runtime.db.write() as conn:
            changed = conn.execute(update(servers).where(
                servers.c.id == server["id"], servers.c.task_state == server["task_state"],
                servers.c.task_id.is_(None) if server["task_id"] is None else servers.c.task_id == server["task_id"],
            ).values(**updates, updated_at=now)).rowcount
            if changed:
                insert_task(conn, record)
        if changed:
            repaired += 1
            LOG.warning("%s", message)
    return repaired
