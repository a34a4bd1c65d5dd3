"""The OpenAPI document, honest about what each route takes and answers.

Routes read their JSON bodies themselves (``validation.json_body``) and
validate them with JSON Schemas; ``body(SCHEMA)`` puts that same schema
object in the document, so validation and documentation cannot drift.
``query(...)`` declares the list parameters a route reads from the query
string. ``install`` adds, to every operation, the errors any request may
get from the edge and the auth layers, and OpenAPI links from each create
to the reads, updates and deletes of what it made (a client or a stateful
fuzzer follows them with the new resource's id).
"""
from __future__ import annotations

import copy

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

COMMON_ERRORS = {
    "400": "Bad request: invalid body, parameter or microversion",
    "401": "No valid token (auth_strategy = keystone)",
    "403": "The policy does not allow this caller",
    "404": "Not found, or not visible to this caller",
    "406": "Microversion out of range",
    "409": "Conflict with the resource's state or another request",
    "413": "Request body too large",
    "415": "Wrong Content-Type for the body",
}
_ERROR = {"description": "", "content": {"application/json": {"schema": {"type": "object"}}}}


def _openapi_schema(schema: dict) -> dict:
    """JSON Schema 2020-12 as OpenAPI 3.1 takes it (the same document, minus keywords it lacks)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            node.pop("format", None) if node.get("format") == "name" else None
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(schema)
    return schema


def body(schema: dict, media: str = "application/json", required: bool = True) -> dict:
    return {"requestBody": {"required": required, "content": {media: {"schema": _openapi_schema(schema)}}}}


def query(*params: tuple[str, dict]) -> dict:
    return {"parameters": [{"name": name, "in": "query", "required": False, "schema": schema}
                           for name, schema in params]}


def extra(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        for key, value in part.items():
            out[key] = out.get(key, []) + value if isinstance(value, list) else value
    return out


STRING = {"type": "string"}
LIMIT = ("limit", {"type": "integer", "minimum": 0})
MARKER = ("marker", STRING)

# create (path, success status, where the new id is) -> the item path and its id parameter
LINKS = {
    "/compute/v2.1/servers": ("202", "$response.body#/server/id", "/compute/v2.1/servers/{server_id}", "server_id"),
    "/compute/v2.1/flavors": ("200", "$response.body#/flavor/id", "/compute/v2.1/flavors/{flavor_id}", "flavor_id"),
    "/image/v2/images": ("201", "$response.body#/id", "/image/v2/images/{image_id}", "image_id"),
    "/baremetal/v1/nodes": ("201", "$response.body#/uuid", "/baremetal/v1/nodes/{ident}", "ident"),
    "/compute/v2.1/os-keypairs": ("200", "$response.body#/keypair/name", "/compute/v2.1/os-keypairs/{keypair_name}",
                                  "keypair_name"),
    "/compute/v2.1/os-server-groups": ("200", "$response.body#/server_group/id",
                                       "/compute/v2.1/os-server-groups/{server_group_id}", "server_group_id"),
}


def _add_links(doc: dict) -> None:
    paths = doc.get("paths", {})
    for create, (status, source, item, param) in LINKS.items():
        if "post" not in paths.get(create, {}) or item not in paths:
            continue
        ref = "#/paths/" + item.replace("~", "~0").replace("/", "~1")
        links = {f"{method.capitalize()}Created": {"operationRef": f"{ref}/{method}", "parameters": {param: source}}
                 for method in paths[item] if method in ("get", "patch", "delete")}
        paths[create]["post"]["responses"][status]["links"] = links


def install(app: FastAPI) -> None:
    def build():
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version="2.1", routes=getattr(app.state, "route_table", app.routes))
            for path in doc.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)  # FastAPI's default; this API answers 400
                    for code, text in COMMON_ERRORS.items():
                        responses.setdefault(code, {**_ERROR, "description": text})
            _add_links(doc)
            app.openapi_schema = doc
        return app.openapi_schema
    app.openapi = build
