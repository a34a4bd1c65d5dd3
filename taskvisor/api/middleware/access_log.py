"""One access-log line per request: method, path, status, duration, request
id, project. Headers and bodies are never logged (tokens and passwords live
there); query values whose name says secret are masked."""
from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

from taskvisor.api.middleware.common import RequestObserver

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


class AccessLogMiddleware(RequestObserver):
    def observe(self, scope, status: int, seconds: float) -> None:
        state = scope.get("state", {})
        ctx = state.get("context")
        LOG.info("%s %s%s status: %s len: - time: %.4f", scope["method"], scope["path"],
                 safe_query(scope.get("query_string", b"")), status, seconds,
                 extra={"request_id": getattr(ctx, "request_id", None) or _edge_id(state),
                        "global_request_id": state.get("global_request_id"),
                        "project_id": getattr(ctx, "project_id", None),
                        "user_id": getattr(ctx, "user_id", None),
                        "method": scope["method"], "path": scope["path"], "status": status,
                        "duration": round(seconds, 6)})
