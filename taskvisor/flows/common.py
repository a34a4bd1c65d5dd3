"""Helpers shared by server flows."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from taskvisor.db.models import images
from taskvisor.db.session import utcnow  # noqa: F401  (flows stamp times with it)


def shutdown_args(ctx: Any) -> dict:
    """Clean-shutdown parameters for this server (DESIGN §5): the image's
    os_shutdown_timeout, else [DEFAULT] shutdown_timeout; force on request."""
    props = ctx.server.get("image_properties") or {}
    timeout = props.get("os_shutdown_timeout")
    timeout = int(timeout) if timeout not in (None, "") else ctx.conf.DEFAULT.shutdown_timeout
    return {"timeout": timeout, "retry_interval": ctx.conf.compute.shutdown_retry_interval,
            "force": bool(ctx.params.get("force", False))}


def image_for(ctx: Any, image_id: str | None) -> dict:
    """The image as the compute needs it; the server keeps a copy of the
    properties, so a deleted image still boots its servers' rebuilds."""
    row = None
    if image_id:
        with ctx.runtime.db.read() as conn:
            row = conn.execute(select(images).where(images.c.id == image_id)).mappings().first()
    if row is None:
        return {"id": image_id, "properties": ctx.server.get("image_properties") or {}}
    return {"id": row["id"], "name": row["name"], "min_disk": row["min_disk"], "min_ram": row["min_ram"],
            "properties": row["properties"]}


def guest_spec(server: dict) -> dict:
    """What a compute is told about a server (never the whole row)."""
    return {"id": server["id"], "name": server["name"], "project_id": server["project_id"],
            "metadata": server.get("metadata") or {}}
