"""Node traits and allocations over HTTP: Ironic's shapes, microversion
gates, errors and owner scoping; an allocation is a task that reserves one
matching node, and parallel allocations never share a node."""
from __future__ import annotations

import threading

import pytest

from tests.functional.baremetal import Baremetal, fault
from tests.procs import poll_until

OWNER_ADMIN = {"X-Project-Id": "projA", "X-User-Id": "anna", "X-Roles": "admin"}
MEMBER_A = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
MEMBER_B = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member"}


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def _ready(bm: Baremetal, name: str, rc: str = "gold", traits: list[str] | None = None, **fields) -> dict:
    """An available node with a power state (Ironic's allocation needs one)."""
    node = bm.available(name, resource_class=rc, **fields)
    if traits:
        assert bm.req("PUT", f"/nodes/{node['uuid']}/traits", {"traits": traits}).status_code == 204
    resp = bm.power(node["uuid"], "power off")
    assert resp.status_code == 202, resp.text
    bm.wait_task(resp.headers["X-Taskvisor-Task"])
    return bm.node(node["uuid"])


def _wait(bm: Baremetal, ident: str, headers: dict | None = None) -> dict:
    return poll_until(lambda: bm.req("GET", f"/allocations/{ident}", headers=headers).json(),
                      lambda a: a.get("state") != "allocating", 30, lambda a: f"still allocating: {a}", 0.02)


# -- traits ---------------------------------------------------------------------------------------
def test_traits_set_add_list_remove(bm):
    node = bm.create("t1")
    path = f"/nodes/{node['uuid']}/traits"
    assert bm.req("GET", path).json() == {"traits": []}
    assert bm.req("PUT", path, {"traits": ["HW_CPU_X86_VMX", "CUSTOM_A", "CUSTOM_A"]}).status_code == 204
    assert bm.req("GET", path).json() == {"traits": ["CUSTOM_A", "HW_CPU_X86_VMX"]}
    added = bm.req("PUT", f"{path}/CUSTOM_B", {})
    assert added.status_code == 204 and added.headers["Location"].endswith(f"{path}/CUSTOM_B")
    assert bm.req("PUT", f"{path}/CUSTOM_B").status_code == 204  # again: no change, no error
    assert bm.node(node["uuid"])["traits"] == ["CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_VMX"]
    listed = bm.req("GET", "/nodes?fields=uuid,traits").json()["nodes"]
    assert listed[0]["traits"] == ["CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_VMX"]
    assert bm.req("GET", "/nodes/detail").json()["nodes"][0]["traits"] == ["CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_VMX"]
    assert bm.req("DELETE", f"{path}/CUSTOM_A").status_code == 204
    missing = bm.req("DELETE", f"{path}/CUSTOM_A")
    assert missing.status_code == 404 and fault(missing) == f"Node {node['uuid']} doesn't have a trait 'CUSTOM_A'"
    assert bm.req("DELETE", path).status_code == 204
    assert bm.req("GET", path).json() == {"traits": []}
    # the node's traits go with it
    bm.req("PUT", path, {"traits": ["CUSTOM_GONE"]})
    assert bm.req("DELETE", f"/nodes/{node['uuid']}").status_code == 204
    again = bm.create("t1")
    assert bm.req("GET", f"/nodes/{again['uuid']}/traits").json() == {"traits": []}


def test_bad_traits_are_400_and_change_nothing(bm):
    node = bm.create("t2")
    path = f"/nodes/{node['uuid']}/traits"
    for bad in (["lowercase"], ["NOT_A_STANDARD_TRAIT"], ["CUSTOM_" + "A" * 249], [1], "CUSTOM_A"):
        resp = bm.req("PUT", path, {"traits": bad})
        assert resp.status_code == 400, (bad, resp.text)
        fault(resp)
    assert bm.req("PUT", f"{path}/custom_lower").status_code == 400
    assert bm.req("PUT", f"{path}/{'CUSTOM_' + 'A' * 248}").status_code == 204  # 255 characters: the limit
    assert bm.req("PUT", path, {}).status_code == 400  # neither a trait nor a list
    assert bm.req("PUT", path, {"traits": [], "x": 1}).status_code == 400
    assert bm.req("PUT", f"{path}/CUSTOM_X", {"traits": []}).status_code == 400  # no body with one trait
    fifty = [f"CUSTOM_T{i}" for i in range(50)]
    assert bm.req("PUT", path, {"traits": fifty}).status_code == 204
    over = bm.req("PUT", f"{path}/CUSTOM_T50")
    assert over.status_code == 400 and "(51 vs. 50)" in fault(over)
    assert bm.req("PUT", path, {"traits": fifty + ["CUSTOM_T50"]}).status_code == 400
    assert sorted(bm.req("GET", path).json()["traits"]) == sorted(fifty)


def test_traits_microversion_and_owner_scoping(bm, cloud):
    node = bm.create("t3", owner="projA")
    path = f"/nodes/{node['uuid']}/traits"
    old = Baremetal(cloud, "1.36")
    # Ironic's answers before 1.37 differ by method (ironic-tempest-plugin checks each)
    assert old.req("GET", path).status_code == 406
    assert old.req("PUT", path, {"traits": ["CUSTOM_A"]}).status_code == 405
    assert old.req("PUT", f"{path}/CUSTOM_A").status_code == 405
    assert old.req("DELETE", path).status_code == 404
    assert old.req("DELETE", f"{path}/CUSTOM_A").status_code == 404
    assert all("traits" not in n for n in old.req("GET", "/nodes/detail").json()["nodes"])
    assert "traits" not in old.node(node["uuid"])
    assert bm.req("GET", path, headers=MEMBER_B).status_code == 404  # another project never sees it
    assert bm.req("GET", path, headers=MEMBER_A).status_code == 200
    assert bm.req("PUT", path, {"traits": ["CUSTOM_A"]}, headers=MEMBER_A).status_code == 403  # owner's admin only
    assert bm.req("PUT", path, {"traits": ["CUSTOM_A"]}, headers=OWNER_ADMIN).status_code == 204
    assert bm.req("DELETE", path, headers=MEMBER_A).status_code == 403
    assert bm.req("GET", "/nodes/no-such/traits").status_code == 404


# -- allocations ----------------------------------------------------------------------------------
def test_allocation_reserves_a_matching_node_as_a_task(any_db_cloud):
    bm = Baremetal(any_db_cloud)
    node = _ready(bm, "a1", traits=["CUSTOM_FAST"])
    _ready(bm, "a2")  # same class, without the trait
    assert node["allocation_uuid"] is None
    made = bm.req("POST", "/allocations", {"resource_class": "gold", "traits": ["CUSTOM_FAST"], "name": "alloc-1",
                                           "extra": {"k": "v"}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "allocating" and body["node_uuid"] is None and body["last_error"] is None
    assert body["traits"] == ["CUSTOM_FAST"] and body["candidate_nodes"] == [] and body["owner"] is None
    assert made.headers["Location"].endswith(f"/v1/allocations/{body['uuid']}")
    assert set(body) == {"uuid", "name", "node_uuid", "state", "last_error", "resource_class", "traits",
                         "candidate_nodes", "extra", "owner", "created_at", "updated_at", "links"}
    task = bm.wait_task(made.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded" and task["resource_type"] == "allocation", task
    done = _wait(bm, "alloc-1")
    assert bm.req("GET", "/allocations/alloc-1").json() == done  # its task's end changes nothing shown
    assert done["state"] == "active" and done["node_uuid"] == node["uuid"]
    shown = bm.node(node["uuid"])
    assert shown["allocation_uuid"] == body["uuid"] and shown["instance_uuid"] == body["uuid"]
    assert shown["instance_info"]["traits"] == ["CUSTOM_FAST"]
    assert bm.req("GET", f"/nodes/{node['uuid']}/allocation").json() == done
    unversioned = bm.client.get(f"/baremetal/nodes/{node['uuid']}/allocation", headers=bm.headers)
    assert unversioned.json() == done  # Ironic serves a path without /v1 as v1
    node_tasks = bm.req("GET", f"/nodes/{node['uuid']}/tasks").json()["tasks"]
    assert task["id"] in [t["id"] for t in node_tasks]
    # lists and filters
    assert [a["uuid"] for a in bm.req("GET", "/allocations?state=active").json()["allocations"]] == [body["uuid"]]
    assert bm.req("GET", "/allocations?state=error").json()["allocations"] == []
    assert bm.req("GET", "/nodes/no-such-node/allocation").status_code == 400  # as Ironic: a bad node filter
    assert bm.req("DELETE", "/nodes/no-such-node/allocation").status_code == 404
    assert [a["uuid"] for a in bm.req("GET", "/allocations?node=a1").json()["allocations"]] == [body["uuid"]]
    assert bm.req("GET", "/allocations?resource_class=silver").json()["allocations"] == []
    assert set(bm.req("GET", "/allocations?fields=uuid,state").json()["allocations"][0]) == {"uuid", "state", "links"}
    # patch (1.57+): name and extra only
    patched = bm.req("PATCH", "/allocations/alloc-1", [{"op": "replace", "path": "/name", "value": "renamed"},
                                                       {"op": "add", "path": "/extra/x", "value": 1}])
    assert patched.status_code == 200 and patched.json()["name"] == "renamed"
    assert patched.json()["extra"] == {"k": "v", "x": 1}
    bad = bm.req("PATCH", "/allocations/renamed", [{"op": "replace", "path": "/resource_class", "value": "x"}])
    assert bad.status_code == 400
    # delete frees the node
    assert bm.req("DELETE", "/allocations/renamed").status_code == 204
    assert bm.req("GET", f"/allocations/{body['uuid']}").status_code == 404
    freed = bm.node(node["uuid"])
    assert freed["allocation_uuid"] is None and freed["instance_uuid"] is None


def test_no_candidate_means_error_state_with_ironics_message(bm):
    _ready(bm, "e1", rc="gold")
    cases = [({"resource_class": "platinum"}, "no available nodes match the resource class platinum"),
             ({"resource_class": "gold", "traits": ["CUSTOM_NOPE"]},
              "no suitable nodes have the requested traits CUSTOM_NOPE")]
    for body, reason in cases:
        made = bm.req("POST", "/allocations", body).json()
        done = _wait(bm, made["uuid"])
        assert done["state"] == "error" and done["node_uuid"] is None
        assert done["last_error"] == f"Failed to process allocation {made['uuid']}: {reason}."
    other = bm.create("e2", resource_class="bronze")
    made = bm.req("POST", "/allocations", {"resource_class": "gold", "candidate_nodes": [other["uuid"]]}).json()
    assert made["candidate_nodes"] == [other["uuid"]]
    assert "none of the requested nodes" in _wait(bm, made["uuid"])["last_error"]
    listing = bm.req("GET", "/allocations?state=error").json()["allocations"]
    assert len(listing) == 3


def test_candidate_nodes_by_name_and_errors(bm):
    node = _ready(bm, "c1")
    _ready(bm, "c2")
    made = bm.req("POST", "/allocations", {"resource_class": "gold", "candidate_nodes": ["c1"]})
    assert made.status_code == 201 and made.json()["candidate_nodes"] == [node["uuid"]]
    assert _wait(bm, made.json()["uuid"])["node_uuid"] == node["uuid"]
    missing = bm.req("POST", "/allocations", {"resource_class": "gold", "candidate_nodes": ["nope"]})
    assert missing.status_code == 400 and fault(missing) == "Nodes cannot be found: nope"
    for body in ({}, {"resource_class": "gold", "traits": ["bad"]}, {"resource_class": "gold", "colour": 1},
                 {"resource_class": "gold", "name": "not valid"}, {"resource_class": "gold", "uuid": "x"}):
        resp = bm.req("POST", "/allocations", body)
        assert resp.status_code == 400, (body, resp.text)
        fault(resp)
    dup = bm.req("POST", "/allocations", {"resource_class": "gold", "name": "same"})
    assert dup.status_code == 201
    again = bm.req("POST", "/allocations", {"resource_class": "gold", "name": "same"})
    assert again.status_code == 409 and fault(again) == "An allocation with name same already exists."
    again = bm.req("POST", "/allocations", {"resource_class": "gold", "uuid": dup.json()["uuid"]})
    assert again.status_code == 409


def test_parallel_allocations_never_share_a_node(any_db_cloud):
    bm = Baremetal(any_db_cloud)
    nodes = [_ready(bm, f"p{i}") for i in range(3)]
    made: list[dict] = []
    lock = threading.Lock()

    def allocate():
        resp = bm.req("POST", "/allocations", {"resource_class": "gold"})
        with lock:
            made.append(resp.json())
    threads = [threading.Thread(target=allocate) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [_wait(bm, a["uuid"]) for a in made]
    active = [a for a in results if a["state"] == "active"]
    assert len(active) == 3 and {a["node_uuid"] for a in active} == {n["uuid"] for n in nodes}
    assert [a["state"] for a in results].count("error") == 2


def test_backfill_and_deployed_node_keeps_its_allocation(bm):
    node = _ready(bm, "b1")
    bm.act(node["uuid"], "active")
    old = bm.req("POST", "/allocations", {"node": node["uuid"]}, headers={"X-OpenStack-Ironic-API-Version": "1.57"})
    assert old.status_code == 400
    made = bm.req("POST", "/allocations", {"node": "b1"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "active" and body["node_uuid"] == node["uuid"] and body["resource_class"] == "gold"
    assert "X-Taskvisor-Task" not in made.headers
    assert bm.node(node["uuid"])["allocation_uuid"] == body["uuid"]
    twice = bm.req("POST", "/allocations", {"node": "b1"})
    assert twice.status_code == 409
    busy = bm.req("DELETE", f"/nodes/{node['uuid']}/allocation")
    assert busy.status_code == 409
    assert fault(busy) == (f"Cannot remove allocation {body['uuid']} for node {node['uuid']}, because the node is "
                           "active (and maintenance mode is off)")
    other = _ready(bm, "b2")
    wrong = bm.req("POST", "/allocations", {"node": other["uuid"]})
    assert wrong.status_code == 400 and 'Node must be in the "active" state' in fault(wrong)
    assert bm.req("GET", "/allocations").json()["allocations"] == [bm.req("GET", f"/allocations/{body['uuid']}").json()]
    bm.act(node["uuid"], "deleted")  # tearing the node down ends its allocation, as in Ironic
    bm.wait_state(node["uuid"], "available")
    assert bm.req("GET", f"/allocations/{body['uuid']}").status_code == 404
    assert bm.node(node["uuid"])["instance_uuid"] is None


def test_removing_instance_uuid_removes_the_allocation(bm):
    node = _ready(bm, "i1")
    made = bm.req("POST", "/allocations", {"resource_class": "gold"}).json()
    assert _wait(bm, made["uuid"])["node_uuid"] == node["uuid"]
    other = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    taken = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "replace", "path": "/instance_uuid", "value": other}])
    assert taken.status_code == 409 and fault(taken) == f"Node {node['uuid']} is associated with instance {made['uuid']}."
    resp = bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "remove", "path": "/instance_uuid"}])
    assert resp.status_code == 200, resp.text
    assert resp.json()["allocation_uuid"] is None and resp.json()["instance_uuid"] is None
    assert bm.req("GET", f"/allocations/{made['uuid']}").status_code == 404


def test_microversions(bm, cloud):
    _ready(bm, "m1")
    made = bm.req("POST", "/allocations", {"resource_class": "gold"}).json()
    old = Baremetal(cloud, "1.51")
    assert old.req("GET", "/allocations").status_code == 404
    assert old.req("GET", f"/allocations/{made['uuid']}").status_code == 404
    assert old.req("POST", "/allocations", {"resource_class": "gold"}).status_code == 405
    assert old.req("DELETE", f"/allocations/{made['uuid']}").status_code == 405
    assert old.req("GET", "/nodes/m1/allocation").status_code == 404
    assert "allocation_uuid" not in old.node("m1")
    v56 = Baremetal(cloud, "1.56")
    assert v56.req("PATCH", f"/allocations/{made['uuid']}", [{"op": "add", "path": "/extra/a", "value": 1}]
                   ).status_code == 405
    v59 = Baremetal(cloud, "1.59")
    assert "owner" not in v59.req("GET", f"/allocations/{made['uuid']}").json()
    assert v59.req("GET", "/allocations?owner=x").status_code == 406
    assert v59.req("POST", "/allocations", {"resource_class": "gold", "owner": "x"}).status_code == 406
    assert Baremetal(cloud, "1.90").req("GET", f"/allocations/{made['uuid']}.json").status_code == 200
    assert bm.req("GET", f"/allocations/{made['uuid']}.json").status_code == 404


def test_owner_scoping(bm):
    mine = _ready(bm, "o1", owner="projA")
    _ready(bm, "o2")  # nobody's: a project's allocation never gets it
    made = bm.req("POST", "/allocations", {"resource_class": "gold"}, headers=MEMBER_A)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["owner"] == "projA"
    assert _wait(bm, body["uuid"], MEMBER_A)["node_uuid"] == mine["uuid"]
    assert bm.req("GET", f"/allocations/{body['uuid']}", headers=MEMBER_B).status_code == 404
    assert bm.req("DELETE", f"/allocations/{body['uuid']}", headers=MEMBER_B).status_code == 404
    assert bm.req("PATCH", f"/allocations/{body['uuid']}", [{"op": "add", "path": "/extra/a", "value": 1}],
                  headers=MEMBER_B).status_code == 404
    assert bm.req("GET", "/allocations", headers=MEMBER_B).json()["allocations"] == []
    assert bm.req("GET", "/allocations?owner=projA", headers=MEMBER_B).status_code == 403
    assert [a["uuid"] for a in bm.req("GET", "/allocations", headers=MEMBER_A).json()["allocations"]] == [body["uuid"]]
    for_other = bm.req("POST", "/allocations", {"resource_class": "gold", "owner": "projB"}, headers=MEMBER_A)
    assert for_other.status_code == 403
    reader = {**MEMBER_A, "X-Roles": "reader"}
    assert bm.req("POST", "/allocations", {"resource_class": "gold"}, headers=reader).status_code == 403
    assert bm.req("GET", f"/nodes/{mine['uuid']}/allocation", headers=MEMBER_A).status_code == 200
    assert bm.req("DELETE", f"/nodes/{mine['uuid']}/allocation", headers=MEMBER_A).status_code == 204
    assert bm.node(mine["uuid"])["instance_uuid"] is None


def test_delete_while_allocating_leaves_no_reserved_node(bm):
    node = _ready(bm, "d1")
    for _ in range(5):
        made = bm.req("POST", "/allocations", {"resource_class": "gold"})
        assert bm.req("DELETE", f"/allocations/{made.json()['uuid']}").status_code == 204
        task = bm.wait_task(made.headers["X-Taskvisor-Task"])
        assert task["status"] in ("succeeded", "failed", "cancelled"), task
        assert bm.node(node["uuid"])["instance_uuid"] is None
    assert bm.req("GET", "/allocations").json()["allocations"] == []


def test_racing_reservations_of_one_node_one_wins(any_db_cloud):
    """The reservation's compare-and-swap itself, from many threads at once
    on the same node: exactly one transaction takes it."""
    from taskvisor.db.models import allocations
    from taskvisor.db.session import utcnow
    from taskvisor.flows.bm_allocate import _Gone, _reserve
    from sqlalchemy import insert
    bm = Baremetal(any_db_cloud)
    node = _ready(bm, "r1")
    db = any_db_cloud.node.db
    rows = []
    for i in range(6):
        row = {"id": f"00000000-0000-0000-0000-00000000000{i}", "name": None, "node_id": None,
               "state": "allocating", "owner": None, "last_error": None, "resource_class": "gold", "traits": [],
               "candidate_nodes": [], "extra": {}, "task_id": f"task-{i}", "created_at": utcnow(), "updated_at": None}
        with db.write() as conn:
            conn.execute(insert(allocations).values(**row))
        rows.append(row)
    outcomes: list = []
    barrier = threading.Barrier(len(rows))

    def reserve(row):
        barrier.wait()
        try:
            with db.write() as conn:
                outcomes.append(_reserve(conn, row, row["task_id"], node["uuid"]))
        except _Gone:
            outcomes.append("gone")
    threads = [threading.Thread(target=reserve, args=(r,)) for r in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("taken") == 1 and outcomes.count(None) == 5, outcomes
    winner = bm.node(node["uuid"])["instance_uuid"]
    active = [a for a in bm.req("GET", "/allocations?state=active").json()["allocations"]]
    assert [a["uuid"] for a in active] == [winner] and active[0]["node_uuid"] == node["uuid"]


def test_a_resumed_allocation_task_keeps_the_node_it_reserved(bm, cloud):
    """A conductor that died after the reservation committed, before its
    checkpoint: the task runs its step again and must not look for (or fail
    to find) another node."""
    from sqlalchemy import insert, update as sql_update
    from taskvisor.db.models import allocations, nodes
    from taskvisor.db.session import utcnow
    from taskvisor.tasks.store import insert_task, new_task_row
    node = _ready(bm, "z1")
    alloc_id = "11111111-2222-3333-4444-555555555555"
    task = new_task_row(resource_type="allocation", resource_id=alloc_id, action="allocate", flow="bm_allocate",
                        flow_version=1)
    with cloud.node.db.write() as conn:  # what the first run's reservation left behind
        conn.execute(insert(allocations).values(
            id=alloc_id, name=None, node_id=node["uuid"], state="active", owner=None, last_error=None,
            resource_class="gold", traits=[], candidate_nodes=[], extra={}, task_id=task["id"],
            created_at=utcnow(), updated_at=utcnow()))
        conn.execute(sql_update(nodes).where(nodes.c.id == node["uuid"]).values(instance_uuid=alloc_id))
        insert_task(conn, task)
    cloud.node.app().state.tv.wake_conductors()
    done = bm.wait_task(f"http://x/baremetal/v1/tasks/{task['id']}")
    assert done["status"] == "succeeded", done
    shown = bm.req("GET", f"/allocations/{alloc_id}").json()
    assert shown["state"] == "active" and shown["node_uuid"] == node["uuid"] and shown["last_error"] is None
