"""Errors, rendered in the shape of the API that was called.

Compute (Nova):   {"itemNotFound": {"code": 404, "message": "…"}}
Image (Glance):   {"code": "404 Not Found", "title": "Not Found", "message": "…"}
Bare metal (Ironic): {"error_message": "{\"faultstring\": \"…\", \"faultcode\": \"Client\", \"debuginfo\": null}"}
"""
from __future__ import annotations

import json
from http import HTTPStatus

# Nova's wsgi.Fault names; a status it does not name (406 among them) is a computeFault
NOVA_KINDS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
              405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
              429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}
# Glance's errors are webob's: its titles are fixed here (Python's own phrases
# change between releases: 3.13 calls 413 "Content Too Large").
GLANCE_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
                 413: "Request Entity Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
                 501: "Not Implemented", 503: "Service Unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class BadRequest(ApiError):
    def __init__(self, message: str):
        super().__init__(400, message)


class NotFound(ApiError):
    def __init__(self, message: str):
        super().__init__(404, message)


class Conflict(ApiError):
    def __init__(self, message: str):
        super().__init__(409, message)


class Forbidden(ApiError):
    def __init__(self, message: str = "Policy doesn't allow this operation to be performed."):
        super().__init__(403, message)


def api_of(path: str) -> str:
    for prefix in ("compute", "image", "baremetal"):
        if path.startswith(f"/{prefix}"):
            return prefix
    return "compute"


def render(api: str, status: int, message: str) -> dict:
    if api == "image":
        phrase = GLANCE_TITLES.get(status) or (
            HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error")
        return {"code": f"{status} {phrase}", "title": phrase, "message": message}
    if api == "baremetal":
        fault = "Client" if status < 500 else "Server"
        return {"error_message": json.dumps({"faultstring": message, "faultcode": fault, "debuginfo": None})}
    kind = NOVA_KINDS.get(status, "computeFault")
    return {kind: {"code": status, "message": message}}
