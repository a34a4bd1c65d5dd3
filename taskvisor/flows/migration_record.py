"""The migration record a resize or cold migration keeps (Nova's
``migrations`` row, what os-migrations lists): opened when it starts, its
status following it (migrating → finished → confirmed | reverted, or error)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select, update

from taskvisor.db.models import migrations
from taskvisor.db.session import utcnow


def open_record(ctx: Any, migration_type: str = "resize", dest: str | None = None) -> None:
    """Once per task (a retried or taken-over step finds its row). ``dest``: the
    compute a cold migration goes to (a resize stays on its host)."""
    server = ctx.server
    with ctx.fenced() as conn:
        if conn.execute(select(migrations.c.id).where(migrations.c.task_id == ctx.task["id"])).first():
            return
        now = utcnow()
        conn.execute(insert(migrations).values(
            uuid=str(uuid.uuid4()), instance_uuid=server["id"], task_id=ctx.task["id"],
            migration_type=migration_type, status="migrating", source_compute=server.get("host"),
            dest_compute=dest or server.get("host"), source_node=server.get("node"),
            dest_node=dest or server.get("node"),
            old_flavor_id=(server.get("old_flavor") or server.get("flavor") or {}).get("id"),
            new_flavor_id=(server.get("new_flavor") or {}).get("id"),
            project_id=server.get("project_id"), user_id=server.get("user_id"), created_at=now, updated_at=now))


def set_status(ctx: Any, status: str) -> None:
    """The server's newest migration record takes ``status``."""
    with ctx.fenced() as conn:
        newest = conn.execute(select(migrations.c.id).where(migrations.c.instance_uuid == ctx.server["id"])
                              .order_by(migrations.c.id.desc()).limit(1)).first()
        if newest is not None:
            conn.execute(update(migrations).where(migrations.c.id == newest.id)
                         .values(status=status, updated_at=utcnow()))
