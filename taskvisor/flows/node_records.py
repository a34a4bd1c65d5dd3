"""Rows a node task writes beside the node (fenced, as its own writes are):
a history event when a task leaves an error on the node (Ironic's
node_history, severity ERROR), and the BIOS settings the hardware reports
after a BIOS step (Ironic caches them in bios_settings)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, delete, insert

from taskvisor.db.models import bios_settings, node_history
from taskvisor.db.session import utcnow

_SETTING_FIELDS = ("value", "attribute_type", "allowable_values", "lower_bound", "upper_bound", "min_length",
                   "max_length", "read_only", "reset_required", "unique")


def record_error(ctx: Any, message: str, fields: dict) -> None:
    node, task = ctx.node, ctx.task
    with ctx.fenced() as conn:
        conn.execute(insert(node_history).values(
            id=str(uuid.uuid4()), node_id=node["id"], created_at=utcnow(), severity="ERROR",
            event_type=task.get("action") or "task", event=message, conductor=ctx.host,
            user_id=task.get("user_id"), project_id=task.get("project_id"),
            state=fields.get("provision_state", node.get("provision_state")),
            target_provision_state=fields.get("target_provision_state", node.get("target_provision_state"))))


# constant statements (a BIOS clean step writes these): compiled once
_DELETE_SETTINGS = delete(bios_settings).where(bios_settings.c.node_id == bindparam("p_node"))
_INSERT_SETTING = insert(bios_settings)


def cache_bios_settings(ctx: Any, settings: list[dict]) -> None:
    """Replace the node's cached settings with what the hardware reports."""
    now = utcnow()
    rows = [{"node_id": ctx.node["id"], "name": setting["name"], "created_at": now, "updated_at": None,
             **{k: setting.get(k) for k in _SETTING_FIELDS}} for setting in settings]
    with ctx.fenced() as conn:
        conn.execute(_DELETE_SETTINGS, {"p_node": ctx.node["id"]})
        if rows:
            conn.execute(_INSERT_SETTING, rows)
