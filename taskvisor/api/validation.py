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
    validator = _validator(schema)
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


_VALIDATORS: dict[int, jsonschema.Draft202012Validator] = {}


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    """Schemas are module constants: build each one's validator once."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None or validator.schema is not schema:
        validator = _VALIDATORS[id(schema)] = jsonschema.Draft202012Validator(schema)
    return validator


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
