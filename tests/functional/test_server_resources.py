"""A server's sub-resources through HTTP: update, metadata, tags, ips,
diagnostics, password; their microversion gates, 400s, 404s and 409s."""
from __future__ import annotations

V = {"X-OpenStack-Nova-API-Version": "2.79"}
OTHER = {"X-Project-Id": "other", "X-User-Id": "bob", "X-Roles": "member"}


def test_update_name_access_ips_and_description(cloud):
    server_id = cloud.boot()
    resp = cloud.client.put(f"/compute/v2.1/servers/{server_id}", headers=V, json={"server": {
        "name": "renamed", "accessIPv4": "10.0.0.9", "accessIPv6": "2001:db8::9", "description": "d"}})
    assert resp.status_code == 200, resp.text
    server = resp.json()["server"]
    assert (server["name"], server["accessIPv4"], server["accessIPv6"], server["description"]) == (
        "renamed", "10.0.0.9", "2001:db8::9", "d")
    assert server["locked"] is False and server["tags"] == []
    shown = cloud.get(f"/servers/{server_id}", headers=V).json()["server"]
    assert shown["name"] == "renamed" and shown["accessIPv4"] == "10.0.0.9"


def test_update_bad_input_and_other_project(cloud):
    server_id = cloud.boot()
    put = lambda body, headers=V: cloud.client.put(f"/compute/v2.1/servers/{server_id}", json=body,  # noqa: E731
                                                   headers=headers)
    assert put({"server": {"name": ""}}).status_code == 400
    assert put({"server": {"name": "x" * 256}}).status_code == 400
    assert put({"server": {"accessIPv4": "not-an-ip"}}).status_code == 400
    assert put({"server": {"accessIPv6": "10.0.0.1"}}).status_code == 400
    assert put({"server": {"description": "d"}}, {"X-OpenStack-Nova-API-Version": "2.18"}).status_code == 400
    assert put({"server": {"name": "x"}}, OTHER).status_code == 404


def test_metadata_routes(cloud):
    server_id = cloud.boot(metadata={"a": "1"})
    m = f"/compute/v2.1/servers/{server_id}/metadata"
    assert cloud.client.get(m).json() == {"metadata": {"a": "1"}}
    assert cloud.client.post(m, json={"metadata": {"b": "2"}}).json() == {"metadata": {"a": "1", "b": "2"}}
    assert cloud.client.put(m, json={"metadata": {"c": "3"}}).json() == {"metadata": {"c": "3"}}
    assert cloud.client.put(f"{m}/d", json={"meta": {"d": "4"}}).json() == {"meta": {"d": "4"}}
    assert cloud.client.get(f"{m}/d").json() == {"meta": {"d": "4"}}
    assert cloud.client.delete(f"{m}/d").status_code == 204
    assert cloud.client.get(f"{m}/d").status_code == 404
    assert cloud.client.delete(f"{m}/d").status_code == 404
    assert cloud.client.put(f"{m}/e", json={"meta": {"f": "4"}}).status_code == 400  # URI mismatch
    assert cloud.client.put(f"{m}/e", json={"meta": {"e": "1", "f": "2"}}).status_code == 400
    assert cloud.client.post(m, json={"metadata": {"": "x"}}).status_code == 400
    assert cloud.client.post(m, json={"metadata": {"k" * 256: "x"}}).status_code == 400
    too_many = {f"k{i}": "v" for i in range(129)}
    assert cloud.client.put(m, json={"metadata": too_many}).status_code == 403
    assert cloud.client.get(m, headers=OTHER).status_code == 404
    assert cloud.server(server_id)["metadata"] == {"c": "3"}


def test_metadata_change_in_a_wrong_state_is_409(cloud):
    server_id = cloud.boot()
    cloud.act(server_id, {"rescue": None})
    resp = cloud.client.post(f"/compute/v2.1/servers/{server_id}/metadata", json={"metadata": {"a": "1"}})
    assert resp.status_code == 409
    assert resp.json()["conflictingRequest"]["message"] == (
        f"Cannot 'update metadata' instance {server_id} while it is in vm_state rescued")


def test_tags(cloud):
    server_id = cloud.boot()
    t = f"/compute/v2.1/servers/{server_id}/tags"
    h = {"X-OpenStack-Nova-API-Version": "2.26"}
    assert cloud.client.get(t, headers={"X-OpenStack-Nova-API-Version": "2.25"}).status_code == 404
    assert cloud.client.put(t, json={"tags": ["b", "a"]}, headers=h).json() == {"tags": ["a", "b"]}
    resp = cloud.client.put(f"{t}/c", headers=h)
    assert resp.status_code == 201 and resp.headers["Location"].endswith(f"/servers/{server_id}/tags/c")
    assert cloud.client.put(f"{t}/c", headers=h).status_code == 204
    assert cloud.client.get(f"{t}/c", headers=h).status_code == 204
    assert cloud.client.get(f"{t}/zz", headers=h).status_code == 404
    assert cloud.client.get(t, headers=h).json() == {"tags": ["a", "b", "c"]}
    assert cloud.get(f"/servers/{server_id}", headers=h).json()["server"]["tags"] == ["a", "b", "c"]
    assert cloud.client.delete(f"{t}/a", headers=h).status_code == 204
    assert cloud.client.delete(f"{t}/a", headers=h).status_code == 404
    assert cloud.client.put(f"{t}/a,b", headers=h).status_code == 400
    assert cloud.client.put(t, json={"tags": [str(i) for i in range(51)]}, headers=h).status_code == 400
    assert cloud.client.get(t, headers={**h, **OTHER}).status_code == 404
    assert cloud.client.delete(t, headers=h).status_code == 204
    assert cloud.client.get(t, headers=h).json() == {"tags": []}
    resp = cloud.post("/servers", {"server": {"name": "t", "flavorRef": "1", "imageRef": cloud.image_id,
                                              "tags": ["x"]}}, headers={"X-OpenStack-Nova-API-Version": "2.52"})
    assert resp.status_code == 202, resp.text
    assert cloud.client.get(f"/compute/v2.1/servers/{resp.json()['server']['id']}/tags",
                            headers=h).json() == {"tags": ["x"]}


def test_ips_diagnostics_password(cloud):
    server_id = cloud.boot()
    s = f"/compute/v2.1/servers/{server_id}"
    addresses = cloud.client.get(f"{s}/ips").json()["addresses"]
    assert addresses == cloud.server(server_id)["addresses"]
    assert cloud.client.get(f"{s}/ips/nonet").status_code == 404
    for label in addresses:
        assert cloud.client.get(f"{s}/ips/{label}").json() == {label: addresses[label]}
    diag = cloud.client.get(f"{s}/diagnostics", headers={"X-OpenStack-Nova-API-Version": "2.48"}).json()
    assert diag["state"] == "running" and diag["num_cpus"] >= 1 and diag["driver"] == "libvirt"
    assert cloud.client.get(f"{s}/diagnostics", headers={"X-Roles": "member"}).status_code == 403
    assert cloud.client.get(f"{s}/os-server-password").json() == {"password": ""}
    assert cloud.client.delete(f"{s}/os-server-password").status_code == 204
    assert cloud.client.get(f"{s}/os-server-password", headers=OTHER).status_code == 404


def test_tags_metadata_lock_and_access_ips_on_both_databases(any_db_cloud):
    cloud = any_db_cloud
    h = {"X-OpenStack-Nova-API-Version": "2.73"}
    server_id = cloud.boot(metadata={"a": "1"}, accessIPv4="10.1.1.1")
    s = f"/compute/v2.1/servers/{server_id}"
    assert cloud.client.put(f"{s}/tags", json={"tags": ["t1", "t2"]}, headers=h).status_code == 200
    assert cloud.client.put(f"{s}/metadata/b", json={"meta": {"b": "2"}}).status_code == 200
    assert cloud.action(server_id, {"lock": {"locked_reason": "why"}}, h).status_code == 202
    server = cloud.get(f"/servers/{server_id}", headers=h).json()["server"]
    assert (server["tags"], server["metadata"], server["locked"], server["locked_reason"], server["accessIPv4"]) == (
        ["t1", "t2"], {"a": "1", "b": "2"}, True, "why", "10.1.1.1")
    listed = cloud.get("/servers/detail", headers=h).json()["servers"]
    assert [s["tags"] for s in listed if s["id"] == server_id] == [["t1", "t2"]]


def test_list_filters_by_tags(cloud):
    h = {"X-OpenStack-Nova-API-Version": "2.26"}
    ids = {}
    for name, tags in (("ab", ["a", "b"]), ("a", ["a"]), ("none", [])):
        ids[name] = cloud.boot(name=name)
        cloud.client.put(f"/compute/v2.1/servers/{ids[name]}/tags", json={"tags": tags}, headers=h)

    def names(query: str) -> set[str]:
        resp = cloud.get(f"/servers?{query}", headers=h)
        assert resp.status_code == 200, resp.text
        return {s["name"] for s in resp.json()["servers"]}
    assert names("tags=a,b") == {"ab"}
    assert names("tags-any=a,b") == {"ab", "a"}
    assert names("not-tags=a,b") == {"a", "none"}
    assert names("not-tags-any=b") == {"a", "none"}


def test_update_and_rebuild_answers_show_what_nova_shows_per_microversion(cloud):
    server_id = cloud.boot()
    s = f"/compute/v2.1/servers/{server_id}"
    old = cloud.client.put(s, json={"server": {}}).json()["server"]
    assert not any(k.startswith(("OS-EXT-STS:", "OS-SRV-USG:", "OS-EXT-AZ:")) for k in old)
    assert "key_name" not in old and "security_groups" not in old
    new = cloud.client.put(s, json={"server": {}}, headers={"X-OpenStack-Nova-API-Version": "2.75"}).json()["server"]
    assert new["OS-EXT-STS:vm_state"] == "active" and new["server_groups"] == []
    assert "OS-EXT-SRV-ATTR:user_data" not in new
    resp = cloud.action(server_id, {"rebuild": {"imageRef": cloud.image_id}}, {"X-OpenStack-Nova-API-Version": "2.54"})
    assert resp.status_code == 202 and "key_name" in resp.json()["server"]
    assert "OS-EXT-STS:vm_state" not in resp.json()["server"]
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert cloud.client.get(f"/image/v2/images/{cloud.image_id}/tasks").json() == {"tasks": []}
