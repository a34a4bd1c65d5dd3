"""A node's RAID, console, boot mode, BIOS, firmware, history, virtual
media, indicators and vendor passthru, and the ramdisk's heartbeat:
Ironic's rule names and secure-RBAC defaults."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op


def op(*args):
    return _op(*args, scope_types=["system", "project"])


ONE = "/baremetal/v1/nodes/{node_ident}"
SYSTEM_OR_PROJECT_MEMBER = f"({b.SYSTEM_MEMBER}) or ({b.OWNER_MEMBER}) or ({b.LESSEE_MEMBER})"
IND = f"{ONE}/management/indicators"

rules = [
    op("baremetal:node:set_raid_state", b.SYSTEM_MEMBER_OR_OWNER_MEMBER, "Set a node's target RAID configuration",
       "PUT", f"{ONE}/states/raid"),
    op("baremetal:node:get_console", b.SYSTEM_MEMBER_OR_OWNER_MEMBER, "Show a node's console", "GET",
       f"{ONE}/states/console"),
    op("baremetal:node:set_console_state", b.SYSTEM_MEMBER_OR_OWNER_MEMBER, "Enable or disable a node's console",
       "PUT", f"{ONE}/states/console"),
    op("baremetal:node:set_boot_mode", SYSTEM_OR_PROJECT_MEMBER, "Change a node's boot mode", "PUT",
       f"{ONE}/states/boot_mode"),
    op("baremetal:node:set_secure_boot", SYSTEM_OR_PROJECT_MEMBER, "Enable or disable a node's secure boot",
       "PUT", f"{ONE}/states/secure_boot"),
    op("baremetal:node:bios:get", b.SYSTEM_OR_PROJECT_READER, "Show a node's BIOS settings", "GET",
       f"{ONE}/bios|{ONE}/bios/{{setting_name}}"),
    op("baremetal:node:firmware:get", b.SYSTEM_OR_PROJECT_READER, "List a node's firmware components", "GET",
       f"{ONE}/firmware"),
    op("baremetal:node:history:get", b.SYSTEM_OR_OWNER_READER, "List a node's history events", "GET",
       f"{ONE}/history|{ONE}/history/{{event_ident}}"),
    op("baremetal:node:vmedia:attach", SYSTEM_OR_PROJECT_MEMBER, "Attach virtual media to a node", "POST",
       f"{ONE}/vmedia"),
    op("baremetal:node:vmedia:detach", SYSTEM_OR_PROJECT_MEMBER, "Detach virtual media from a node", "DELETE",
       f"{ONE}/vmedia"),
    op("baremetal:node:vmedia:get", b.SYSTEM_OR_PROJECT_READER, "Show a node's virtual media", "GET",
       f"{ONE}/vmedia"),
    op("baremetal:node:get_indicator_state", b.SYSTEM_OR_PROJECT_READER, "List a node's indicators and show one",
       "GET", f"{IND}|{IND}/{{indicator}}"),
    op("baremetal:node:set_indicator_state", b.SYSTEM_MEMBER_OR_OWNER_MEMBER, "Set one of a node's indicators",
       "PUT", f"{IND}/{{indicator}}"),
    op("baremetal:node:vendor_passthru", b.SYSTEM_ADMIN, "List a node's vendor passthru methods", "GET",
       f"{ONE}/vendor_passthru/methods"),
    op("baremetal:driver:vendor_passthru", b.SYSTEM_ADMIN, "List a driver's vendor passthru methods", "GET",
       "/baremetal/v1/drivers/{driver_name}/vendor_passthru/methods"),
    op("baremetal:node:ipa_heartbeat", "", "Receive heartbeats from the deploy ramdisk", "POST",
       "/baremetal/v1/heartbeat/{node_ident}|/baremetal/v1/heartbeat"),
]
