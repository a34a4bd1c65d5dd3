"""Deploy templates (1.55) and runbooks (1.92) over HTTP: Ironic's shapes,
validation (400), duplicates (409), microversion gates, runbook owner
scoping; a deploy running its templates' steps and a manual clean by
runbook, each a task with its plan visible from the start.

Node traits are set by inserting ``node_traits`` rows (the table is their
one source of truth; the traits API is another stream's)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert

from taskvisor.baremetal import fake
from taskvisor.db.models import node_traits
from taskvisor.db.session import utcnow
from tests.functional.baremetal import Baremetal, fault

BIOS = {"interface": "bios", "step": "apply_configuration", "args": {"settings": [{"name": "ht", "value": "on"}]},
        "priority": 150}
RAID = {"interface": "raid", "step": "create_configuration", "args": {}, "priority": 50}
ADMIN_PROJECT_A = {"X-Project-Id": "projA", "X-User-Id": "ann", "X-Roles": "admin"}
MANAGER_A = {"X-Project-Id": "projA", "X-User-Id": "max", "X-Roles": "manager,member,reader"}
MANAGER_B = {"X-Project-Id": "projB", "X-User-Id": "bea", "X-Roles": "manager,member,reader"}
MEMBER_A = {"X-Project-Id": "projA", "X-User-Id": "mia", "X-Roles": "member"}
# Only a system-scoped member makes a runbook public (Ironic's default), not a project admin
SYSTEM_ADMIN = {"X-Roles": "admin", "OpenStack-System-Scope": "all"}


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


@pytest.fixture
def rb(cloud) -> Baremetal:
    """Runbooks as 1.92 to 1.111 have them: trait names, approved by name."""
    return Baremetal(cloud, "1.92")


def set_traits(cloud, node_id: str, *traits: str) -> None:
    with cloud.node.db.write() as conn:
        for trait in traits:
            conn.execute(insert(node_traits).values(node_id=node_id, trait=trait, created_at=utcnow()))


def names(task: dict) -> list[str]:
    return [s["name"] for s in task["steps"]]


# deploy templates

def test_deploy_template_crud(bm):
    made = bm.req("POST", "/deploy_templates", {"name": "CUSTOM_HT", "steps": [BIOS], "extra": {"k": "v"}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["Location"].endswith(f"/baremetal/v1/deploy_templates/{body['uuid']}")
    assert body["name"] == "CUSTOM_HT" and body["steps"] == [BIOS] and body["extra"] == {"k": "v"}
    assert body["updated_at"] is None and body["links"][0]["href"].endswith(f"/v1/deploy_templates/{body['uuid']}")
    assert set(body) == {"uuid", "name", "steps", "extra", "created_at", "updated_at", "links"}
    assert bm.req("GET", "/deploy_templates/CUSTOM_HT").json()["uuid"] == body["uuid"]
    brief = bm.req("GET", "/deploy_templates").json()["deploy_templates"]
    assert brief == [{"uuid": body["uuid"], "name": "CUSTOM_HT", "links": body["links"]}]
    assert bm.req("GET", "/deploy_templates?detail=True").json()["deploy_templates"][0]["steps"] == [BIOS]
    some = bm.req("GET", f"/deploy_templates/{body['uuid']}?fields=steps").json()
    assert set(some) == {"steps", "links"}
    assert bm.req("GET", "/deploy_templates?fields=bogus").status_code == 400
    assert bm.req("GET", "/deploy_templates?fields=name&detail=True").status_code == 400

    patched = bm.req("PATCH", f"/deploy_templates/{body['uuid']}", [
        {"op": "replace", "path": "/name", "value": "CUSTOM_HT2"},
        {"op": "add", "path": "/steps/1", "value": {**RAID, "priority": "20"}},
        {"op": "remove", "path": "/extra/k"}])
    assert patched.status_code == 200, patched.text
    got = patched.json()
    assert got["name"] == "CUSTOM_HT2" and got["steps"] == [BIOS, {**RAID, "priority": 20}] and got["extra"] == {}
    assert got["updated_at"] is not None
    assert bm.req("GET", f"/deploy_templates/{body['uuid']}").json()["steps"][1]["priority"] == 20

    assert bm.req("DELETE", "/deploy_templates/CUSTOM_HT2").status_code == 204
    gone = bm.req("GET", f"/deploy_templates/{body['uuid']}")
    assert gone.status_code == 404 and fault(gone) == f"Deploy template {body['uuid']} could not be found."


@pytest.mark.parametrize("body, words", [
    ({"name": "invalid-name", "steps": [BIOS]}, "Schema error for template"),
    ({"name": "CUSTOM_X"}, "'steps' is a required property"),
    ({"name": None, "steps": [BIOS]}, "Schema error"),
    ({"name": "CUSTOM_X", "steps": {"key": "value"}}, "Schema error"),
    ({"name": "CUSTOM_X", "steps": []}, "Schema error"),
    ({"name": "CUSTOM_X", "steps": [{**BIOS, "interface": "disk"}]}, "Schema error"),
    ({"name": "CUSTOM_X", "steps": [{**BIOS, "priority": -1}]}, "Schema error"),
    ({"name": "CUSTOM_X", "steps": [{**BIOS, "args": "fast"}]}, "Schema error"),
    ({"name": "CUSTOM_X", "steps": [{k: v for k, v in BIOS.items() if k != "args"}]}, "Schema error"),
    ({"name": "CUSTOM_X", "steps": [BIOS, {**BIOS, "priority": 10}]}, "Duplicate deploy steps"),
    ({"name": "CUSTOM_X", "steps": [BIOS], "uuid": "malformed:uuid"}, "Expected a UUID"),
    ({"name": "CUSTOM_X", "steps": [BIOS], "colour": "red"}, "Additional properties"),
])
def test_bad_deploy_templates_are_400(bm, body, words):
    resp = bm.req("POST", "/deploy_templates", body)
    assert resp.status_code == 400, resp.text
    assert words in fault(resp)
    assert bm.req("GET", "/deploy_templates").json()["deploy_templates"] == []


def test_standard_trait_names_and_conflicts(bm):
    made = bm.req("POST", "/deploy_templates", {"name": "HW_CPU_X86_VMX", "steps": [BIOS]})
    assert made.status_code == 201, made.text
    again = bm.req("POST", "/deploy_templates", {"name": "HW_CPU_X86_VMX", "steps": [RAID]})
    assert again.status_code == 409 and "with name HW_CPU_X86_VMX already exists" in fault(again)
    same_uuid = bm.req("POST", "/deploy_templates", {"name": "CUSTOM_Y", "steps": [RAID],
                                                     "uuid": made.json()["uuid"]})
    assert same_uuid.status_code == 409 and made.json()["uuid"] in fault(same_uuid)
    other = bm.req("POST", "/deploy_templates", {"name": "CUSTOM_Z", "steps": [RAID]}).json()
    clash = bm.req("PATCH", f"/deploy_templates/{other['uuid']}",
                   [{"op": "replace", "path": "/name", "value": "HW_CPU_X86_VMX"}])
    assert clash.status_code == 409
    for patch in ([{"op": "remove", "path": "/steps/0"}], [{"op": "remove", "path": "/steps"}],
                  [{"op": "remove", "path": "/name"}], [{"op": "replace", "path": "/name", "value": ""}],
                  [{"op": "replace", "path": "/uuid", "value": "x"}]):
        resp = bm.req("PATCH", f"/deploy_templates/{other['uuid']}", patch)
        assert resp.status_code == 400, (patch, resp.text)
    assert bm.req("GET", f"/deploy_templates/{other['uuid']}").json()["steps"] == [RAID]


def test_deploy_templates_microversions_and_json_suffix(bm):
    old = Baremetal(bm.cloud, "1.54")
    assert old.req("GET", "/deploy_templates").status_code == 404
    assert old.req("POST", "/deploy_templates", {"name": "CUSTOM_A", "steps": [BIOS]}).status_code == 405
    assert old.req("DELETE", "/deploy_templates/CUSTOM_A").status_code == 405
    made = Baremetal(bm.cloud, "1.55").req("POST", "/deploy_templates", {"name": "CUSTOM_A", "steps": [BIOS]})
    assert made.status_code == 201
    uuid = made.json()["uuid"]
    assert old.req("GET", f"/deploy_templates/{uuid}").status_code == 404
    assert Baremetal(bm.cloud, "1.90").req("GET", f"/deploy_templates/{uuid}.json").json()["uuid"] == uuid
    assert bm.req("GET", f"/deploy_templates/{uuid}.json").status_code == 404
    assert bm.req("GET", "/deploy_templates/bad%20name").status_code == 400


def test_deploy_templates_pagination_and_sorting(bm):
    ids = [bm.req("POST", "/deploy_templates", {"name": f"CUSTOM_{c}", "steps": [BIOS]}).json()["uuid"]
           for c in "CAB"]
    first = bm.req("GET", "/deploy_templates?limit=2").json()
    assert [t["uuid"] for t in first["deploy_templates"]] == ids[:2]
    assert first["next"].endswith(f"/v1/deploy_templates?sort_key=id&sort_dir=asc&limit=2&marker={ids[1]}")
    rest = bm.req("GET", f"/deploy_templates?limit=2&marker={ids[1]}").json()
    assert [t["uuid"] for t in rest["deploy_templates"]] == ids[2:] and "next" not in rest
    by_name = bm.req("GET", "/deploy_templates?sort_key=name&sort_dir=desc&limit=2").json()["deploy_templates"]
    assert [t["name"] for t in by_name] == ["CUSTOM_C", "CUSTOM_B"]
    after = bm.req("GET", f"/deploy_templates?sort_key=name&sort_dir=desc&marker={by_name[1]['uuid']}").json()
    assert [t["name"] for t in after["deploy_templates"]] == ["CUSTOM_A"]
    for query in ("sort_key=steps", "sort_key=nope", "sort_dir=up", "limit=0", "marker=nope"):
        assert bm.req("GET", f"/deploy_templates?{query}").status_code in (400, 404), query


def test_deploy_templates_are_admin_only(bm):
    assert bm.req("GET", "/deploy_templates", headers=MEMBER_A).status_code == 403
    assert bm.req("POST", "/deploy_templates", {"name": "CUSTOM_A", "steps": [BIOS]},
                  headers=MANAGER_A).status_code == 403


# a deploy runs the matching templates' steps

def test_deploy_runs_the_templates_named_by_instance_traits(bm):
    bm.req("POST", "/deploy_templates", {"name": "CUSTOM_HT", "steps": [BIOS]})
    bm.req("POST", "/deploy_templates", {"name": "CUSTOM_RAID", "steps": [RAID]})
    bm.req("POST", "/deploy_templates", {"name": "CUSTOM_UNUSED", "steps": [
        {"interface": "bios", "step": "factory_reset", "args": {}, "priority": 90}]})
    node = bm.available("d")
    set_traits(bm.cloud, node["uuid"], "CUSTOM_HT", "CUSTOM_RAID", "CUSTOM_UNUSED")
    bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/instance_info/traits",
                                                "value": ["CUSTOM_HT", "CUSTOM_RAID"]}])
    release = threading.Event()
    fake.hold(node["uuid"], release)  # the first step waits: the task is seen before it runs
    try:
        resp = bm.provision(node["uuid"], "active")
        assert resp.status_code == 202, resp.text
        planned = bm.task(resp.headers["X-Taskvisor-Task"])
        assert names(planned) == ["validate", "bios.apply_configuration", "deploy", "raid.create_configuration",
                                  "power_on"]
        assert planned["steps"][-1]["status"] == "pending"
    finally:
        release.set()
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded", task
    done = bm.node(node["uuid"])
    assert done["provision_state"] == "active"
    runs = done["driver_internal_info"]["fake_step_runs"]
    assert runs["bios.apply_configuration"] == 1 and runs["raid.create_configuration"] == 1
    assert "bios.factory_reset" not in runs
    assert done["driver_internal_info"]["fake_bios_settings"] == BIOS["args"]["settings"]
    cached = bm.req("GET", f"/nodes/{node['uuid']}/bios").json()["bios"]  # cached after the BIOS step
    assert [{"name": c["name"], "value": c["value"]} for c in cached] == BIOS["args"]["settings"]
    listed = bm.req("GET", f"/nodes/{node['uuid']}/tasks").json()["tasks"]
    assert task["id"] in [t["id"] for t in listed]


def test_deploy_without_instance_traits_runs_no_template(bm):
    bm.req("POST", "/deploy_templates", {"name": "CUSTOM_HT", "steps": [BIOS]})
    node = bm.available("plain")
    set_traits(bm.cloud, node["uuid"], "CUSTOM_HT")
    task = bm.act(node["uuid"], "active")
    assert names(task) == ["validate", "deploy", "power_on"]


@pytest.mark.parametrize("traits, template_steps, words", [
    (["CUSTOM_MISSING"], [BIOS], "is missing traits CUSTOM_MISSING"),
    ("CUSTOM_T", [BIOS], "A list of strings is expected"),
    (["CUSTOM_T"], [{"interface": "bios", "step": "overclock", "args": {}, "priority": 10}],
     "node does not support this deploy step"),
    (["CUSTOM_T"], [{**BIOS, "args": {}}], "missing these required arguments: settings"),
])
def test_deploy_refuses_templates_that_do_not_fit(bm, traits, template_steps, words):
    bm.req("POST", "/deploy_templates", {"name": "CUSTOM_T", "steps": template_steps})
    node = bm.available("bad")
    set_traits(bm.cloud, node["uuid"], "CUSTOM_T")
    bm.req("PATCH", f"/nodes/{node['uuid']}", [{"op": "add", "path": "/instance_info/traits", "value": traits}])
    resp = bm.provision(node["uuid"], "active")
    assert resp.status_code == 400, resp.text
    assert words in fault(resp)
    assert bm.node(node["uuid"])["provision_state"] == "available"


# runbooks

RB_STEPS = [{"interface": "raid", "step": "delete_configuration", "args": {}, "order": 1},
            {"interface": "bios", "step": "factory_reset", "args": {}, "order": 2}]


def test_runbook_crud(rb):
    made = rb.req("POST", "/runbooks", {"name": "CUSTOM_RB", "steps": RB_STEPS, "extra": {"a": 1}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"uuid", "name", "steps", "extra", "public", "owner", "disable_ramdisk", "created_at",
                         "updated_at", "links"}
    assert body["steps"] == RB_STEPS and body["public"] is False and body["owner"] == "admin"
    assert made.headers["Location"].endswith(f"/v1/runbooks/{body['uuid']}")
    assert rb.req("GET", "/runbooks/CUSTOM_RB").json()["uuid"] == body["uuid"]
    assert rb.req("GET", "/runbooks").json()["runbooks"] == [{"uuid": body["uuid"], "name": "CUSTOM_RB",
                                                              "links": body["links"]}]
    detail = rb.req("GET", "/runbooks?detail=true").json()["runbooks"][0]
    assert detail["steps"] == RB_STEPS and detail["extra"] == {"a": 1}
    patched = rb.req("PATCH", f"/runbooks/{body['uuid']}", [
        {"op": "replace", "path": "/name", "value": "CUSTOM_RB2"},
        {"op": "add", "path": "/steps/2", "value": {"interface": "deploy", "step": "erase_devices", "order": 3}},
        {"op": "replace", "path": "/public", "value": True}], headers=SYSTEM_ADMIN)
    assert patched.status_code == 200, patched.text
    got = patched.json()
    assert got["name"] == "CUSTOM_RB2" and got["public"] is True and got["owner"] is None
    assert got["steps"][2] == {"interface": "deploy", "step": "erase_devices", "args": {}, "order": 3}
    assert rb.req("DELETE", f"/runbooks/{body['uuid']}").status_code == 204
    gone = rb.req("GET", f"/runbooks/{body['uuid']}")
    assert gone.status_code == 404 and fault(gone) == f"Runbook {body['uuid']} could not be found."


@pytest.mark.parametrize("body", [
    {"name": "invalid-name", "steps": RB_STEPS},
    {"name": None, "steps": RB_STEPS},
    {"name": "CUSTOM_X"},
    {"name": "CUSTOM_X", "steps": {"key": "value"}},
    {"name": "CUSTOM_X", "steps": [{"invalid_key": "value"}]},
    {"name": "CUSTOM_X", "steps": [{"interface": "bios", "step": "factory_reset"}]},  # no order
    {"name": "CUSTOM_X", "steps": [{"interface": "bios", "step": "factory_reset", "order": -1}]},
    # integral to JSON Schema, too big for the column (schemathesis found it as a 500)
    {"name": "CUSTOM_X", "steps": [{"interface": "bios", "step": "factory_reset", "order": 5.57e+31}]},
    {"name": "CUSTOM_X", "steps": RB_STEPS, "uuid": "malformed:uuid"},
    {"name": "CUSTOM_X", "steps": RB_STEPS, "public": "yes"},
])
def test_bad_runbooks_are_400(rb, body):
    resp = rb.req("POST", "/runbooks", body)
    assert resp.status_code == 400, resp.text
    fault(resp)


def test_runbook_duplicates_and_microversions(rb):
    assert rb.req("POST", "/runbooks", {"name": "CUSTOM_D", "steps": RB_STEPS}).status_code == 201
    again = rb.req("POST", "/runbooks", {"name": "CUSTOM_D", "steps": RB_STEPS})
    assert again.status_code == 409 and fault(again) == "A runbook with name CUSTOM_D already exists."
    old = Baremetal(rb.cloud, "1.91")
    assert old.req("GET", "/runbooks").status_code == 404
    assert old.req("GET", "/runbooks/CUSTOM_D").status_code == 404
    assert old.req("POST", "/runbooks", {"name": "CUSTOM_E", "steps": RB_STEPS}).status_code == 405
    assert old.req("PATCH", "/runbooks/CUSTOM_D", [{"op": "remove", "path": "/extra"}]).status_code == 405


def test_runbook_owner_scoping(rb):
    mine = rb.req("POST", "/runbooks", {"name": "CUSTOM_MINE", "steps": RB_STEPS}, headers=MANAGER_A)
    assert mine.status_code == 201, mine.text
    assert mine.json()["owner"] == "projA"
    public = rb.req("POST", "/runbooks", {"name": "CUSTOM_PUB", "steps": RB_STEPS, "public": True}).json()
    assert public["owner"] is None and public["public"] is True
    uuid = mine.json()["uuid"]
    # another project: the private runbook does not exist for it; the public one does
    for method, body in (("GET", None), ("PATCH", [{"op": "add", "path": "/extra/x", "value": 1}]),
                         ("DELETE", None)):
        resp = rb.req(method, f"/runbooks/{uuid}", body, headers=MANAGER_B)
        assert resp.status_code == 404 and fault(resp) == f"Runbook {uuid} could not be found.", method
    seen_b = [r["uuid"] for r in rb.req("GET", "/runbooks", headers=MANAGER_B).json()["runbooks"]]
    assert seen_b == [public["uuid"]]
    assert rb.req("GET", f"/runbooks/{public['uuid']}", headers=MANAGER_B).status_code == 200
    assert rb.req("PATCH", f"/runbooks/{public['uuid']}", [{"op": "add", "path": "/extra/x", "value": 1}],
                  headers=MANAGER_B).status_code == 403
    seen_a = {r["uuid"] for r in rb.req("GET", "/runbooks", headers=MANAGER_A).json()["runbooks"]}
    assert seen_a == {uuid, public["uuid"]}
    assert len(rb.req("GET", "/runbooks").json()["runbooks"]) == 2  # the admin sees all
    # the owner's manager updates its runbook, but only the system makes it public or gives it away
    ok = rb.req("PATCH", f"/runbooks/{uuid}", [{"op": "add", "path": "/extra/x", "value": 1}], headers=MANAGER_A)
    assert ok.status_code == 200 and ok.json()["extra"] == {"x": 1}
    for path, value in (("/public", True), ("/owner", "projB")):
        resp = rb.req("PATCH", f"/runbooks/{uuid}", [{"op": "replace", "path": path, "value": value}],
                      headers=MANAGER_A)
        assert resp.status_code == 403, path
    # nor does a project-scoped admin (taskvisor's admin role) make it public: that takes system scope
    resp = rb.req("PATCH", f"/runbooks/{uuid}", [{"op": "replace", "path": "/public", "value": True}])
    assert resp.status_code == 403 and "baremetal:runbook:update:public" in fault(resp)
    assert rb.req("POST", "/runbooks", {"name": "CUSTOM_P2", "steps": RB_STEPS, "public": True},
                  headers=MANAGER_A).status_code == 400
    assert rb.req("POST", "/runbooks", {"name": "CUSTOM_P3", "steps": RB_STEPS, "owner": "projB"},
                  headers=MANAGER_A).status_code == 400
    assert rb.req("POST", "/runbooks", {"name": "CUSTOM_P4", "steps": RB_STEPS},
                  headers=MEMBER_A).status_code == 403
    owned = rb.req("POST", "/runbooks", {"name": "CUSTOM_P5", "steps": RB_STEPS, "owner": "projB"}).json()
    assert owned["owner"] == "projB"  # the cloud admin may create one for another project
    bad = rb.req("PATCH", f"/runbooks/{public['uuid']}", [{"op": "replace", "path": "/owner", "value": "projA"}])
    assert bad.status_code == 400 and "cannot be an owner for a public runbook" in fault(bad)
    assert rb.req("DELETE", f"/runbooks/{uuid}", headers=MANAGER_A).status_code == 204


# a manual clean by runbook

def test_manual_clean_by_runbook(rb):
    runbook = rb.req("POST", "/runbooks", {"name": "CUSTOM_WIPE", "steps": RB_STEPS}).json()
    node = rb.manageable("rb")
    set_traits(rb.cloud, node["uuid"], "CUSTOM_WIPE")
    task = rb.act(node["uuid"], "clean", runbook="CUSTOM_WIPE")
    assert names(task) == ["prepare_cleaning", "raid.delete_configuration", "bios.factory_reset",
                           "finish_cleaning"]
    assert task["params"]["runbook"] == runbook["uuid"] and task["action"] == "clean"
    done = rb.node(node["uuid"])
    assert done["provision_state"] == "manageable"
    assert done["driver_internal_info"]["fake_step_runs"] == {"raid.delete_configuration": 1,
                                                              "bios.factory_reset": 1}
    assert task["id"] in [t["id"] for t in rb.req("GET", f"/nodes/{node['uuid']}/tasks").json()["tasks"]]


def test_runbook_refusals_at_provision(rb):
    rb.req("POST", "/runbooks", {"name": "CUSTOM_WIPE", "steps": RB_STEPS})
    node = rb.manageable("rr")
    not_approved = rb.provision(node["uuid"], "clean", runbook="CUSTOM_WIPE")
    assert not_approved.status_code == 400 and "has not been approved" in fault(not_approved)
    set_traits(rb.cloud, node["uuid"], "CUSTOM_WIPE")
    both = rb.provision(node["uuid"], "clean", runbook="CUSTOM_WIPE",
                        clean_steps=[{"interface": "bios", "step": "factory_reset"}])
    assert both.status_code == 400 and "but not both" in fault(both)
    wrong_verb = rb.provision(node["uuid"], "provide", runbook="CUSTOM_WIPE")
    assert wrong_verb.status_code == 400 and '"runbooks" is only valid' in fault(wrong_verb)
    assert rb.provision(node["uuid"], "clean", runbook="CUSTOM_NONE").status_code == 404
    old = Baremetal(rb.cloud, "1.91").provision(node["uuid"], "clean", runbook="CUSTOM_WIPE")
    assert old.status_code == 406
    assert rb.node(node["uuid"])["provision_state"] == "manageable"



# runbook traits (1.112): any name, a description, approved by traits

def test_runbook_traits_from_1_112(bm, rb):
    made = bm.req("POST", "/runbooks", {"name": "wipe-disks", "description": "wipe", "steps": RB_STEPS})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["traits"] == [] and body["description"] == "wipe"
    assert "traits" not in rb.req("GET", f"/runbooks/{body['uuid']}").json()
    assert bm.req("POST", "/runbooks", {"name": "x", "steps": RB_STEPS, "traits": ["CUSTOM_A"]}).status_code == 400
    assert rb.req("GET", f"/runbooks/{body['uuid']}/traits").status_code == 404
    url = f"/runbooks/{body['uuid']}/traits"
    assert bm.req("PUT", url, {"traits": ["CUSTOM_A", "CUSTOM_B", "CUSTOM_A"]}).status_code == 204
    added = bm.req("PUT", f"{url}/CUSTOM_C")
    assert added.status_code == 204 and added.headers["Location"].endswith(f"{url}/CUSTOM_C")
    assert bm.req("GET", url).json() == {"traits": ["CUSTOM_A", "CUSTOM_B", "CUSTOM_C"]}
    assert bm.req("DELETE", f"{url}/CUSTOM_B").status_code == 204
    assert bm.req("DELETE", f"{url}/CUSTOM_NEVER").status_code == 204
    assert bm.req("GET", f"/runbooks/{body['uuid']}").json()["traits"] == ["CUSTOM_A", "CUSTOM_C"]
    assert bm.req("PUT", f"{url}/lower-case").status_code == 400
    assert bm.req("PUT", url, {"traits": "CUSTOM_A"}).status_code == 400
    assert bm.req("PUT", url, {}).status_code == 400
    assert bm.req("PUT", url, {"traits": ["CUSTOM_A"]}, headers=MANAGER_B).status_code == 404
    patched = bm.req("PATCH", f"/runbooks/{body['uuid']}", [{"op": "replace", "path": "/description",
                                                             "value": "wipe all"}])
    assert patched.status_code == 200 and patched.json()["description"] == "wipe all"
    # `baremetal runbook set --public` sends the string "True"
    cli = bm.req("PATCH", f"/runbooks/{body['uuid']}", [{"op": "add", "path": "/public", "value": "True"}],
                 headers=SYSTEM_ADMIN)
    assert cli.status_code == 200 and cli.json()["public"] is True and cli.json()["owner"] is None
    assert rb.req("PATCH", f"/runbooks/{body['uuid']}", [{"op": "replace", "path": "/description",
                                                          "value": "x"}]).status_code == 400

    node = bm.manageable("t")
    no_match = bm.provision(node["uuid"], "clean", runbook="wipe-disks")
    assert no_match.status_code == 400 and "does not have any of the runbook's traits" in fault(no_match)
    set_traits(bm.cloud, node["uuid"], "CUSTOM_C")
    task = bm.act(node["uuid"], "clean", runbook="wipe-disks")
    assert names(task) == ["prepare_cleaning", "raid.delete_configuration", "bios.factory_reset",
                           "finish_cleaning"]
    assert bm.req("DELETE", url).status_code == 204
    none = bm.provision(node["uuid"], "clean", runbook="wipe-disks")
    assert none.status_code == 400 and "has no traits configured" in fault(none)

def test_both_tables_on_sqlite_and_postgresql(any_db_cloud):
    bm = Baremetal(any_db_cloud)
    for name in ("CUSTOM_B", "CUSTOM_A"):
        assert bm.req("POST", "/deploy_templates", {"name": name, "steps": [BIOS]}).status_code == 201
        assert bm.req("POST", "/runbooks", {"name": name, "steps": RB_STEPS}).status_code == 201
    assert bm.req("POST", "/deploy_templates", {"name": "CUSTOM_A", "steps": [RAID]}).status_code == 409
    assert bm.req("POST", "/runbooks", {"name": "CUSTOM_A", "steps": RB_STEPS}).status_code == 409
    first = bm.req("GET", "/runbooks?limit=1").json()["runbooks"][0]
    bm.req("PATCH", f"/runbooks/{first['uuid']}", [{"op": "add", "path": "/extra/x", "value": 1}])
    # nullable sort keys (updated_at, owner) page the same on both databases
    for resource in ("deploy_templates", "runbooks"):
        for key in ("name", "updated_at", "created_at"):
            page1 = bm.req("GET", f"/{resource}?sort_key={key}&limit=1").json()
            page2 = bm.req("GET", f"/{resource}?sort_key={key}&limit=1&marker={page1[resource][0]['uuid']}").json()
            assert len(page2[resource]) == 1 and page2[resource][0]["uuid"] != page1[resource][0]["uuid"], key
    by_owner = bm.req("GET", "/runbooks?sort_key=owner&sort_dir=desc").json()["runbooks"]
    assert len(by_owner) == 2
