"""The server list filters Nova offers everyone beyond ``name`` and
``status``: ``image``, ``flavor``, ``ip`` / ``ip6`` (regular expressions on
the addresses), ``changes-since`` (which also lists deleted servers, as in
Nova) and ``changes-before`` (2.66); and the check that a ``status`` is one
Nova knows (an unknown one is a 400 from 2.38, an empty list before)."""
from __future__ import annotations

import functools

from fastapi import Request
from sqlalchemy import select

from taskvisor.api import openapi
from taskvisor.api.context import RequestContext
from taskvisor.api.errors import BadRequest
from taskvisor.api.tasks_list import parse_time
from taskvisor.db.models import servers

STATUSES = {"ACTIVE", "BUILD", "DELETED", "ERROR", "HARD_REBOOT", "MIGRATING", "PASSWORD", "PAUSED", "REBOOT",
            "REBUILD", "RESCUE", "RESIZE", "REVERT_RESIZE", "SHELVED", "SHELVED_OFFLOADED", "SHUTOFF",
            "SOFT_DELETED", "SUSPENDED", "UNKNOWN", "VERIFY_RESIZE"}
QUERY = tuple((name, openapi.STRING) for name in ("image", "flavor", "ip", "ip6", "changes-since", "changes-before"))


@functools.cache
def re2_engine():
    """(the re2 module, its options): RE2 (about 2.4 MB resident once its
    library is loaded) is loaded by the first regular-expression filter,
    not by every API process at start-up."""
    import re2
    options = re2.Options()
    options.max_mem = 1 << 20  # a pathological pattern fails to compile instead of eating memory
    options.log_errors = False
    return re2, options


def apply(request: Request, ctx: RequestContext, visible: list) -> list:
    """``visible`` (the list's WHERE clauses, the deleted test first) with these filters added."""
    params = request.query_params
    if ctx.at_least("2.38"):
        unknown = [s for s in params.getlist("status") if s.upper() not in STATUSES]
        if unknown:
            raise BadRequest(f"Invalid status value: {unknown[0][:32]}")
    clauses = list(visible)
    since = parse_time("changes-since", params["changes-since"][:64]) if params.get("changes-since") else None
    before = None
    if ctx.at_least("2.66") and params.get("changes-before"):
        before = parse_time("changes-before", params["changes-before"][:64])
        if since is not None and before < since:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if since is not None or before is not None:
        clauses = clauses[1:]  # a changed server may be a deleted one
    if since is not None:
        clauses.append(servers.c.updated_at >= since)
    if before is not None:
        clauses.append(servers.c.updated_at <= before)
    if params.get("image"):
        clauses.append(servers.c.image_id == params["image"].rstrip("/").rsplit("/", 1)[-1])
    if params.get("flavor"):
        clauses.append(servers.c.flavor["id"].as_string() == params["flavor"].rstrip("/").rsplit("/", 1)[-1])
    for name, version in (("ip", 4), ("ip6", 6)):
        if params.get(name):
            clauses.append(servers.c.id.in_(_with_address(request, clauses, params[name], version)))
    return clauses


def _with_address(request: Request, clauses: list, text: str, version: int) -> list[str]:
    if len(text) > 255:
        raise BadRequest("Invalid input for query parameters ip: at most 255 characters.")
    re2, options = re2_engine()
    try:
        pattern = re2.compile(text, options)
    except re2.error:
        raise BadRequest(f"Invalid regular expression in ip filter: {text[:64]}") from None
    with request.app.state.tv.db.read() as conn:
        rows = conn.execute(select(servers.c.id, servers.c.addresses).where(*clauses)).all()
    return [server_id for server_id, addresses in rows
            if any(a.get("version", 4) == version and pattern.search(str(a.get("addr", "")))
                   for net in (addresses or {}).values() for a in net)]
