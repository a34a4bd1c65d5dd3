"""HTTP metrics for /metrics: requests by method, route template and
status, and their latency (the route template, not the path, so ids do not
explode the label set)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp

from taskvisor.api.middleware.common import RequestObserver


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter("taskvisor_api_requests", "API requests answered",
                                ("method", "route", "status"), registry=registry)
        self.latency = Histogram("taskvisor_api_request_duration_seconds", "API request latency",
                                 ("method", "route"), registry=registry)


class MetricsMiddleware(RequestObserver):
    def __init__(self, app: ASGIApp, metrics: HttpMetrics):
        super().__init__(app)
        self.metrics = metrics

    def observe(self, scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        self.metrics.requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.latency.labels(scope["method"], route).observe(seconds)
