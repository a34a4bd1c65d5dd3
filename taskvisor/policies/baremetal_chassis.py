"""Bare-metal chassis: Ironic's rule names and defaults (system scope only)."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op


def op(*args):
    return _op(*args, scope_types=["system", "project"])


C = "/baremetal/v1/chassis"
ONE = f"{C}/{{chassis_id}}"

rules = [
    op("baremetal:chassis:get", b.SYSTEM_READER, "Show or list chassis", "GET", f"{C}|{C}/detail|{ONE}"),
    op("baremetal:chassis:create", b.SYSTEM_MEMBER, "Create a chassis", "POST", C),
    op("baremetal:chassis:update", b.SYSTEM_MEMBER, "Update a chassis", "PATCH", ONE),
    op("baremetal:chassis:delete", b.SYSTEM_ADMIN, "Delete a chassis", "DELETE", ONE),
]
