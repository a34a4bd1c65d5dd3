"""Small helpers the middleware share: send an error in the called API's shape."""
from __future__ import annotations

import json

from taskvisor.api.errors import api_of, render


async def send_error(send, path: str, status: int, message: str, headers: dict | None = None) -> None:
    body = json.dumps(render(api_of(path), status, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class Headers:
    """Read-only header lookup by lower-case name (what the microversion parsers take)."""

    def __init__(self, scope):
        self._items = {}
        for key, value in scope["headers"]:
            self._items.setdefault(key.decode("latin-1"), value.decode("latin-1"))

    def get(self, name: str, default=None):
        return self._items.get(name.lower(), default)
