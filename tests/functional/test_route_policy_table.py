"""Every route × every persona, against the policy defaults: anonymous
(Keystone strategy, no token), a reader of project A, a member of project
B, a member of project A, and the admin. The resources belong to project A.

OK means the policy let the request through (whatever the resource's state
then answers: 2xx, 400, 409); 403 is a policy denial; 404 is a resource the
caller may not even see (Nova's and Ironic's answer for another project's).
"""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_conf
from tests.functional.baremetal import LATEST

OK = "ok"
OK_OR_GONE = "ok or gone"  # the member's delete may already have finished
C = "/compute/v2.1"
N = "/baremetal/v1/nodes"
ROLES = ("reader", "other", "member", "admin")
HEADERS = {
    "reader": {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"},
    "other": {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member"},
    "member": {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"},
    "admin": {"X-Project-Id": "admin", "X-User-Id": "admin", "X-Roles": "admin"},
}
PROJECT = (OK, OK, OK, OK)          # anyone, on their own project
READ = (OK, 404, OK, OK)            # project A's reader, member, admin; B never sees it
ACT = (403, 404, OK, OK)            # project A's member and admin
ADMIN_ONLY = (403, 403, 403, OK)
CREATE = (403, OK, OK, OK)          # any member, in its own project

# (method, route template, body, expected for reader/other/member/admin); order matters: deletes last
TABLE = [
    ("GET", f"{C}/servers", None, PROJECT),
    ("GET", f"{C}/servers/detail", None, PROJECT),
    ("GET", f"{C}/servers?all_tenants=1", None, ADMIN_ONLY),
    ("POST", f"{C}/servers", "server", CREATE),
    ("GET", f"{C}/servers/{{server_id}}", None, READ),
    ("POST", f"{C}/servers/{{server_id}}/action", {"os-getConsoleOutput": {}}, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", {"os-stop": None}, ACT),
    ("GET", f"{C}/servers/{{server_id}}/os-instance-actions", None, READ),
    ("GET", f"{C}/servers/{{server_id}}/os-instance-actions/{{request_id}}", None, READ),
    ("GET", f"{C}/servers/{{server_id}}/tasks", None, READ),
    ("GET", f"{C}/servers/{{server_id}}/tasks/{{task_id}}", None, READ),
    ("GET", f"{C}/tasks/{{task_id}}", None, READ),
    ("GET", f"{C}/tasks", None, PROJECT),
    ("POST", f"{C}/tasks/{{task_id}}/action", {"retry": None}, (403, 403, 403, OK)),  # admin: 409, not dead
    ("POST", f"{C}/tasks/{{task_id}}/action", {"cancel": None}, ACT),  # member, admin: 409, already ended
    ("GET", "/baremetal/v1/tasks", None, PROJECT),
    ("GET", "/baremetal/v1/tasks/{task_id}", None, READ),
    ("POST", "/baremetal/v1/tasks/{task_id}/action", {"cancel": None}, ACT),
    ("GET", f"{C}/flavors", None, PROJECT),
    ("GET", f"{C}/flavors/detail", None, PROJECT),
    ("GET", f"{C}/flavors/{{flavor_id}}", None, PROJECT),
    ("POST", f"{C}/flavors", "flavor", ADMIN_ONLY),
    ("GET", f"{C}/flavors/{{flavor_id}}/os-extra_specs", None, PROJECT),
    ("POST", f"{C}/flavors/{{flavor_id}}/os-extra_specs", {"extra_specs": {"k": "v"}}, ADMIN_ONLY),
    ("GET", f"{C}/flavors/{{flavor_id}}/os-extra_specs/{{key}}", None, PROJECT),  # nova-quotas
    ("PUT", f"{C}/flavors/{{flavor_id}}/os-extra_specs/{{key}}", {"key": "v2"}, ADMIN_ONLY),
    ("PUT", f"{C}/flavors/{{flavor_id}}", {"flavor": {"description": "d"}}, (404,) * 4),  # 2.55+ (2.1 here)
    ("POST", f"{C}/flavors/{{private_flavor_id}}/action", {"addTenantAccess": {"tenant": "projA"}}, ADMIN_ONLY),
    ("GET", f"{C}/flavors/{{private_flavor_id}}/os-flavor-access", None, ADMIN_ONLY),
    ("POST", f"{C}/flavors/{{private_flavor_id}}/action", {"removeTenantAccess": {"tenant": "projA"}},
     ADMIN_ONLY),
    ("DELETE", f"{C}/flavors/{{flavor_id}}/os-extra_specs/{{key}}", None, ADMIN_ONLY),
    ("GET", f"{C}/os-services", None, ADMIN_ONLY),
    ("PUT", f"{C}/os-services/{{service_id}}", {"status": "enabled"}, ADMIN_ONLY),
    ("GET", f"{C}/os-hypervisors", None, ADMIN_ONLY),
    ("GET", f"{C}/os-hypervisors/detail", None, ADMIN_ONLY),
    ("GET", f"{C}/os-hypervisors/{{hypervisor_id}}", None, ADMIN_ONLY),
    ("GET", "/image/v2/schemas/image", None, PROJECT),
    ("GET", "/image/v2/images", None, PROJECT),
    ("POST", "/image/v2/images", {"name": "made", "disk_format": "raw", "container_format": "bare"}, CREATE),
    ("GET", "/image/v2/images/{image_id}", None, READ),
    ("PATCH", "/image/v2/images/{image_id}", [{"op": "add", "path": "/x_note", "value": "1"}], ACT),
    ("PUT", "/image/v2/images/{image_id}/file", b"disk", ACT),
    ("GET", "/image/v2/images/{image_id}/file", None, READ),
    ("GET", "/image/v2/images/{image_id}/tasks", None, READ),
    ("GET", N, None, PROJECT),
    ("GET", f"{N}/detail", None, PROJECT),
    ("POST", N, {"driver": "fake-hardware"}, ADMIN_ONLY),
    ("GET", f"{N}/{{node_ident}}", None, READ),
    ("GET", f"{N}/{{node_ident}}/states", None, READ),
    ("GET", f"{N}/{{node_ident}}/cleaning/steps", None, READ),
    ("GET", f"{N}/{{node_ident}}/tasks", None, READ),
    ("PATCH", f"{N}/{{node_ident}}", [{"op": "add", "path": "/extra/note", "value": "1"}], ACT),
    ("PATCH", f"{N}/{{node_ident}}", [{"op": "add", "path": "/driver_info/x", "value": "1"}],
     (403, 404, 403, OK)),  # driver_info: the owner's admin, not its member
    ("PUT", f"{N}/{{node_ident}}/maintenance", {"reason": "test"}, ACT),
    ("DELETE", f"{N}/{{node_ident}}/maintenance", None, ACT),
    ("PUT", f"{N}/{{node_ident}}/states/power", {"target": "power on"}, ACT),
    ("PUT", f"{N}/{{node_ident}}/states/provision", {"target": "manage"}, ACT),
    ("GET", f"{N}/{{node_ident}}/tasks/{{node_task_id}}", None, READ),
    ("GET", f"{N}/{{node_ident}}/validate", None, ACT),
    ("GET", f"{N}/{{node_ident}}/management/boot_device", None, (403, 404, 403, OK)),  # the owner's admin
    ("GET", f"{N}/{{node_ident}}/management/boot_device/supported", None, (403, 404, 403, OK)),
    ("PUT", f"{N}/{{node_ident}}/management/boot_device", {"boot_device": "pxe"}, (403, 404, 403, OK)),
    ("GET", f"{N}/{{node_ident}}/traits", None, READ),
    ("PUT", f"{N}/{{node_ident}}/traits", {"traits": ["CUSTOM_A"]}, (403, 404, 403, OK)),  # the owner's admin
    ("PUT", f"{N}/{{node_ident}}/traits/{{trait}}", None, (403, 404, 403, OK)),
    ("DELETE", f"{N}/{{node_ident}}/traits/{{trait}}", None, (403, 404, 403, OK)),
    ("DELETE", f"{N}/{{node_ident}}/traits", None, (403, 404, 403, OK)),
    # bm-extras: the node's RAID, console, boot mode, BIOS, firmware, history, virtual media, indicators
    ("PUT", f"{N}/{{node_ident}}/states/raid", {"logical_disks": [{"size_gb": 10, "raid_level": "1"}]}, ACT),
    ("GET", f"{N}/{{node_ident}}/states/console", None, ACT),
    ("PUT", f"{N}/{{node_ident}}/states/console", {"enabled": False}, ACT),
    ("PUT", f"{N}/{{node_ident}}/states/boot_mode", {"target": "uefi"}, ACT),
    ("PUT", f"{N}/{{node_ident}}/states/secure_boot", {"target": False}, ACT),
    ("GET", f"{N}/{{node_ident}}/bios", None, READ),
    # the world's node has no BIOS setting nor history event: whoever sees the node is told so (404);
    # test_baremetal_node_extras reads them on a node that has them
    ("GET", f"{N}/{{node_ident}}/bios/{{setting_name}}", None, (404, 404, 404, 404)),
    ("GET", f"{N}/{{node_ident}}/firmware", None, READ),
    ("GET", f"{N}/{{node_ident}}/history", None, READ),
    ("GET", f"{N}/{{node_ident}}/history/{{event_ident}}", None, (404, 404, 404, 404)),
    ("POST", f"{N}/{{node_ident}}/vmedia", {"device_type": "cdrom", "image_url": "http://x/y.iso"}, ACT),
    ("GET", f"{N}/{{node_ident}}/vmedia", None, READ),
    ("DELETE", f"{N}/{{node_ident}}/vmedia", None, ACT),
    ("GET", f"{N}/{{node_ident}}/management/indicators", None, READ),
    ("GET", f"{N}/{{node_ident}}/management/indicators/{{indicator}}", None, READ),
    ("PUT", f"{N}/{{node_ident}}/management/indicators/{{indicator}}", {"state": "ON"}, ACT),
    ("GET", f"{N}/{{node_ident}}/vendor_passthru/methods", None, (403, 404, 403, OK)),
    ("GET", "/baremetal/v1/drivers/{driver_name}/vendor_passthru/methods", None, ADMIN_ONLY),
    # anyone may heartbeat (Ironic's rule is empty); no node here waits for an agent: 400
    ("POST", f"/baremetal/v1/heartbeat/{{node_ident}}", {"callback_url": "http://x:9999", "agent_token": "t",
                                                        "agent_version": "9"}, PROJECT),
    ("POST", "/baremetal/v1/heartbeat", {"callback_url": "http://x:9999", "agent_token": "t",
                                         "agent_version": "9"}, PROJECT),
    # the world's node has no allocation: whoever may see the node is told so (404); test_baremetal_allocations
    # checks these two on a node that has one
    ("GET", f"{N}/{{node_ident}}/allocation", None, (404, 404, 404, 404)),
    ("DELETE", f"{N}/{{node_ident}}/allocation", None, (404, 404, 404, 404)),
    ("DELETE", f"{N}/{{node_ident}}", None, (403, 404, 403, OK)),
    ("DELETE", "/image/v2/images/{image_id}", None, (403, 404, OK, 404)),  # gone once the member deleted it
    ("DELETE", f"{C}/flavors/{{flavor_id}}", None, ADMIN_ONLY),
    # nova-servers: update and sub-resources (the tag routes at 2.26: see _send)
    ("PUT", f"{C}/servers/{{server_id}}", {"server": {"name": "renamed"}}, ACT),
    ("GET", f"{C}/servers/{{server_id}}/metadata", None, READ),
    ("POST", f"{C}/servers/{{server_id}}/metadata", {"metadata": {"k": "v"}}, ACT),
    ("PUT", f"{C}/servers/{{server_id}}/metadata", {"metadata": {"k": "v"}}, ACT),
    ("PUT", f"{C}/servers/{{server_id}}/metadata/{{key}}", {"meta": {"key": "v"}}, ACT),
    ("GET", f"{C}/servers/{{server_id}}/metadata/{{key}}", None, READ),
    ("DELETE", f"{C}/servers/{{server_id}}/metadata/{{key}}", None, (403, 404, OK, OK_OR_GONE)),
    ("GET", f"{C}/servers/{{server_id}}/tags", None, READ),
    ("PUT", f"{C}/servers/{{server_id}}/tags", {"tags": ["a"]}, ACT),
    ("PUT", f"{C}/servers/{{server_id}}/tags/{{key}}", None, ACT),
    ("GET", f"{C}/servers/{{server_id}}/tags/{{key}}", None, READ),
    ("DELETE", f"{C}/servers/{{server_id}}/tags/{{key}}", None, (403, 404, OK, OK_OR_GONE)),
    ("DELETE", f"{C}/servers/{{server_id}}/tags", None, ACT),
    ("GET", f"{C}/servers/{{server_id}}/ips", None, READ),
    ("GET", f"{C}/servers/{{server_id}}/ips/{{network}}", None, READ),
    ("GET", f"{C}/servers/{{server_id}}/diagnostics", None, (403, 404, 403, OK)),
    ("GET", f"{C}/servers/{{server_id}}/os-server-password", None, READ),
    ("DELETE", f"{C}/servers/{{server_id}}/os-server-password", None, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", {"unlock": None}, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", {"lock": None}, ACT),
    # the admin's lock (above, last) is the admin's: a member needs the override rule to unlock it
    ("POST", f"{C}/servers/{{server_id}}/action", {"unlock": None}, (403, 404, 403, OK)),
    ("POST", f"{C}/servers/{{server_id}}/action", {"createImage": {"name": "snap"}}, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action",
     {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}}, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", {"injectNetworkInfo": None}, (403, 404, 403, OK)),
    ("POST", f"{C}/servers/{{server_id}}/action", {"migrate": None}, (403, 404, 403, OK)),
    ("POST", f"{C}/servers/{{server_id}}/action", {"removeSecurityGroup": {"name": "default"}}, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", {"addSecurityGroup": {"name": "default"}}, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", {"restore": None}, ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", "rebuild", ACT),
    ("POST", f"{C}/servers/{{server_id}}/action", {"os-resetState": {"state": "active"}}, (403, 404, 403, OK)),
    ("DELETE", f"{C}/servers/{{server_id}}", None, (403, 404, OK, OK_OR_GONE)),
    ("GET", "/baremetal/v1/chassis", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/chassis/detail", None, ADMIN_ONLY),
    ("POST", "/baremetal/v1/chassis", {"description": "made"}, ADMIN_ONLY),
    ("GET", "/baremetal/v1/chassis/{chassis_id}", None, ADMIN_ONLY),
    ("PATCH", "/baremetal/v1/chassis/{chassis_id}", [{"op": "add", "path": "/extra/x", "value": "1"}], ADMIN_ONLY),
    ("DELETE", "/baremetal/v1/chassis/{chassis_id}", None, ADMIN_ONLY),
    # bm-ports: ports and port groups of project A's second node (the first one is deleted above)
    ("GET", "/baremetal/v1/chassis/{chassis_id}/nodes", None, PROJECT),
    ("GET", "/baremetal/v1/chassis/{chassis_id}/nodes/detail", None, PROJECT),
    ("GET", "/baremetal/v1/ports", None, PROJECT),
    ("GET", "/baremetal/v1/ports/detail", None, PROJECT),
    ("POST", "/baremetal/v1/ports", {"node_uuid": "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1",
                                     "address": "52:54:00:00:00:99"}, ADMIN_ONLY),  # admin: 400, no such node
    ("GET", "/baremetal/v1/ports/{port_id}", None, READ),
    ("PATCH", "/baremetal/v1/ports/{port_id}", [{"op": "add", "path": "/extra/x", "value": "1"}], (403, 404, 403, OK)),
    ("GET", f"{N}/{{port_node}}/ports", None, READ),
    ("GET", f"{N}/{{port_node}}/ports/detail", None, READ),
    ("GET", "/baremetal/v1/portgroups", None, PROJECT),
    ("GET", "/baremetal/v1/portgroups/detail", None, PROJECT),
    ("POST", "/baremetal/v1/portgroups", {"node_uuid": "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1"}, ADMIN_ONLY),
    ("GET", "/baremetal/v1/portgroups/{portgroup_ident}", None, READ),
    ("PATCH", "/baremetal/v1/portgroups/{portgroup_ident}", [{"op": "add", "path": "/extra/x", "value": "1"}],
     (403, 404, 403, OK)),
    ("GET", "/baremetal/v1/portgroups/{portgroup_ident}/ports", None, READ),
    ("GET", "/baremetal/v1/portgroups/{portgroup_ident}/ports/detail", None, READ),
    ("GET", f"{N}/{{port_node}}/portgroups", None, READ),
    ("GET", f"{N}/{{port_node}}/portgroups/detail", None, READ),
    ("DELETE", "/baremetal/v1/ports/{port_id}", None, (403, 404, 403, OK)),
    ("DELETE", "/baremetal/v1/portgroups/{portgroup_ident}", None, (403, 404, 403, OK)),
    # bm-volume: volume records of project A's port node, its VIFs (noop network), inspection rules
    ("GET", "/baremetal/v1/volume", None, ADMIN_ONLY),  # Ironic checks the rule without a node: the system's
    ("GET", f"{N}/{{port_node}}/volume", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/volume/connectors", None, PROJECT),
    ("POST", "/baremetal/v1/volume/connectors", {"node_uuid": "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1",
                                                 "type": "iqn", "connector_id": "made"},
     ADMIN_ONLY),  # admin: 400, no such node
    ("GET", "/baremetal/v1/volume/connectors/{connector_id}", None, READ),
    ("PATCH", "/baremetal/v1/volume/connectors/{connector_id}", [{"op": "add", "path": "/extra/x", "value": "1"}],
     ACT),  # member, admin: 400, the node is not powered off
    ("GET", f"{N}/{{port_node}}/volume/connectors", None, READ),
    ("DELETE", "/baremetal/v1/volume/connectors/{connector_id}", None, (403, 404, 403, OK)),
    ("GET", "/baremetal/v1/volume/targets", None, PROJECT),
    ("POST", "/baremetal/v1/volume/targets", {"node_uuid": "8c3d5bfb-1e0a-4d1e-a0cd-43f9f5c1b6b1",
                                              "volume_type": "iscsi", "volume_id": "made", "boot_index": 7},
     ADMIN_ONLY),
    ("GET", "/baremetal/v1/volume/targets/{target_id}", None, READ),
    ("PATCH", "/baremetal/v1/volume/targets/{target_id}", [{"op": "add", "path": "/extra/x", "value": "1"}], ACT),
    ("GET", f"{N}/{{port_node}}/volume/targets", None, READ),
    ("DELETE", "/baremetal/v1/volume/targets/{target_id}", None, (403, 404, 403, OK)),
    ("GET", f"{N}/{{port_node}}/vifs", None, READ),
    ("POST", f"{N}/{{port_node}}/vifs", {"id": "vif-a"}, ACT),
    ("DELETE", f"{N}/{{port_node}}/vifs/{{vif_id}}", None, ACT),
    ("GET", "/baremetal/v1/inspection_rules", None, ADMIN_ONLY),
    ("POST", "/baremetal/v1/inspection_rules", {"actions": [{"op": "log", "args": {"msg": "made"}}]}, ADMIN_ONLY),
    ("GET", "/baremetal/v1/inspection_rules/{rule_id}", None, ADMIN_ONLY),
    ("PATCH", "/baremetal/v1/inspection_rules/{rule_id}", [{"op": "replace", "path": "/priority", "value": 5}],
     ADMIN_ONLY),
    ("DELETE", "/baremetal/v1/inspection_rules/{rule_id}", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/drivers", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/drivers/{driver_name}", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/drivers/{driver_name}/properties", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/drivers/{driver_name}/raid/logical_disk_properties", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/conductors", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/conductors/{hostname}", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/shards", None, ADMIN_ONLY),
    ("GET", "/baremetal/v1/allocations", None, PROJECT),
    ("POST", "/baremetal/v1/allocations", {"resource_class": "made"}, CREATE),
    ("GET", "/baremetal/v1/allocations/{allocation_id}", None, READ),
    ("PATCH", "/baremetal/v1/allocations/{allocation_id}", [{"op": "add", "path": "/extra/x", "value": "1"}], ACT),
    ("DELETE", "/baremetal/v1/allocations/{allocation_id}", None, (403, 404, OK, 404)),  # gone once the member deleted it
    ("GET", "/baremetal/v1/deploy_templates", None, ADMIN_ONLY),
    ("POST", "/baremetal/v1/deploy_templates", {"name": "CUSTOM_MADE", "steps": [
        {"interface": "bios", "step": "factory_reset", "args": {}, "priority": 10}]}, ADMIN_ONLY),
    ("GET", "/baremetal/v1/deploy_templates/{template_id}", None, ADMIN_ONLY),
    ("PATCH", "/baremetal/v1/deploy_templates/{template_id}", [{"op": "add", "path": "/extra/x", "value": "1"}],
     ADMIN_ONLY),
    ("DELETE", "/baremetal/v1/deploy_templates/{template_id}", None, ADMIN_ONLY),
    # a runbook of project A: its reader sees it, only a manager of A (or the admin) changes it
    ("GET", "/baremetal/v1/runbooks", None, PROJECT),
    ("POST", "/baremetal/v1/runbooks", {"name": "CUSTOM_MADE", "steps": [
        {"interface": "bios", "step": "factory_reset", "order": 1}]}, ADMIN_ONLY),
    ("GET", "/baremetal/v1/runbooks/{runbook_id}", None, READ),
    ("PATCH", "/baremetal/v1/runbooks/{runbook_id}", [{"op": "add", "path": "/extra/x", "value": "1"}],
     (403, 404, 403, OK)),
    ("GET", "/baremetal/v1/runbooks/{runbook_id}/traits", None, READ),
    ("PUT", "/baremetal/v1/runbooks/{runbook_id}/traits", {"traits": ["CUSTOM_A"]}, (403, 404, 403, OK)),
    ("PUT", "/baremetal/v1/runbooks/{runbook_id}/traits/{trait}", None, (403, 404, 403, OK)),
    ("DELETE", "/baremetal/v1/runbooks/{runbook_id}/traits/{trait}", None, (403, 404, 403, OK)),
    ("DELETE", "/baremetal/v1/runbooks/{runbook_id}/traits", None, (403, 404, 403, OK)),
    ("DELETE", "/baremetal/v1/runbooks/{runbook_id}", None, (403, 404, 403, OK)),
    # nova-quotas: keypairs (per user: only alice's own), quotas, limits, server groups
    ("GET", f"{C}/os-keypairs", None, PROJECT),
    ("POST", f"{C}/os-keypairs", {"keypair": {"name": "made"}}, PROJECT),
    ("GET", f"{C}/os-keypairs/{{keypair_name}}", None, (404, 404, OK, 404)),
    ("DELETE", f"{C}/os-keypairs/{{keypair_name}}", None, (404, 404, OK, 404)),
    ("GET", f"{C}/os-quota-sets/{{tenant_id}}", None, (OK, 403, OK, OK)),
    ("GET", f"{C}/os-quota-sets/{{tenant_id}}/detail", None, (OK, 403, OK, OK)),
    ("GET", f"{C}/os-quota-sets/{{tenant_id}}/defaults", None, PROJECT),
    ("PUT", f"{C}/os-quota-sets/{{tenant_id}}", {"quota_set": {"cores": 40}}, ADMIN_ONLY),
    ("DELETE", f"{C}/os-quota-sets/{{tenant_id}}", None, ADMIN_ONLY),
    ("GET", f"{C}/os-quota-class-sets/{{quota_class}}", None, ADMIN_ONLY),
    ("PUT", f"{C}/os-quota-class-sets/{{quota_class}}", {"quota_class_set": {"cores": 20}}, ADMIN_ONLY),
    ("GET", f"{C}/limits", None, PROJECT),
    ("GET", f"{C}/limits?tenant_id=projA", None, ADMIN_ONLY),
    ("GET", f"{C}/os-server-groups", None, PROJECT),
    ("POST", f"{C}/os-server-groups", {"server_group": {"name": "g", "policies": ["affinity"]}}, CREATE),
    ("GET", f"{C}/os-server-groups/{{group_id}}", None, READ),
    ("DELETE", f"{C}/os-server-groups/{{group_id}}", None, (403, 404, OK, OK_OR_GONE)),
    # nova-placement
    ("GET", f"{C}/os-aggregates", None, ADMIN_ONLY),
    ("POST", f"{C}/os-aggregates", {"aggregate": {"name": "agg-policy"}}, ADMIN_ONLY),
    ("GET", f"{C}/os-aggregates/{{aggregate_id}}", None, ADMIN_ONLY),
    ("PUT", f"{C}/os-aggregates/{{aggregate_id}}", {"aggregate": {"name": "agg-renamed"}}, ADMIN_ONLY),
    ("POST", f"{C}/os-aggregates/{{aggregate_id}}/action", {"set_metadata": {"metadata": {"k": "v"}}}, ADMIN_ONLY),
    ("POST", f"{C}/os-aggregates/{{aggregate_id}}/action", {"add_host": {"host": "nowhere"}},
     (403, 403, 403, 404)),  # admin: 404, no such compute
    ("POST", f"{C}/os-aggregates/{{aggregate_id}}/action", {"remove_host": {"host": "nowhere"}},
     (403, 403, 403, 404)),  # admin: 404, not in the aggregate
    ("DELETE", f"{C}/os-aggregates/{{aggregate_id}}", None, ADMIN_ONLY),
    ("GET", f"{C}/os-availability-zone", None, PROJECT),
    ("GET", f"{C}/os-availability-zone/detail", None, ADMIN_ONLY),
    ("GET", f"{C}/os-networks", None, PROJECT),
    ("GET", f"{C}/os-networks/{{network_id}}", None, PROJECT),
    ("GET", f"{C}/os-hosts", None, ADMIN_ONLY),
    ("GET", f"{C}/os-hosts/{{host_name}}", None, ADMIN_ONLY),
    ("PUT", f"{C}/os-hosts/{{host_name}}", {"status": "enable"}, ADMIN_ONLY),
    ("GET", f"{C}/os-hosts/{{host_name}}/startup", None, (403, 403, 403, 501)),  # admin: no driver does it
    ("GET", f"{C}/os-hosts/{{host_name}}/shutdown", None, (403, 403, 403, 501)),
    ("GET", f"{C}/os-hosts/{{host_name}}/reboot", None, (403, 403, 403, 501)),
    ("GET", f"{C}/os-hypervisors/statistics", None, ADMIN_ONLY),
    ("GET", f"{C}/os-hypervisors/{{hypervisor_id}}/uptime", None, ADMIN_ONLY),
    ("GET", f"{C}/os-hypervisors/{{host_name}}/search", None, ADMIN_ONLY),
    ("GET", f"{C}/os-hypervisors/{{host_name}}/servers", None, ADMIN_ONLY),
    ("GET", f"{C}/os-simple-tenant-usage", None, ADMIN_ONLY),
    ("GET", f"{C}/os-simple-tenant-usage/{{tenant_id}}", None, (OK, 403, OK, OK)),
    ("GET", f"{C}/os-instance_usage_audit_log", None, ADMIN_ONLY),
    ("GET", f"{C}/os-instance_usage_audit_log/{{before_timestamp}}", None, ADMIN_ONLY),
    ("GET", f"{C}/os-migrations", None, ADMIN_ONLY),
    ("POST", f"{C}/os-server-external-events", {"events": [{
        "name": "network-changed", "server_uuid": "00000000-0000-0000-0000-000000000000"}]},
     (403, 403, 403, 404)),  # admin: 404, no such server
    ("GET", f"{C}/extensions", None, PROJECT),
    ("GET", f"{C}/extensions/{{alias}}", None, PROJECT),
    ("GET", f"{C}/images", None, PROJECT),
    ("GET", f"{C}/images/detail", None, PROJECT),
    ("GET", f"{C}/images/{{proxy_image_id}}", None, READ),
    ("GET", f"{C}/images/{{proxy_image_id}}/metadata", None, READ),
    ("POST", f"{C}/images/{{proxy_image_id}}/metadata", {"metadata": {"k": "v"}}, ACT),
    ("PUT", f"{C}/images/{{proxy_image_id}}/metadata", {"metadata": {"k": "v"}}, ACT),
    ("PUT", f"{C}/images/{{proxy_image_id}}/metadata/{{key}}", {"meta": {"key": "v"}}, ACT),
    ("GET", f"{C}/images/{{proxy_image_id}}/metadata/{{key}}", None, READ),
    ("DELETE", f"{C}/images/{{proxy_image_id}}/metadata/{{key}}", None, (403, 404, OK, 404)),  # gone once deleted
    ("DELETE", f"{C}/images/{{proxy_image_id}}", None, (403, 404, OK, 404)),
]


@pytest.fixture
def world(cloud):
    """Project A's server, image and node, and an admin's flavor and service."""
    client = cloud.client
    a = HEADERS["member"]
    resp = cloud.post("/servers", {"server": {"name": "a-vm", "flavorRef": "1", "imageRef": cloud.image_id}},
                      headers=a)
    assert resp.status_code == 202, resp.text
    task_url = resp.headers["X-Taskvisor-Task"]
    server_id = resp.json()["server"]["id"]
    cloud.wait_task(task_url)
    request_id = cloud.instance_actions(server_id)[0]["request_id"]
    image = client.post("/image/v2/images", json={"name": "a-img", "visibility": "private", "disk_format": "raw",
                                                  "container_format": "bare"}, headers=a).json()
    flavor = cloud.post("/flavors", {"flavor": {"name": "tmp", "ram": 64, "vcpus": 1, "disk": 1}}).json()["flavor"]
    cloud.post(f"/flavors/{flavor['id']}/os-extra_specs", {"extra_specs": {"key": "v"}})
    node = client.post(N, json={"driver": "fake-hardware", "owner": "projA"}, headers=LATEST).json()
    power = client.put(f"{N}/{node['uuid']}/states/power", json={"target": "power off"}, headers=LATEST)
    node_task = power.headers["X-Taskvisor-Task"]
    cloud.wait_task(node_task)
    service = cloud.get("/os-services").json()["services"][0]
    hypervisor = cloud.get("/os-hypervisors").json()["hypervisors"][0]
    chassis = client.post("/baremetal/v1/chassis", json={"description": "rack 1"}, headers=LATEST).json()
    port_node = client.post(N, json={"driver": "fake-hardware", "owner": "projA", "chassis_uuid": chassis["uuid"]},
                            headers=LATEST).json()  # in the chassis: its delete is then a 400, it stays
    group = client.post("/baremetal/v1/portgroups", json={"node_uuid": port_node["uuid"]}, headers=LATEST).json()
    port = client.post("/baremetal/v1/ports", json={"node_uuid": port_node["uuid"], "address": "52:54:00:00:00:01",
                                                    "portgroup_uuid": group["uuid"]}, headers=LATEST).json()
    connector = client.post("/baremetal/v1/volume/connectors", json={
        "node_uuid": port_node["uuid"], "type": "iqn", "connector_id": "iqn.a"}, headers=LATEST).json()
    volume_target = client.post("/baremetal/v1/volume/targets", json={
        "node_uuid": port_node["uuid"], "volume_type": "iscsi", "volume_id": "vol-a", "boot_index": 0},
        headers=LATEST).json()
    rule = client.post("/baremetal/v1/inspection_rules", json={"actions": [{"op": "log", "args": {"msg": "a"}}]},
                       headers=LATEST).json()
    allocation = client.post("/baremetal/v1/allocations", json={"resource_class": "none"}, headers={**LATEST, **a})
    template = client.post("/baremetal/v1/deploy_templates", headers=LATEST, json={"name": "CUSTOM_T", "steps": [
        {"interface": "bios", "step": "factory_reset", "args": {}, "priority": 10}]}).json()
    runbook = client.post("/baremetal/v1/runbooks", headers=LATEST, json={
        "name": "CUSTOM_R", "owner": "projA", "steps": [{"interface": "bios", "step": "factory_reset", "order": 1}]}).json()
    cloud.post("/os-keypairs", {"keypair": {"name": "kp-a"}}, headers=a)
    private = cloud.post("/flavors", {"flavor": {"name": "priv", "ram": 64, "vcpus": 1, "disk": 1,
                                                 "os-flavor-access:is_public": False}}).json()["flavor"]
    server_group = cloud.post("/os-server-groups", {"server_group": {"name": "g", "policies": ["affinity"]}},
                              headers=a).json()["server_group"]
    return {"server_id": server_id, "request_id": request_id, "task_id": task_url.rsplit("/", 1)[1],
            "flavor_id": flavor["id"], "key": "key", "service_id": service["id"], "hypervisor_id": hypervisor["id"],
            "image_id": image["id"], "node_ident": node["uuid"], "node_task_id": node_task.rsplit("/", 1)[1],
            "chassis_id": chassis["uuid"], "port_node": port_node["uuid"], "port_id": port["uuid"],
            "portgroup_ident": group["uuid"], "driver_name": "fake-hardware", "hostname": cloud.node.conf.DEFAULT.host,
            "trait": "CUSTOM_T", "allocation_id": allocation.json()["uuid"],
            "template_id": template["uuid"], "runbook_id": runbook["uuid"],
            "connector_id": connector["uuid"], "target_id": volume_target["uuid"], "rule_id": rule["uuid"],
            "vif_id": "vif-a",
            "keypair_name": "kp-a", "group_id": server_group["id"],
            "tenant_id": "projA", "quota_class": "default", "private_flavor_id": private["id"],
            "host_name": cloud.get("/os-services?binary=nova-compute").json()["services"][0]["host"],
            "proxy_image_id": client.post("/image/v2/images", json={
                "name": "a-proxy", "visibility": "private", "disk_format": "raw", "container_format": "bare"},
                headers=a).json()["id"],
            "alias": "os-hosts", "before_timestamp": "2026-01-01 00:00:00",
            "aggregate_id": cloud.post("/os-aggregates", {"aggregate": {"name": "agg"}}).json()["aggregate"]["id"],
            "network": next(iter(cloud.server(server_id)["addresses"]), "none"),
            "network_id": cloud.get("/os-networks").json()["networks"][0]["id"],
            "setting_name": "LogicalProc", "event_ident": "00000000-0000-0000-0000-000000000000",
            "indicator": "led@system"}


def _body(kind, cloud):
    if kind == "server":
        return {"server": {"name": "new", "flavorRef": "1", "imageRef": cloud.image_id}}
    if kind == "rebuild":
        return {"rebuild": {"imageRef": cloud.image_id}}
    if kind == "flavor":
        import uuid
        return {"flavor": {"name": f"f-{uuid.uuid4().hex[:8]}", "ram": 64, "vcpus": 1, "disk": 1}}
    return kind


def _send(client, method, path, body, headers):
    headers = {**LATEST, **headers}
    if "/tags" in path:  # server tags exist from 2.26
        headers["X-OpenStack-Nova-API-Version"] = "2.26"
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers={**headers,
                                                                   "Content-Type": "application/octet-stream"})
    if method == "PATCH" and path.startswith("/image"):
        import json
        return client.request(method, path, content=json.dumps(body).encode(),
                              headers={**headers, "Content-Type": "application/openstack-images-v2.1-json-patch"})
    return client.request(method, path, json=body, headers=headers)


def test_every_route_answers_each_persona_as_the_policy_says(cloud, world):
    wrong = []
    for method, template, kind, expected in TABLE:
        path = template.format(**world)
        for role, want in zip(ROLES, expected):
            resp = _send(cloud.client, method, path, _body(kind, cloud), HEADERS[role])
            got = resp.status_code
            if want == OK:
                fine = got not in (401, 403, 404) and got < 500
            elif want == OK_OR_GONE:
                fine = got not in (401, 403) and got < 500
            else:
                fine = got == want
            if not fine:
                wrong.append(f"{method} {template} as {role}: {got} (want {want}) {resp.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_the_table_covers_every_route(cloud):
    """Every operation of the app's OpenAPI document (what FastAPI routes) is in the table."""
    from taskvisor.api.middleware.auth import OPEN_PATHS
    paths = cloud.client.get("/openapi.json").json()["paths"]
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path.split("?")[0])
    routes = {(method.upper(), shape(path)) for path, ops in paths.items() for method in ops if path not in OPEN_PATHS}
    assert len(routes) > 40
    covered = {(m, shape(t)) for m, t, _, _ in TABLE}
    assert sorted(routes - covered) == []


def test_anonymous_gets_401_on_every_route_under_keystone(tmp_path, cloud):
    """No token: keystonemiddleware answers 401 without asking Keystone (none runs here)."""
    from taskvisor.allinone import FLOWS
    from taskvisor.api.app import create_app
    conf = make_conf(tmp_path, api__auth_strategy="keystone",
                     keystone_authtoken__www_authenticate_uri="http://127.0.0.1:9/identity",
                     keystone_authtoken__auth_url="http://127.0.0.1:9/identity")
    client = TestClient(create_app(conf, cloud.node.db, cloud.node.transport, FLOWS))
    placeholders = {k: "00000000-0000-0000-0000-000000000000" for k in
                    ("server_id", "request_id", "task_id", "flavor_id", "key", "service_id", "hypervisor_id",
                     "image_id", "node_ident", "node_task_id", "chassis_id", "port_node", "port_id",
                     "portgroup_ident", "driver_name", "hostname", "trait", "allocation_id",
                     "template_id", "runbook_id", "connector_id", "target_id", "rule_id", "vif_id",
                     "keypair_name", "group_id", "tenant_id",
                     "quota_class", "private_flavor_id", "host_name", "aggregate_id", "proxy_image_id", "alias",
                     "before_timestamp", "network", "network_id", "setting_name", "event_ident", "indicator")}
    for method, template, kind, _ in TABLE:
        resp = _send(client, method, template.format(**placeholders), _body(kind, cloud), {})
        assert resp.status_code == 401, (method, template, resp.text)
        assert resp.headers["www-authenticate"] == "Keystone uri=\"http://127.0.0.1:9/identity\""
    for path in ("/compute/v2.1/", "/baremetal/", "/image/versions"):
        assert client.get(path).status_code in (200, 300)
