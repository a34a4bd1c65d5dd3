"""The HTTP application: Compute v2.1 under /compute, Image v2 under /image,
Bare Metal v1 under /baremetal, and the task API beside each resource."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from taskvisor import servicegroup
from taskvisor.api.errors import ApiError, api_of, render
from taskvisor.compute.rpcapi import ComputeVersions
from taskvisor.config import Config
from taskvisor.db.session import Database
from taskvisor.rpc.base import Transport
from taskvisor.tasks.flow import Flows

LOG = logging.getLogger(__name__)


@dataclass
class ApiState:
    conf: Config
    db: Database
    transport: Transport
    flows: Flows  # what each new task's flow name and version come from

    def __post_init__(self) -> None:
        self._wake_lock, self._wake_sending, self._wake_queued = threading.Lock(), threading.Lock(), False
        # [upgrade_levels] compute, for the calls the API makes itself (console output)
        self.compute_versions = ComputeVersions(
            self.conf.upgrade_levels.compute, lambda host: servicegroup.service_version(self.db, host),
            lambda: servicegroup.running_compute_versions(self.db, self.conf))

    def wake_conductors(self) -> None:
        """Tell conductors a task is queued (called after its commit). Losing
        this is harmless: they also look every [conductor] poll_interval.

        Concurrent callers share one wake: a caller that finds a wake queued
        (its sender waits for the send lock and has not sent yet) returns,
        since that wake is sent after this caller's commit. Under load most
        requests' wakes were sent while another was on the wire (the send,
        the bus hub's routing and the conductor's wake-up, about a tenth of
        the API's CPU in a boot-and-delete run)."""
        with self._wake_lock:
            if self._wake_queued:
                return
            self._wake_queued = True
        with self._wake_sending:
            with self._wake_lock:
                self._wake_queued = False
            try:
                self.transport.notify("conductor.wake", {})
            except Exception:
                LOG.warning("could not wake conductors; they will find the task on their next look")


MAX_MESSAGE = 300  # an error echoes at most this much of what was sent


def error_response(request: Request, status: int, message: str, headers: dict | None = None) -> JSONResponse:
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 3] + "..."
    return JSONResponse(render(api_of(request.url.path), status, message), status_code=status,
                        headers=headers)


def create_app(conf: Config, db: Database, transport: Transport, flows: Flows) -> FastAPI:
    from taskvisor.api.baremetal import routes as baremetal_routes
    from taskvisor.api.compute import routes as compute_routes
    from taskvisor.api import ops, tasks_routes
    from taskvisor.api.console import login as console_login, pages as console_pages
    from taskvisor.api.middleware.access_log import AccessLogMiddleware
    from taskvisor.api.middleware.metrics import HttpMetrics, MetricsMiddleware
    from taskvisor.api.middleware.request_id import GlobalRequestIdMiddleware
    from taskvisor.api.image import routes as image_routes

    # FastAPI's native OpenTelemetry is off: taskvisor exports Prometheus metrics and logs, and
    # asking whether a tracer, meter or logger provider is configured (os.environ look-ups) cost
    # about 6 % of the API's CPU on every request
    app = FastAPI(title="taskvisor", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.tv = ApiState(conf, db, transport, flows)

    from taskvisor.api.middleware.auth import auth_middleware
    from taskvisor.api.middleware.edge import EdgeMiddleware
    from taskvisor.api.policy import enforcer_for
    # add_middleware puts each one outside the previous: the edge runs first.
    app.add_middleware(auth_middleware(conf), conf=conf, enforcer=enforcer_for(conf))
    app.add_middleware(EdgeMiddleware, conf=conf)
    from taskvisor.api.middleware.baremetal_paths import BaremetalPathsMiddleware
    app.add_middleware(BaremetalPathsMiddleware)  # /baremetal/x → /baremetal/v1/x, as Ironic routes it

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(request, exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: "The resource could not be found.",
                   405: "The method is not allowed for the requested URL."}.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", []) if p not in ("query", "path", "body"))
        return error_response(request, 400, f"Invalid input for field/attribute {where}. {first.get('msg', '')}")

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    @app.exception_handler(sqlalchemy.exc.OperationalError)
    async def database_saturated(request: Request, exc: Exception):
        # No free pooled connection in [database] pool_timeout, or the
        # server refused one (PostgreSQL's max_connections): back-pressure,
        # not a fault. Nova and Ironic answer 503 with Retry-After.
        LOG.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    str(exc).splitlines()[0])
        return error_response(request, 503, "The service is busy (no database connection is free); "
                                            "retry the request later.",
                              {"Retry-After": str(conf.database.retry_after)})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        LOG.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "Unexpected API Error. Please report this at the taskvisor "
                                            f"issue tracker and attach the server log. {type(exc).__name__}")

    app.include_router(compute_routes.router)
    app.include_router(image_routes.router)
    app.include_router(tasks_routes.router)
    app.include_router(ops.router)
    app.include_router(console_pages.router)
    app.include_router(console_login.router)
    # its routers declare the full /baremetal prefix, so flatten() lifts them too
    app.include_router(baremetal_routes.router)
    # outside the edge (the last added runs first): they see every answer, the edge's refusals too
    app.state.metrics_registry = ops.new_registry(db, conf)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(app.state.metrics_registry))
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(GlobalRequestIdMiddleware)
    from taskvisor.api import openapi
    openapi.install(app)
    from taskvisor.api.flat_routes import flatten, index
    flatten(app)  # perf: one route table instead of nested lazy routers
    app.state.route_table = index(app)  # perf: found by first path segment; the document is built from the table
    return app
