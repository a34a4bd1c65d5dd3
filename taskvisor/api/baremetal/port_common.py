"""What ports and port groups share: MAC and identifier checks, the owning
node's access check, ``fields``/``detail`` handling and keyset paging, with
Ironic's messages and codes."""
from __future__ import annotations

import re
import uuid

from sqlalchemy import and_, or_, select

from taskvisor.api.baremetal.paging import check_sort_dir
from taskvisor.api.baremetal.nodes import is_uuid, node_locked
from taskvisor.api.baremetal.secrets import node_target
from taskvisor.api.context import RequestContext
from taskvisor.api.errors import ApiError, BadRequest, Conflict, NotFound
from taskvisor.api.policy import allowed
from taskvisor.db.models import nodes

_LOGICAL_NAME = re.compile(r"^[A-Z0-9\-._~]+$", re.I)
NOT_ACCEPTABLE = "Request not acceptable."
SUBCONTROLLER_VERSION = 24  # /nodes/{node}/portgroups and /portgroups/{pg}/ports


def not_acceptable() -> ApiError:
    return ApiError(406, NOT_ACCEPTABLE)


def is_valid_mac(value) -> bool:
    from oslo_utils import netutils  # here: it imports psutil (~0.6 MB) for what an idle API never runs
    return netutils.is_valid_mac(value)


def mac(name: str, value) -> str | None:
    """A valid MAC, lower-cased (Ironic normalises them); None stays None."""
    if value is None:
        return None
    if not is_valid_mac(value):
        raise BadRequest(f"Expected valid MAC address for {name}: {value}")
    return value.lower()


def is_logical_name(value) -> bool:
    return isinstance(value, str) and len(value) <= 255 and bool(_LOGICAL_NAME.match(value))


def check_ident(name: str, ident: str) -> None:
    if not (is_uuid(ident) or is_logical_name(ident)):
        raise BadRequest(f"Expected UUID or name for {name}: {ident}")


def check_uuid(name: str, value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_uuid(value):
        raise BadRequest(f"Expected UUID for {name}: {value}")
    return str(uuid.UUID(value))


def boolean(name: str, value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "y", "t",
                                                    "false", "0", "no", "off", "n", "f"):
        return value.lower() in ("true", "1", "yes", "on", "y", "t")
    raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value!r}. Wrong type. Expected "
                     "'bool'")


def load_node(conn, node_id: str) -> dict | None:
    row = conn.execute(select(nodes).where(nodes.c.id == node_id)).mappings().first()
    return dict(row) if row else None


def find_node(conn, ident: str, minor: int) -> dict | None:
    """A node by UUID, or by name from 1.5 on (Ironic's get_rpc_node)."""
    if is_uuid(ident):
        return load_node(conn, str(uuid.UUID(ident)))
    if minor < 5:
        return None
    row = conn.execute(select(nodes).where(nodes.c.name == ident)).mappings().first()
    return dict(row) if row else None


def sees_node(ctx: RequestContext, node: dict | None) -> bool:
    return node is not None and allowed(ctx, "baremetal:node:get", node_target(node))


def target(node: dict | None) -> dict:
    from taskvisor.policies.base import NO_PROJECT
    return node_target(node) if node else {"node.owner": NO_PROJECT, "node.lessee": NO_PROJECT,
                                           "project_id": NO_PROJECT}


def project_nodes(project_id: str):
    """The ids of the nodes a project owns or leases (a list's project filter)."""
    return select(nodes.c.id).where(or_(nodes.c.owner == project_id, nodes.c.lessee == project_id))


def parent_node(conn, ctx: RequestContext, ident: str, minor: int) -> dict:
    """The node of /nodes/{node}/...: one the caller may not see is not found."""
    node = find_node(conn, ident, minor)
    if not sees_node(ctx, node):
        raise NotFound(f"Node {ident[:64]} could not be found.")
    return node


def gate(names, versions: dict[str, int], minor: int) -> None:
    """406 for any field newer than the requested version."""
    for name in names:
        if versions.get(name, 1) > minor:
            raise not_acceptable()


def fields_param(fields: str | None, minor: int, versions: dict[str, int]) -> list[str] | None:
    """``fields`` (1.8+): known names only; a name newer than the version is 406."""
    if fields is None:
        return None
    if minor < 8:
        raise not_acceptable()
    names: list[str] = []
    for item in fields.split(","):
        item = item.strip().lower()
        if item and item not in names:
            names.append(item)
    gate(names, versions, minor)
    invalid = [n for n in names if n not in versions]
    if invalid:
        raise BadRequest(f'Field(s) "{", ".join(invalid)}" are not valid')
    return names


def wanted_fields(fields: str | None, detail: str | None, minor: int, versions: dict[str, int],
                  defaults: list[str]) -> list[str] | None:
    """What a list returns: the defaults, ``fields``, or everything (None) for ?detail=true (1.43+)."""
    names = fields_param(fields, minor, versions)
    if detail is None:
        return names if names is not None else defaults
    if minor < 43:
        raise BadRequest(f"Invalid query parameter ?detail={detail} received.")
    if boolean("detail", detail):
        if names is not None:
            raise BadRequest("Can not specify ?detail=True and fields in the same request.")
        return None
    return names if names is not None else defaults


def select_fields(rendered: dict, names: list[str] | None) -> dict:
    """Keep the requested fields (and links), as Ironic's sanitize_dict does."""
    if names is None:
        return rendered
    return {k: v for k, v in rendered.items() if k in names or k == "links"}


def check_limit(limit: int | None, max_limit: int) -> int:
    if limit is None:
        return max_limit
    if limit <= 0:
        raise BadRequest("Limit must be positive")
    return min(limit, max_limit)


def check_sort(sort_key: str, sort_dir: str, table, versions: dict[str, int], minor: int,
               unsortable: tuple[str, ...]):
    """The column to sort by: Ironic's default ``id`` is creation order here."""
    check_sort_dir(sort_dir)
    gate([sort_key], versions, minor)
    if sort_key in unsortable:
        raise BadRequest(f"The sort_key value {sort_key} is an invalid field for sorting")
    if sort_key in ("id", "created_at"):
        return None
    column = {"uuid": "id", "node_uuid": "node_id", "portgroup_uuid": "portgroup_id"}.get(sort_key, sort_key)
    if column not in table.c:
        raise BadRequest(f"The sort_key value {sort_key} is an invalid field for sorting")
    return table.c[column]


def ordered_page(query, table, column, sort_dir: str, marker: dict | None, limit: int):
    """``query`` ordered by ``column`` (None: creation order) then (created_at,
    id), NULLs first ascending, and resumed after the ``marker`` row."""
    desc = sort_dir == "desc"
    tie = (table.c.created_at, table.c.id)
    if marker is not None:
        if desc:
            after_tie = or_(tie[0] < marker["created_at"], and_(tie[0] == marker["created_at"], tie[1] < marker["id"]))
        else:
            after_tie = or_(tie[0] > marker["created_at"], and_(tie[0] == marker["created_at"], tie[1] > marker["id"]))
        if column is None:
            query = query.where(after_tie)
        else:
            value = marker[column.name]
            if value is None:
                same = and_(column.is_(None), after_tie)
                query = query.where(same if desc else or_(column.is_not(None), same))
            else:
                beyond = column < value if desc else column > value
                if desc:
                    beyond = or_(beyond, column.is_(None))
                query = query.where(or_(beyond, and_(column == value, after_tie)))
    order = [] if column is None else [column.desc().nulls_last() if desc else column.asc().nulls_first()]
    order += [c.desc() if desc else c.asc() for c in tie]
    return query.order_by(*order).limit(limit)


def next_link(base: str, path: str, rows: list, limit: int, params: dict) -> str | None:
    """Ironic's ``next``: the query (sort, fields, detail) then limit and marker."""
    if not rows or len(rows) != limit:
        return None
    args = "".join(f"{k}={v}&" for k, v in params.items() if v is not None)
    return f"{base}/v1/{path}?{args}limit={limit}&marker={rows[-1]['id']}"


def links(base: str, collection: str, ident: str) -> list[dict]:
    return [{"href": f"{base}/v1/{collection}/{ident}", "rel": "self"},
            {"href": f"{base}/{collection}/{ident}", "rel": "bookmark"}]


def locked(request, node: dict) -> ApiError:
    """Ironic's 409 while a task holds the port's node (a port or group change takes its lock)."""
    return node_locked(request, node)


def duplicate(conn, table, kind: str, row: dict, exclude: str | None = None) -> Conflict | None:
    """Ironic's 409 for a UUID, name or MAC another ``kind`` (port, portgroup) has."""
    def taken(column, value):
        if value is None:
            return False
        query = select(table.c.id).where(column == value)
        return bool(conn.execute(query.where(table.c.id != exclude) if exclude else query).first())
    if exclude is None and taken(table.c.id, row["id"]):
        return Conflict(f"A {kind} with UUID {row['id']} already exists.")
    if taken(table.c.name, row["name"]):
        return Conflict(f"A {kind} with name {row['name']} already exists.")
    if taken(table.c.address, row["address"]):
        return Conflict(f"A {kind} with MAC address {row['address']} already exists.")
    return None


def check_body(body, kind: str, allowed: set) -> None:
    """A create body is an object with only the fields Ironic's schema names (400 otherwise)."""
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute {kind}. Value: body. Wrong type. Expected 'dict'")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"Schema error for {kind}: Additional properties are not allowed "
                         f"({', '.join(repr(u) for u in unknown)} {'was' if len(unknown) == 1 else 'were'} "
                         "unexpected)")
