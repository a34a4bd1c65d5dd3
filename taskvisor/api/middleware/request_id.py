"""Request ids as Nova does: every request gets a local ``req-<uuid>``,
returned in ``X-Openstack-Request-Id``; a caller's ``X-Openstack-Request-Id``
in that same form becomes the request's ``global_request_id`` (so one
operation can be followed across services), anything else is ignored."""
from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-openstack-request-id"
GLOBAL_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = f"req-{uuid.uuid4()}"
        incoming = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["global_request_id"] = incoming if GLOBAL_ID.match(incoming) else None

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_id)
