"""Nova's quota engine, counted from the database (no usage table).

A limit comes from the project's (or the project user's) row in ``quotas``,
else the ``default`` quota class, else the ``[quota]`` option. Usage is
counted from the rows themselves inside the writing transaction that adds
more, after ``lock_project`` has serialised that project's writers, so two
concurrent creates can never both fit in the last slot.
"""
from __future__ import annotations

from sqlalchemy import bindparam, func, select, text

from taskvisor.api.errors import ApiError
from taskvisor.db import direct
from taskvisor.db.models import key_pairs, project_usage, quota_classes, quotas, server_group_members, server_groups

# resource -> its [quota] option (None: a retired nova-network quota, always unlimited)
RESOURCES = {
    "instances": "instances", "cores": "cores", "ram": "ram", "metadata_items": "metadata_items",
    "injected_files": "injected_files", "injected_file_content_bytes": "injected_file_content_bytes",
    "injected_file_path_bytes": "injected_file_path_length", "key_pairs": "key_pairs",
    "server_groups": "server_groups", "server_group_members": "server_group_members",
    "fixed_ips": None, "floating_ips": None, "security_groups": None, "security_group_rules": None,
}
NETWORK = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
FILES = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
MAX_INT = 0x7FFFFFFF


def hidden(ctx) -> tuple[str, ...]:
    """The quotas a microversion no longer shows (2.36: network ones; 2.57: injected files)."""
    if ctx.at_least("2.57"):
        return NETWORK + FILES
    if ctx.at_least("2.36"):
        return NETWORK
    return ()


class OverQuota(ApiError):
    """Nova answers an exceeded quota with 403 forbidden."""
    def __init__(self, message: str):
        super().__init__(403, message)


def lock_project(conn, project_id: str) -> None:
    """Serialise quota-checked writes of one project. SQLite's writers are
    already serial (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped
    advisory lock on the project."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"quota:{project_id}"})


# Built once (SQLAlchemy caches the compiled form by statement): every boot runs them.
_CLASS_ROWS = select(quota_classes.c.resource, quota_classes.c.hard_limit).where(
    quota_classes.c.class_name == bindparam("class_name"))
_QUOTA_ROWS = select(quotas.c.user_id, quotas.c.resource, quotas.c.hard_limit).where(
    # the project's rows (user_id '') and the user's: two fixed binds, not an expanding IN (re-rendered per call)
    quotas.c.project_id == bindparam("project_id"), quotas.c.user_id.in_([bindparam("project_row"),
                                                                          bindparam("user_id")]))
# The project's servers, cores and ram: its users' rows of the counts the database keeps (db/usage_counts.py)
_PROJECT_SERVERS = select(func.sum(project_usage.c.servers), func.sum(project_usage.c.vcpus),
                          func.sum(project_usage.c.ram)).where(project_usage.c.project_id == bindparam("project_id"))
_USER_SERVERS = _PROJECT_SERVERS.where(project_usage.c.user_id == bindparam("user_id"))


def class_limits(conn, conf, class_name: str = "default") -> dict[str, int]:
    limits = {name: (conf.get("quota", opt) if opt else -1) for name, opt in RESOURCES.items()}
    if class_name == "default":
        for resource, limit in direct.rows(conn, _CLASS_ROWS, {"class_name": class_name}):
            if resource in limits:
                limits[resource] = limit
    return limits


def limits_of(conn, conf, project_id: str, user_id: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """The project's limits, and its user's (the project's with the user's
    own rows on top), read in two queries."""
    project = class_limits(conn, conf)
    rows = direct.rows(conn, _QUOTA_ROWS, {"project_id": project_id, "project_row": "", "user_id": user_id or ""})
    for row_user, resource, limit in rows:
        if row_user == "" and resource in project:
            project[resource] = limit
    user = dict(project)
    if user_id is not None:
        for row_user, resource, limit in rows:
            if row_user == user_id and resource in user:
                user[resource] = limit
    return project, user


def project_limits(conn, conf, project_id: str, user_id: str | None = None) -> dict[str, int]:
    return limits_of(conn, conf, project_id, user_id)[1]


def server_usage(conn, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Instances, cores and ram the project (or one of its users) holds."""
    if user_id:
        count, cores, ram = direct.rows(conn, _USER_SERVERS, {"project_id": project_id, "user_id": user_id})[0]
    else:
        count, cores, ram = direct.rows(conn, _PROJECT_SERVERS, {"project_id": project_id})[0]
    return {"instances": count or 0, "cores": cores or 0, "ram": ram or 0}


def usage(conn, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What the project (or one of its users) holds now, for the countable resources."""
    groups = [server_groups.c.project_id == project_id] + ([server_groups.c.user_id == user_id] if user_id else [])
    keypair_where = [key_pairs.c.user_id == user_id] if user_id else [key_pairs.c.project_id == project_id]
    return {
        **server_usage(conn, project_id, user_id),
        "key_pairs": conn.execute(select(func.count()).select_from(key_pairs).where(*keypair_where)).scalar(),
        "server_groups": conn.execute(select(func.count()).select_from(server_groups).where(*groups)).scalar(),
        "server_group_members": conn.execute(
            select(func.count()).select_from(server_group_members.join(
                server_groups, server_groups.c.id == server_group_members.c.group_id)).where(*groups)).scalar(),
    }


def check_instances(conn, limits: dict, project_id: str, flavor: dict, min_count: int, max_count: int) -> int:
    """How many servers of ``flavor`` (between min and max) fit the project's
    instances, cores and ram quotas (``limits``: the user's, ``limits_of``);
    raises Nova's TooManyInstances if not even ``min_count`` do. Nothing is
    counted when the three are unlimited."""
    vcpus, ram = int(flavor.get("vcpus") or 0), int(flavor.get("ram") or 0)
    per_server = {"instances": 1, "cores": vcpus, "ram": ram}
    if all(limits[res] < 0 for res in per_server):
        return max_count
    used = server_usage(conn, project_id)
    headroom = {}
    for res in per_server:
        headroom[res] = MAX_INT if limits[res] < 0 else limits[res] - used[res]
    allowed = max_count
    for res, each in per_server.items():
        if each:
            allowed = min(allowed, headroom[res] // each)
    if allowed >= min_count:
        return allowed
    requested = {"instances": str(min_count) if min_count == max_count else f"{min_count}-{max_count}",
                 "cores": max_count * vcpus, "ram": max_count * ram}
    overs = sorted(res for res, each in per_server.items()
                   if limits[res] >= 0 and used[res] + max_count * each > limits[res])
    raise too_many(overs, requested, used, limits)


def too_many(overs: list[str], requested: dict, used: dict, limits: dict) -> OverQuota:
    join = ", ".join
    o = join(overs)
    return OverQuota(f"Quota exceeded for {o}: Requested {join(str(requested[r]) for r in overs)}, but already "
                     f"used {join(str(used[r]) for r in overs)} of {join(str(limits[r]) for r in overs)} {o}")


def check_resize(conn, conf, project_id: str, user_id: str, old: dict, new: dict) -> None:
    """A resize needs quota for the growth of cores and ram (Nova's upsize check)."""
    limits, used = project_limits(conn, conf, project_id, user_id), server_usage(conn, project_id)
    deltas = {"cores": int(new.get("vcpus") or 0) - int(old.get("vcpus") or 0),
              "ram": int(new.get("ram") or 0) - int(old.get("ram") or 0)}
    overs = sorted(r for r, d in deltas.items() if d > 0 and limits[r] >= 0 and used[r] + d > limits[r])
    if overs:
        raise too_many(overs, deltas, used, limits)


def check_count(conn, conf, project_id: str, user_id: str | None, resource: str, adding: int,
                message: str, current: int | None = None) -> None:
    """Raise 403 ``message`` unless ``adding`` more of ``resource`` fit."""
    limit = project_limits(conn, conf, project_id, user_id)[resource]
    if limit < 0:
        return
    have = current if current is not None else usage(conn, project_id, user_id if resource == "key_pairs"
                                                     else None)[resource]
    if have + adding > limit:
        raise OverQuota(message)


def check_metadata(limits: dict, metadata: dict | None) -> None:
    """``limits``: the project's (``limits_of``)."""
    limit = limits["metadata_items"]
    if metadata and 0 <= limit < len(metadata):
        raise OverQuota(f"Maximum number of metadata items exceeds {limit}")


def check_injected_files(limits: dict, files: list[tuple[str, bytes]]) -> None:
    """Nova's personality limits: how many files, then the longest path and
    content (``limits``: the project's, ``limits_of``)."""

    def over(resource: str, value: int) -> bool:
        return 0 <= limits[resource] < value
    if over("injected_files", len(files)):
        raise OverQuota("Personality file limit exceeded")
    if over("injected_file_path_bytes", max((len(p) for p, _ in files), default=0)):
        raise OverQuota(f"Personality file path exceeds maximum {limits['injected_file_path_bytes']}")
    if over("injected_file_content_bytes", max((len(c) for _, c in files), default=0)):
        raise OverQuota(f"Personality file content exceeds maximum {limits['injected_file_content_bytes']}")
