"""Create, list, show, update and delete of a volume record (connector or
target): one implementation, Ironic's controllers' order of checks, codes
and messages; ``Kind`` says what differs between the two."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

from fastapi import Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api.baremetal import port_common as pc
from taskvisor.api.baremetal import volume as vol
from taskvisor.api.baremetal.nodes import _apply, base_url
from taskvisor.api.context import RequestContext
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.db.session import utcnow


@dataclass(frozen=True)
class Kind:
    table: object
    name: str             # "connector": Ironic's body name in its schema errors
    label: str            # "volume connector": its messages
    collection: str       # "connectors"
    schema: dict          # field -> (JSON type, nullable)
    required: tuple
    objects: tuple        # dict-valued fields (patchable members)
    defaults: list        # a list's fields without ?fields or ?detail
    unsortable: tuple
    render: Callable      # (row, base, ctx) -> the full API document
    duplicate: Callable   # (conn, row, exclude_id) -> Conflict | None

    @property
    def path(self) -> str:
        return f"volume/{self.collection}"

    @property
    def patchable(self) -> tuple:
        return tuple(k for k in self.schema if k != "uuid")

    def missing(self, ident: str) -> str:
        return f"{self.label[0].upper()}{self.label[1:]} {ident} could not be found."


def links(base: str, kind: Kind, ident: str) -> list[dict]:
    return pc.links(base, kind.path, ident)


def _columns(kind: Kind, values: dict) -> dict:
    """API fields to table columns (node_uuid is node_id)."""
    out = {k: v for k, v in values.items() if k not in ("node_uuid", "uuid")}
    if "node_uuid" in values:
        out["node_id"] = values["node_uuid"]
    for name in kind.objects:
        if name in out and out[name] is None:
            out[name] = {}
    return out


def _insert(request: Request, kind: Kind, row: dict) -> None:
    db = request.app.state.tv.db
    with db.write() as conn:
        conflict = kind.duplicate(conn, row, None)
        if conflict:
            raise conflict
        try:
            conn.execute(insert(kind.table).values(**row))
        except IntegrityError:  # a concurrent request took the UUID or the unique pair: which, read afresh
            with db.read() as fresh:
                raise kind.duplicate(fresh, row, None) or Conflict(
                    f"A {kind.label} with UUID {row['id']} already exists.") from None


def create(kind: Kind, request: Request, response: Response, ctx: RequestContext, body) -> dict:
    vol.gate(ctx)
    pc.check_body(body, kind.name, set(kind.schema))
    vol.check_schema(kind.name, body, kind.schema, kind.required)
    node_uuid = pc.check_uuid("node_uuid", body["node_uuid"])
    record_id = pc.check_uuid("uuid", body.get("uuid"))
    with request.app.state.tv.db.read() as conn:
        node = vol.node_for_create(conn, ctx, node_uuid)
    row = {"id": record_id or str(uuid.uuid4()), **_columns(kind, {k: v for k, v in body.items() if k != "uuid"}),
           "node_id": node["id"], "created_at": utcnow(), "updated_at": None}
    for name in kind.objects:
        row.setdefault(name, {})
    _insert(request, kind, row)
    base = base_url(request)
    response.headers["Location"] = f"{base}/v1/{kind.path}/{row['id']}"
    return kind.render(row, base, ctx)


def list_(kind: Kind, request: Request, ctx: RequestContext, *, parent: str | None = None, node: str | None = None,
          fields: str | None = None, detail: str | None = None, limit: int | None = None, marker: str | None = None,
          sort_key: str = "id", sort_dir: str = "asc") -> dict:
    vol.gate(ctx)
    base = base_url(request)
    known = set(kind.schema) | {"created_at", "updated_at", "links"}
    names = vol.wanted(fields, detail, known, kind.defaults)
    sortable = {k: 1 for k in known | {"id"}}
    rows, size = vol.list_rows(request, ctx, kind.table, node=node, parent=parent, limit=limit, marker=marker,
                               sort_key=sort_key, sort_dir=sort_dir, sortable=sortable, unsortable=kind.unsortable,
                               missing=kind.missing("{}"))
    items = [pc.select_fields(kind.render(r, base, ctx), names) for r in rows]
    params = {"sort_key": sort_key, "sort_dir": sort_dir, "node": node if parent is None else None,
              "fields": ",".join(names) if names else None, "detail": detail}
    path = kind.path if parent is None else f"nodes/{parent}/{kind.path}"
    return vol.collection(request, kind.collection, path, items, rows, size, params)


def show(kind: Kind, ident: str, request: Request, ctx: RequestContext, fields: str | None) -> dict:
    vol.gate(ctx)
    ident = pc.check_uuid(f"{kind.name}_uuid", ident)
    with request.app.state.tv.db.read() as conn:
        row, _ = vol.load_for(conn, ctx, kind.table, ident, "baremetal:volume:get", kind.missing(ident))
    names = None
    if fields is not None:
        names = vol.wanted(fields, None, set(kind.schema) | {"created_at", "updated_at", "links"}, kind.defaults)
    return pc.select_fields(kind.render(row, base_url(request), ctx), names)


def _node_uuids(patch: list) -> list:
    return [op.get("value") for op in patch if isinstance(op, dict) and op.get("path") == "/node_uuid"
            and op.get("op") in ("add", "replace")]


def patch_(kind: Kind, ident: str, request: Request, ctx: RequestContext, patch) -> dict:
    vol.gate(ctx)
    ident = pc.check_uuid(f"{kind.name}_uuid", ident)
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    db = request.app.state.tv.db
    with db.read() as conn:
        row, node = vol.load_for(conn, ctx, kind.table, ident, "baremetal:volume:update", kind.missing(ident))
        document = {k: row[k] for k in kind.patchable if k != "node_uuid"}
        document["node_uuid"] = row["node_id"]
        for value in _node_uuids(patch):
            if not isinstance(value, str) or not pc.is_uuid(value):
                raise BadRequest(f"Expected a UUID for node_uuid, but received {value}.")
        for op in patch:
            document = _apply(document, op, ctx, kind.patchable, kind.objects)
        vol.check_schema(kind.name, document, kind.schema, kind.required)
        if document["node_uuid"] != row["node_id"]:
            node = vol.linked_node(conn, ctx, node, pc.check_uuid("node_uuid", document["node_uuid"]),
                                   "baremetal:volume:update")
    changes = {k: v for k, v in _columns(kind, document).items() if v != row.get(k)}

    def save(conn, locked):
        vol.check_powered_off(locked, f"{kind.label} update")
        current = conn.execute(select(kind.table).where(kind.table.c.id == ident)).mappings().first()
        if current is None:
            raise NotFound(kind.missing(ident))
        new = {**dict(current), **changes}
        if changes:
            new["updated_at"] = utcnow()
            conflict = kind.duplicate(conn, new, ident)
            if conflict:
                raise conflict
            conn.execute(update(kind.table).where(kind.table.c.id == ident)
                         .values(**{k: new[k] for k in (*changes, "updated_at")}))
        return new

    try:
        saved = vol.with_node_lock(request, node["id"], save)
    except IntegrityError:  # a concurrent change took the unique pair
        with db.read() as fresh:
            raise kind.duplicate(fresh, {**row, **changes}, ident) or Conflict(
                f"A {kind.label} with UUID {ident} already exists.") from None
    return kind.render(saved, base_url(request), ctx)


def delete_(kind: Kind, ident: str, request: Request, ctx: RequestContext) -> Response:
    vol.gate(ctx)
    ident = pc.check_uuid(f"{kind.name}_uuid", ident)
    with request.app.state.tv.db.read() as conn:
        row, node = vol.load_for(conn, ctx, kind.table, ident, "baremetal:volume:delete", kind.missing(ident))
    if node is None:
        raise NotFound(f"Node {row['node_id']} could not be found.")

    def remove(conn, locked):
        vol.check_powered_off(locked, f"{kind.label} deletion", deleting=True)
        if not conn.execute(delete(kind.table).where(kind.table.c.id == ident)).rowcount:
            raise NotFound(kind.missing(ident))

    vol.with_node_lock(request, node["id"], remove)
    return Response(status_code=204)
