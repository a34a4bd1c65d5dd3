"""HTTP metrics for /metrics: requests by method, route template and
status, and their latency (the route template, not the path, so ids do not
explode the label set)."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter("taskvisor_api_requests", "API requests answered",
                                ("method", "route", "status"), registry=registry)
        self.latency = Histogram("taskvisor_api_request_duration_seconds", "API request latency",
                                 ("method", "route"), registry=registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.monotonic()
        status = {"code": 500}

        async def watch_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.monotonic() - started)
