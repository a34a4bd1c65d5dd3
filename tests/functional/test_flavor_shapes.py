"""Flavor shapes Tempest checks: integer ids and string booleans at create,
paging and filters on the lists, private flavors and their access lists,
single extra specs, description updates (2.55)."""
from __future__ import annotations

MEMBER = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
V255 = {"X-OpenStack-Nova-API-Version": "2.55"}


def fault(resp) -> str:
    return next(iter(resp.json().values()))["message"]


def _flavor(cloud, name, **extra):
    resp = cloud.post("/flavors", {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 1, **extra}})
    assert resp.status_code == 200, resp.text
    return resp.json()["flavor"]


def test_create_with_integer_id_and_string_is_public(cloud):
    made = _flavor(cloud, "int-id", id=12345, **{"os-flavor-access:is_public": "False"})
    assert made["id"] == "12345" and made["os-flavor-access:is_public"] is False
    assert _flavor(cloud, "str-pub", **{"os-flavor-access:is_public": "True"})["os-flavor-access:is_public"] is True
    bad = cloud.post("/flavors", {"flavor": {"name": "b", "ram": 64, "vcpus": 1, "disk": 1,
                                             "os-flavor-access:is_public": "maybe"}})
    assert bad.status_code == 400
    assert cloud.post("/flavors", {"flavor": {"name": "c", "ram": 64, "vcpus": 1, "disk": 1, "id": " x"}}
                      ).status_code == 400


def test_list_paging_filters_and_sorting(cloud):
    everything = [f["id"] for f in cloud.get("/flavors").json()["flavors"]]
    first = cloud.get("/flavors?limit=1").json()
    assert [f["id"] for f in first["flavors"]] == everything[:1]
    assert "marker=" + everything[0] in first["flavors_links"][0]["href"]
    rest = cloud.get(f"/flavors/detail?marker={everything[0]}").json()["flavors"]
    assert [f["id"] for f in rest] == everything[1:]
    assert cloud.get("/flavors?marker=nope").status_code == 400
    ram = sorted(f["ram"] for f in cloud.get("/flavors/detail").json()["flavors"])
    big = cloud.get(f"/flavors/detail?minRam={ram[-1]}").json()["flavors"]
    assert big and all(f["ram"] >= ram[-1] for f in big)
    assert cloud.get("/flavors?minRam=abc").status_code == 400
    by_ram = [f["ram"] for f in cloud.get("/flavors/detail?sort_key=memory_mb&sort_dir=desc").json()["flavors"]]
    assert by_ram == sorted(by_ram, reverse=True)
    assert cloud.get("/flavors?sort_key=colour").status_code == 400


def test_private_flavors_and_access(cloud):
    private = _flavor(cloud, "private", **{"os-flavor-access:is_public": False})
    fid = private["id"]
    assert fid not in [f["id"] for f in cloud.get("/flavors").json()["flavors"]]  # admin default: public only
    assert fid in [f["id"] for f in cloud.get("/flavors?is_public=None").json()["flavors"]]
    assert fid in [f["id"] for f in cloud.get("/flavors?is_public=false").json()["flavors"]]
    assert cloud.get(f"/flavors/{fid}", headers=MEMBER).status_code == 404
    assert fid not in [f["id"] for f in cloud.get("/flavors", headers=MEMBER).json()["flavors"]]
    boot = {"server": {"name": "vm", "flavorRef": fid, "imageRef": cloud.image_id}}
    assert cloud.post("/servers", boot, headers=MEMBER).status_code == 400

    added = cloud.post(f"/flavors/{fid}/action", {"addTenantAccess": {"tenant": "projA"}})
    assert added.status_code == 200 and added.json() == {"flavor_access": [{"flavor_id": fid, "tenant_id": "projA"}]}
    again = cloud.post(f"/flavors/{fid}/action", {"addTenantAccess": {"tenant": "projA"}})
    assert again.status_code == 409
    assert cloud.get(f"/flavors/{fid}/os-flavor-access").json()["flavor_access"][0]["tenant_id"] == "projA"
    assert fid in [f["id"] for f in cloud.get("/flavors", headers=MEMBER).json()["flavors"]]
    assert cloud.get(f"/flavors/{fid}", headers=MEMBER).status_code == 200
    denied = cloud.post(f"/flavors/{fid}/action", {"addTenantAccess": {"tenant": "projB"}}, headers=MEMBER)
    assert denied.status_code == 403

    removed = cloud.post(f"/flavors/{fid}/action", {"removeTenantAccess": {"tenant": "projA"}})
    assert removed.status_code == 200 and removed.json() == {"flavor_access": []}
    assert cloud.post(f"/flavors/{fid}/action", {"removeTenantAccess": {"tenant": "projA"}}).status_code == 404
    public = cloud.get("/flavors/1/os-flavor-access")
    assert public.status_code == 404 and fault(public) == "Access list not available for public flavors."
    v27 = {"X-OpenStack-Nova-API-Version": "2.7"}
    assert cloud.post("/flavors/1/action", {"addTenantAccess": {"tenant": "p"}}, headers=v27).status_code == 409


def test_single_extra_spec_show_and_update(cloud):
    fid = _flavor(cloud, "specs")["id"]
    cloud.post(f"/flavors/{fid}/os-extra_specs", {"extra_specs": {"hw:cpu_policy": "shared"}})
    assert cloud.get(f"/flavors/{fid}/os-extra_specs/hw:cpu_policy").json() == {"hw:cpu_policy": "shared"}
    assert cloud.get(f"/flavors/{fid}/os-extra_specs/none").status_code == 404
    put = cloud.client.put(f"/compute/v2.1/flavors/{fid}/os-extra_specs/hw:cpu_policy",
                           json={"hw:cpu_policy": "dedicated"})
    assert put.status_code == 200 and put.json() == {"hw:cpu_policy": "dedicated"}
    mismatch = cloud.client.put(f"/compute/v2.1/flavors/{fid}/os-extra_specs/a", json={"b": "1"})
    assert mismatch.status_code == 400 and fault(mismatch) == "Request body and URI mismatch"
    more = cloud.client.put(f"/compute/v2.1/flavors/{fid}/os-extra_specs/a", json={"a": "1", "b": "2"})
    assert more.status_code == 400
    denied = cloud.client.put(f"/compute/v2.1/flavors/{fid}/os-extra_specs/a", json={"a": "1"}, headers=MEMBER)
    assert denied.status_code == 403


def test_update_description_from_2_55(cloud):
    fid = _flavor(cloud, "described")["id"]
    old = cloud.client.put(f"/compute/v2.1/flavors/{fid}", json={"flavor": {"description": "d"}})
    assert old.status_code == 404
    new = cloud.client.put(f"/compute/v2.1/flavors/{fid}", json={"flavor": {"description": "d"}}, headers=V255)
    assert new.status_code == 200 and new.json()["flavor"]["description"] == "d"
    assert cloud.get(f"/flavors/{fid}", headers=V255).json()["flavor"]["description"] == "d"
    denied = cloud.client.put(f"/compute/v2.1/flavors/{fid}", json={"flavor": {"description": "x"}},
                              headers={**MEMBER, **V255})
    assert denied.status_code == 403


def test_a_flavor_without_id_gets_a_uuid(cloud):
    import uuid
    made = _flavor(cloud, "no-id", id=None)
    assert str(uuid.UUID(made["id"])) == made["id"]
