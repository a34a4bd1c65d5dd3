"""The durable task engine on SQLite and PostgreSQL: claims, leases,
fencing, checkpoints, resume, revert, ordering and version checks."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, update

from taskvisor.config import Config
from taskvisor.db.models import servers, tasks
from taskvisor.rpc.inprocess import InProcessTransport
from taskvisor.runtime import Runtime
from taskvisor.tasks.flow import Fenced, Flow, Flows
from taskvisor.tasks.runner import TaskRunner
from taskvisor.tasks.store import TaskStore, insert_task, new_task_row
from tests.dbs import database, queue_server_task  # noqa: F401  (fixture)
from tests.procs import wait_for

CALLS: dict[str, list[str]] = {}
GATES: dict[str, threading.Event] = {}

flow = Flow("engine_test", version=3, action="test")


@flow.step(task_state="one")
def first(ctx):
    CALLS.setdefault(ctx.task["id"], []).append("first")
    ctx.store["seen"] = ctx.store.get("seen", 0) + 1
    ctx.update(progress=10)
    return {"n": 1}


@flow.step(task_state="two")
def second(ctx):
    CALLS.setdefault(ctx.task["id"], []).append("second")
    gate = GATES.get(ctx.task["id"])
    if gate is not None and not gate.wait(10):
        raise RuntimeError("gate never opened")
    if ctx.params.get("fail"):
        raise RuntimeError("second step broke")
    return {"n": 2}


@second.revert
def undo_second(ctx):
    CALLS.setdefault(ctx.task["id"], []).append("undo_second")


@flow.step
def third(ctx):
    CALLS.setdefault(ctx.task["id"], []).append("third")
    ctx.update(vm_state="active", task_state=None)


@flow.on_failure
def failed(ctx, error):
    ctx.update(vm_state="error", task_state=None)


def conf() -> Config:
    return Config().copy(conductor__lease_seconds=1.0, conductor__retry_backoff=0.01)


def make_server(db, params=None, flow_name="engine_test", version=3) -> dict:
    return queue_server_task(db, flow_name, version, params)


def runner_for(db, host="c1") -> tuple[TaskStore, TaskRunner]:
    store = TaskStore(db, host, lease_seconds=1.0)
    flows = Flows(flow)  # the engine runs only the flows it is handed
    return store, TaskRunner(Runtime(conf(), db, InProcessTransport(), host, flows), store, flows)


def task_row(db, task_id) -> dict:
    with db.read() as conn:
        return dict(conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().one())


def server_row(db, server_id) -> dict:
    with db.read() as conn:
        return dict(conn.execute(select(servers).where(servers.c.id == server_id)).mappings().one())


def test_claim_run_and_checkpoint(database):
    task = make_server(database)
    store, runner = runner_for(database)
    [claim] = store.claim(10)
    assert claim.task["id"] == task["id"] and claim.generation == 1
    assert runner.run(claim) == "succeeded"
    assert CALLS[task["id"]] == ["first", "second", "third"]
    row = task_row(database, task["id"])
    assert row["status"] == "succeeded" and row["progress"] == 100 and row["store"]["seen"] == 1
    steps = store.steps(task["id"])
    assert [(s["name"], s["status"], s["attempt"]) for s in steps.values()] == [
        ("first", "succeeded", 1), ("second", "succeeded", 1), ("third", "succeeded", 1)]
    server = server_row(database, task["resource_id"])
    assert server["vm_state"] == "active" and server["task_state"] is None and server["progress"] == 10


def test_only_one_of_many_claimers_gets_a_task(database):
    tasks_made = [make_server(database) for _ in range(20)]
    stores = [TaskStore(database, f"c{i}", lease_seconds=30) for i in range(4)]
    results: list = []

    def grab(store):
        for _ in range(5):
            results.extend(c.task["id"] for c in store.claim(3))

    threads = [threading.Thread(target=grab, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(t["id"] for t in tasks_made)  # each claimed exactly once


def test_expired_lease_is_taken_over_and_resumes_at_the_step_in_flight(database):
    task = make_server(database)
    GATES[task["id"]] = threading.Event()
    store_a, runner_a = runner_for(database, "a")
    [claim_a] = store_a.claim(1)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("a", runner_a.run(claim_a)))
    thread.start()
    wait_for(lambda: "second" in CALLS.get(task["id"], []), 30, "conductor a to reach step two")
    # conductor a "pauses" in step two: no heartbeats, so its lease runs out
    store_b, runner_b = runner_for(database, "b")
    assert store_b.claim(1) == []
    [claim_b] = wait_for(lambda: store_b.claim(1), 30, "a's lease to run out and b to claim the task")
    assert claim_b.generation == 2
    GATES[task["id"]].set()
    assert runner_b.run(claim_b) == "succeeded"
    thread.join(5)
    assert outcome["a"] == "fenced"  # a woke up, could not write, dropped the task
    assert CALLS[task["id"]] == ["first", "second", "second", "third"]
    steps = store_b.steps(task["id"])
    assert steps[1]["attempt"] == 2 and steps[0]["attempt"] == 1
    row = task_row(database, task["id"])
    assert row["status"] == "succeeded" and row["takeovers"] == 1 and row["owner"] == "b"


def test_a_fenced_writer_changes_nothing(database):
    task = make_server(database)
    store_a, _ = runner_for(database, "a")
    [claim_a] = store_a.claim(1)
    store_a.begin_step(claim_a, 0, "first", "a")
    with database.write() as conn:  # another conductor took the task over
        conn.execute(update(tasks).where(tasks.c.id == task["id"]).values(generation=claim_a.generation + 1))
    with pytest.raises(Fenced):
        store_a.end_step(claim_a, 0, "succeeded", host="a", resource_updates={"vm_state": "active"})
    assert server_row(database, task["resource_id"])["vm_state"] == "building"
    assert store_a.steps(task["id"])[0]["status"] == "running"


def test_heartbeat_keeps_the_lease(database):
    task = make_server(database)
    store_a, _ = runner_for(database, "a")
    [claim] = store_a.claim(1)
    first_expiry = claim.task["lease_expires"]
    store_b, _ = runner_for(database, "b")
    # heartbeat past the lease a claimed with: each one moves it on, so b never gets the task
    while time.time() < first_expiry + 0.5:
        assert store_a.heartbeat() == 1
        assert store_b.claim(1) == []
        time.sleep(0.05)
    assert task_row(database, task["id"])["lease_expires"] > first_expiry
    assert task_row(database, task["id"])["owner"] == "a"


def test_restarted_conductor_reclaims_its_own_tasks_at_once(database):
    task = make_server(database)
    old, _ = runner_for(database, "same-host")
    old.claim(1)  # the previous incarnation held it when it died
    new_store, new_runner = runner_for(database, "same-host")  # new incarnation, lease not expired yet
    [claim] = new_store.claim(1)
    assert claim.task["id"] == task["id"]
    assert new_runner.run(claim) == "succeeded"


def test_failure_reverts_completed_steps_then_runs_on_failure(database):
    task = make_server(database, params={"fail": True})
    store, runner = runner_for(database)
    [claim] = store.claim(1)
    assert runner.run(claim) == "reverted"
    assert CALLS[task["id"]] == ["first", "second", "undo_second"]
    row = task_row(database, task["id"])
    assert row["error"]["message"].startswith("step second failed") and "second step broke" in row["error"]["message"]
    assert "RuntimeError" in row["error_traceback"]
    assert [s["status"] for s in store.steps(task["id"]).values()] == ["succeeded", "reverted"]
    assert server_row(database, task["resource_id"])["vm_state"] == "error"


def test_tasks_of_one_resource_run_in_order(database):
    first_task = make_server(database)
    later = new_task_row(resource_type="server", resource_id=first_task["resource_id"], action="test",
                         flow="engine_test", flow_version=3)
    with database.write() as conn:
        insert_task(conn, later)
    store, runner = runner_for(database)
    claims = store.claim(10)
    assert [c.task["id"] for c in claims] == [first_task["id"]]
    runner.run(claims[0])
    with database.write() as conn:
        conn.execute(update(servers).where(servers.c.id == later["resource_id"]).values(task_id=later["id"]))
    assert [c.task["id"] for c in store.claim(10)] == [later["id"]]


def test_a_task_from_another_flow_version_fails_clearly(database):
    task = make_server(database, version=2)
    store, runner = runner_for(database)
    [claim] = store.claim(1)
    assert runner.run(claim) == "failed"
    row = task_row(database, task["id"])
    assert "engine_test v2" in row["error"]["message"] and "v3" in row["error"]["message"]
    assert server_row(database, task["resource_id"])["vm_state"] == "error"


def test_a_renamed_step_is_detected_not_guessed(database):
    task = make_server(database)
    store, runner = runner_for(database)
    [claim] = store.claim(1)
    store.begin_step(claim, 0, "old_first_name", "c1")
    assert runner.run(claim) == "failed"
    assert "old_first_name" in task_row(database, task["id"])["error"]["message"]


# A cancel asked for during a step that cannot stop (a node's abort) is seen
# by the next step: its first ask is answered by what the checkpoint that
# started it read back (tasks.cancel_requested), later asks read again.
asked = Flow("engine_cancel_seen", version=1, action="test")


@asked.step
def busy(ctx):
    with ctx.runtime.db.write() as conn:  # the API's abort, while this step runs
        conn.execute(update(tasks).where(tasks.c.id == ctx.task["id"]).values(cancel_requested=True))
    return {}


@asked.step
def looks(ctx):
    first = ctx.cancel_requested()
    with ctx.runtime.db.write() as conn:  # withdrawn (a test-only move): the next ask must read it
        conn.execute(update(tasks).where(tasks.c.id == ctx.task["id"]).values(cancel_requested=False))
    return {"first": first, "then": ctx.cancel_requested()}


def test_the_checkpoint_hands_the_cancel_flag_to_the_step_it_starts(database):
    task = queue_server_task(database, "engine_cancel_seen", 1, None)
    store = TaskStore(database, "c1", lease_seconds=1.0)
    flows = Flows(asked)
    runner = TaskRunner(Runtime(conf(), database, InProcessTransport(), "c1", flows), store, flows)
    [claim] = store.claim(10)
    assert runner.run(claim) == "succeeded"
    assert store.steps(task["id"])[1]["details"] == {"first": True, "then": False}
