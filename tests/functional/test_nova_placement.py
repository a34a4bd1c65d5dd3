"""Aggregates, availability zones, os-hosts, hypervisor extras, usage and
the audit log over HTTP, in Nova's shapes and codes."""
from __future__ import annotations

import datetime as dt

import pytest

MEMBER = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
READER = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}


def v(version: str) -> dict:
    return {"OpenStack-API-Version": f"compute {version}"}


def compute_host(cloud) -> str:
    return cloud.get("/os-services?binary=nova-compute").json()["services"][0]["host"]


def fault(resp) -> str:
    return next(iter(resp.json().values()))["message"]


# -- aggregates ----------------------------------------------------------------
def test_aggregate_crud_hosts_metadata_and_zone(any_db_cloud):
    cloud = any_db_cloud
    host = compute_host(cloud)
    made = cloud.post("/os-aggregates", {"aggregate": {"name": "rack1", "availability_zone": "zone-a"}})
    assert made.status_code == 200, made.text
    agg = made.json()["aggregate"]
    assert set(agg) == {"id", "name", "availability_zone", "created_at", "updated_at", "deleted", "deleted_at"}
    assert isinstance(agg["id"], int) and agg["availability_zone"] == "zone-a"
    one = f"/os-aggregates/{agg['id']}"
    shown = cloud.get(one, headers=v("2.41")).json()["aggregate"]
    assert shown["hosts"] == [] and shown["metadata"] == {"availability_zone": "zone-a"} and "uuid" in shown

    added = cloud.post(f"{one}/action", {"add_host": {"host": host}})
    assert added.status_code == 200 and added.json()["aggregate"]["hosts"] == [host]
    assert cloud.post(f"{one}/action", {"add_host": {"host": host}}).status_code == 409
    assert cloud.post(f"{one}/action", {"add_host": {"host": "no-such-host"}}).status_code == 404
    meta = cloud.post(f"{one}/action", {"set_metadata": {"metadata": {"ssd": "true"}}}).json()["aggregate"]
    assert meta["metadata"] == {"availability_zone": "zone-a", "ssd": "true"}
    meta = cloud.post(f"{one}/action", {"set_metadata": {"metadata": {"ssd": None}}}).json()["aggregate"]
    assert meta["metadata"] == {"availability_zone": "zone-a"}

    # the zone shows in os-availability-zone and os-hosts
    zones = cloud.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert {"zoneName": "zone-a", "zoneState": {"available": True}, "hosts": None} in zones
    hosts = cloud.get("/os-hosts?zone=zone-a").json()["hosts"]
    assert hosts == [{"host_name": host, "service": "compute", "zone": "zone-a"}]

    # a host is in one zone at most
    other = cloud.post("/os-aggregates", {"aggregate": {"name": "rack2", "availability_zone": "zone-b"}}).json()
    other_id = other["aggregate"]["id"]
    assert cloud.post(f"/os-aggregates/{other_id}/action", {"add_host": {"host": host}}).status_code == 409

    renamed = cloud.client.put(f"/compute/v2.1{one}", json={"aggregate": {"name": "rack-one"}})
    assert renamed.status_code == 200 and renamed.json()["aggregate"]["updated_at"] is not None
    assert cloud.client.put(f"/compute/v2.1{one}", json={"aggregate": {"name": "rack2"}}).status_code == 409
    assert cloud.delete(one).status_code == 400  # still holds a host
    assert cloud.post(f"{one}/action", {"remove_host": {"host": host}}).status_code == 200
    assert cloud.post(f"{one}/action", {"remove_host": {"host": host}}).status_code == 404
    assert cloud.delete(one).status_code == 200
    assert cloud.get(one).status_code == 404
    assert [a["name"] for a in cloud.get("/os-aggregates").json()["aggregates"]] == ["rack2"]


def test_aggregate_errors(cloud):
    assert cloud.post("/os-aggregates", {"aggregate": {"name": ""}}).status_code == 400
    assert cloud.post("/os-aggregates", {"aggregate": {"name": "a" * 256}}).status_code == 400
    assert cloud.post("/os-aggregates", {"aggregate": {"name": "x", "availability_zone": "internal"}}).status_code == 400
    assert cloud.post("/os-aggregates", {"aggregate": {"name": "x", "colour": "red"}}).status_code == 400
    assert cloud.post("/os-aggregates", {"aggregate": {"name": "dup"}}).status_code == 200
    dup = cloud.post("/os-aggregates", {"aggregate": {"name": "dup"}})
    assert dup.status_code == 409 and "conflictingRequest" in dup.json()
    assert cloud.get("/os-aggregates/-1").status_code == 404
    assert cloud.get("/os-aggregates/abc").status_code == 400
    assert cloud.delete("/os-aggregates/-1").status_code == 404
    assert cloud.post("/os-aggregates", {"aggregate": {"name": "u"}}, headers=MEMBER).status_code == 403
    assert cloud.get("/os-aggregates", headers=MEMBER).status_code == 403


# -- availability zones and scheduling -------------------------------------------
def test_zone_list_detail_and_boot_into_a_zone(cloud):
    zones = cloud.get("/os-availability-zone", headers=MEMBER).json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    detail = cloud.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    names = {z["zoneName"] for z in detail}
    assert names == {"nova", "internal"}
    nova = next(z for z in detail if z["zoneName"] == "nova")
    assert all("nova-compute" in services for services in nova["hosts"].values())
    assert cloud.get("/os-availability-zone/detail", headers=MEMBER).status_code == 403

    host = compute_host(cloud)
    agg = cloud.post("/os-aggregates", {"aggregate": {"name": "z", "availability_zone": "zone-a"}}).json()
    cloud.post(f"/os-aggregates/{agg['aggregate']['id']}/action", {"add_host": {"host": host}})
    server_id = cloud.boot("in-zone", availability_zone="zone-a")
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["OS-EXT-AZ:availability_zone"] == "zone-a"
    bad = cloud.post("/servers", {"server": {"name": "x", "flavorRef": "1", "imageRef": cloud.image_id,
                                             "availability_zone": "nowhere"}})
    assert bad.status_code == 400, bad.text
    # the default zone has no compute left: it is no longer a zone one may ask for
    resp = cloud.post("/servers", {"server": {"name": "y", "flavorRef": "1", "imageRef": cloud.image_id,
                                              "availability_zone": "nova"}})
    assert resp.status_code == 400
    forced = cloud.post("/servers", {"server": {"name": "f", "flavorRef": "1", "imageRef": cloud.image_id,
                                                "availability_zone": f"zone-a:{host}"}}, headers=MEMBER)
    assert forced.status_code == 403
    forced_id = cloud.boot("forced", availability_zone=f":{host}")
    assert cloud.server(forced_id)["OS-EXT-AZ:availability_zone"] == "zone-a"
    anywhere = cloud.boot("anywhere")  # no zone asked for: it shows the zone its host is in
    assert cloud.server(anywhere)["OS-EXT-AZ:availability_zone"] == "zone-a"


# -- os-hosts ----------------------------------------------------------------------
def test_os_hosts(cloud):
    hosts = cloud.get("/os-hosts").json()["hosts"]
    assert {h["service"] for h in hosts} >= {"compute", "conductor"}
    assert cloud.get("/os-hosts?zone=").json()["hosts"] == hosts
    assert cloud.get("/os-hosts?zone=xxx").json()["hosts"] == []
    host = compute_host(cloud)
    cloud.boot("on-host")
    resources = cloud.get(f"/os-hosts/{host}").json()["host"]
    assert [r["resource"]["project"] for r in resources][:3] == ["(total)", "(used_now)", "(used_max)"]
    assert resources[1]["resource"]["cpu"] >= 1 and resources[0]["resource"]["host"] == host
    assert cloud.get("/os-hosts/nonexistent").status_code == 404
    put = cloud.client.put
    assert put(f"/compute/v2.1/os-hosts/{host}", json={"status": "invalid"}).status_code == 400
    assert put(f"/compute/v2.1/os-hosts/{host}", json={}).status_code == 400
    assert put("/compute/v2.1/os-hosts/nonexistent", json={"status": "enable"}).status_code == 404
    assert put(f"/compute/v2.1/os-hosts/{host}", json={"status": "enable"}).json() == {"host": host,
                                                                                   "status": "enabled"}
    assert cloud.get("/os-hosts/nonexistent/reboot").status_code == 404
    assert cloud.get(f"/os-hosts/{host}/reboot").status_code == 501
    assert cloud.get("/os-hosts", headers=MEMBER).status_code == 403
    assert cloud.get("/os-hosts", headers=v("2.43")).status_code == 404


# -- hypervisors -----------------------------------------------------------------
def test_hypervisor_statistics_servers_search_uptime(cloud):
    server_id = cloud.boot("hv")
    hyper = cloud.get("/os-hypervisors").json()["hypervisors"][0]
    stats = cloud.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert stats["count"] >= 1 and stats["running_vms"] >= 1
    assert cloud.get("/os-hypervisors/statistics", headers=v("2.88")).status_code == 404
    name = hyper["hypervisor_hostname"]
    on = cloud.get(f"/os-hypervisors/{name}/servers").json()["hypervisors"]
    assert {"uuid": server_id, "name": "hv"} in on[0]["servers"]
    assert cloud.get(f"/os-hypervisors/{name}/search").json()["hypervisors"][0]["id"] == hyper["id"]
    assert cloud.get("/os-hypervisors/nonexistent/search").status_code == 404
    assert cloud.get(f"/os-hypervisors/{name}/search", headers=v("2.53")).status_code == 404
    uptime = cloud.get(f"/os-hypervisors/{hyper['id']}/uptime").json()["hypervisor"]
    assert " up " in uptime["uptime"]
    assert cloud.get("/os-hypervisors/0/uptime").status_code == 404
    latest = cloud.get("/os-hypervisors?with_servers=true", headers=v("2.53")).json()["hypervisors"]
    assert {"uuid": server_id, "name": "hv"} in latest[0]["servers"]
    assert cloud.get("/os-hypervisors/statistics", headers=MEMBER).status_code == 403
    assert cloud.get(f"/os-hypervisors/{hyper['id']}").json()["hypervisor"]["cpu_info"] == "{}"
    detail = cloud.get("/os-hypervisors/detail", headers=v("2.28")).json()["hypervisors"][0]
    page = cloud.get("/os-hypervisors?limit=1", headers=v("2.33")).json()
    assert len(page["hypervisors"]) == 1 and "marker=" in page["hypervisors_links"][0]["href"]
    assert cloud.get("/os-hypervisors?marker=nope", headers=v("2.33")).status_code == 400
    assert cloud.get("/os-hypervisors?hypervisor_hostname_pattern=zzz", headers=v("2.53")).status_code == 404
    assert detail["cpu_info"] == {}  # an object from 2.28


# -- usage and the audit log ---------------------------------------------------------
def _period() -> str:
    now = dt.datetime.utcnow()
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    return f"start={(now - dt.timedelta(days=1)).strftime(fmt)}&end={(now + dt.timedelta(days=1)).strftime(fmt)}"


def test_simple_tenant_usage(cloud):
    boot = cloud.post("/servers", {"server": {"name": "used", "flavorRef": "1", "imageRef": cloud.image_id}},
                      headers=MEMBER)
    cloud.wait_task(boot.headers["X-Taskvisor-Task"])
    listed = cloud.get(f"/os-simple-tenant-usage?{_period()}&detailed=1").json()["tenant_usages"]
    assert len(listed[0]) == 8 and listed[0]["tenant_id"] == "projA"
    assert listed[0]["server_usages"][0]["name"] == "used"
    brief = cloud.get(f"/os-simple-tenant-usage?{_period()}").json()["tenant_usages"]
    assert "server_usages" not in brief[0]
    own = cloud.get(f"/os-simple-tenant-usage/projA?{_period()}", headers=READER).json()["tenant_usage"]
    assert len(own) == 8 and own["total_hours"] >= 0
    assert cloud.get(f"/os-simple-tenant-usage/projB?{_period()}", headers=READER).status_code == 403
    assert cloud.get(f"/os-simple-tenant-usage?{_period()}", headers=MEMBER).status_code == 403
    assert cloud.get(f"/os-simple-tenant-usage/?{_period()}").status_code == 404
    now = dt.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S")
    assert cloud.get(f"/os-simple-tenant-usage/projA?start={now}&end=2000-01-01T00:00:00").status_code == 400
    assert cloud.get("/os-simple-tenant-usage?start=yesterday").status_code == 400


def test_instance_usage_audit_log(cloud):
    log = cloud.get("/os-instance_usage_audit_log").json()["instance_usage_audit_logs"]
    assert log["num_hosts"] >= 1 and log["num_hosts_not_run"] == log["num_hosts"] and log["log"] == {}
    shown = cloud.get("/os-instance_usage_audit_log/2026-03-15%2010:00:00").json()["instance_usage_audit_log"]
    assert shown["period_beginning"] == "2026-02-01 00:00:00" and shown["period_ending"] == "2026-03-01 00:00:00"
    assert cloud.get("/os-instance_usage_audit_log/invalid_time").status_code == 400
    assert cloud.get("/os-instance_usage_audit_log", headers=MEMBER).status_code == 403


# -- the image proxy -------------------------------------------------------------------
def test_image_proxy_and_metadata(cloud):
    image = cloud.client.post("/image/v2/images", json={"name": "mine", "disk_format": "raw",
                                                        "container_format": "bare", "visibility": "private"},
                              headers=MEMBER).json()
    one = f"/images/{image['id']}"
    brief = cloud.get("/images", headers=MEMBER).json()["images"]
    assert {i["id"] for i in brief} >= {image["id"], cloud.image_id} and set(brief[0]) == {"id", "name", "links"}
    shown = cloud.get(one, headers=MEMBER).json()["image"]
    assert shown["status"] == "SAVING" and shown["metadata"] == {} and shown["minRam"] == 0
    active = cloud.get(f"/images/{cloud.image_id}").json()["image"]
    assert active["status"] == "ACTIVE" and active["progress"] == 100
    assert any(i["id"] == cloud.image_id for i in cloud.get("/images/detail").json()["images"])
    assert cloud.get(one, headers={"X-Project-Id": "projB", "X-User-Id": "b", "X-Roles": "member"}).status_code == 404
    assert cloud.get(one, headers={**MEMBER, **v("2.36")}).status_code == 404

    meta = f"{one}/metadata"
    assert cloud.client.put(f"/compute/v2.1{meta}", json={"metadata": {"os_version": "1", "os_distro": "x"}},
                            headers=MEMBER).json() == {"metadata": {"os_version": "1", "os_distro": "x"}}
    merged = cloud.post(meta, {"metadata": {"os_version": "2", "arch": "x86_64"}}, headers=MEMBER).json()
    assert merged["metadata"] == {"os_version": "2", "os_distro": "x", "arch": "x86_64"}
    assert cloud.get(f"{meta}/arch", headers=MEMBER).json() == {"meta": {"arch": "x86_64"}}
    item = cloud.client.put(f"/compute/v2.1{meta}/arch", json={"meta": {"arch": "arm"}}, headers=MEMBER)
    assert item.json() == {"meta": {"arch": "arm"}}
    mismatch = cloud.client.put(f"/compute/v2.1{meta}/arch", json={"meta": {"other": "x"}}, headers=MEMBER)
    assert mismatch.status_code == 400
    assert cloud.delete(f"{meta}/arch", headers=MEMBER).status_code == 204
    assert cloud.delete(f"{meta}/arch", headers=MEMBER).status_code == 404
    assert cloud.get(meta, headers=MEMBER).json()["metadata"] == {"os_version": "2", "os_distro": "x"}
    assert cloud.post(meta, {"metadata": {"k": 1}}, headers=MEMBER).status_code == 400
    assert cloud.post(meta, {"metadata": {"k": "v"}}, headers=READER).status_code == 403
    assert cloud.get(f"/images/{'0' * 8}-0000-0000-0000-{'0' * 12}/metadata").status_code == 404
    assert cloud.get(meta, headers={**MEMBER, **v("2.39")}).status_code == 404

    assert cloud.delete(one, headers=MEMBER).status_code == 204
    assert cloud.get(one, headers=MEMBER).status_code == 404
    assert cloud.delete(one, headers=MEMBER).status_code == 404
    assert cloud.delete("/images/", headers=MEMBER).status_code == 404
    assert cloud.delete("/images/-1").status_code == 404


# -- migrations ------------------------------------------------------------------------
def test_resize_records_a_migration(any_db_cloud):
    cloud = any_db_cloud
    assert cloud.get("/os-migrations").json() == {"migrations": []}
    server_id = cloud.boot("grow")
    cloud.act(server_id, {"resize": {"flavorRef": "2"}})
    rows = cloud.get("/os-migrations").json()["migrations"]
    assert len(rows) == 1 and rows[0]["instance_uuid"] == server_id and rows[0]["status"] == "finished"
    assert rows[0]["old_instance_type_id"] == 1 and rows[0]["new_instance_type_id"] == 2
    assert rows[0]["source_compute"] == compute_host(cloud) and "migration_type" not in rows[0]
    cloud.act(server_id, {"confirmResize": None})
    latest = cloud.get("/os-migrations", headers=v("2.80")).json()["migrations"][0]
    assert latest["status"] == "confirmed" and latest["migration_type"] == "resize" and "uuid" in latest
    assert latest["project_id"] == "admin"
    cloud.act(server_id, {"resize": {"flavorRef": "3"}})
    cloud.act(server_id, {"revertResize": None})
    statuses = [m["status"] for m in cloud.get(f"/os-migrations?instance_uuid={server_id}").json()["migrations"]]
    assert statuses == ["reverted", "confirmed"]
    page = cloud.get("/os-migrations?limit=1", headers=v("2.59")).json()
    assert len(page["migrations"]) == 1 and "migrations_links" in page
    assert cloud.get("/os-migrations?marker=nope", headers=v("2.59")).status_code == 400
    assert cloud.get("/os-migrations", headers=MEMBER).status_code == 403
    manager = {"X-Project-Id": "projA", "X-User-Id": "m", "X-Roles": "manager"}
    assert cloud.get("/os-migrations?project_id=projA", headers=manager).json() == {"migrations": []}


# -- external events, extensions, version documents --------------------------------------
def test_server_external_events(cloud):
    server_id = cloud.boot("ev")
    ghost = "00000000-0000-0000-0000-000000000000"
    url = "/os-server-external-events"
    ok = cloud.post(url, {"events": [{"name": "network-changed", "server_uuid": server_id}]})
    assert ok.status_code == 200
    assert ok.json()["events"] == [{"name": "network-changed", "server_uuid": server_id, "status": "completed",
                                    "code": 200}]
    mixed = cloud.post(url, {"events": [{"name": "network-vif-plugged", "server_uuid": server_id},
                                        {"name": "network-vif-plugged", "server_uuid": ghost}]})
    assert mixed.status_code == 207 and [e["code"] for e in mixed.json()["events"]] == [200, 404]
    assert cloud.post(url, {"events": [{"name": "network-changed", "server_uuid": ghost}]}).status_code == 404
    assert cloud.post(url, {"events": []}).status_code == 400
    assert cloud.post(url, {"events": [{"name": "power-update", "server_uuid": server_id,
                                        "tag": "POWER_ON"}]}).status_code == 400  # 2.76
    power = cloud.post(url, {"events": [{"name": "power-update", "server_uuid": server_id, "tag": "POWER_ON"}]},
                       headers=v("2.76"))
    assert power.status_code == 200
    service = {"X-Project-Id": "service", "X-User-Id": "neutron", "X-Roles": "service"}
    assert cloud.post(url, {"events": [{"name": "network-changed", "server_uuid": server_id}]},
                      headers=service).status_code == 200
    assert cloud.post(url, {"events": [{"name": "network-changed", "server_uuid": server_id}]},
                      headers=MEMBER).status_code == 403


def test_extensions_and_version_documents(cloud):
    extensions = cloud.get("/extensions", headers=MEMBER).json()["extensions"]
    assert "Hosts" in [e["name"] for e in extensions]
    assert cloud.get("/extensions/os-consoles", headers=MEMBER).json()["extension"]["alias"] == "os-consoles"
    assert cloud.get("/extensions/nope", headers=MEMBER).status_code == 404
    versions = cloud.client.get("/compute/").json()["versions"]
    assert versions[0]["id"] == "v2.0"
    for version in versions:
        self_link = [link for link in version["links"] if link["rel"] == "self"]
        path = self_link[0]["href"].split("://", 1)[1].split("/", 1)[1]
        doc = cloud.client.get("/" + path).json()["version"]
        assert [link for link in doc["links"] if link["rel"] == "self"] == self_link


# -- server list filters ---------------------------------------------------------------------
def test_server_list_filters(cloud):
    before = dt.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S")
    small = cloud.boot("f-instance-1")
    big = cloud.boot("f-instance-2", flavor="2")
    gone = cloud.boot("f-gone")
    cloud.delete(f"/servers/{gone}")

    def ids(query: str, headers=None) -> set[str]:
        resp = cloud.get(f"/servers?{query}", headers=headers or {})
        assert resp.status_code == 200, resp.text
        return {s["id"] for s in resp.json()["servers"]}

    assert ids("flavor=2") == {big}
    assert ids("flavor=non_existing_flavor") == set()
    assert ids(f"image={cloud.image_id}") >= {small, big}
    assert ids("image=non_existing_image") == set()
    assert ids("name=^f-instance-[0-9]%2B$") == {small, big}
    addr = cloud.server(small)["addresses"]["private"][0]["addr"]
    assert small in ids(f"ip={addr}$") and big not in ids(f"ip={addr}$")
    assert ids("ip6=.") == set()
    assert ids("status=non_existing") == set()
    assert cloud.get("/servers?status=non_existing", headers=v("2.38")).status_code == 400
    assert ids("changes-since=2051-01-01T12:34:00Z&status=ACTIVE") == set()
    assert ids(f"changes-since={before}") >= {small, big}
    assert cloud.get("/servers?changes-since=2011/01/01").status_code == 400
    assert ids(f"changes-before={before}", v("2.66")) == set()
    assert cloud.get(f"/servers?changes-since=2030-01-01T00:00:00&changes-before={before}",
                     headers=v("2.66")).status_code == 400
    assert cloud.get("/servers?limit=testing").status_code == 400
    assert cloud.get("/servers?limit=-1").status_code == 400
    assert cloud.get("/servers?limit=0").json()["servers"] == []
    assert len(cloud.get("/servers?limit=100000").json()["servers"]) == len(cloud.get("/servers").json()["servers"])
