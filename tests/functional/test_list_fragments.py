"""The big lists answer unchanged rows from a cache of their rendered JSON
(api/fragments.py): it must never show a stale row. After each kind of
change (a task's status and task_state, a rename, metadata, tags, a lock, a
fault, a node's provision state, fields and traits; another microversion or
caller) the next list, asked twice (so the second is answered from the
cache), shows it, and shows each row exactly as the uncached show of that
resource does for the same caller at the same microversion."""
from __future__ import annotations

import threading

from taskvisor.api import fragments
from tests.functional.baremetal import BM, Baremetal
from tests.procs import poll_until

NOVA = {"OpenStack-API-Version": "compute 2.100"}
MEMBER = {"X-Project-Id": "demo", "X-User-Id": "demo", "X-Roles": "member"}


def _in_list(resp, key: str, ident: str) -> dict:
    assert resp.status_code == 200, resp.text
    found = [item for item in resp.json()[key] if item.get("id", item.get("uuid")) == ident]
    assert len(found) == 1, resp.text
    return found[0]


def _agree(show, listing) -> dict:
    """A row as the (uncached) show gives it, and as two lists in a row give
    it (the second from the cache), read between two equal shows: the
    engine may still be touching the row (a periodic, a task's last write),
    and a pair of reads that straddles no change must agree."""
    before, first, second, after = poll_until(lambda: (show(), listing(), listing(), show()),
                                              lambda seen: seen[0] == seen[3], 60,
                                              lambda seen: f"the row never held still: {seen}", 0.02)
    assert first == before and second == before
    return before


def _shown(cloud, server_id: str, headers: dict) -> dict:
    resp = cloud.get(f"/servers/{server_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    server = resp.json()["server"]
    server.pop("server_groups", None)  # a show's own (2.71), not in lists
    return server


def _same(cloud, server_id: str, headers: dict = NOVA) -> dict:
    return _agree(lambda: _shown(cloud, server_id, headers),
                  lambda: _in_list(cloud.get("/servers/detail", headers=headers), "servers", server_id))


def test_server_list_shows_every_change(any_db_cloud):  # PostgreSQL reads the JSON columns as text too
    cloud = any_db_cloud
    server_id = cloud.boot("before", metadata={"a": "1"})
    other_id = cloud.boot("bystander")
    assert _same(cloud, server_id)["name"] == "before"
    bystander = _same(cloud, other_id)

    assert cloud.client.put(f"/compute/v2.1/servers/{server_id}", json={"server": {"name": "after"}},
                            headers=NOVA).status_code == 200
    assert _same(cloud, server_id)["name"] == "after"

    assert cloud.post(f"/servers/{server_id}/metadata", {"metadata": {"b": "2"}}).status_code == 200
    assert _same(cloud, server_id)["metadata"] == {"a": "1", "b": "2"}

    assert cloud.client.put(f"/compute/v2.1/servers/{server_id}/tags", json={"tags": ["red", "blue"]},
                            headers=NOVA).status_code == 200
    assert _same(cloud, server_id)["tags"] == ["blue", "red"]
    assert cloud.client.delete(f"/compute/v2.1/servers/{server_id}/tags/red", headers=NOVA).status_code == 204
    assert _same(cloud, server_id)["tags"] == ["blue"]

    assert cloud.action(server_id, {"lock": {"locked_reason": "maintenance"}}, NOVA).status_code == 202
    listed = _same(cloud, server_id)
    assert listed["locked"] is True and listed["locked_reason"] == "maintenance"
    assert cloud.action(server_id, {"unlock": None}, NOVA).status_code == 202
    listed = _same(cloud, server_id)
    assert listed["locked"] is False and listed["locked_reason"] is None
    assert cloud.action(server_id, {"lock": {"locked_reason": "maintenance"}}, NOVA).status_code == 202
    assert _same(cloud, server_id)["locked"] is True  # back to a row seen before: still right

    cloud.act(server_id, {"os-stop": None})
    assert _same(cloud, server_id)["status"] == "SHUTOFF"

    # a task in flight: its task_state shows, then clears
    released = threading.Event()
    cloud.driver.inject("power_on", hold=released)
    try:
        resp = cloud.action(server_id, {"os-start": None})
        assert resp.status_code == 202, resp.text
        poll_until(lambda: cloud.server(server_id), lambda s: s["OS-EXT-STS:task_state"] == "powering-on", 60,
                   lambda s: f"never powering-on: {s}", 0.02)
        held = _same(cloud, server_id)  # the row holds still while the driver does
        assert held["status"] == "SHUTOFF" and held["OS-EXT-STS:task_state"] == "powering-on"
    finally:
        released.set()
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    listed = _same(cloud, server_id)
    assert listed["status"] == "ACTIVE" and listed["OS-EXT-STS:task_state"] is None

    # another microversion, another caller: their own views of the same rows
    old = _same(cloud, server_id, {})
    assert "locked" not in old and "tags" not in old and old["name"] == "after"
    assert _same(cloud, server_id, {"OpenStack-API-Version": "compute 2.73"})["locked_reason"] == "maintenance"
    assert _same(cloud, server_id)["tags"] == ["blue"]
    assert "OS-EXT-SRV-ATTR:host" in _same(cloud, server_id)  # the admin sees the extended attributes

    # the bystander never changed; it is still shown as it was
    assert _same(cloud, other_id) == bystander


def test_server_list_shows_a_fault_and_its_end(any_db_cloud):  # PostgreSQL reads the JSON columns as text too
    cloud = any_db_cloud
    cloud.driver.inject("spawn", fail="disk on fire")
    server_id = cloud.boot("doomed")
    listed = _same(cloud, server_id)
    assert listed["status"] == "ERROR" and "fault" in listed
    resp = cloud.action(server_id, {"os-resetState": {"state": "active"}})
    assert resp.status_code == 202, resp.text
    listed = _same(cloud, server_id)
    assert listed["status"] == "ACTIVE" and "fault" not in listed


def test_a_members_list_has_its_own_view(cloud):
    resp = cloud.post("/servers", {"server": {"name": "m", "flavorRef": "1", "imageRef": cloud.image_id}},
                      headers=MEMBER)
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    admin = _same(cloud, server_id, {**NOVA, "X-Project-Id": "demo"})  # admin of the same project first
    member = _same(cloud, server_id, {**NOVA, **MEMBER})
    assert "OS-EXT-SRV-ATTR:host" in admin and "OS-EXT-SRV-ATTR:host" not in member
    assert _same(cloud, server_id, {**NOVA, "X-Project-Id": "demo"}) == admin


def test_paging_links_and_markers_are_unchanged_by_the_cache(cloud):
    ids = [cloud.boot(f"p{i}") for i in range(5)]
    for _ in range(2):
        page = cloud.get("/servers/detail?limit=2", headers=NOVA).json()
        assert [s["id"] for s in page["servers"]] == ids[:2:-1][:2]
        assert page["servers_links"][0]["href"].endswith(f"limit=2&marker={ids[3]}")
        rest = cloud.get(f"/servers/detail?limit=2&marker={ids[3]}", headers=NOVA).json()
        assert [s["id"] for s in rest["servers"]] == [ids[2], ids[1]]


# -- nodes ----------------------------------------------------------------------
OWNER = {"X-Project-Id": "own", "X-User-Id": "o", "X-Roles": "member"}
LESSEE = {"X-Project-Id": "lease", "X-User-Id": "l", "X-Roles": "member"}


def _node_shown(bm: Baremetal, node_id: str, headers: dict) -> dict:
    resp = bm.req("GET", f"/nodes/{node_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    shown = resp.json()
    for link in ("ports", "states", "portgroups", "volume"):  # a show's own links (not in lists, before either)
        shown.pop(link, None)
    return shown


def _node_same(bm: Baremetal, node_id: str, headers: dict | None = None) -> dict:
    headers = headers or {}
    return _agree(lambda: _node_shown(bm, node_id, headers),
                  lambda: _in_list(bm.req("GET", "/nodes/detail", headers=headers), "nodes", node_id))


def _retrying(send):
    """A node change, sent again while a periodic holds the node's lock (409)."""
    resp = poll_until(send, lambda r: r.status_code != 409, 60, lambda r: f"node locked throughout: {r.text}", 0.05)
    assert resp.status_code < 300, resp.text
    return resp


def test_node_list_shows_every_change(any_db_cloud):  # PostgreSQL reads the JSON columns as text too
    cloud = any_db_cloud
    bm = Baremetal(cloud)
    node = bm.create("n1", driver_info={"ipmi_address": "10.0.0.1", "ipmi_password": "pw"},
                     owner="own", lessee="lease")
    node_id = node["uuid"]
    listed = _node_same(bm, node_id)
    assert listed["provision_state"] == "enroll" and listed["driver_info"]["ipmi_password"] == "******"
    # each caller its own redaction of the same row
    assert _node_same(bm, node_id, OWNER)["driver_info"]["ipmi_address"] == "10.0.0.1"
    assert _node_same(bm, node_id, LESSEE)["driver_info"] == {
        "content": "** Value Redacted - Requires baremetal:node:get:driver_info permission. **"}

    bm.act(node_id, "manage")
    assert _node_same(bm, node_id)["provision_state"] == "manageable"
    assert _node_same(bm, node_id, LESSEE)["provision_state"] == "manageable"

    _retrying(lambda: bm.req("PATCH", f"/nodes/{node_id}", [
        {"op": "replace", "path": "/name", "value": "n2"},
        {"op": "replace", "path": "/driver_info/ipmi_address", "value": "10.0.0.2"},
        {"op": "add", "path": "/extra/rack", "value": "r7"}]))
    listed = _node_same(bm, node_id)
    assert listed["name"] == "n2" and listed["extra"] == {"rack": "r7"}
    assert _node_same(bm, node_id, OWNER)["driver_info"]["ipmi_address"] == "10.0.0.2"

    _retrying(lambda: bm.req("PUT", f"/nodes/{node_id}/traits", {"traits": ["CUSTOM_GOLD"]}))
    assert _node_same(bm, node_id)["traits"] == ["CUSTOM_GOLD"]

    _retrying(lambda: bm.req("PUT", f"/nodes/{node_id}/maintenance", {"reason": "dusting"}))
    poll_until(lambda: bm.node(node_id), lambda n: n["maintenance"] and n["reservation"] is None, 60,
               lambda n: f"never in maintenance: {n}", 0.02)
    listed = _node_same(bm, node_id)
    assert listed["maintenance"] is True and listed["maintenance_reason"] == "dusting"

    # the lessee leaves: that caller no longer sees the node; the owner's view is unchanged
    _retrying(lambda: bm.req("PATCH", f"/nodes/{node_id}", [{"op": "remove", "path": "/lessee"}]))
    assert not [n for n in bm.req("GET", "/nodes/detail", headers=LESSEE).json()["nodes"] if n["uuid"] == node_id]
    assert _node_same(bm, node_id, OWNER)["lessee"] is None

    # older microversions: their own fields
    old = Baremetal(cloud, "1.1")
    oldest = _node_same(old, node_id)
    assert "name" not in oldest and oldest["provision_state"] == "manageable"
    assert "traits" in _node_same(bm, node_id)


def test_node_fields_lists_follow_changes(cloud):
    bm = Baremetal(cloud)
    node_id = bm.create("f1", owner="own")["uuid"]
    path = f"{BM}/nodes?fields=uuid,name,owner,traits,conductor"
    for name in ("f1", "f2"):
        if name != "f1":
            _retrying(lambda: bm.req("PATCH", f"/nodes/{node_id}", [{"op": "replace", "path": "/name", "value": name}]))
        for _ in range(2):
            found = [n for n in bm.client.get(path, headers=bm.headers).json()["nodes"] if n["uuid"] == node_id]
            assert found == [{"uuid": node_id, "name": name, "owner": "own", "traits": [],
                              "conductor": found[0]["conductor"],
                              "links": found[0]["links"]}]


def test_the_cache_is_bounded():
    cache = fragments.FragmentCache(capacity=3)
    cache.put_many([(("k", i), ("v", i), b"%d" % i) for i in range(5)])
    assert len(cache) == 3
    assert cache.get_many([("k", 0), ("k", 4)], [("v", 0), ("v", 4)]) == [None, b"4"]
    assert cache.get_many([("k", 4)], [("v", "changed")]) == [None]  # another version is a miss
