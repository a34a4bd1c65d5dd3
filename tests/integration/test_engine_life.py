"""Bounded task life (issue 14 #1): a task whose runner, handler, step or
revert raises or hangs still ends — failed with a reason (dead-lettered),
its resource in the error state — and an admin's retry resumes it from its
last checkpoint. On SQLite and PostgreSQL, with a real conductor."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import select, update

from taskvisor.conductor.service import Conductor
from taskvisor.config import Config
from taskvisor.db.models import servers, tasks
from taskvisor.db.session import utcnow
from taskvisor.rpc.inprocess import InProcessTransport
from taskvisor.tasks.flow import Flow, Flows
from taskvisor.tasks.store import TaskStore, retry_dead_letter
from tests.dbs import database, queue_server_task  # noqa: F401  (fixture)
from tests.procs import wait_for

CALLS: dict[str, list[str]] = {}
GATES: dict[str, threading.Event] = {}
HEAL_AFTER: dict[str, int] = {}  # task id -> calls after which a raising handler stops raising

flow = Flow("life_test", version=1, action="test")


def _note(ctx, what: str) -> int:
    calls = CALLS.setdefault(ctx.task["id"], [])
    calls.append(what)
    return calls.count(what)


def _trouble(ctx, where: str, n: int) -> None:
    how = ctx.params.get(where)
    if how == "hang":
        GATES[ctx.task["id"]].wait(60)
    elif how == "raise" and n <= HEAL_AFTER.get(ctx.task["id"], 10**6):
        raise RuntimeError(f"{where} broke")


@flow.step(task_state="one")
def one(ctx):
    _note(ctx, "one")
    ctx.update(progress=10)


@flow.step(task_state="two")
def two(ctx):
    _trouble(ctx, "step", _note(ctx, "two"))


@one.revert
def undo_one(ctx):
    _trouble(ctx, "revert", _note(ctx, "undo_one"))


@flow.step
def three(ctx):
    _note(ctx, "three")
    if ctx.params.get("fail_last"):
        raise RuntimeError("the last step failed")


@flow.on_success
def succeeded(ctx):
    _trouble(ctx, "success", _note(ctx, "on_success"))
    ctx.update(vm_state="active", task_state=None)


@flow.on_failure
def failed(ctx, error):
    _trouble(ctx, "failure", _note(ctx, "on_failure"))
    ctx.update(vm_state="error", task_state=None)


FLOWS = Flows(flow, error_states={"server": {"vm_state": "error", "task_state": None}})


def make_conf(**overrides) -> Config:
    base = {"conductor__lease_seconds": 0.6, "conductor__poll_interval": 0.1, "conductor__retry_backoff": 0.01,
            "conductor__max_runner_crashes": 3, "conductor__max_takeovers": 3}
    return Config().copy(**{**base, **overrides})


def make_task(db, **params) -> dict:
    task = queue_server_task(db, "life_test", 1, params)
    GATES[task["id"]] = threading.Event()
    return task


def row(db, table, key) -> dict:
    with db.read() as conn:
        return dict(conn.execute(select(table).where(table.c.id == key)).mappings().one())


@pytest.fixture
def conductor(database):
    started = []

    def start(**overrides) -> Conductor:
        c = Conductor(make_conf(**overrides), database, InProcessTransport(), FLOWS,
                      host=f"c-{uuid.uuid4().hex[:6]}")
        c.start()
        started.append(c)
        return c
    yield start
    for gate in GATES.values():
        gate.set()
    for c in started:
        c.stop(wait=1)


def wait_ended(db, task_id: str, timeout: float = 60) -> dict:
    return wait_for(lambda: (lambda t: t if t["status"] in ("succeeded", "failed", "reverted", "cancelled")
                             else None)(row(db, tasks, task_id)), timeout, f"task {task_id} to end")


def test_a_success_handler_that_raises_ends_the_task_dead_lettered(database, conductor):
    task = make_task(database, success="raise")
    conductor()
    ended = wait_ended(database, task["id"])
    assert ended["status"] == "failed" and ended["failure_reason"] == "runner-crashed", ended
    assert "crashed 3 times" in ended["error"]["message"] and "success broke" in ended["error"]["message"]
    assert CALLS[task["id"]].count("on_success") == 3  # tried up to the cap, not forever
    assert CALLS[task["id"]].count("one") == 1  # a crash resumes after the last checkpoint
    server = row(database, servers, task["resource_id"])
    assert server["vm_state"] == "error" and server["task_state"] is None


def test_a_failure_handler_that_raises_still_leaves_the_server_in_error(database, conductor):
    task = make_task(database, fail_last=True, failure="raise")
    conductor()
    ended = wait_ended(database, task["id"])
    assert ended["status"] == "failed" and ended["failure_reason"] == "runner-crashed", ended
    server = row(database, servers, task["resource_id"])
    assert server["vm_state"] == "error" and server["task_state"] is None


def test_a_step_that_raises_ends_the_task(database, conductor):
    task = make_task(database, step="raise")
    conductor()
    ended = wait_ended(database, task["id"])
    assert ended["status"] == "reverted" and ended["failure_reason"] is None
    assert "step two failed" in ended["error"]["message"]
    assert row(database, servers, task["resource_id"])["vm_state"] == "error"


def test_a_revert_that_raises_ends_the_task(database, conductor):
    task = make_task(database, step="raise", revert="raise")
    conductor()
    ended = wait_ended(database, task["id"])
    assert ended["status"] == "failed" and "undoing it failed too" in ended["error"]["message"]
    assert row(database, servers, task["resource_id"])["vm_state"] == "error"


@pytest.mark.parametrize("where", ["step", "revert", "success"])
def test_a_hanging_step_revert_or_handler_is_dead_lettered_at_its_deadline(database, conductor, where):
    params = {"step": "raise", "revert": "hang"} if where == "revert" else {where: "hang"}
    task = make_task(database, **params)
    conductor(conductor__step_deadline=1.5)
    ended = wait_ended(database, task["id"])
    assert ended["status"] == "failed" and ended["failure_reason"] == "step-deadline-exceeded", ended
    assert "ran past its deadline" in ended["error"]["message"]
    assert row(database, servers, task["resource_id"])["vm_state"] == "error"
    # the stuck thread returns later: it is fenced and changes nothing
    GATES[task["id"]].set()
    time.sleep(1.0)
    again = row(database, tasks, task["id"])
    assert again["status"] == "failed" and again["failure_reason"] == "step-deadline-exceeded"
    assert row(database, servers, task["resource_id"])["vm_state"] == "error"


def test_a_task_taken_over_too_often_is_dead_lettered(database):
    task = make_task(database)
    conf = make_conf(conductor__max_takeovers=2)
    from taskvisor.runtime import Runtime
    from taskvisor.tasks.runner import TaskRunner
    claims = []
    for i in range(4):  # conductors that each claim it and die before any checkpoint
        store = TaskStore(database, f"dead-{i}", lease_seconds=0.05)
        claims.append(wait_for(lambda: store.claim(1), 10, "the expired lease to be claimable"))
    store = TaskStore(database, "last", lease_seconds=5)
    [claim] = wait_for(lambda: store.claim(1), 10, "the expired lease to be claimable")
    assert claim.task["takeovers"] == 4
    assert TaskRunner(Runtime(conf, database, InProcessTransport(), "last", FLOWS), store, FLOWS).run(claim) == "failed"
    ended = row(database, tasks, task["id"])
    assert ended["failure_reason"] == "too-many-takeovers" and "taken over 4 times" in ended["error"]["message"]
    assert row(database, servers, task["resource_id"])["vm_state"] == "error"
    assert CALLS[task["id"]] == ["on_failure"]  # no step ran; the resource went to its error state


def test_a_task_past_its_flow_deadline_is_dead_lettered_when_resumed(database):
    task = make_task(database)
    from taskvisor.runtime import Runtime
    from taskvisor.tasks.runner import TaskRunner
    store = TaskStore(database, "first", lease_seconds=0.05)
    [first] = store.claim(1)  # ... and its conductor dies
    with database.write() as conn:  # it started two hours ago
        conn.execute(update(tasks).where(tasks.c.id == task["id"]).values(
            started_at=utcnow().replace(year=2000)))
    store = TaskStore(database, "second", lease_seconds=5)
    [claim] = wait_for(lambda: store.claim(1), 10, "the expired lease to be claimable")
    assert TaskRunner(Runtime(make_conf(), database, InProcessTransport(), "second", FLOWS), store,
                      FLOWS).run(claim) == "failed"
    assert row(database, tasks, task["id"])["failure_reason"] == "deadline-exceeded"


def test_retry_resumes_a_dead_lettered_task_from_its_last_checkpoint(database, conductor):
    task = make_task(database, success="raise")
    HEAL_AFTER[task["id"]] = 3  # the bug is fixed after the third try
    conductor()
    ended = wait_ended(database, task["id"])
    assert ended["failure_reason"] == "runner-crashed"
    with database.write() as conn:
        retry_dead_letter(conn, ended, {"task_state": "retrying"})
    ended = wait_ended(database, task["id"])
    assert ended["status"] == "succeeded" and ended["failure_reason"] is None, ended
    assert CALLS[task["id"]].count("one") == 1 and CALLS[task["id"]].count("two") == 1  # not run again
    server = row(database, servers, task["resource_id"])
    assert server["vm_state"] == "active" and server["task_state"] is None


# -- finding 10: a task started on flow v1 finishes after an upgrade to v2 --------
def _upgrade_flows():
    """v1 of a flow, and two v2s: one that keeps v1 whole, one that maps
    v1's step names onto its own (renamed) steps."""
    def stepper(name):
        def run(ctx):
            CALLS.setdefault(ctx.task["id"], []).append(name)
            if name.startswith("b") and ctx.attempt == 1:
                GATES[ctx.task["id"]].wait(60)  # the first conductor hangs here and loses its lease
        return run

    def done(ctx):
        ctx.update(vm_state="active", task_state=None)

    def build(version, names, **kw):
        f = Flow("upgrade_test", version=version, action="test", **kw)
        for n in names:
            f.step(stepper(n), name=n)
        f.on_success(done)
        return f
    v1 = build(1, ["a", "b", "c"])
    kept = build(2, ["x", "y"], older={1: v1})
    mapped = build(2, ["a2", "b2", "c2"], renamed_steps={1: {"a": "a2", "b": "b2", "c": "c2"}})
    return v1, kept, mapped


@pytest.mark.parametrize("upgrade", ["kept", "mapped"])
def test_a_task_started_on_flow_v1_finishes_on_code_that_has_v2(database, upgrade):
    from taskvisor.runtime import Runtime
    from taskvisor.tasks.runner import TaskRunner
    v1, kept, mapped = _upgrade_flows()
    old_code, new_code = Flows(v1), Flows(kept if upgrade == "kept" else mapped)
    task = queue_server_task(database, "upgrade_test", old_code.get("upgrade_test").version)
    sid = task["resource_id"]
    GATES[task["id"]] = threading.Event()
    # old code: runs step a, hangs in b, stops heartbeating (its process is replaced)
    old_store = TaskStore(database, "old", lease_seconds=0.3)
    [old_claim] = old_store.claim(1)
    old_runner = TaskRunner(Runtime(make_conf(), database, InProcessTransport(), "old", old_code), old_store, old_code)
    thread = threading.Thread(target=old_runner.run, args=(old_claim,))
    thread.start()
    wait_for(lambda: "b" in CALLS.get(task["id"], []), 10, "the old code to reach step b")
    # new code, which also has v2, takes the task over and finishes it on v1
    new_store = TaskStore(database, "new", lease_seconds=10)
    [claim] = wait_for(lambda: new_store.claim(1), 10, "the old lease to expire")
    runner = TaskRunner(Runtime(make_conf(), database, InProcessTransport(), "new", new_code), new_store, new_code)
    assert runner.run(claim) == "succeeded", row(database, tasks, task["id"])
    expected = ["a", "b", "b", "c"] if upgrade == "kept" else ["a", "b", "b2", "c2"]
    assert CALLS[task["id"]] == expected
    GATES[task["id"]].set()
    thread.join(10)
    assert row(database, tasks, task["id"])["status"] == "succeeded"  # the old runner was fenced
    assert row(database, servers, sid)["vm_state"] == "active"
    # a new task on the new code uses v2
    assert new_code.get("upgrade_test").version == 2


def test_a_task_of_a_version_nobody_keeps_fails_clearly(database):
    from taskvisor.runtime import Runtime
    from taskvisor.tasks.runner import TaskRunner
    v1, _kept, _mapped = _upgrade_flows()
    v3 = Flow("upgrade_test", version=3, action="test")
    v3.step(lambda ctx: None, name="z")
    code = Flows(v3)
    task = queue_server_task(database, "upgrade_test", 1)
    store = TaskStore(database, "x", lease_seconds=10)
    [claim] = store.claim(1)
    assert TaskRunner(Runtime(make_conf(), database, InProcessTransport(), "x", code), store, code).run(claim) == "failed"
    assert "keeps no definition of" in row(database, tasks, task["id"])["error"]["message"]
