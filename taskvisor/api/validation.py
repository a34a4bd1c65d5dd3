"""Request-body validation with JSON Schema, messages in Nova's words
("Invalid input for field/attribute <name>. Value: <v>. <why>")."""
from __future__ import annotations

import json
from typing import Any

import jsonschema
from fastapi import Request

from taskvisor.api.errors import BadRequest


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed request body") from None


def validate(body: Any, schema: dict) -> dict:
    if body is None:
        raise BadRequest("The request body is missing; it must be a JSON object.")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(body), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        err = errors[0]
        if err.validator == "additionalProperties":
            raise BadRequest(f"Additional properties are not allowed ({_unexpected(err)}).")
        if err.validator == "required":
            raise BadRequest(f"Invalid input for field/attribute {_field(err)}. {err.message}")
        raise BadRequest(f"Invalid input for field/attribute {_field(err)}. "
                         f"Value: {_short(err.instance)}. {err.message}")
    return body


def _field(err: jsonschema.ValidationError) -> str:
    path = [str(p) for p in err.path]
    return "/".join(path) if path else str(err.schema_path[-1]) if err.validator == "required" else "body"


def _unexpected(err: jsonschema.ValidationError) -> str:
    extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
    where = "/".join(str(p) for p in err.path)
    names = ", ".join(repr(e) for e in extra)
    return f"{names} {'was' if len(extra) == 1 else 'were'} unexpected" + (f" in {where}" if where else "")


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 100 else text[:97] + "..."


# Reusable schema pieces
NAME = {"type": "string", "minLength": 1, "maxLength": 255}
NON_NEGATIVE_INT = {"type": "integer", "minimum": 0}
BOOLEAN = {"type": "boolean"}
METADATA = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 255},
            "propertyNames": {"minLength": 1, "maxLength": 255}}
