"""os-aggregates in Nova's shape: named groups of compute hosts with
metadata; the metadata key ``availability_zone`` makes the group a zone,
which the scheduler honours. Integer ids, a uuid from 2.41. A host belongs
to at most one zone (Nova refuses an add or a zone change that would put
it in two)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api import openapi
from taskvisor.api.compute.views import iso_usec
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import NAME, json_body, validate
from taskvisor.db.models import aggregate_hosts, aggregate_metadata, aggregates, services
from taskvisor.db.session import utcnow
from taskvisor.db.zones import AZ_KEY, INTERNAL
from taskvisor.servicegroup import COMPUTE_BINARY

router = APIRouter(prefix="/compute/v2.1")
RULE = "os_compute_api:os-aggregates:%s"

ZONE = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 255, "format": "name", "pattern": "^[^:]*$"},
                  {"type": "null"}]}
CREATE_SCHEMA = {"type": "object", "required": ["aggregate"], "additionalProperties": False, "properties": {
    "aggregate": {"type": "object", "required": ["name"], "additionalProperties": False,
                  "properties": {"name": NAME, "availability_zone": ZONE}}}}
UPDATE_SCHEMA = {"type": "object", "required": ["aggregate"], "additionalProperties": False, "properties": {
    "aggregate": {"type": "object", "additionalProperties": False, "minProperties": 1,
                  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255},
                                 "availability_zone": ZONE}}}}
HOST = {"type": "object", "required": ["host"], "additionalProperties": False,
        "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255}}}
METADATA = {"type": "object", "additionalProperties": {"type": ["string", "null"], "maxLength": 255},
            "propertyNames": {"minLength": 1, "maxLength": 255}}
ACTIONS = {
    "add_host": {"type": "object", "required": ["add_host"], "additionalProperties": False,
                 "properties": {"add_host": HOST}},
    "remove_host": {"type": "object", "required": ["remove_host"], "additionalProperties": False,
                    "properties": {"remove_host": HOST}},
    "set_metadata": {"type": "object", "required": ["set_metadata"], "additionalProperties": False,
                     "properties": {"set_metadata": {
                         "type": "object", "required": ["metadata"], "additionalProperties": False,
                         "properties": {"metadata": METADATA}}}},
}
ACTION_SCHEMA = {"oneOf": list(ACTIONS.values())}


def _id(aggregate_id: str) -> int:
    try:
        return int(aggregate_id)
    except ValueError:
        raise BadRequest(f"id must be an integer: {aggregate_id[:64]}") from None


def _load(conn, aggregate_id: int) -> dict:
    row = conn.execute(select(aggregates).where(aggregates.c.id == aggregate_id)).mappings().first()
    if row is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    out = dict(row)
    out["hosts"] = [h for (h,) in conn.execute(select(aggregate_hosts.c.host).where(
        aggregate_hosts.c.aggregate_id == aggregate_id).order_by(aggregate_hosts.c.host))]
    out["metadata"] = {k: v for k, v in conn.execute(select(aggregate_metadata.c.key, aggregate_metadata.c.value)
                                                      .where(aggregate_metadata.c.aggregate_id == aggregate_id))}
    return out


def _view(row: dict, ctx: RequestContext, full: bool = True) -> dict:
    out = {"id": row["id"], "name": row["name"], "availability_zone": row["metadata"].get(AZ_KEY),
           "created_at": iso_usec(row["created_at"]), "updated_at": iso_usec(row["updated_at"]),
           "deleted": False, "deleted_at": None}
    if full:
        out.update(hosts=row["hosts"], metadata=row["metadata"])
    if ctx.at_least("2.41"):
        out["uuid"] = row["uuid"]
    return out


def _zone_conflict(conn, hosts: list[str], zone: str | None, aggregate_id: int) -> str | None:
    """A host already in another aggregate with a different zone, if any."""
    if not zone or not hosts:
        return None
    query = (select(aggregate_hosts.c.host, aggregate_metadata.c.value)
             .join(aggregate_metadata, aggregate_metadata.c.aggregate_id == aggregate_hosts.c.aggregate_id)
             .where(aggregate_hosts.c.host.in_(hosts), aggregate_hosts.c.aggregate_id != aggregate_id,
                    aggregate_metadata.c.key == AZ_KEY, aggregate_metadata.c.value != zone))
    found = conn.execute(query).first()
    return found.host if found else None


def _check_zone(zone: str | None) -> None:
    if zone == INTERNAL:
        raise BadRequest(f"Aggregate action failed: the availability zone '{INTERNAL}' is reserved.")


def _write_metadata(conn, aggregate_id: int, changes: dict) -> None:
    for key, value in changes.items():
        conn.execute(delete(aggregate_metadata).where(aggregate_metadata.c.aggregate_id == aggregate_id,
                                                      aggregate_metadata.c.key == key))
        if value is not None:
            conn.execute(insert(aggregate_metadata).values(aggregate_id=aggregate_id, key=key, value=value))


def _name_taken(conn, name: str, but: int | None = None) -> None:
    query = select(aggregates.c.id).where(aggregates.c.name == name)
    if but is not None:
        query = query.where(aggregates.c.id != but)
    if conn.execute(query).first():
        raise Conflict(f"Aggregate {name} already exists.")


@router.get("/os-aggregates")
def list_aggregates(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, RULE % "index", {})
    with request.app.state.tv.db.read() as conn:
        ids = [i for (i,) in conn.execute(select(aggregates.c.id).order_by(aggregates.c.id))]
        return {"aggregates": [_view(_load(conn, i), ctx) for i in ids]}


@router.post("/os-aggregates", openapi_extra=openapi.body(CREATE_SCHEMA))
def create_aggregate(request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    authorize(ctx, RULE % "create", {})
    spec = validate(body, CREATE_SCHEMA)["aggregate"]
    zone = spec.get("availability_zone")
    _check_zone(zone)
    try:
        with request.app.state.tv.db.write() as conn:
            _name_taken(conn, spec["name"])
            new_id = conn.execute(insert(aggregates).values(
                uuid=str(uuid.uuid4()), name=spec["name"], created_at=utcnow(), updated_at=None)).inserted_primary_key[0]
            if zone:
                _write_metadata(conn, new_id, {AZ_KEY: zone})
            row = _load(conn, new_id)
    except IntegrityError:  # a concurrent create of the same name
        raise Conflict(f"Aggregate {spec['name']} already exists.") from None
    return {"aggregate": _view(row, ctx, full=False)}


@router.get("/os-aggregates/{aggregate_id}")
def show_aggregate(aggregate_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, RULE % "show", {})
    with request.app.state.tv.db.read() as conn:
        return {"aggregate": _view(_load(conn, _id(aggregate_id)), ctx)}


@router.put("/os-aggregates/{aggregate_id}", openapi_extra=openapi.body(UPDATE_SCHEMA))
def update_aggregate(aggregate_id: str, request: Request, body=Depends(json_body),
                     ctx: RequestContext = Depends(get_context)):
    authorize(ctx, RULE % "update", {})
    spec = validate(body, UPDATE_SCHEMA)["aggregate"]
    ident = _id(aggregate_id)
    if "name" in spec:
        spec["name"] = spec["name"].strip()
        if not spec["name"]:
            raise BadRequest("Invalid input for field/attribute name: it must not be blank.")
    try:
        with request.app.state.tv.db.write() as conn:
            row = _load(conn, ident)
            values = {"updated_at": utcnow()}
            if "name" in spec:
                _name_taken(conn, spec["name"], but=ident)
                values["name"] = spec["name"]
            if "availability_zone" in spec:
                _set_zone(conn, row, spec["availability_zone"], BadRequest)
            conn.execute(update(aggregates).where(aggregates.c.id == ident).values(**values))
            row = _load(conn, ident)
    except IntegrityError:
        raise Conflict(f"Aggregate {spec.get('name')} already exists.") from None
    return {"aggregate": _view(row, ctx)}


def _set_zone(conn, row: dict, zone: str | None, error) -> None:
    _check_zone(zone)
    clash = _zone_conflict(conn, row["hosts"], zone, row["id"])
    if clash:
        raise error(f"Cannot update aggregate {row['id']}: host {clash} is in another availability zone.")
    _write_metadata(conn, row["id"], {AZ_KEY: zone})


@router.delete("/os-aggregates/{aggregate_id}")
def delete_aggregate(aggregate_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, RULE % "delete", {})
    ident = _id(aggregate_id)
    with request.app.state.tv.db.write() as conn:
        row = _load(conn, ident)
        if row["hosts"]:
            raise BadRequest(f"Cannot delete aggregate {ident}: it still has hosts.")
        conn.execute(delete(aggregate_metadata).where(aggregate_metadata.c.aggregate_id == ident))
        conn.execute(delete(aggregates).where(aggregates.c.id == ident))
    return Response(status_code=200)


@router.post("/os-aggregates/{aggregate_id}/action", openapi_extra=openapi.body(ACTION_SCHEMA))
def aggregate_action(aggregate_id: str, request: Request, body=Depends(json_body),
                     ctx: RequestContext = Depends(get_context)):
    name = next(iter(body), None) if isinstance(body, dict) and len(body) == 1 else None
    if name not in ACTIONS:
        raise BadRequest("Invalid action: expected one of add_host, remove_host, set_metadata.")
    authorize(ctx, RULE % name, {})
    args = validate(body, ACTIONS[name])[name]
    ident = _id(aggregate_id)
    with request.app.state.tv.db.write() as conn:
        row = _load(conn, ident)
        if name == "add_host":
            _add_host(conn, row, args["host"])
        elif name == "remove_host":
            _remove_host(conn, row, args["host"])
        else:
            changes = args["metadata"]
            if AZ_KEY in changes:
                _set_zone(conn, row, changes.pop(AZ_KEY), BadRequest)
            _write_metadata(conn, ident, changes)
        conn.execute(update(aggregates).where(aggregates.c.id == ident).values(updated_at=utcnow()))
        row = _load(conn, ident)
    return {"aggregate": _view(row, ctx)}


def _is_compute(conn, host: str) -> bool:
    return conn.execute(select(services.c.id).where(services.c.binary == COMPUTE_BINARY,
                                                    services.c.host == host)).first() is not None


def _add_host(conn, row: dict, host: str) -> None:
    if not _is_compute(conn, host):
        raise NotFound(f"Compute host {host} could not be found.")
    if host in row["hosts"]:
        raise Conflict(f"Aggregate {row['id']} already has host {host}.")
    if _zone_conflict(conn, [host], row["metadata"].get(AZ_KEY), row["id"]):
        raise Conflict(f"Cannot add host {host} to aggregate {row['id']}: it is in another availability zone.")
    conn.execute(insert(aggregate_hosts).values(aggregate_id=row["id"], host=host))


def _remove_host(conn, row: dict, host: str) -> None:
    if host not in row["hosts"] or not _is_compute(conn, host):
        raise NotFound(f"Cannot remove host {host} in aggregate {row['id']}")
    conn.execute(delete(aggregate_hosts).where(aggregate_hosts.c.aggregate_id == row["id"],
                                               aggregate_hosts.c.host == host))
