"""The caller's request id, as Nova keeps it: an ``X-Openstack-Request-Id``
of the form ``req-<uuid>`` sent by the caller becomes the request's
``global_request_id`` (so one operation can be followed across services);
anything else is ignored. The local id is the edge's (middleware/edge.py)."""
from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-openstack-request-id"
GLOBAL_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class GlobalRequestIdMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            incoming = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
            scope.setdefault("state", {})["global_request_id"] = incoming if GLOBAL_ID.match(incoming) else None
        await self.app(scope, receive, send)
