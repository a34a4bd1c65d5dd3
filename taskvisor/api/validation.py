"""Request-body validation with JSON Schema, messages in Nova's words
("Invalid input for field/attribute <name>. Value: <v>. <why>")."""
from __future__ import annotations

import json
import unicodedata
from typing import Any

import jsonschema
from fastapi import Request

from taskvisor.api.errors import BadRequest


async def json_body(request: Request) -> Any:
    """The body the edge middleware parsed and bounded; parsed here only
    when the app runs without it (never in a served API)."""
    state = request.scope.get("state", {})
    if "taskvisor.json" in state:
        return state["taskvisor.json"]
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
        if err.validator == "format" and err.validator_value == "name":
            raise BadRequest(f"Invalid input for field/attribute {_field(err)}. Value: {_short(err.instance)}. "
                             "It must be printable characters with no leading or trailing whitespace.")
        raise BadRequest(f"Invalid input for field/attribute {_field(err)}. "
                         f"Value: {_short(err.instance)}. {_short(err.message)}")
    return body


FORMATS = jsonschema.FormatChecker(formats=())
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@FORMATS.checks("name")
def is_name(value) -> bool:
    """Nova's and Ironic's names: printable characters only, no leading or
    trailing whitespace (so never blank). Plain code, no regular expression."""
    if not isinstance(value, str):
        return True
    if not value or value[0].isspace() or value[-1].isspace():
        return False
    return not any(unicodedata.category(c) in _UNPRINTABLE for c in value)


_VALIDATORS: dict[int, jsonschema.Draft202012Validator] = {}


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    """Schemas are module constants: build each one's validator once."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None or validator.schema is not schema:
        validator = _VALIDATORS[id(schema)] = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
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
    return text if len(text) <= 64 else text[:61] + "..."


# Reusable schema pieces
NAME = {"type": "string", "minLength": 1, "maxLength": 255, "format": "name"}
NON_NEGATIVE_INT = {"type": "integer", "minimum": 0}
BOOLEAN = {"type": "boolean"}
METADATA = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 255},
            "propertyNames": {"minLength": 1, "maxLength": 255}}


def page_limit(params, max_limit: int) -> int:
    """Nova's [api] max_limit caps every page of every list (none asked = max_limit)."""
    text = params.get("limit")
    if not text:
        return max_limit
    if not text.isdigit() or len(text) > 18:
        raise BadRequest("Invalid input for query parameters limit. Value: "
                         f"{text[:20]}. It must be a non-negative integer.")
    return min(int(text), max_limit)


def strict_query(params, ctx, allowed: tuple[str, ...]) -> None:
    """Nova refuses query parameters it does not know from microversion 2.75 (earlier ones are ignored)."""
    unknown = sorted(set(params.keys()) - set(allowed))
    if unknown and ctx.at_least("2.75"):
        names = ", ".join(repr(u[:64]) for u in unknown)
        raise BadRequest(f"Invalid input for query parameters: additional properties are not allowed ({names} "
                         f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
