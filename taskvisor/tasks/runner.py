"""Run one claimed task through its flow, checkpointing after every step.

Resume rule: a task picks up at its first step that has not succeeded; the
step that was in flight when its conductor died runs again (attempt + 1).
A task records its flow's name and version and each step row its name, so
a task started by other code (a renamed or reordered step) is failed with a
clear error rather than guessed at.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import traceback
from typing import Any

from taskvisor.rpc.base import RpcTimeout
from taskvisor.tasks.flow import Fenced, Flow, Flows, Step, StepFailed, Superseded
from taskvisor.tasks.store import Claim, TaskStore

LOG = logging.getLogger(__name__)
DONE = ("succeeded", "skipped")
HANDED_BACK = "handed-back"
MAX_BACKOFF = 10.0


class StepContext:
    """What a step sees: the task, the resource, the store shared between
    steps, and the services (RPC to computes, the database for reads)."""

    def __init__(self, runtime: Any, claim: Claim, resource: dict, attempt: int,
                 store: TaskStore | None = None, cancel_seen: bool | None = None):
        self.runtime = runtime
        self._claim, self._store = claim, store
        # what the checkpoint that started this step read of tasks.cancel_requested
        self._cancel_seen = cancel_seen
        self.task = claim.task
        self.params: dict = claim.task["params"]
        self.store: dict = claim.task["store"]
        self.resource = resource
        self.attempt = attempt
        self.updates: dict = {}
        self.host = runtime.host  # who ran this step; a compute call makes it the compute's host
        self.conf = runtime.conf

    @property
    def server(self) -> dict:
        return self.resource

    @property
    def node(self) -> dict:
        return self.resource

    def update(self, **fields: Any) -> None:
        """Change the resource; written with this step's checkpoint."""
        self.updates.update(fields)
        self.resource.update(fields)

    def write_now(self, **fields: Any) -> None:
        """Change the resource at once rather than at the checkpoint (a node
        shows what it is doing while a long step runs); fenced like one."""
        fields = {k: v for k, v in fields.items() if self.resource.get(k) != v}
        if fields:
            self._store.write_resource(self._claim, fields)
            self.resource.update(fields)

    def fenced(self):
        """A transaction in which this conductor still holds the task's lease
        (``Fenced`` otherwise), for rows the task holds besides its own
        resource: a bare-metal server's node."""
        return self._store.fenced(self._claim)

    def cancel_requested(self) -> bool:
        """Whether a cancel (a node's abort) was asked for. The first ask of a
        step started by the previous step's checkpoint is answered by what
        that commit read, moments ago; later asks (a wait's polls) read."""
        if self._cancel_seen is not None:
            seen, self._cancel_seen = self._cancel_seen, None
            return seen
        return self._store.cancel_requested(self.task["id"])

    def intend(self, host: str, what: str) -> None:
        """Intent before effect: record, durably and before the call, that
        this task asks ``host`` to create something (with the fencing
        generation), so a conductor that takes the task over knows the host
        may hold it even when the call never returned."""
        asked = self.store.setdefault("asked", {})
        if asked.get(host, {}).get("what") == what:
            return
        asked[host] = {"what": what, "generation": self._claim.generation}
        self._store.save_store(self._claim, self.store)

    def compute(self, host: str):
        """An RPC client for one compute host. The first call a task makes to
        a host goes to its ``compute`` topic, later ones to ``compute-alt``
        (graceful shutdown keeps serving those)."""
        self.host = host
        return self.runtime.compute_client(host, self.store, self.task["id"])


class TaskRunner:
    def __init__(self, runtime: Any, store: TaskStore, flows: Flows):
        self.runtime = runtime
        self.store = store
        self.flows = flows
        self.conf = runtime.conf
        # Set when the conductor shuts down: each task stops at its next
        # checkpoint and is handed back (any conductor resumes it at once).
        self.stopping = threading.Event()
        # What each running task is doing and until when it may (step or
        # handler deadline, task deadline): the conductor's heartbeat
        # dead-letters the ones past it (``enforce_deadlines``).
        self._watch: dict[str, tuple[Claim, str, float]] = {}
        self._watch_lock = threading.Lock()

    def first_step(self, task: dict) -> dict | None:
        """begin_step's arguments for the first step of a task never run
        before, for the claim to start it in its own transaction (None when
        this conductor cannot run the task: the runner says why)."""
        try:
            flow = self.flows.for_task(task)[0]
        except KeyError:
            return None
        if not flow.steps or not flow.owns_resource:
            return None
        step = flow.steps[0]
        return {"idx": 0, "name": step.name, "host": self.runtime.host, "resource_updates": _task_state(step)}

    def run(self, claim: Claim) -> str:
        """Run to a terminal state or until fenced; returns the final status."""
        task = claim.task
        if task["flow"] not in self.flows:
            return self._finish_unrunnable(claim, f"unknown flow {task['flow']!r}")
        try:  # a task resumes on the flow version it started with (kept or mapped)
            flow, renames = self.flows.for_task(task)
        except KeyError:
            return self._finish_unrunnable(
                claim, f"task was started by {task['flow']} v{task['flow_version']}; this conductor runs "
                       f"v{self.flows.get(task['flow']).version} and keeps no definition of (or step mapping "
                       f"from) v{task['flow_version']}; it cannot resume it safely")
        if task["takeovers"] > self.conf.conductor.max_takeovers:
            return self.dead_letter(claim, "too-many-takeovers",
                                    f"taken over {task['takeovers']} times from conductors that stopped "
                                    f"heartbeating (limit [conductor] max_takeovers = "
                                    f"{self.conf.conductor.max_takeovers})")
        if time.time() > self._task_deadline(claim, flow):
            return self.dead_letter(claim, "deadline-exceeded",
                                    f"still unfinished {self._flow_deadline(flow):.0f}s after it started")
        # a task whose claim started its first step had no step before
        rows = {} if claim.started is not None else self.store.steps(task["id"])
        transition(task, "running" if task["status"] != "reverting" else "reverting", self.runtime.host,
                   takeovers=task.get("takeovers") or None)
        for idx, row in rows.items():
            if idx >= len(flow.steps) or flow.steps[idx].name != renames.get(row["name"], row["name"]):
                return self._finish_unrunnable(
                    claim, f"step {idx} was {row['name']!r} when the task started; the flow now has "
                           f"{flow.step_names}; it cannot resume it safely")
        try:
            if task["status"] == "running" and task.get("cancel_requested") and not rows:
                # cancelled while queued: nothing ran, the resource goes back where it was
                status = self._revert(claim, flow, rows, cancel_error(), superseded=False, cancelled=True)
            elif task["status"] == "reverting":
                status = self._revert(claim, flow, rows, task.get("error") or {}, superseded=False)
            else:
                status = self._forward(claim, flow, rows)
        except Fenced as exc:
            LOG.warning("dropping task %s: %s", task["id"], exc)
            return "fenced"
        if status == HANDED_BACK:
            return status
        self.runtime.task_done(task)  # computes draining for graceful shutdown wait for this
        transition(task, status, self.runtime.host)
        return status

    # -- forward --------------------------------------------------------------
    def _forward(self, claim: Claim, flow: Flow, rows: dict[int, dict]) -> str:
        total = len(flow.steps)
        resource: dict = {}
        # the next step, already started by the last checkpoint (or by the claim)
        started, claim.started = claim.started, None
        for idx, step in enumerate(flow.steps):
            if rows.get(idx, {}).get("status") in DONE:
                continue
            if self.stopping.is_set() and started is None:
                self.store.hand_back(claim)
                LOG.info("task %s handed back at step %s: this conductor is stopping", claim.task["id"], step.name)
                return HANDED_BACK
            first_started = time.monotonic()
            attempt = rows.get(idx, {}).get("attempt", 0)
            while True:
                try:
                    cancel_seen = None
                    if started is not None:
                        (attempt, resource), started = started, None
                        cancel_seen = claim.cancel_seen
                    else:
                        attempt, resource = self.store.begin_step(
                            claim, idx, step.name, self.runtime.host, previous_attempt=attempt,
                            resource_updates=_task_state(step), check_owner=flow.owns_resource)
                except Superseded as exc:
                    return self._revert(claim, flow, self.store.steps(claim.task["id"]),
                                        {"code": 409, "message": str(exc)}, superseded=True)
                claim.cancel_seen = None
                ctx = StepContext(self.runtime, claim, resource, attempt, self.store, cancel_seen)
                try:
                    with self._watching(claim, f"step {step.name}", step.deadline, flow):
                        details = step.execute(ctx) or {}
                except (Fenced, Superseded):
                    raise
                except Exception as exc:
                    delay = self._retry_delay(step, exc, attempt, time.monotonic() - first_started)
                    if delay is None:
                        self.store.end_step(claim, idx, "failed", host=ctx.host, error=exc, store=ctx.store)
                        transition(claim.task, "failed", ctx.host, step=step.name, attempt=attempt,
                                   error=str(exc) or type(exc).__name__)
                        error = {"code": getattr(exc, "code", 500), "message": _message(step, ctx, exc),
                                 "step": step.name}
                        return self._revert(claim, flow, self.store.steps(claim.task["id"]), error,
                                            superseded=False, tb=traceback.format_exc())
                    self.store.end_step(claim, idx, "retrying", host=ctx.host, error=exc, store=ctx.store)
                    LOG.info("task %s step %s attempt %d: %s; retrying in %.1fs",
                             claim.task["id"], step.name, attempt, exc, delay)
                    time.sleep(delay)
                    continue
                nxt = idx + 1
                start_next = None
                # a cancelled task starts no further step (it reverts below)
                cancelling = step.cancellable and self.store.cancel_requested(claim.task["id"])
                if (nxt < total and rows.get(nxt, {}).get("status") not in DONE and not self.stopping.is_set()
                        and flow.owns_resource and not cancelling):
                    start_next = {"idx": nxt, "name": flow.steps[nxt].name, "host": self.runtime.host,
                                  "resource_updates": _task_state(flow.steps[nxt]),
                                  "previous_attempt": rows.get(nxt, {}).get("attempt", 0)}
                succeed = success_crashed = None
                if nxt == total and not cancelling:
                    # the last step: its checkpoint also ends the task (one commit, not two)
                    try:
                        succeed = self._on_success(claim, flow, resource)
                    except Exception as exc:  # the step's checkpoint is written all the same, then the crash
                        success_crashed = exc
                try:
                    started = self.store.end_step(
                        claim, idx, "skipped" if details.get("skipped") else "succeeded", host=ctx.host,
                        details=details, store=ctx.store, progress=int(100 * (idx + 1) / total),
                        resource_updates=ctx.updates, start_next=start_next, succeed=succeed)
                except Superseded as exc:
                    return self._revert(claim, flow, self.store.steps(claim.task["id"]),
                                        {"code": 409, "message": str(exc)}, superseded=True)
                if started is not None:
                    resource = started[1]
                transition(claim.task, "skipped" if details.get("skipped") else "succeeded", ctx.host,
                           step=step.name, attempt=attempt)
                if succeed is not None:
                    return "succeeded"
                if success_crashed is not None:
                    raise success_crashed
                # the checkpoint's commit read the cancel flag (a cancel after it names the next step)
                if cancelling or (step.cancellable and claim.cancel_seen):
                    return self._revert(claim, flow, self.store.steps(claim.task["id"]), cancel_error(),
                                        superseded=False, cancelled=True)
                break
        # every step was done already (a task resumed after its last checkpoint)
        with self.store.db.read() as conn:
            resource = self.store.load_resource(conn, claim) or {}
        updates = self._on_success(claim, flow, resource)
        self.store.set_status(claim, "succeeded", store=claim.task["store"], progress=100, resource_updates=updates)
        return "succeeded"

    def _on_success(self, claim: Claim, flow: Flow, resource: dict) -> dict:
        """Run the flow's on_success; returns its resource changes."""
        ctx = StepContext(self.runtime, claim, resource, 0, self.store)
        if flow.success_fn:
            with self._watching(claim, "on_success handler", None, flow):
                flow.success_fn(ctx)
        return ctx.updates

    def _retry_delay(self, step: Step, exc: Exception, attempt: int, elapsed: float) -> float | None:
        """Backoff before the next attempt, or None when the step has failed for good.
        A host that does not answer is retried until [conductor] compute_down_deadline;
        other transient errors up to [conductor] step_retries times."""
        if not getattr(exc, "retryable", False):
            return None
        delay = min(MAX_BACKOFF, self.conf.conductor.retry_backoff * 2 ** (attempt - 1))
        if isinstance(exc, RpcTimeout):
            return delay if elapsed + delay < self.conf.conductor.compute_down_deadline else None
        retries = step.retries if step.retries is not None else self.conf.conductor.step_retries
        return delay if attempt <= retries else None

    # -- revert ---------------------------------------------------------------
    def _revert(self, claim: Claim, flow: Flow, rows: dict[int, dict], error: dict, *,
                superseded: bool, tb: str | None = None, cancelled: bool = False) -> str:
        """Undo what the task did, newest step first, then leave the resource
        in a state a user can act on (``on_failure``). A superseded task only
        undoes its own work: the resource belongs to the newer task now."""
        if claim.task["status"] != "reverting":
            self.store.set_status(claim, "reverting", error=error, traceback=tb)
            claim.task["status"] = "reverting"
        claim.task["error"] = error
        reverted_any, revert_error = False, None
        for idx in sorted(rows, reverse=True):
            row, step = rows[idx], flow.steps[idx]
            if step.revert_fn is None or row["status"] in ("reverted", "skipped"):
                continue
            attempt, resource = self.store.begin_step(claim, idx, step.name, self.runtime.host,
                                                      status="reverting", check_owner=False,
                                                      previous_attempt=row["attempt"])
            ctx = StepContext(self.runtime, claim, resource, attempt, self.store)
            try:
                with self._watching(claim, f"revert of {step.name}", step.deadline, flow):
                    step.revert_fn(ctx)
            except Fenced:
                raise
            except Exception as exc:
                revert_error = exc
                self.store.end_step(claim, idx, "failed", host=ctx.host, error=exc, store=ctx.store)
                break
            self.store.end_step(claim, idx, "reverted", host=ctx.host, store=ctx.store,
                                resource_updates=None if superseded else ctx.updates)
            reverted_any = True
        if superseded:
            self.store.set_status(claim, "cancelled")
            return "cancelled"
        if revert_error is not None:
            error = {**error, "message": f"{error.get('message')}; undoing it failed too: {revert_error}"}
        with self.store.db.read() as conn:
            resource = self.store.load_resource(conn, claim) or {}
        ctx = StepContext(self.runtime, claim, resource, 0, self.store)
        if flow.failure_fn:
            with self._watching(claim, "on_failure handler", None, flow):
                flow.failure_fn(ctx, error)
        status = "reverted" if reverted_any and revert_error is None else "failed"
        # a task stopped because someone asked (cancel, a node's abort) ends cancelled
        if revert_error is None and (cancelled or self.store.cancel_requested(claim.task["id"])):
            status = "cancelled"
        self.store.set_status(claim, status, error=error, store=ctx.store, resource_updates=ctx.updates)
        return status

    # -- bounded life ---------------------------------------------------------
    def _flow_deadline(self, flow: Flow) -> float:
        return flow.deadline if flow.deadline is not None else self.conf.conductor.task_deadline

    def _task_deadline(self, claim: Claim, flow: Flow) -> float:
        started = claim.task.get("started_at")
        start = started.replace(tzinfo=dt.UTC).timestamp() if started is not None else time.time()
        return start + self._flow_deadline(flow)

    @contextlib.contextmanager
    def _watching(self, claim: Claim, what: str, step_deadline: float | None, flow: Flow):
        limit = step_deadline if step_deadline is not None else self.conf.conductor.step_deadline
        until = min(time.time() + limit, self._task_deadline(claim, flow))
        with self._watch_lock:
            self._watch[claim.task["id"]] = (claim, what, until)
        try:
            yield
        finally:
            with self._watch_lock:
                if self._watch.get(claim.task["id"], (None,))[0] is claim:
                    del self._watch[claim.task["id"]]

    def enforce_deadlines(self) -> list[str]:
        """Dead-letter every task whose step or handler runs past its
        deadline (called from the conductor's heartbeat). The stuck thread
        cannot be interrupted; the generation moves on so it writes nothing."""
        now = time.time()
        with self._watch_lock:
            overdue = [(c, what, until) for c, what, until in self._watch.values() if now > until]
            for claim, _what, _until in overdue:
                self._watch.pop(claim.task["id"], None)
        for claim, what, _until in overdue:
            try:
                self.dead_letter(claim, "step-deadline-exceeded", f"{what} ran past its deadline")
            except Fenced:
                pass
        return [c.task["id"] for c, _w, _u in overdue]

    def crashed(self, claim: Claim, exc: BaseException) -> None:
        """The runner raised out of the engine (a bug in a handler or the
        engine): hand the task back to be tried again, up to
        [conductor] max_runner_crashes times, then dead-letter it."""
        crashes = int(claim.task.get("runner_crashes") or 0) + 1
        try:
            if crashes >= self.conf.conductor.max_runner_crashes:
                self.dead_letter(claim, "runner-crashed", f"the task's runner crashed {crashes} times; "
                                                          f"last: {type(exc).__name__}: {exc}")
            else:
                self.store.record_crash(claim, exc)
        except Fenced:
            pass

    def dead_letter(self, claim: Claim, reason: str, message: str) -> str:
        """Fail the task without undoing it; its resource takes the flow's
        error state (on_failure, or the resource type's registered one)."""
        LOG.error("task %s dead-lettered (%s): %s", claim.task["id"], reason, message)
        error = {"code": 500, "message": message}
        updates: dict = {}
        try:
            try:
                flow = self.flows.for_task(claim.task)[0]
            except KeyError:
                flow = self.flows.get(claim.task["flow"])
            if flow.failure_fn:
                with self.store.db.read() as conn:
                    resource = self.store.load_resource(conn, claim) or {}
                ctx = StepContext(self.runtime, claim, resource, 0, self.store)
                flow.failure_fn(ctx, {**error, "reason": reason})
                updates = ctx.updates
        except Exception:
            LOG.exception("task %s: its on_failure handler failed too; using the error state", claim.task["id"])
            updates = self.flows.error_state(claim.task["resource_type"])
        self.store.dead_letter(claim, reason, error, updates or self.flows.error_state(claim.task["resource_type"]))
        return "failed"

    def _finish_unrunnable(self, claim: Claim, message: str) -> str:
        LOG.error("task %s: %s", claim.task["id"], message)
        error = {"code": 500, "message": message}
        try:
            flow = self.flows.get(claim.task["flow"])
        except KeyError:
            flow = None
        updates: dict = {}
        if flow and flow.failure_fn:
            with self.store.db.read() as conn:
                resource = self.store.load_resource(conn, claim) or {}
            ctx = StepContext(self.runtime, claim, resource, 0, self.store)
            flow.failure_fn(ctx, error)
            updates = ctx.updates
        self.store.set_status(claim, "failed", error=error, resource_updates=updates)
        return "failed"


def transition(task: dict, status: str, host: str, **fields: Any) -> None:
    """One log line per task or step transition, with what an operator greps for.

    The record is made here rather than by ``LOG.info``, which would walk the
    stack for the caller's file and line (this line's place is known): the
    line is written several times per task."""
    if not LOG.isEnabledFor(logging.INFO):
        return
    what = f"step {fields['step']}" if "step" in fields else "task"
    extra = {"task_id": task["id"], "resource_type": task["resource_type"], "resource_id": task["resource_id"],
             "action": task["action"], "status": status, "host": host, "request_id": task.get("request_id")}
    extra.update((k, v) for k, v in fields.items() if v is not None)
    LOG.handle(LOG.makeRecord(LOG.name, logging.INFO, __file__, 0, "task %s (%s %s %s): %s %s on %s",
                              (task["id"], task["action"], task["resource_type"], task["resource_id"], what,
                               status, host), None, "transition", extra))


def cancel_error() -> dict:
    return {"code": 409, "message": "The task was cancelled at the user's request."}


def _task_state(step: Step) -> dict | None:
    return {"task_state": step.task_state} if step.task_state else None


def _message(step: Step, ctx: StepContext, exc: Exception) -> str:
    if isinstance(exc, StepFailed):
        return str(exc)
    if isinstance(exc, RpcTimeout):
        return f"step {step.name}: compute host {ctx.host} did not answer: {exc}"
    return f"step {step.name} failed on {ctx.host}: {getattr(exc, 'message', None) or exc}"
