"""Issue 14: every task ends, once. Findings 3 (one task per intent) and the
ones that need a whole cloud in this process."""
from __future__ import annotations

import json
import threading
import uuid

import pytest
import sqlalchemy

from tests.dbs import create_postgres_database, drop_postgres_database
from tests.procs import wait_for
from tests.threads import together


@pytest.mark.parametrize("how", ["DELETE", "forceDelete"])
def test_twenty_concurrent_deletes_make_one_task(any_db_cloud, how):
    cloud = any_db_cloud
    server_id = cloud.boot()
    in_flight = threading.Event()
    cloud.driver.inject("destroy", hold=in_flight)  # every delete destroys: it stays in flight until every caller has an answer

    def delete():
        if how == "DELETE":
            return cloud.delete(f"/servers/{server_id}")
        return cloud.action(server_id, {"forceDelete": None})
    try:
        responses = together(20, delete)
    finally:
        in_flight.set()
    assert {r.status_code for r in responses} == {204 if how == "DELETE" else 202}, [r.text for r in responses]
    urls = {r.headers["X-Taskvisor-Task"] for r in responses}
    assert len(urls) == 1, urls
    tasks = cloud.get(f"/servers/{server_id}/tasks").json()["tasks"]
    assert [t["action"] for t in tasks].count("delete") == 1, [(t["action"], t["status"]) for t in tasks]
    assert cloud.wait_task(urls.pop())["status"] == "succeeded"


# -- finding 4: a database that cannot give a connection answers 503 -----------
def test_exhausted_pool_answers_503_with_retry_after(cloud_factory):
    cloud = cloud_factory(database__max_pool_size=1, database__max_overflow=0, database__pool_timeout=0.3,
                          database__retry_after=7)
    db = cloud.node.db
    held = [db.reader.connect()] + ([db.writer.connect()] if db.writer is not db.reader else [])
    try:
        resp = cloud.get("/servers")
        assert resp.status_code == 503, resp.text
        assert resp.headers["Retry-After"] == "7"
        assert resp.json()["serviceUnavailable"]["code"] == 503
        resp = cloud.client.get("/baremetal/v1/nodes", headers={"X-OpenStack-Ironic-API-Version": "1.80"})
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "7"
        fault = json.loads(resp.json()["error_message"])
        assert fault["faultcode"] == "Server" and "busy" in fault["faultstring"]
    finally:
        for conn in held:
            conn.close()
    assert cloud.get("/servers").status_code == 200


def test_postgres_refusing_connections_answers_503(cloud_factory):
    """PostgreSQL's own limit: the connect fails with 'too many connections'
    (SQLSTATE 53300, as with max_connections), which is 503, not 500. The
    cloud connects as a role of its own so the limit applies (a superuser
    is exempt)."""
    url = create_postgres_database()
    name = url.rsplit("/", 1)[1]
    role = f"tv_role_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")

    def sql(statement):
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(statement))
    sql(f'CREATE ROLE "{role}" LOGIN')
    try:
        sql(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
        role_url = url.replace("://postgres@", f"://{role}@")
        cloud = cloud_factory(database__connection=role_url, database__max_pool_size=2,
                              database__max_overflow=0)
        cloud.boot()
        sql(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
        cloud.node.db.writer.dispose()  # the pool's open connections go; new ones meet the limit
        try:
            resp = cloud.get("/servers")
            assert resp.status_code == 503, resp.text
            assert "Retry-After" in resp.headers and "serviceUnavailable" in resp.json()
        finally:
            sql(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
        assert cloud.get("/servers").status_code == 200
    finally:
        drop_postgres_database(url)
        sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


# -- finding 1 through the API: the dead-letter view and an admin's retry ------
from sqlalchemy import insert as _insert  # noqa: E402

from taskvisor.db.models import servers as _servers  # noqa: E402
from taskvisor.db.session import utcnow  # noqa: E402
from taskvisor.tasks.flow import Flow, Flows  # noqa: E402
from taskvisor.tasks.store import insert_task, new_task_row  # noqa: E402

BROKEN = {"until": 0, "calls": 0}
crash_flow = Flow("crashing_success_test", version=1, action="create")


@crash_flow.step(task_state="spawning")
def only_step(ctx):
    ctx.update(power_state=1)


@crash_flow.on_success
def buggy_success(ctx):
    BROKEN["calls"] += 1
    if BROKEN["calls"] <= BROKEN["until"]:
        raise RuntimeError("a bug in the success handler")
    ctx.update(vm_state="active", task_state=None)


@crash_flow.on_failure
def to_error(ctx, err):
    ctx.update(vm_state="error", task_state=None)


def test_dead_letter_view_and_admin_retry(tmp_path):
    from fastapi.testclient import TestClient

    from taskvisor.allinone import AllInOne
    from taskvisor.flows import FLOWS
    from tests.conftest import Cloud, make_conf
    node = AllInOne(make_conf(tmp_path, conductor__max_runner_crashes=2),
                    Flows(*FLOWS, crash_flow, error_states=FLOWS.error_states)).start()
    try:
        _dead_letter_view_and_admin_retry(Cloud(node, TestClient(node.app())))
    finally:
        node.stop(wait=1)


def _dead_letter_view_and_admin_retry(cloud):
    BROKEN.update(until=2, calls=0)
    sid = str(uuid.uuid4())
    task = new_task_row(resource_type="server", resource_id=sid, action="create", flow="crashing_success_test",
                        flow_version=1, project_id="admin")
    now = utcnow()
    with cloud.node.db.write() as conn:
        conn.execute(_insert(_servers), {"id": sid, "name": "buggy", "project_id": "admin", "user_id": "admin",
                                         "vm_state": "building", "task_state": "scheduling", "task_id": task["id"],
                                         "flavor": {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512,
                                                    "disk": 1}, "created_at": now, "updated_at": now})
        insert_task(conn, task)
    cloud.node.conductor.wake()
    url = f"http://testserver/compute/v2.1/tasks/{task['id']}"
    ended = cloud.wait_task(url)
    assert ended["status"] == "failed" and ended["reason"] == "runner-crashed"
    assert cloud.server(sid)["status"] == "ERROR"

    listed = cloud.get("/tasks?status=failed&reason=runner-crashed").json()["tasks"]
    assert [t["id"] for t in listed] == [task["id"]]
    from prometheus_client.parser import text_string_to_metric_families
    metrics = {(s.name, tuple(s.labels.items())): s.value
               for f in text_string_to_metric_families(cloud.client.get("/metrics").text) for s in f.samples}
    assert metrics[("taskvisor_tasks_dead_lettered", (("reason", "runner-crashed"),))] == 1
    assert cloud.get("/tasks?status=failed&reason=too-many-takeovers").json()["tasks"] == []
    bad = cloud.get("/tasks?reason=bored")
    assert bad.status_code == 400 and "badRequest" in bad.json()

    member = {"X-Roles": "member", "X-Project-Id": "admin"}
    assert cloud.post(f"/tasks/{task['id']}/action", {"retry": None}, headers=member).status_code == 403
    assert cloud.post(f"/tasks/{task['id']}/action", {"retry": None, "x": 1}).status_code == 400
    resp = cloud.post(f"/tasks/{task['id']}/action", {"retry": None})
    assert resp.status_code == 202, resp.text
    ended = cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert ended["status"] == "succeeded" and ended["reason"] is None
    assert ended["steps"][0]["attempt"] == 1  # resumed after its last checkpoint, not from scratch
    assert cloud.server(sid)["status"] == "ACTIVE"
    again = cloud.post(f"/tasks/{task['id']}/action", {"retry": None})
    assert again.status_code == 409 and "conflictingRequest" in again.json()



# -- finding 6: deleting a paused or suspended server ----------------------------
@pytest.mark.parametrize("freeze,state", [("pause", "PAUSED"), ("suspend", "SUSPENDED")])
def test_delete_of_a_frozen_server_forces_it_off_at_once_and_says_why(cloud_factory, freeze, state):
    cloud = cloud_factory(DEFAULT__shutdown_timeout=600)  # a wait for ACPI would outlast the test
    server_id = cloud.boot()
    cloud.act(server_id, {freeze: None})
    cloud.wait_status(server_id, state)
    resp = cloud.delete(f"/servers/{server_id}")
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"], timeout=120)
    assert task["status"] == "succeeded", task
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "forced" and state.lower() in details["reason"], details
    assert "ACPI" in details["reason"]
    assert cloud.driver.list_guests() == {}


# -- finding 2 (the backstop): a compute's stray guest is destroyed, as a task ---
def test_a_guest_of_a_server_assigned_elsewhere_is_reaped_by_a_task(cloud_factory):
    cloud = cloud_factory(conductor__reconcile_grace=1.0, compute__sync_power_state_interval=1)
    server_id = cloud.boot()
    keep_id = cloud.boot(name="keep")
    assert set(cloud.driver.list_guests()) == {server_id, keep_id}
    # the boot ended on another host while this one still held a copy
    # (a spawn whose answer was lost): the database assigns it elsewhere
    from sqlalchemy import update as _update
    with cloud.node.db.write() as conn:
        conn.execute(_update(_servers).where(_servers.c.id == server_id).values(host="elsewhere", node="elsewhere"))
    wait_for(lambda: server_id not in cloud.driver.list_guests(), 60, "the stray guest to be destroyed")
    assert set(cloud.driver.list_guests()) == {keep_id}  # the one it is assigned keeps its guest
    tasks = cloud.get(f"/servers/{server_id}/tasks").json()["tasks"]
    reap = [t for t in tasks if t["action"] == "reap_guest"]
    assert len(reap) == 1 and reap[0]["status"] in ("running", "succeeded"), tasks
    reap = cloud.wait_task(reap[0]["links"][0]["href"])
    assert reap["status"] == "succeeded" and reap["steps"][0]["details"]["host"] == "localhost"
    assert reap["steps"][0]["details"]["existed"] is True
    # the server itself is untouched by the clean-up
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == "elsewhere"


# -- finding 9: forced delete and shelveOffload force, end to end ----------------
V2_101 = {"OpenStack-API-Version": "compute 2.101"}


def _slow_to_shut_down(cloud, seconds: int = 600) -> None:
    resp = cloud.client.patch(f"/image/v2/images/{cloud.image_id}", json=[
        {"op": "add", "path": "/guest_shutdown_seconds", "value": str(seconds)}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("how", ["DELETE ?force=true", "forceDelete"])
def test_forced_delete_skips_the_clean_shutdown(cloud_factory, how):
    cloud = cloud_factory(DEFAULT__shutdown_timeout=3)
    _slow_to_shut_down(cloud)
    server_id = cloud.boot()
    if how == "forceDelete":
        resp = cloud.action(server_id, {"forceDelete": None})
        assert resp.status_code == 202, resp.text
    else:
        resp = cloud.delete(f"/servers/{server_id}?force=true", headers=V2_101)
        assert resp.status_code == 204, resp.text
    task = cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded" and task["params"]["force"] is True
    details = task["steps"][0]["details"]
    assert details["shutdown"] == "forced" and details["reason"] == "force requested", details
    assert cloud.get(f"/servers/{server_id}").status_code == 404 and cloud.driver.list_guests() == {}


def test_unforced_delete_asks_the_guest_first(cloud_factory):
    """The contrast: without force the guest is asked, and forced only at the timeout."""
    cloud = cloud_factory(DEFAULT__shutdown_timeout=1)
    _slow_to_shut_down(cloud)
    server_id = cloud.boot()
    task = cloud.wait_task(cloud.delete(f"/servers/{server_id}").headers["X-Taskvisor-Task"])
    assert task["steps"][0]["details"]["reason"] == "timeout"


def test_shelve_offload_force_offloads_locally_when_the_host_is_down(cloud_factory):
    cloud = cloud_factory(DEFAULT__shelved_offload_time=-1)
    server_id = cloud.boot()
    cloud.act(server_id, {"shelve": None})
    cloud.wait_status(server_id, "SHELVED")
    from sqlalchemy import update as _update

    from taskvisor.db.models import services
    with cloud.node.db.write() as conn:  # the compute is marked down (as os-services forced_down does)
        conn.execute(_update(services).where(services.c.binary == "taskvisor-compute").values(forced_down=True))
    _, task = cloud.act(server_id, {"shelveOffload": {"force": True}}, headers=V2_101)
    assert task["status"] == "succeeded", task
    assert task["steps"][0]["details"]["local"] is True and "down" in task["steps"][0]["details"]["reason"]
    from taskvisor.states import power
    assert cloud.driver.list_guests() == {server_id: power.SHUTDOWN}  # not asked: the down host keeps it for now
    assert cloud.server(server_id)["status"] == "SHELVED_OFFLOADED"
