"""Inspection rules over HTTP: Ironic's shapes and validation, the 1.96 gate
(404 to read, 405 to change), sensitive rules, and system-only access."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

PROJECT_ADMIN = {"X-Project-Id": "projA", "X-User-Id": "ann", "X-Roles": "member,reader"}
LOG = [{"op": "log", "args": {"msg": "Node {node.uuid} is being inspected"}}]


@pytest.fixture
def bm(any_db_cloud) -> Baremetal:
    return Baremetal(any_db_cloud)


def test_create_show_list_patch_delete(bm):
    made = bm.req("POST", "/inspection_rules", {"description": "log it", "conditions": [], "actions": LOG,
                                                 "phase": "main", "priority": 0, "sensitive": False})
    assert made.status_code == 201, made.text
    rule = made.json()
    assert set(rule) == {"uuid", "description", "priority", "sensitive", "phase", "conditions", "actions",
                         "created_at", "updated_at", "links"}
    assert rule["actions"] == LOG and rule["conditions"] == [] and rule["phase"] == "main"
    assert made.headers["Location"].endswith(f"/v1/inspection_rules/{rule['uuid']}")
    assert bm.req("GET", f"/inspection_rules/{rule['uuid']}").json() == rule
    listed = bm.req("GET", "/inspection_rules").json()["inspection_rules"]
    assert [set(r) for r in listed] == [{"uuid", "priority", "phase", "description", "links"}]
    assert bm.req("GET", "/inspection_rules?detail=true").json()["inspection_rules"][0]["actions"] == LOG

    loop = [{"op": "eq", "args": ["{inventory.system.product_name}", "{item}"], "loop": ["a", "b"],
             "multiple": "any"}]
    patched = bm.req("PATCH", f"/inspection_rules/{rule['uuid']}", [
        {"op": "replace", "path": "/priority", "value": 200}, {"op": "replace", "path": "/conditions", "value": loop},
        {"op": "replace", "path": "/actions", "value": [{"op": "log", "args": ["CPU model updated."]}]}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["priority"] == 200 and patched.json()["conditions"] == loop
    assert patched.json()["updated_at"] is not None

    assert bm.req("DELETE", f"/inspection_rules/{rule['uuid']}").status_code == 204
    gone = bm.req("DELETE", f"/inspection_rules/{rule['uuid']}")
    assert gone.status_code == 404 and fault(gone) == f"Rule {rule['uuid']} could not be found."


def test_validation(bm):
    for priority in (-1, 10000, 5000.5):
        assert bm.req("POST", "/inspection_rules", {"actions": LOG, "priority": priority}).status_code == 400
    wrong = bm.req("POST", "/inspection_rules", {"actions": LOG, "priority": 10000})
    assert fault(wrong) == "Priority must be between 0 and 9999 for user-defined rules."
    assert bm.req("POST", "/inspection_rules", {"actions": []}).status_code == 400
    assert bm.req("POST", "/inspection_rules", {"actions": [{"op": "nope", "args": {}}]}).status_code == 400
    missing = bm.req("POST", "/inspection_rules", {"actions": [{"op": "set-attribute", "args": {"path": "/x"}}]})
    assert missing.status_code == 400 and "missing required argument(s): value" in fault(missing)
    assert bm.req("POST", "/inspection_rules", {"actions": LOG, "phase": "later"}).status_code == 400
    rule = bm.req("POST", "/inspection_rules", {"actions": LOG}).json()
    again = bm.req("POST", "/inspection_rules", {"actions": LOG, "uuid": rule["uuid"]})
    assert again.status_code == 409 and fault(again) == f"A rule with UUID {rule['uuid']} already exists."


def test_sensitive_rules_hide_their_steps(bm):
    rule = bm.req("POST", "/inspection_rules", {"actions": LOG, "sensitive": True}).json()
    shown = bm.req("GET", f"/inspection_rules/{rule['uuid']}").json()
    assert shown["sensitive"] is True and shown["conditions"] is None and shown["actions"] is None
    unset = bm.req("PATCH", f"/inspection_rules/{rule['uuid']}", [{"op": "replace", "path": "/sensitive",
                                                                   "value": False}])
    assert unset.status_code == 400 and "cannot have the sensitive flag unset" in fault(unset)


def test_gate_and_access(bm):
    rule = bm.req("POST", "/inspection_rules", {"actions": LOG}).json()
    old = {"X-OpenStack-Ironic-API-Version": "1.95"}
    assert bm.req("GET", "/inspection_rules", headers=old).status_code == 404
    assert bm.req("GET", f"/inspection_rules/{rule['uuid']}", headers=old).status_code == 404
    assert bm.req("POST", "/inspection_rules", {"actions": LOG}, headers=old).status_code == 405
    assert bm.req("DELETE", f"/inspection_rules/{rule['uuid']}", headers=old).status_code == 405
    assert bm.req("GET", "/inspection_rules", headers=PROJECT_ADMIN).status_code == 403
    assert bm.req("POST", "/inspection_rules", {"actions": LOG}, headers=PROJECT_ADMIN).status_code == 403
