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
        # (method, route, status) -> its counter and histogram: labels() takes
        # a lock and builds its key on every call; the set is small and fixed
        self.children: dict[tuple, tuple] = {}

    def observe(self, scope, status: int, seconds: float) -> None:
        key = (scope["method"], getattr(scope.get("route"), "path", None) or "unmatched", status)
        children = self.children.get(key)
        if children is None:
            method, route, _ = key
            children = self.children[key] = (self.metrics.requests.labels(method, route, str(status)),
                                             self.metrics.latency.labels(method, route))
        requests, latency = children
        requests.inc()
        latency.observe(seconds)
