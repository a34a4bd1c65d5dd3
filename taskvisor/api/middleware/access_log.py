"""One access-log line per request: method, path, status, duration, request
id, project. Headers and bodies are never logged (tokens and passwords live
there); query values whose name says secret are masked."""
from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOG = logging.getLogger("taskvisor.api.access")
SECRET = re.compile(r"pass|token|secret|key|credential", re.I)


def safe_query(raw: bytes) -> str:
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    return "?" + urlencode([(k, "***" if SECRET.search(k) else v) for k, v in pairs])


def _edge_id(state: dict) -> str | None:
    from taskvisor.api.middleware.edge import CONTEXT_KEY
    return (state.get(CONTEXT_KEY) or (None, None))[0]


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.monotonic()
        status = {"code": 500}

        async def watch_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["ttfb"] = time.monotonic() - started
            await send(message)

        try:
            await self.app(scope, receive, watch_status)
        finally:
            state = scope.get("state", {})
            ctx = state.get("context")
            elapsed = time.monotonic() - started
            LOG.info("%s %s%s status: %s len: - time: %.4f", scope["method"], scope["path"],
                     safe_query(scope.get("query_string", b"")), status["code"], elapsed,
                     extra={"request_id": getattr(ctx, "request_id", None) or _edge_id(state),
                            "global_request_id": state.get("global_request_id"),
                            "project_id": getattr(ctx, "project_id", None),
                            "user_id": getattr(ctx, "user_id", None),
                            "method": scope["method"], "path": scope["path"], "status": status["code"],
                            "duration": round(elapsed, 6)})
