"""Soft delete (Nova's deferred delete): with [DEFAULT] reclaim_instance_interval
> 0, DELETE /servers/{id} runs the soft_delete task (SOFT_DELETED, the
guest off) instead of deleting; ``restore`` brings the server back;
forceDelete deletes it now; the conductor's reclaim deletes it once the
interval has passed."""
from __future__ import annotations

from taskvisor.api.compute.actions import EMPTY, _body, _start


def soft_deletes(request) -> bool:
    return request.app.state.tv.conf.DEFAULT.reclaim_instance_interval > 0


def soft_delete(request, ctx, server_id: str):
    """DELETE's answer when deletes are deferred: 204, the task in the header."""
    return _start(request, ctx, server_id, "softDelete", status=204)


def restore(request, ctx, server_id, body):
    _body(body, "restore", EMPTY)
    return _start(request, ctx, server_id, "restore")


HANDLERS = {"restore": restore}
INNER = {"restore": EMPTY}
RULES = {"restore": "os_compute_api:os-deferred-delete:restore"}
