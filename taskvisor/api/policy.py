"""One place where routes ask "may this caller do this?".

Minimal version: admin may do anything; others may act on targets of their
own project. The identity work (oslo.policy enforcer over
``taskvisor/policies/*``) replaces the body; the signature stays.
"""
from __future__ import annotations

from taskvisor.api.context import RequestContext
from taskvisor.api.errors import ApiError


def authorize(ctx: RequestContext, rule: str, target: dict | None = None) -> None:
    """Raise the API's 403 unless ``ctx`` may apply ``rule`` to ``target``
    (a dict with at least ``project_id`` when it names a resource)."""
    if ctx.is_admin:
        return
    if rule.endswith(":all_projects"):
        raise ApiError(403, f"Policy doesn't allow {rule} to be performed.")
    if target is not None and target.get("project_id") not in (None, ctx.project_id):
        raise ApiError(403, f"Policy doesn't allow {rule} to be performed.")
