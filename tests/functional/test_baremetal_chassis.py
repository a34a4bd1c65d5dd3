"""Chassis over HTTP: Ironic's shapes for create/list/show/patch/delete,
its error codes, and the admin-only default policy."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def test_create_show_list_patch_delete(bm):
    made = bm.req("POST", "/chassis", {"description": "rack 1", "extra": {"row": "a"}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["description"] == "rack 1" and body["extra"] == {"row": "a"}
    assert made.headers["Location"].endswith(f"/baremetal/v1/chassis/{body['uuid']}")
    assert body["nodes"][0]["href"].endswith(f"/v1/chassis/{body['uuid']}/nodes")
    shown = bm.req("GET", f"/chassis/{body['uuid']}").json()
    assert shown["uuid"] == body["uuid"] and shown["updated_at"] is None
    brief = bm.req("GET", "/chassis").json()["chassis"]
    assert [c["uuid"] for c in brief] == [body["uuid"]] and set(brief[0]) == {"uuid", "description", "links"}
    assert bm.req("GET", "/chassis/detail").json()["chassis"][0]["extra"] == {"row": "a"}

    patched = bm.req("PATCH", f"/chassis/{body['uuid']}", [{"op": "add", "path": "/extra/u", "value": 1},
                                                           {"op": "remove", "path": "/description"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["extra"] == {"row": "a", "u": 1} and patched.json()["description"] is None
    assert patched.json()["updated_at"] is not None

    assert bm.req("DELETE", f"/chassis/{body['uuid']}").status_code == 204
    gone = bm.req("GET", f"/chassis/{body['uuid']}")
    assert gone.status_code == 404 and fault(gone) == f"Chassis {body['uuid']} could not be found."


def test_errors_are_ironic_shaped(bm):
    bad = bm.req("POST", "/chassis", {"description": "x", "colour": "red"})
    assert bad.status_code == 400 and "colour" in fault(bad)
    assert bm.req("POST", "/chassis", {"extra": "no"}).status_code == 400
    made = bm.req("POST", "/chassis", {"description": "x"}).json()
    again = bm.req("POST", "/chassis", {"uuid": made["uuid"]})
    assert again.status_code == 409 and made["uuid"] in fault(again)
    bad_patch = bm.req("PATCH", f"/chassis/{made['uuid']}", [{"op": "replace", "path": "/uuid", "value": "x"}])
    assert bad_patch.status_code == 400 and "/uuid" in fault(bad_patch)
    assert bm.req("GET", "/chassis/not-a-uuid").status_code == 404


def test_pagination_by_marker(bm):
    ids = [bm.req("POST", "/chassis", {"description": str(i)}).json()["uuid"] for i in range(3)]
    first = bm.req("GET", "/chassis?limit=2").json()
    assert [c["uuid"] for c in first["chassis"]] == ids[:2] and "marker=" + ids[1] in first["next"]
    rest = bm.req("GET", f"/chassis?limit=2&marker={ids[1]}").json()
    assert [c["uuid"] for c in rest["chassis"]] == ids[2:]


def test_project_member_is_refused(bm):
    member = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
    resp = bm.req("POST", "/chassis", {"description": "x"}, headers=member)
    assert resp.status_code == 403
    assert bm.req("GET", "/chassis", headers=member).status_code == 403
