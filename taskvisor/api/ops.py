"""What monitoring reads: ``/metrics`` (Prometheus text) and ``/healthcheck``
(as oslo.middleware's healthcheck answers: 200 "OK", 204 to HEAD, 503 with
the reason when the database or the bus cannot be reached).

Task metrics are read from the database at scrape time, so every API
process reports the whole cloud's figures, whatever conductor ran the work,
and they survive restarts. HTTP metrics are this process's own.
"""
from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select, text

from taskvisor.db.models import task_steps, tasks
from taskvisor.rpc import metrics as rpc_metrics
from taskvisor.servicegroup import is_up, list_services
from taskvisor.tasks.store import ACTIVE, TERMINAL

router = APIRouter()
STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, float("inf"))


class TaskCollector:
    """prometheus-client collector over the task tables."""

    def __init__(self, db, conf):
        self.db, self.conf = db, conf

    def collect(self):
        now = time.time()
        with self.db.read() as conn:
            by_status = conn.execute(select(tasks.c.resource_type, tasks.c.action, tasks.c.status, func.count())
                                     .group_by(tasks.c.resource_type, tasks.c.action, tasks.c.status)).all()
            oldest = conn.execute(select(func.min(tasks.c.created_ts)).where(tasks.c.status == "queued")).scalar()
            takeovers = conn.execute(select(func.coalesce(func.sum(tasks.c.takeovers), 0))).scalar()
            dead = conn.execute(select(tasks.c.failure_reason, func.count()).where(
                tasks.c.status == "failed", tasks.c.failure_reason.is_not(None)).group_by(tasks.c.failure_reason)).all()
            steps = conn.execute(select(task_steps.c.name, task_steps.c.status, task_steps.c.started_at,
                                        task_steps.c.finished_at, task_steps.c.details)
                                 .where(task_steps.c.finished_at.is_not(None))).all()
            service_rows = list_services(conn)
        yield from self._tasks(by_status, oldest, takeovers, now)
        dead_letters = GaugeMetricFamily("taskvisor_tasks_dead_lettered", "Tasks the engine failed, waiting for "
                                         "an admin's retry, by reason", labels=("reason",))
        for reason, count in dead:
            dead_letters.add_metric((reason,), count)
        yield dead_letters
        yield from self._steps(steps)
        yield from self._services(service_rows, now)

    def _tasks(self, by_status, oldest, takeovers, now):
        started = CounterMetricFamily("taskvisor_tasks_started", "Tasks a conductor has started",
                                      labels=("resource_type", "action"))
        finished = CounterMetricFamily("taskvisor_tasks_finished", "Tasks ended, by outcome",
                                       labels=("resource_type", "action", "outcome"))
        active = GaugeMetricFamily("taskvisor_tasks_active", "Tasks not ended yet, by status",
                                   labels=("resource_type", "action", "status"))
        begun: dict[tuple, int] = {}
        for kind, action, status, count in by_status:
            if status != "queued":
                begun[(kind, action)] = begun.get((kind, action), 0) + count
            if status in TERMINAL:
                finished.add_metric((kind, action, status), count)
            elif status in ACTIVE:
                active.add_metric((kind, action, status), count)
        for key, count in sorted(begun.items()):
            started.add_metric(key, count)
        queued = sum(c for _, _, s, c in by_status if s == "queued")
        yield started
        yield finished
        yield active
        yield GaugeMetricFamily("taskvisor_task_queue_depth", "Tasks queued, waiting for a conductor", value=queued)
        yield GaugeMetricFamily("taskvisor_task_oldest_queued_age_seconds", "Age of the oldest queued task (0: none)",
                                value=max(0.0, now - oldest) if oldest else 0.0)
        yield CounterMetricFamily("taskvisor_task_takeovers", "Leases taken over from a conductor that stopped",
                                  value=takeovers)

    def _steps(self, rows):
        durations: dict[tuple[str, str], list[float]] = {}
        shutdowns: dict[str, int] = {}
        for name, status, started_at, finished_at, details in rows:
            durations.setdefault((name, status), []).append((finished_at - started_at).total_seconds())
            path = (details or {}).get("shutdown") if status == "succeeded" else None
            if path:
                shutdowns[path] = shutdowns.get(path, 0) + 1
        histogram = HistogramMetricFamily("taskvisor_step_duration_seconds",
                                          "Step durations by step and outcome (node clean steps by their name)",
                                          labels=("step", "status"))
        for (name, status), values in sorted(durations.items()):
            buckets = [(_le(b), sum(1 for v in values if v <= b)) for b in STEP_BUCKETS]
            histogram.add_metric((name, status), buckets, sum(values))
        yield histogram
        paths = CounterMetricFamily("taskvisor_shutdowns", "Guest shutdowns by path (clean, forced)",
                                    labels=("path",))
        for path, count in sorted(shutdowns.items()):
            paths.add_metric((path,), count)
        yield paths

    def _services(self, rows, now):
        up = GaugeMetricFamily("taskvisor_service_up", "1 when the service reported within service_down_time",
                               labels=("binary", "host"))
        state = GaugeMetricFamily("taskvisor_service_state", "The state a service reported (1 = current)",
                                  labels=("binary", "host", "state"))
        for row in rows:
            up.add_metric((row["binary"], row["host"]), 1 if is_up(row, self.conf.DEFAULT.service_down_time, now)
                          else 0)
            state.add_metric((row["binary"], row["host"], row["state"]), 1)
        yield up
        yield state


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def new_registry(db, conf) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskCollector(db, conf))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request):
    """Plain prometheus exposition; reads the task tables (off the event loop).
    The RPC calls this process made follow (in the all-in-one: every call)."""
    return Response(generate_latest(request.app.state.metrics_registry) + generate_latest(rpc_metrics.REGISTRY),
                    media_type=CONTENT_TYPE_LATEST)


def _problems(request: Request) -> list[str]:
    tv = request.app.state.tv
    problems = []
    try:
        with tv.db.read() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        problems.append(f"database unreachable: {type(exc).__name__}")
    url = tv.conf.DEFAULT.transport_url
    if url.startswith("amqp"):
        import kombu
        try:
            with kombu.Connection(url, connect_timeout=3) as conn:
                conn.ensure_connection(max_retries=1)
        except Exception as exc:
            problems.append(f"message bus unreachable: {type(exc).__name__}")
    return problems


@router.api_route("/healthcheck", methods=["GET", "HEAD"], include_in_schema=False)
def healthcheck(request: Request):
    problems = _problems(request)
    status = 503 if problems else 200
    reasons = problems or ["OK"]
    if request.method == "HEAD":
        return Response(status_code=503 if problems else 204, media_type="text/plain")
    if "application/json" in request.headers.get("accept", ""):
        import json
        return Response(json.dumps({"detailed": False, "reasons": reasons}), status_code=status,
                        media_type="application/json")
    return Response("\n".join(reasons), status_code=status, media_type="text/plain")
