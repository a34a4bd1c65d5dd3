"""Small helpers the middleware share: send an error in the called API's shape,
watch each HTTP request to its end."""
from __future__ import annotations

import json
import time

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


class RequestObserver:
    """ASGI middleware base: runs the app, then calls `observe(scope, status,
    seconds)` once for every HTTP request, also when the app raised (status
    500 then, as the server answers)."""

    def __init__(self, app):
        self.app = app

    def observe(self, scope, status: int, seconds: float) -> None:
        raise NotImplementedError

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.monotonic()
        status = 500

        async def watch_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch_status)
        finally:
            self.observe(scope, status, time.monotonic() - started)
