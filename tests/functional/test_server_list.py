"""GET /servers and /servers/detail: newest first, limit and marker paging
(in SQL, or after the name/status filters), and a clear 400 for a bad marker."""
from __future__ import annotations


def _names(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [s["name"] for s in resp.json()["servers"]]


def test_limit_and_marker_page_through_newest_first(cloud):
    ids = {f"vm{i}": cloud.boot(f"vm{i}") for i in range(5)}
    assert _names(cloud.get("/servers/detail")) == ["vm4", "vm3", "vm2", "vm1", "vm0"]
    assert _names(cloud.get("/servers?limit=2")) == ["vm4", "vm3"]
    assert _names(cloud.get(f"/servers/detail?limit=2&marker={ids['vm3']}")) == ["vm2", "vm1"]
    assert _names(cloud.get(f"/servers?marker={ids['vm1']}")) == ["vm0"]
    assert _names(cloud.get("/servers?limit=0")) == []
    detail = cloud.get("/servers/detail?limit=1").json()["servers"][0]
    assert detail["status"] == "ACTIVE" and detail["flavor"] and detail["created"].endswith("Z")
    # filters evaluated in Python page over what they kept
    assert _names(cloud.get(f"/servers?name=vm[0-2]&limit=2&marker={ids['vm2']}")) == ["vm1", "vm0"]
    assert _names(cloud.get("/servers?status=ACTIVE&limit=1")) == ["vm4"]


def test_bad_paging_input_is_a_400(cloud):
    server_id = cloud.boot("only")
    for query in ("marker=nope", "limit=-1", "limit=x"):
        resp = cloud.get(f"/servers/detail?{query}")
        assert resp.status_code == 400, query
        assert "badRequest" in resp.json()
    # a marker another project cannot see is not found for it
    resp = cloud.get(f"/servers?marker={server_id}", headers={"X-Project-Id": "other", "X-Roles": "member"})
    assert resp.status_code == 400
    # a marker the name filter dropped is not found either
    assert cloud.get(f"/servers?name=nomatch&marker={server_id}").status_code == 400
