"""Keypairs over HTTP: Nova's shapes per microversion, per-user ownership,
admin acting for another user (2.10), validation, conflicts and quota."""
from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from taskvisor.db.models import servers
from taskvisor.flows.common import guest_spec

V22 = {"X-OpenStack-Nova-API-Version": "2.2"}
V210 = {"X-OpenStack-Nova-API-Version": "2.10"}
ALICE = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
BOB = {"X-Project-Id": "projA", "X-User-Id": "bob", "X-Roles": "member"}


def _public_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def fault(resp) -> str:
    return next(iter(resp.json().values()))["message"]


def test_generate_list_show_delete_at_2_1(cloud):
    made = cloud.post("/os-keypairs", {"keypair": {"name": "k1"}}, headers=ALICE)
    assert made.status_code == 200, made.text
    body = made.json()["keypair"]
    assert set(body) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
    assert body["public_key"].startswith("ssh-rsa ") and "PRIVATE KEY" in body["private_key"]
    assert body["user_id"] == "alice" and body["fingerprint"].count(":") == 15
    listed = cloud.get("/os-keypairs", headers=ALICE).json()["keypairs"]
    assert listed == [{"keypair": {"name": "k1", "public_key": body["public_key"],
                                   "fingerprint": body["fingerprint"]}}]
    shown = cloud.get("/os-keypairs/k1", headers=ALICE).json()["keypair"]
    assert shown["id"] and shown["deleted"] is False and shown["updated_at"] is None and "type" not in shown
    assert cloud.get("/os-keypairs", headers=BOB).json()["keypairs"] == []  # per user
    assert cloud.get("/os-keypairs/k1", headers=BOB).status_code == 404
    assert cloud.delete("/os-keypairs/k1", headers=ALICE).status_code == 202
    gone = cloud.get("/os-keypairs/k1", headers=ALICE)
    assert gone.status_code == 404 and fault(gone) == "Keypair k1 not found for user alice"


def test_import_and_types_at_2_2(cloud):
    public = _public_key()
    made = cloud.post("/os-keypairs", {"keypair": {"name": "imp", "public_key": public}}, headers={**ALICE, **V22})
    assert made.status_code == 201, made.text
    assert made.json()["keypair"]["type"] == "ssh" and "private_key" not in made.json()["keypair"]
    x509 = cloud.post("/os-keypairs", {"keypair": {"name": "cert", "type": "x509"}}, headers={**ALICE, **V22})
    assert x509.status_code == 201 and "BEGIN CERTIFICATE" in x509.json()["keypair"]["public_key"]
    types = {k["keypair"]["name"]: k["keypair"]["type"]
             for k in cloud.get("/os-keypairs", headers={**ALICE, **V22}).json()["keypairs"]}
    assert types == {"imp": "ssh", "cert": "x509"}
    assert cloud.delete("/os-keypairs/imp", headers={**ALICE, **V22}).status_code == 204
    # 2.1 has no type: the field is refused
    assert cloud.post("/os-keypairs", {"keypair": {"name": "t", "type": "ssh"}}, headers=ALICE).status_code == 400


def test_bad_input_and_duplicates(cloud):
    for bad in ({"name": ""}, {"name": "x" * 256}, {"name": r"key_/.\@:"},
                {"name": "j", "public_key": "ssh-rsa JUNK nova@ubuntu"}, {"name": "e", "public_key": " "},
                {"name": "big", "public_key": "ssh-rsa " + "A" * 2048 + " openstack@ubuntu"}):
        resp = cloud.post("/os-keypairs", {"keypair": bad}, headers=ALICE)
        assert resp.status_code == 400 and "badRequest" in resp.json(), (bad, resp.text)
    assert cloud.post("/os-keypairs", {"keypair": {"name": "dup"}}, headers=ALICE).status_code == 200
    again = cloud.post("/os-keypairs", {"keypair": {"name": "dup"}}, headers=ALICE)
    assert again.status_code == 409 and fault(again) == "Key pair 'dup' already exists."
    assert cloud.post("/os-keypairs", {"keypair": {"name": "dup"}}, headers=BOB).status_code == 200
    assert cloud.delete("/os-keypairs/none", headers=ALICE).status_code == 404


def test_generation_is_gone_at_2_92(cloud):
    v292 = {**ALICE, "X-OpenStack-Nova-API-Version": "2.92"}
    assert cloud.post("/os-keypairs", {"keypair": {"name": "g"}}, headers=v292).status_code == 400
    made = cloud.post("/os-keypairs", {"keypair": {"name": "a@b.c", "public_key": _public_key()}}, headers=v292)
    assert made.status_code == 201, made.text


def test_admin_acts_for_another_user_at_2_10(cloud):
    admin = {"X-Project-Id": "admin", "X-User-Id": "admin", "X-Roles": "admin", **V210}
    made = cloud.post("/os-keypairs", {"keypair": {"name": "for-alice", "user_id": "alice"}}, headers=admin)
    assert made.status_code == 201 and made.json()["keypair"]["user_id"] == "alice"
    listed = cloud.get("/os-keypairs?user_id=alice", headers=admin).json()["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == ["for-alice"]
    assert cloud.get("/os-keypairs/for-alice?user_id=alice", headers=admin).json()["keypair"]["user_id"] == "alice"
    assert cloud.get("/os-keypairs", headers=admin).json()["keypairs"] == []
    # a member may not act for another user
    denied = cloud.post("/os-keypairs", {"keypair": {"name": "x", "user_id": "alice"}}, headers={**BOB, **V210})
    assert denied.status_code == 403
    assert cloud.delete("/os-keypairs/for-alice?user_id=alice", headers=admin).status_code == 204


def test_paging_at_2_35(cloud):
    for name in ("a", "b", "c"):
        cloud.post("/os-keypairs", {"keypair": {"name": name, "public_key": _public_key()}}, headers=ALICE)
    v235 = {**ALICE, "X-OpenStack-Nova-API-Version": "2.35"}
    first = cloud.get("/os-keypairs?limit=2", headers=v235).json()
    assert [k["keypair"]["name"] for k in first["keypairs"]] == ["a", "b"]
    assert "marker=b" in first["keypairs_links"][0]["href"]
    rest = cloud.get("/os-keypairs?limit=2&marker=b", headers=v235).json()
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["c"] and "keypairs_links" not in rest
    assert cloud.get("/os-keypairs?marker=zz", headers=v235).status_code == 400


def test_keypair_quota(cloud):
    cloud.client.put("/compute/v2.1/os-quota-sets/projA?user_id=alice", json={"quota_set": {"key_pairs": 1}})
    assert cloud.post("/os-keypairs", {"keypair": {"name": "one"}}, headers=ALICE).status_code == 200
    over = cloud.post("/os-keypairs", {"keypair": {"name": "two"}}, headers=ALICE)
    assert over.status_code == 403 and fault(over) == "Quota exceeded, too many key pairs."


def test_server_key_name(cloud):
    cloud.post("/os-keypairs", {"keypair": {"name": "mine"}}, headers=ALICE)
    body = {"server": {"name": "vm", "flavorRef": "1", "imageRef": cloud.image_id, "key_name": "nope"}}
    bad = cloud.post("/servers", body, headers=ALICE)
    assert bad.status_code == 400 and fault(bad) == "Invalid key_name provided."
    body["server"]["key_name"] = "mine"
    resp = cloud.post("/servers", body, headers=ALICE)
    assert resp.status_code == 202, resp.text
    server = cloud.get(f"/servers/{resp.json()['server']['id']}", headers=ALICE).json()["server"]
    assert server["key_name"] == "mine"
    assert cloud.post("/servers", body, headers=BOB).status_code == 400  # keys are per user


def test_the_guest_is_given_the_public_key(cloud):
    """What a compute is told at spawn carries the key (the process driver keeps it in guest.json)."""
    public = _public_key()
    cloud.post("/os-keypairs", {"keypair": {"name": "mine", "public_key": public}}, headers=ALICE)
    resp = cloud.post("/servers", {"server": {"name": "vm", "flavorRef": "1", "imageRef": cloud.image_id,
                                              "key_name": "mine"}}, headers=ALICE)
    server_id = resp.json()["server"]["id"]
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    with cloud.node.db.read() as conn:
        row = dict(conn.execute(select(servers).where(servers.c.id == server_id)).mappings().one())
    assert guest_spec(row)["public_keys"] == {"mine": public}
    assert "public_keys" not in guest_spec({**row, "system_metadata": {}})
