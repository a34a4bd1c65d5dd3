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

import functools
import time
import traceback as tb_module
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (JSON, Select, TextualSelect, and_, bindparam, case, exists, func, insert, literal_column, or_,
                        select, text, update)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from taskvisor.db import direct
from taskvisor.db.models import ACTIVE_TASKS, RESOURCE_TABLES, UNFINISHED_TASKS, task_steps, tasks
from taskvisor.db.session import Database, utcnow
from taskvisor.tasks.flow import Fenced, Superseded

ACTIVE = ("queued", "running", "reverting")
TERMINAL = ("succeeded", "failed", "reverted", "cancelled")

# The hot statements are built once: SQLAlchemy memoizes a statement object's
# cache key, so reusing it skips construction and key generation, which cost
# more than the SQLite round trip itself.
_OWNED = (tasks.c.id == bindparam("p_id"), tasks.c.generation == bindparam("p_gen"),
          tasks.c.owner_instance == bindparam("p_inst"))
_FENCE_STEP_START = update(tasks).where(*_OWNED).values(current_step=bindparam("p_step"),
                                                       updated_at=bindparam("p_now"))
# A checkpoint's fence also reads whether a cancel was asked for (the
# runner's "cancelled after this step?" then needs no read of its own).
_FENCE_CHECKPOINT = update(tasks).where(*_OWNED).values(
    store=bindparam("p_store", type_=JSON), progress=func.coalesce(bindparam("p_progress"), tasks.c.progress),
    updated_at=bindparam("p_now")).returning(tasks.c.cancel_requested)
_FENCE_CHECKPOINT_NEXT = _FENCE_CHECKPOINT.values(current_step=bindparam("p_step"))
_CANCEL_REQUESTED = select(tasks.c.cancel_requested).where(tasks.c.id == bindparam("p_id"))
_STEP_WHERE = (task_steps.c.task_id == bindparam("p_task"), task_steps.c.idx == bindparam("p_idx"))
_STEP_ATTEMPT = select(task_steps.c.attempt).where(*_STEP_WHERE)
_STEP_RESTART = update(task_steps).where(*_STEP_WHERE).values(
    status=bindparam("p_status"), host=bindparam("p_host"), attempt=bindparam("p_attempt"), error=None,
    traceback=None, started_at=bindparam("p_started"), finished_at=None)
_STEP_END = update(task_steps).where(*_STEP_WHERE).values(
    status=bindparam("p_status"), host=bindparam("p_host"), finished_at=bindparam("p_now"),
    details=func.coalesce(bindparam("p_details", type_=JSON(none_as_null=True)), task_steps.c.details),
    error=func.coalesce(bindparam("p_error"), task_steps.c.error),
    traceback=func.coalesce(bindparam("p_traceback"), task_steps.c.traceback))


@functools.lru_cache(maxsize=512)
def _resource_update(kind: str, columns: frozenset) -> Any:
    """UPDATE <resource> SET <columns> WHERE id = :p_id AND task_id = :p_task, built once per column set."""
    table = RESOURCE_TABLES[kind]
    return update(table).where(table.c.id == bindparam("p_id"), table.c.task_id == bindparam("p_task")).values(
        {c: bindparam(f"v_{c}", type_=table.c[c].type) for c in sorted(columns)})


# The claim's look: the oldest runnable tasks. It reads the partial index of
# unfinished tasks (ix_tasks_active) in order and, for each candidate, the
# partial index of unfinished tasks by resource (ix_tasks_unfinished_resource)
# for "an older unfinished task of the same resource", so it costs the same
# however many tasks the table holds or the queue has.
_older = tasks.alias("older")
# Literal, not bound: the planners use a partial index only when they can see
# that the query's condition is the index's (a bound IN list is also expanded
# at each execution, which db/direct does not do).
IS_ACTIVE = text("tasks." + ACTIVE_TASKS)
# The same set, spelled as "not finished" as ix_tasks_unfinished_resource is:
# were it spelled as IS_ACTIVE, ix_tasks_active would answer the probe too,
# and a planner that thinks both empty (statistics taken with no task
# running) may take it, reading every older unfinished task per candidate.
OLDER_IS_UNFINISHED = text("older." + UNFINISHED_TASKS)
_OLDER_UNFINISHED = select(literal_column("1")).select_from(_older).where(
    _older.c.resource_id == tasks.c.resource_id, _older.c.created_ts < tasks.c.created_ts, OLDER_IS_UNFINISHED)


def _runnable(older_unfinished: Select) -> Select:
    return (select(tasks.c.id, tasks.c.generation)
            .where(IS_ACTIVE,
                   or_(tasks.c.owner.is_(None), tasks.c.lease_expires < bindparam("p_now"),
                       and_(tasks.c.owner == bindparam("p_owner"), tasks.c.owner_instance != bindparam("p_inst"))),
                   ~older_unfinished.exists())
            .order_by(tasks.c.created_ts).limit(bindparam("p_limit")))


_RUNNABLE = _runnable(_OLDER_UNFINISHED)
# PostgreSQL's look. A queue's statistics are always stale (autovacuum
# analyzes a minute apart at best; a burst queues thousands of tasks in
# seconds), and planned from them the plain statement read every unfinished
# task, sorted them, and for each scanned them all again for the older-task
# test: 18.8 ms and 5,371 buffers a look with 600 queued. Two things fix the
# plan whatever the statistics say: the OFFSET keeps the older-task test a
# correlated probe of ix_tasks_unfinished_resource (PostgreSQL never turns a
# subquery with an OFFSET into a join), and the claim's transaction turns
# sorting off (_NO_SORT) so that the look reads ix_tasks_active in order and
# stops at the limit: 0.5 ms and 52 buffers (docs/performance.md, "The
# claim on PostgreSQL").
_RUNNABLE_FOR_UPDATE = _runnable(_OLDER_UNFINISHED.offset(0)).with_for_update(skip_locked=True, of=tasks)
_NO_SORT = text("SET LOCAL enable_sort = off")


def _claim_look(conn: Connection, is_sqlite: bool) -> Any:
    """The look a claim's write transaction runs, made ready on ``conn``:
    SQLite's pinned one; PostgreSQL's locking one, sorting turned off first
    for the rest of the transaction."""
    if is_sqlite:
        return _RUNNABLE_SQLITE
    conn.execute(_NO_SORT)
    return _RUNNABLE_FOR_UPDATE


def _pinned_to(index: str, statement: Select) -> TextualSelect:
    """``statement``'s SQLite text with its outer ``FROM tasks`` read through
    ``index`` (SQLite's INDEXED BY, which SQLAlchemy does not write)."""
    sql = str(statement.compile(dialect=sqlite.dialect(paramstyle="named")))
    pinned = sql.replace("\nFROM tasks \n", f"\nFROM tasks INDEXED BY {index} \n", 1)
    pinned = pinned.replace(" OFFSET :param_1", "")  # SQLite's compiler adds OFFSET 0 to every LIMIT
    if pinned.count("INDEXED BY") != 1 or ":param_" in pinned:
        raise AssertionError(f"cannot pin {index} in: {sql}")
    return text(pinned).columns(*statement.selected_columns)


# SQLite's look, pinned to the partial index: with no statistics (taskvisor
# runs no ANALYZE) SQLite's planner reads the status indexes instead and
# sorts every unfinished task: 2.6 ms a look with 5,000 queued, against a
# flat 0.1 ms here (docs/performance.md, "the claim's plan").
_RUNNABLE_SQLITE = _pinned_to("ix_tasks_active", _RUNNABLE)
_CLAIM = update(tasks).where(tasks.c.id == bindparam("p_id"), tasks.c.generation == bindparam("p_gen")).values(
    owner=bindparam("p_owner"), owner_instance=bindparam("p_inst"), generation=tasks.c.generation + 1,
    lease_expires=bindparam("p_lease"), updated_at=bindparam("p_now"),
    takeovers=tasks.c.takeovers + case((tasks.c.owner.is_not(None), 1), else_=0),
    # a queued task becomes running; a reverting one stays reverting
    status=case((tasks.c.status == "queued", "running"), else_=tasks.c.status),
    started_at=func.coalesce(tasks.c.started_at, bindparam("p_now"))).returning(*tasks.c)
_INSERT_TASK = insert(tasks)
_INSERT_STEP = insert(task_steps).values(
    task_id=bindparam("p_task"), idx=bindparam("p_idx"), name=bindparam("p_name"), status=bindparam("p_status"),
    host=bindparam("p_host"), attempt=1, details={}, started_at=bindparam("p_started"))


@functools.lru_cache(maxsize=64)
def _fenced_update(columns: frozenset) -> Any:
    """UPDATE tasks SET <columns> WHERE <this claim owns it>, built once per column set."""
    return update(tasks).where(*_OWNED).values({c: bindparam(f"v_{c}", type_=tasks.c[c].type)
                                                for c in sorted(columns)})


@functools.lru_cache(maxsize=512)
def _resource_update_returning(kind: str, columns: frozenset) -> Any:
    """The same, returning the whole updated row (the resource a step starts with)."""
    return _resource_update(kind, columns).returning(*RESOURCE_TABLES[kind].c)


_STEPS = select(task_steps).where(task_steps.c.task_id == bindparam("p_task"))
_LOAD = {kind: select(table).where(table.c.id == bindparam("p_id")) for kind, table in RESOURCE_TABLES.items()}


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
    conn.execute(_INSERT_TASK, row)
    return row


@dataclass
class Claim:
    task: dict
    generation: int
    # The claim's own transaction also started the task's first step
    # (begin_step's answer), so the runner does not start it again.
    started: tuple[int, dict] | None = None
    # tasks.cancel_requested as the last checkpoint's commit saw it (None:
    # not known); what the step that checkpoint started sees first.
    cancel_seen: bool | None = None

    @property
    def fresh(self) -> bool:
        """Claimed for the first time: no step of it was ever recorded (only
        a claim's holder writes steps, and every claim moves the generation)."""
        return self.generation == 1


class TaskStore:
    def __init__(self, db: Database, owner: str, lease_seconds: float):
        self.db = db
        self.owner = owner                      # conductor host
        self.instance = str(uuid.uuid4())       # this process's incarnation
        self.lease = lease_seconds

    # -- claiming -------------------------------------------------------------
    def claim(self, limit: int, first_step: Callable[[dict], dict | None] | None = None) -> list[Claim]:
        """Claim up to ``limit`` runnable tasks: queued ones, ones whose lease
        expired, and ones a previous incarnation of this host left behind.
        Tasks of one resource run in order: one waits while an older task of
        the same resource is unfinished.

        On SQLite a look in a read transaction comes first: when nothing is
        runnable (most looks) the claim costs that one indexed statement and
        takes no write lock (no BEGIN IMMEDIATE). On PostgreSQL the claim's
        own SELECT ... FOR UPDATE SKIP LOCKED is that look: an empty one locks
        nothing, and a claim that finds work is one transaction, not two.

        ``first_step(task)`` gives begin_step's arguments for a task claimed
        for the first time (None: start nothing); that step is started in the
        claim's transaction (``Claim.started``): one commit fewer per task."""
        if limit <= 0:
            return []
        look = {"p_now": time.time(), "p_owner": self.owner, "p_inst": self.instance, "p_limit": limit}
        if self.db.is_sqlite:
            with self.db.read() as conn:
                if direct.first(conn, _RUNNABLE_SQLITE, look) is None:
                    return []
        claims = []
        with self.db.write() as conn:
            now = utcnow()
            runnable = [(r["id"], r["generation"])
                        for r in direct.mappings(conn, _claim_look(conn, self.db.is_sqlite), look)]
            for task_id, generation in runnable:
                rows = direct.mappings(conn, _CLAIM, {"p_id": task_id, "p_gen": generation, "p_owner": self.owner,
                                                      "p_inst": self.instance, "p_lease": look["p_now"] + self.lease,
                                                      "p_now": now})
                if rows:  # else another conductor took it between the look and the update
                    claims.append(Claim(rows[0], generation + 1))
            for claim in claims:
                # a task cancelled while queued starts nothing: it is undone at once
                if (first_step is not None and claim.fresh and claim.task["status"] == "running"
                        and not claim.task["cancel_requested"]):
                    start = first_step(claim.task)
                    if start is not None:
                        claim.started = self._start(conn, claim, status="running", check_owner=True,
                                                    previous_attempt=0, **start)
                        claim.cancel_seen = False  # read by this transaction (the guard above)
        return claims

    def heartbeat(self) -> int:
        """Extend the leases of every task this process holds."""
        with self.db.write() as conn:
            return conn.execute(
                update(tasks).where(tasks.c.owner_instance == self.instance, tasks.c.status.in_(ACTIVE))
                .values(lease_expires=time.time() + self.lease)).rowcount

    def save_store(self, claim: Claim, store: dict) -> None:
        """Write the task's store now (a step's intent), fenced."""
        with self.db.write() as conn:
            self._fence(conn, claim, store=store)

    def hand_back(self, claim: Claim) -> None:
        """Give up a task at a checkpoint (shutdown): it is claimable at once,
        by any conductor, and the hand-back does not count as a takeover."""
        with self.db.write() as conn:
            self._fence(conn, claim, owner=None, owner_instance=None, lease_expires=None, current_step=None)

    # -- bounded life (dead letters) ------------------------------------------
    def record_crash(self, claim: Claim, error: BaseException) -> None:
        """The runner raised out of the engine: count it and hand the task back."""
        with self.db.write() as conn:
            # the claimed row is current: the fence below proves nobody wrote it since
            crashes = int(claim.task.get("runner_crashes") or 0) + 1
            self._fence(conn, claim, runner_crashes=crashes, owner=None, owner_instance=None,
                        lease_expires=None, error_traceback="".join(tb_module.format_exception(error)))

    def dead_letter(self, claim: Claim, reason: str, error: dict, resource_updates: dict) -> None:
        """Fail the task for good without undoing it (its runner cannot be
        trusted to): ``reason`` says why, the resource takes its error state.
        The generation moves on, so a runner still stuck in a step writes
        nothing when it returns. ``retry_dead_letter`` resumes it."""
        error = {**error, "reason": reason, "was": claim.task["status"]}
        with self.db.write() as conn:
            self._fence(conn, claim, status="failed", failure_reason=reason, error=error,
                        generation=claim.generation + 1, owner=None, owner_instance=None, lease_expires=None,
                        finished_at=utcnow(), current_step=None)
            self._update_resource(conn, claim, resource_updates, required=False)

    # -- fenced writes --------------------------------------------------------
    def _owned(self, claim: Claim) -> dict:
        return {"p_id": claim.task["id"], "p_gen": claim.generation, "p_inst": self.instance}

    def _check_fence(self, rowcount: int, claim: Claim) -> None:
        if rowcount != 1:
            raise Fenced(f"task {claim.task['id']}: lease generation {claim.generation} is no longer ours")

    def _fence(self, conn: Connection, claim: Claim, **values: Any) -> None:
        values.setdefault("updated_at", utcnow())
        params = {f"v_{k}": v for k, v in values.items()}
        self._check_fence(direct.rowcount(conn, _fenced_update(frozenset(values)), {**params, **self._owned(claim)}),
                          claim)

    @contextmanager
    def fenced(self, claim: Claim) -> Iterator[Connection]:
        """A write transaction that first checks this process still holds the
        task's lease (``Fenced`` otherwise): what a flow writes besides its
        checkpoints goes through here."""
        with self.db.write() as conn:
            self._fence(conn, claim)
            yield conn

    def write_resource(self, claim: Claim, updates: dict) -> None:
        """Change the task's resource now (fenced, and only while the task owns it)."""
        with self.fenced(claim) as conn:
            self._update_resource(conn, claim, updates)

    def cancel_requested(self, task_id: str) -> bool:
        with self.db.read() as conn:
            row = direct.first(conn, _CANCEL_REQUESTED, {"p_id": task_id})
            return bool(row and row[0])

    def _update_resource(self, conn: Connection, claim: Claim, updates: dict, required: bool = True) -> bool:
        """Write the resource only while this task owns it; ``required`` makes
        a lost ownership an error (Superseded), otherwise it returns False."""
        if not updates:
            return True
        kind = claim.task["resource_type"]
        columns, params = self._resource_params(claim, updates)
        if direct.rowcount(conn, _resource_update(kind, columns), params) == 1:
            return True
        if required:
            raise Superseded(f"{kind} {claim.task['resource_id']} is no longer owned by task {claim.task['id']}")
        return False

    @staticmethod
    def _resource_params(claim: Claim, updates: dict) -> tuple[frozenset, dict]:
        values = dict(updates)
        if "updated_at" in RESOURCE_TABLES[claim.task["resource_type"]].c:
            values.setdefault("updated_at", utcnow())
        params = {f"v_{k}": v for k, v in values.items()}
        params.update(p_id=claim.task["resource_id"], p_task=claim.task["id"])
        return frozenset(values), params

    def _take_resource(self, conn: Connection, claim: Claim, updates: dict | None,
                       check_owner: bool) -> dict | None:
        """The resource as it is now, with ``updates`` written (only while
        the task owns it), in one statement: UPDATE ... RETURNING, or a SELECT
        when nothing changes. None when ``check_owner`` and the task does not
        own it (with ``updates``, owning it is always required)."""
        if updates:
            columns, params = self._resource_params(claim, updates)
            rows = direct.mappings(conn, _resource_update_returning(claim.task["resource_type"], columns), params)
            return rows[0] if rows else None
        resource = self.load_resource(conn, claim)
        if check_owner and (resource is None or resource.get("task_id") != claim.task["id"]):
            return None
        return resource

    def load_resource(self, conn: Connection, claim: Claim) -> dict | None:
        rows = direct.mappings(conn, _LOAD[claim.task["resource_type"]], {"p_id": claim.task["resource_id"]})
        return rows[0] if rows else None

    def steps(self, task_id: str) -> dict[int, dict]:
        with self.db.read() as conn:
            return {r["idx"]: r for r in direct.mappings(conn, _STEPS, {"p_task": task_id})}

    def begin_step(self, claim: Claim, idx: int, name: str, host: str, status: str = "running",
                   resource_updates: dict | None = None, check_owner: bool = True,
                   previous_attempt: int | None = None) -> tuple[int, dict]:
        """Record that a step starts (the API shows it running); returns the
        attempt number and a fresh copy of the resource. ``previous_attempt``
        (0 = the step never started) spares a look-up when the caller knows."""
        with self.db.write() as conn:
            started = self._start(conn, claim, idx, name, host, status, resource_updates, check_owner,
                                  previous_attempt)
        if started is None:
            raise Superseded(f"{claim.task['resource_type']} {claim.task['resource_id']} "
                             f"was taken over by another task")
        return started

    def _start(self, conn: Connection, claim: Claim, idx: int, name: str, host: str, status: str,
               resource_updates: dict | None, check_owner: bool,
               previous_attempt: int | None) -> tuple[int, dict] | None:
        self._check_fence(direct.rowcount(conn, _FENCE_STEP_START, {**self._owned(claim), "p_step": name,
                                                                     "p_now": utcnow()}), claim)
        return self._begin(conn, claim, idx, name, host, status, resource_updates if check_owner else None,
                           check_owner, previous_attempt)

    def _begin(self, conn: Connection, claim: Claim, idx: int, name: str, host: str, status: str,
               resource_updates: dict | None, check_owner: bool,
               previous_attempt: int | None) -> tuple[int, dict] | None:
        """Start step ``idx`` once the task row names it current: the
        resource's changes, then the step's row. None (and nothing written)
        when ``check_owner`` and the task no longer owns the resource."""
        resource = self._take_resource(conn, claim, resource_updates, check_owner)
        if check_owner and resource is None:
            return None
        now = utcnow()
        key = {"p_task": claim.task["id"], "p_idx": idx}
        if previous_attempt is None:
            row = direct.first(conn, _STEP_ATTEMPT, key)
            previous_attempt = (row[0] if row else 0) or 0
        if previous_attempt == 0:
            attempt = 1
            direct.rowcount(conn, _INSERT_STEP, {**key, "p_name": name, "p_status": status, "p_host": host,
                                                 "p_started": now})
        else:
            attempt = previous_attempt + (1 if status == "running" else 0)
            direct.rowcount(conn, _STEP_RESTART, {**key, "p_status": status, "p_host": host, "p_attempt": attempt,
                                                  "p_started": now})
        return attempt, resource or {}

    def end_step(self, claim: Claim, idx: int, status: str, *, host: str, details: dict | None = None,
                 error: BaseException | str | None = None, store: dict | None = None,
                 progress: int | None = None, resource_updates: dict | None = None,
                 start_next: dict | None = None, succeed: dict | None = None) -> tuple[int, dict] | None:
        """The checkpoint: the step's outcome, the task's store and progress,
        and the resource's new state, all in one fenced transaction.

        With ``start_next`` (begin_step's arguments for the next step) the
        same transaction also starts that step and returns what begin_step
        would: one commit per step boundary, and no moment where the task
        shows no step running.

        With ``succeed`` (the last step; the resource changes of the flow's
        on_success) the same transaction also ends the task as succeeded, as
        ``set_status`` would: the task's last step and its end are one commit."""
        error_text = traceback_text = None
        if error is not None:
            error_text = str(error) or type(error).__name__
            if isinstance(error, BaseException):
                traceback_text = "".join(tb_module.format_exception(error))
        started = cancel_seen = None
        with self.db.write() as conn:
            now = utcnow()
            store = claim.task["store"] if store is None else store
            # the task row: fence, store, progress, and the next step's name or the task's end
            if succeed is not None:
                self._fence(conn, claim, store=store, progress=100, updated_at=now, **self._ended("succeeded", now))
            else:
                fence = {**self._owned(claim), "p_store": store, "p_progress": progress, "p_now": now}
                statement, params = ((_FENCE_CHECKPOINT_NEXT, {**fence, "p_step": start_next["name"]})
                                     if start_next is not None else (_FENCE_CHECKPOINT, fence))
                owned = direct.first(conn, statement, params)
                self._check_fence(0 if owned is None else 1, claim)
                cancel_seen = bool(owned[0])
            direct.rowcount(conn, _STEP_END, {"p_task": claim.task["id"], "p_idx": idx, "p_status": status,
                                              "p_host": host, "p_now": now, "p_details": details,
                                              "p_error": error_text, "p_traceback": traceback_text})
            if start_next is not None:
                # the step's changes and the next step's in one statement that also reads the resource back
                started = self._begin(conn, claim, status="running", check_owner=True, **{
                    **start_next, "resource_updates": {**(resource_updates or {}),
                                                       **(start_next.get("resource_updates") or {})}})
                if started is None and resource_updates:  # the step's changes must land: roll back
                    raise Superseded(f"{claim.task['resource_type']} {claim.task['resource_id']} "
                                     f"is no longer owned by task {claim.task['id']}")
            elif succeed and not resource_updates:
                # as set_status: a newer task may own the resource by now; this one records its own end
                self._update_resource(conn, claim, succeed, required=False)
            else:  # the step's changes must land (Superseded otherwise); on_success's with them
                self._update_resource(conn, claim, {**(resource_updates or {}), **(succeed or {})})
        claim.cancel_seen = cancel_seen  # committed: it is what the task row said then
        if start_next is not None and started is None:
            raise Superseded(f"{claim.task['resource_type']} {claim.task['resource_id']} "
                             f"was taken over by another task")
        return started

    @staticmethod
    def _ended(status: str, now: Any) -> dict:
        return {"status": status, "finished_at": now, "lease_expires": None, "current_step": None}

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
            values.update(self._ended(status, utcnow()))
        with self.db.write() as conn:
            self._fence(conn, claim, **values)
            # a newer task may own the resource by now; this one only records its own end
            self._update_resource(conn, claim, resource_updates or {}, required=False)


def retry_dead_letter(conn: Connection, task: dict, resource_updates: dict) -> None:
    """Re-queue a dead-lettered task from its last checkpoint (an admin's
    retry), inside the caller's transaction. Only while no newer task of the
    resource exists and the resource is free or still this task's; otherwise
    raises NotRetryable (and the caller's transaction rolls back)."""
    newer = tasks.alias("newer")
    requeued = conn.execute(
        update(tasks).where(tasks.c.id == task["id"], tasks.c.status == "failed",
                            tasks.c.failure_reason.is_not(None),
                            ~exists().where(newer.c.resource_id == tasks.c.resource_id,
                                            newer.c.created_ts > tasks.c.created_ts))
        .values(status="reverting" if (task.get("error") or {}).get("was") == "reverting" else "queued",
                failure_reason=None, owner=None, owner_instance=None, lease_expires=None, takeovers=0,
                runner_crashes=0, error=None, error_traceback=None, started_at=None, finished_at=None,
                updated_at=utcnow()))
    if requeued.rowcount != 1:
        raise NotRetryable(f"task {task['id']} is not a dead-lettered task, or a newer task of its "
                           f"{task['resource_type']} exists")
    table = RESOURCE_TABLES[task["resource_type"]]
    values = {"task_id": task["id"], **resource_updates}
    if "updated_at" in table.c:
        values["updated_at"] = utcnow()
    taken = conn.execute(update(table).where(table.c.id == task["resource_id"],
                                             or_(table.c.task_id.is_(None), table.c.task_id == task["id"]))
                         .values(**values))
    if taken.rowcount != 1:
        raise NotRetryable(f"{task['resource_type']} {task['resource_id']} is gone or owned by another task")


class NotRetryable(Exception):
    """A retry that cannot be done (not dead-lettered, or the resource moved on)."""
