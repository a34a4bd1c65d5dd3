"""Periodic reclaim of soft-deleted servers (Nova's _reclaim_queued_deletes):
a server SOFT_DELETED for longer than [DEFAULT] reclaim_instance_interval
is deleted for good by a delete task, started as the API starts one
(compare-and-swap on the resting state, then the task row, in one
transaction), so a restore racing it either wins or gets a 409."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update

from taskvisor.db.models import servers
from taskvisor.db.session import utcnow
from taskvisor.states import server as states
from taskvisor.tasks.store import insert_task, new_task_row

LOG = logging.getLogger(__name__)


def reclaim_soft_deleted(runtime) -> int:
    interval = runtime.conf.DEFAULT.reclaim_instance_interval
    if interval <= 0:
        return 0
    cutoff = utcnow() - dt.timedelta(seconds=interval)
    with runtime.db.read() as conn:
        due = conn.execute(select(servers.c.id, servers.c.user_id, servers.c.project_id).where(
            servers.c.vm_state == states.SOFT_DELETED, servers.c.task_state.is_(None),
            servers.c.deleted.is_(False), servers.c.deleted_at < cutoff).limit(100)).all()
    started = 0
    flow = runtime.flows.get("delete")
    for server in due:
        task = new_task_row(resource_type="server", resource_id=server.id, action="delete", flow=flow.name,
                            flow_version=flow.version, params={"source": states.SOFT_DELETED, "reclaim": True},
                            user_id=server.user_id, project_id=server.project_id)
        with runtime.db.write() as conn:
            changed = conn.execute(update(servers).where(
                servers.c.id == server.id, servers.c.vm_state == states.SOFT_DELETED,
                servers.c.task_state.is_(None)).values(task_state="deleting", task_id=task["id"],
                                                       updated_at=utcnow())).rowcount
            if changed:
                insert_task(conn, task)
                started += 1
                LOG.info("reclaiming soft-deleted server %s (task %s)", server.id, task["id"])
    return started
