"""Server states: Nova's vm_state and task_state, and the status the API shows."""
from __future__ import annotations

# vm_states
ACTIVE, BUILDING, STOPPED, RESIZED, PAUSED, SUSPENDED = "active", "building", "stopped", "resized", "paused", "suspended"
RESCUED, ERROR, DELETED, SOFT_DELETED = "rescued", "error", "deleted", "soft-delete"
SHELVED, SHELVED_OFFLOADED = "shelved", "shelved_offloaded"

_BASE_STATUS = {
    ACTIVE: "ACTIVE", BUILDING: "BUILD", STOPPED: "SHUTOFF", RESIZED: "VERIFY_RESIZE", PAUSED: "PAUSED",
    SUSPENDED: "SUSPENDED", RESCUED: "RESCUE", ERROR: "ERROR", DELETED: "DELETED",
    SOFT_DELETED: "SOFT_DELETED", SHELVED: "SHELVED", SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
}

# task_state overrides, per vm_state (Nova's _STATE_MAP)
_TASK_STATUS = {
    ACTIVE: {"rebooting": "REBOOT", "reboot_pending": "REBOOT", "reboot_started": "REBOOT",
             "rebooting_hard": "HARD_REBOOT", "reboot_pending_hard": "HARD_REBOOT",
             "reboot_started_hard": "HARD_REBOOT", "rebuilding": "REBUILD",
             "rebuild_block_device_mapping": "REBUILD", "rebuild_spawning": "REBUILD",
             "migrating": "MIGRATING", "resize_prep": "RESIZE", "resize_migrating": "RESIZE",
             "resize_migrated": "RESIZE", "resize_finish": "RESIZE"},
    STOPPED: {"resize_prep": "RESIZE", "resize_migrating": "RESIZE", "resize_migrated": "RESIZE",
              "resize_finish": "RESIZE", "rebuilding": "REBUILD"},
    RESIZED: {"resize_reverting": "REVERT_RESIZE"},
}


def status(vm_state: str, task_state: str | None) -> str:
    if task_state and task_state in _TASK_STATUS.get(vm_state, {}):
        return _TASK_STATUS[vm_state][task_state]
    return _BASE_STATUS.get(vm_state, "UNKNOWN")
