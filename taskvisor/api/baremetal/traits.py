"""Node traits (1.37+): list, replace all, add one, remove one or all.

A trait is a standard name of os-traits or ``CUSTOM_[A-Z0-9_]+``, at most
255 characters; a node has at most 50. The ``node_traits`` rows are the one
record of a node's traits: the node's ``traits`` field, allocations, deploy
templates and runbooks all read them. Changing them is a quick record-only
change, refused (409, as Ironic's node lock) while a task owns the node.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import os_traits
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select

from taskvisor.api import openapi
from taskvisor.api.baremetal.nodes import authorize_node, base_url, load_node, minor, node_locked
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.validation import json_body
from taskvisor.db.models import node_traits, nodes
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
MAX_TRAITS = 50
MAX_LENGTH = 255
STANDARD = frozenset(os_traits.get_traits())
_CUSTOM = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
TRAIT_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH,
                "anyOf": [{"pattern": _CUSTOM.pattern}, {"enum": sorted(STANDARD)}]}
TRAITS_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "traits": {"type": "array", "items": TRAIT_SCHEMA}}}
ONE_USAGE = ("A single node trait may be added via PUT /v1/nodes/<node identifier>/traits/<trait> with no body, "
             "or all node traits may be replaced via PUT /v1/nodes/<node identifier>/traits with the list of "
             "traits specified in the request body.")


def check_trait(trait, field: str = "trait") -> str:
    """Ironic's TRAITS_SCHEMA, in its words."""
    if not isinstance(trait, str):
        raise BadRequest(f"Schema error for {field}: {trait!r} is not of type 'string'")
    if not trait:
        raise BadRequest(f"Schema error for {field}: '' is too short")
    if len(trait) > MAX_LENGTH:
        raise BadRequest(f"Schema error for {field}: {trait[:64]!r}... is too long")
    if not (_CUSTOM.fullmatch(trait) or trait in STANDARD):
        raise BadRequest(f"Schema error for {field}: {trait[:300]!r} is not valid under any of the given schemas")
    return trait


def traits_of(conn, node_ids: list[str]) -> dict[str, list[str]]:
    """Each node's traits, sorted (nodes without any are absent)."""
    out: dict[str, list[str]] = {}
    if not node_ids:
        return out
    rows = conn.execute(select(node_traits.c.node_id, node_traits.c.trait)
                        .where(node_traits.c.node_id.in_(node_ids)).order_by(node_traits.c.trait))
    for node_id, trait in rows:
        out.setdefault(node_id, []).append(trait)
    return out


def _too_many(node_id: str, count: int) -> BadRequest:
    return BadRequest(f"Could not modify traits for node {node_id} as it would exceed the maximum number of traits "
                      f"per node ({count} vs. {MAX_TRAITS})")


# What Ironic answers each method below 1.37 (its node controller routes
# the unknown "traits" sub-resource differently per method).
_OLD = {"GET": (406, "Request not acceptable."), "PUT": (405, "The method is not allowed for this resource."),
        "DELETE": (404, "The resource could not be found.")}


def _node(request: Request, ctx: RequestContext, ident: str, rule: str) -> dict:
    if minor(ctx) < 37:
        raise ApiError(*_OLD[request.method])
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
    authorize_node(ctx, rule, node, ident)
    return node


@contextmanager
def _write(request: Request, node: dict):
    """A write transaction in which the node still exists and no task holds it."""
    with request.app.state.tv.db.write() as conn:
        row = conn.execute(select(nodes.c.task_id, nodes.c.reservation).where(nodes.c.id == node["id"])).first()
        if row is None:
            raise NotFound(f"Node {node['id']} could not be found.")
        if row.task_id is not None:
            raise node_locked(request, {**node, "reservation": row.reservation})
        yield conn


@router.get("/v1/nodes/{ident}/traits")
def list_traits(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = _node(request, ctx, ident, "baremetal:node:traits:list")
    with request.app.state.tv.db.read() as conn:
        return {"traits": traits_of(conn, [node["id"]]).get(node["id"], [])}


_405 = {405: {"description": "Traits need microversion 1.37"}}


@router.put("/v1/nodes/{ident}/traits", status_code=204, responses=_405, openapi_extra=openapi.body(TRAITS_BODY))
def set_traits(ident: str, request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    node = _node(request, ctx, ident, "baremetal:node:traits:set")
    if not isinstance(body, dict) or "traits" not in body:
        raise BadRequest(ONE_USAGE)
    unknown = sorted(set(body) - {"traits"})
    if unknown:
        raise BadRequest(f"Schema error for body: Additional properties are not allowed "
                         f"({', '.join(repr(u) for u in unknown)} {'was' if len(unknown) == 1 else 'were'} "
                         "unexpected)")
    if not isinstance(body["traits"], list):
        raise BadRequest(f"Schema error for body: {body['traits']!r} is not of type 'array'")
    wanted = sorted({check_trait(t) for t in body["traits"]})
    if len(wanted) > MAX_TRAITS:
        raise _too_many(node["id"], len(wanted))
    now = utcnow()
    with _write(request, node) as conn:
        conn.execute(delete(node_traits).where(node_traits.c.node_id == node["id"]))
        if wanted:
            conn.execute(insert(node_traits), [{"node_id": node["id"], "trait": t, "created_at": now}
                                               for t in wanted])
    return Response(status_code=204)


@router.put("/v1/nodes/{ident}/traits/{trait}", status_code=204, responses=_405,
            openapi_extra=openapi.body({"type": "object", "maxProperties": 0}, required=False))
def add_trait(ident: str, trait: str, request: Request, ctx: RequestContext = Depends(get_context),
              body=Depends(json_body)):
    node = _node(request, ctx, ident, "baremetal:node:traits:set")
    if body:
        raise BadRequest("No body should be provided when adding a trait")
    check_trait(trait)
    with _write(request, node) as conn:
        have = set(conn.execute(select(node_traits.c.trait).where(node_traits.c.node_id == node["id"])).scalars())
        if trait not in have:
            if len(have) + 1 > MAX_TRAITS:
                raise _too_many(node["id"], len(have) + 1)
            conn.execute(insert(node_traits).values(node_id=node["id"], trait=trait, created_at=utcnow()))
    return Response(status_code=204, headers={"Location": f"{base_url(request)}/v1/nodes/{ident}/traits/{trait}"})


@router.delete("/v1/nodes/{ident}/traits", status_code=204)
def delete_traits(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = _node(request, ctx, ident, "baremetal:node:traits:delete")
    with _write(request, node) as conn:
        conn.execute(delete(node_traits).where(node_traits.c.node_id == node["id"]))
    return Response(status_code=204)


@router.delete("/v1/nodes/{ident}/traits/{trait}", status_code=204)
def delete_trait(ident: str, trait: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = _node(request, ctx, ident, "baremetal:node:traits:delete")
    with _write(request, node) as conn:
        gone = conn.execute(delete(node_traits).where(node_traits.c.node_id == node["id"],
                                                      node_traits.c.trait == trait)).rowcount
        if not gone:
            raise NotFound(f"Node {node['id']} doesn't have a trait '{trait[:300]}'")
    return Response(status_code=204)

