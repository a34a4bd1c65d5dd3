"""Persistence of tasks and their steps: create, claim, checkpoint, finish.

Fencing: a conductor claims a task by bumping its ``generation``; every later
write names that generation (and the claiming process) in its WHERE clause
and checks the row count in the same transaction as the data it writes. A
conductor whose lease moved on (another claimed the task) writes nothing:
its transaction rolls back and it drops the task (``Fenced``).

Ownership: the resource row (server, node) names the task that owns its
task_state. Resource updates carry ``task_id = <this task>`` in their WHERE
clause, so a task that was superseded (a delete took the server over) can
no longer change it (``Superseded``).
"""
from __future__ import annotations

import time
import traceback as tb_module
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from taskvisor.db.models import RESOURCE_TABLES, task_steps, tasks
from taskvisor.db.session import Database, utcnow
from taskvisor.tasks.flow import Fenced, Superseded

ACTIVE = ("queued", "running", "reverting")
TERMINAL = ("succeeded", "failed", "reverted", "cancelled")


def new_task_row(*, resource_type: str, resource_id: str, action: str, flow: str, flow_version: int,
                 params: dict | None = None, request_id: str | None = None,
                 user_id: str | None = None, project_id: str | None = None,
                 task_id: str | None = None) -> dict:
    now = utcnow()
    return {
        "id": task_id or str(uuid.uuid4()), "resource_type": resource_type, "resource_id": resource_id,
        "action": action, "flow": flow, "flow_version": flow_version, "status": "queued",
        "cancel_requested": False, "request_id": request_id, "user_id": user_id,
        "project_id": project_id, "params": params or {}, "store": {}, "progress": 0,
        "generation": 0, "takeovers": 0, "created_ts": time.time(), "created_at": now,
        "updated_at": now,
    }


def insert_task(conn: Connection, row: dict) -> dict:
    """Queue a task inside the caller's transaction (the API's state CAS)."""
    conn.execute(insert(tasks), row)
    return row


@dataclass
class Claim:
    task: dict
    generation: int


class TaskStore:
    def __init__(self, db: Database, owner: str, lease_seconds: float):
        self.db = db
        self.owner = owner                      # conductor host
        self.instance = str(uuid.uuid4())       # this process's incarnation
        self.lease = lease_seconds

    # -- claiming -------------------------------------------------------------
    def claim(self, limit: int) -> list[Claim]:
        """Claim up to ``limit`` runnable tasks: queued ones, ones whose lease
        expired, and ones a previous incarnation of this host left behind.
        Tasks of one resource run in order: one waits while an older task of
        the same resource is unfinished."""
        if limit <= 0:
            return []
        now = time.time()
        older = tasks.alias("older")
        runnable = and_(
            tasks.c.status.in_(ACTIVE),
            or_(tasks.c.owner.is_(None), tasks.c.lease_expires < now,
                and_(tasks.c.owner == self.owner, tasks.c.owner_instance != self.instance)),
            ~exists().where(and_(older.c.resource_id == tasks.c.resource_id,
                                 older.c.created_ts < tasks.c.created_ts,
                                 older.c.status.in_(ACTIVE))),
        )
        query = (select(tasks.c.id, tasks.c.generation).where(runnable)
                 .order_by(tasks.c.created_ts).limit(limit))
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=tasks)
        claimed = []
        with self.db.write() as conn:
            for task_id, generation in conn.execute(query).all():
                result = conn.execute(
                    update(tasks).where(tasks.c.id == task_id, tasks.c.generation == generation)
                    .values(owner=self.owner, owner_instance=self.instance, generation=generation + 1,
                            lease_expires=now + self.lease, updated_at=utcnow(),
                            takeovers=tasks.c.takeovers + case((tasks.c.owner.is_not(None), 1), else_=0),
                            # a queued task becomes running; a reverting one stays reverting
                            status=case((tasks.c.status == "queued", "running"), else_=tasks.c.status),
                            started_at=func.coalesce(tasks.c.started_at, utcnow())))
                if result.rowcount == 1:
                    claimed.append((task_id, generation + 1))
            rows = {}
            if claimed:
                rows = {r["id"]: dict(r) for r in conn.execute(
                    select(tasks).where(tasks.c.id.in_([c[0] for c in claimed]))).mappings()}
        return [Claim(rows[task_id], generation) for task_id, generation in claimed]

    def heartbeat(self) -> int:
        """Extend the leases of every task this process holds."""
        with self.db.write() as conn:
            return conn.execute(
                update(tasks).where(tasks.c.owner_instance == self.instance, tasks.c.status.in_(ACTIVE))
                .values(lease_expires=time.time() + self.lease)).rowcount

    # -- fenced writes --------------------------------------------------------
    def _fence(self, conn: Connection, claim: Claim, **values: Any) -> None:
        values.setdefault("updated_at", utcnow())
        result = conn.execute(
            update(tasks).where(tasks.c.id == claim.task["id"], tasks.c.generation == claim.generation,
                                tasks.c.owner_instance == self.instance).values(**values))
        if result.rowcount != 1:
            raise Fenced(f"task {claim.task['id']}: lease generation {claim.generation} is no longer ours")

    def _update_resource(self, conn: Connection, claim: Claim, updates: dict) -> None:
        if not updates:
            return
        table = RESOURCE_TABLES[claim.task["resource_type"]]
        values = dict(updates)
        if "updated_at" in table.c:
            values.setdefault("updated_at", utcnow())
        result = conn.execute(update(table).where(table.c.id == claim.task["resource_id"],
                                                  table.c.task_id == claim.task["id"]).values(**values))
        if result.rowcount != 1:
            raise Superseded(f"{claim.task['resource_type']} {claim.task['resource_id']} "
                             f"is no longer owned by task {claim.task['id']}")

    def load_resource(self, conn: Connection, claim: Claim) -> dict | None:
        table = RESOURCE_TABLES[claim.task["resource_type"]]
        row = conn.execute(select(table).where(table.c.id == claim.task["resource_id"])).mappings().first()
        return dict(row) if row else None

    def steps(self, task_id: str) -> dict[int, dict]:
        with self.db.read() as conn:
            return {r["idx"]: dict(r) for r in conn.execute(
                select(task_steps).where(task_steps.c.task_id == task_id)).mappings()}

    def begin_step(self, claim: Claim, idx: int, name: str, host: str, status: str = "running",
                   resource_updates: dict | None = None, check_owner: bool = True) -> tuple[int, dict]:
        """Record that a step starts (the API shows it running); returns the
        attempt number and a fresh copy of the resource."""
        with self.db.write() as conn:
            self._fence(conn, claim, current_step=name)
            resource = self.load_resource(conn, claim)
            if check_owner and (resource is None or resource.get("task_id") != claim.task["id"]):
                raise Superseded(f"{claim.task['resource_type']} {claim.task['resource_id']} "
                                 f"was taken over by task {resource and resource.get('task_id')}")
            now = utcnow()
            existing = conn.execute(select(task_steps.c.attempt, task_steps.c.name).where(
                task_steps.c.task_id == claim.task["id"], task_steps.c.idx == idx)).first()
            if existing is None:
                attempt = 1
                conn.execute(insert(task_steps), {
                    "task_id": claim.task["id"], "idx": idx, "name": name, "status": status, "host": host,
                    "attempt": 1, "details": {}, "started_at": now})
            else:
                attempt = existing.attempt + (1 if status == "running" else 0)
                conn.execute(update(task_steps).where(
                    task_steps.c.task_id == claim.task["id"], task_steps.c.idx == idx).values(
                    status=status, host=host, attempt=attempt, error=None, traceback=None,
                    started_at=now if status == "running" else task_steps.c.started_at, finished_at=None))
            if check_owner and resource_updates:
                self._update_resource(conn, claim, resource_updates)
                resource.update(resource_updates)
        return attempt, resource or {}

    def end_step(self, claim: Claim, idx: int, status: str, *, host: str, details: dict | None = None,
                 error: BaseException | str | None = None, store: dict | None = None,
                 progress: int | None = None, resource_updates: dict | None = None) -> None:
        """The checkpoint: the step's outcome, the task's store and progress,
        and the resource's new state, all in one fenced transaction."""
        values: dict[str, Any] = {}
        if store is not None:
            values["store"] = store
        if progress is not None:
            values["progress"] = progress
        step_values: dict[str, Any] = {"status": status, "host": host, "finished_at": utcnow()}
        if details is not None:
            step_values["details"] = details
        if error is not None:
            step_values["error"] = str(error) if not isinstance(error, BaseException) else \
                f"{type(error).__name__}: {error}" if not str(error) else str(error)
            if isinstance(error, BaseException):
                step_values["traceback"] = "".join(tb_module.format_exception(error))
        with self.db.write() as conn:
            self._fence(conn, claim, **values)
            conn.execute(update(task_steps).where(task_steps.c.task_id == claim.task["id"],
                                                  task_steps.c.idx == idx).values(**step_values))
            self._update_resource(conn, claim, resource_updates or {})

    def set_status(self, claim: Claim, status: str, *, error: dict | None = None,
                   traceback: str | None = None, store: dict | None = None,
                   resource_updates: dict | None = None, progress: int | None = None) -> None:
        values: dict[str, Any] = {"status": status}
        if error is not None:
            values["error"] = error
        if traceback is not None:
            values["error_traceback"] = traceback
        if store is not None:
            values["store"] = store
        if progress is not None:
            values["progress"] = progress
        if status in TERMINAL:
            values.update(finished_at=utcnow(), lease_expires=None, current_step=None)
        with self.db.write() as conn:
            self._fence(conn, claim, **values)
            if resource_updates:
                try:
                    with conn.begin_nested():
                        self._update_resource(conn, claim, resource_updates)
                except Superseded:
                    pass  # a newer task owns the resource; this one only records its own end
