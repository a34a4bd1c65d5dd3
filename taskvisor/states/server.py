"""Server states: Nova's vm_state and task_state as an explicit machine.

A machine state is ``<vm_state>`` when no task runs (stable) or
``<vm_state>/<task_state>`` while one does (transient). Events:

* an API action (``stop``, ``resize`` ...) leaves a stable state for the
  action's first task_state (the API's compare-and-swap writes it);
* a flow step that sets the next task_state moves to it (event = that name);
* a finished flow leaves its last task_state with ``done`` (or another
  outcome, e.g. shelve ``kept`` = not offloaded), ``failed`` (back to the
  source: the guest is as it was) or ``error`` (the guest is in an unknown
  state).

Everything the API and the flows need (allowed source states, task_states,
targets) is read from ``ACTIONS`` and the machine built from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from automaton import machines

from taskvisor.states import power

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
              "resize_finish": "RESIZE", "rebuilding": "REBUILD", "rebuild_block_device_mapping": "REBUILD",
              "rebuild_spawning": "REBUILD"},
    ERROR: {"rebuilding": "REBUILD", "rebuild_block_device_mapping": "REBUILD", "rebuild_spawning": "REBUILD"},
    RESIZED: {"resize_reverting": "REVERT_RESIZE"},
}


def status(vm_state: str, task_state: str | None) -> str:
    if task_state and task_state in _TASK_STATUS.get(vm_state, {}):
        return _TASK_STATUS[vm_state][task_state]
    return _BASE_STATUS.get(vm_state, "UNKNOWN")


# -- the machine's data ------------------------------------------------------------
# Stable vm_states a server rests in between tasks.
STABLE = (ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, RESIZED, SHELVED, SHELVED_OFFLOADED, ERROR)
TERMINAL = (DELETED,)
DONE, FAILED, BROKEN = "done", "failed", "error"

# What the guest looks like in each vm_state. A failed task whose guest still
# looks like this went back to its source state; anything else is ERROR.
GUEST_POWER = {
    ACTIVE: {power.RUNNING}, STOPPED: {power.SHUTDOWN, power.CRASHED}, PAUSED: {power.PAUSED},
    SUSPENDED: {power.SUSPENDED}, RESCUED: {power.RUNNING}, RESIZED: {power.RUNNING, power.SHUTDOWN},
    SHELVED: {power.SHUTDOWN, power.CRASHED}, SHELVED_OFFLOADED: {power.NOSTATE},
}


@dataclass(frozen=True)
class Action:
    name: str                      # the instance action Nova records (and our task's action)
    label: str                     # Nova's word in "Cannot '<label>' instance …" (409)
    flow: str                      # taskvisor/flows/<module>.py registers it
    sources: tuple[str, ...]       # vm_states the action is allowed from
    task_states: tuple[str, ...]   # first written by the API's CAS, the rest by the flow's steps
    outcomes: dict[str, str] = field(default_factory=dict)  # finishing event -> vm_state
    fail_back: bool = True         # a failure that left the guest as it was returns to the source
    supersedes: bool = False       # accepted while another task runs (delete takes the server over)
    recorded_as: str | None = None  # the instance action's name when it differs from ``name``
    checks_lock: bool = True       # a locked server refuses it to non-admins (409, Nova's check_instance_lock)
    instant: bool = False          # the API applies it and records the task finished, in one transaction

    @property
    def instance_action(self) -> str:
        return self.recorded_as or self.name


_ANY = (BUILDING, *STABLE, SOFT_DELETED)
SAME = "<source>"  # an outcome that returns the server to the vm_state the action started from
# vm_states an image can be taken from (Nova's snapshot and backup)
_IMAGEABLE = (ACTIVE, STOPPED, PAUSED, SUSPENDED)
_ACTIONS = [
    Action("create", "create", "boot", (BUILDING,), ("scheduling", "networking", "spawning"),
           {DONE: ACTIVE}, fail_back=False),
    Action("stop", "stop", "stop", (ACTIVE, ERROR), ("powering-off",), {DONE: STOPPED}),
    Action("start", "start", "start", (STOPPED,), ("powering-on",), {DONE: ACTIVE}),
    Action("reboot", "reboot", "reboot", (ACTIVE,), ("rebooting", "reboot_started"), {DONE: ACTIVE}),
    Action("reboot_hard", "reboot", "reboot_hard", (ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR),
           ("rebooting_hard", "reboot_started_hard"), {DONE: ACTIVE}, recorded_as="reboot"),
    Action("rescue", "rescue", "rescue", (ACTIVE, STOPPED, ERROR), ("rescuing",), {DONE: RESCUED}),
    Action("unrescue", "unrescue", "unrescue", (RESCUED,), ("unrescuing",), {DONE: ACTIVE}),
    Action("shelve", "shelve", "shelve", (ACTIVE, STOPPED, PAUSED, SUSPENDED),
           ("shelving", "shelving_image_pending_upload", "shelving_image_uploading", "shelving_offloading"),
           {DONE: SHELVED_OFFLOADED, "kept": SHELVED}),
    Action("shelveOffload", "shelve_offload", "shelve_offload", (SHELVED,), ("shelving_offloading",),
           {DONE: SHELVED_OFFLOADED}),
    Action("unshelve", "unshelve", "unshelve", (SHELVED, SHELVED_OFFLOADED), ("unshelving", "spawning"),
           {DONE: ACTIVE}),
    Action("resize", "resize", "resize", (ACTIVE, STOPPED),
           ("resize_prep", "resize_migrating", "resize_migrated", "resize_finish"), {DONE: RESIZED}),
    Action("confirmResize", "confirm_resize", "confirm_resize", (RESIZED,), ("resize_confirming",),
           {DONE: ACTIVE, "stopped": STOPPED}),
    Action("revertResize", "revert_resize", "revert_resize", (RESIZED,), ("resize_reverting",),
           {DONE: ACTIVE, "stopped": STOPPED}),
    Action("pause", "pause", "pause", (ACTIVE,), ("pausing",), {DONE: PAUSED}),
    Action("unpause", "unpause", "unpause", (PAUSED,), ("unpausing",), {DONE: ACTIVE}),
    Action("suspend", "suspend", "suspend", (ACTIVE,), ("suspending",), {DONE: SUSPENDED}),
    Action("resume", "resume", "resume", (SUSPENDED,), ("resuming",), {DONE: ACTIVE}),
    Action("delete", "delete", "delete", _ANY, ("deleting",), {DONE: DELETED}, fail_back=False,
           supersedes=True),
    Action("forceDelete", "force_delete", "delete", _ANY, ("deleting",), {DONE: DELETED}, fail_back=False,
           supersedes=True, recorded_as="delete"),  # Nova records every kind of delete as "delete"
]
# nova-servers: image, rebuild, admin, soft-delete and migrate actions
_ACTIONS += [
    Action("createImage", "createImage", "snapshot", _IMAGEABLE,
           ("image_snapshot", "image_pending_upload", "image_uploading"), {DONE: SAME}, checks_lock=False),
    Action("createBackup", "createBackup", "backup", _IMAGEABLE,
           ("image_backup", "image_pending_upload", "image_uploading"), {DONE: SAME}, checks_lock=False),
    Action("rebuild", "rebuild", "rebuild", (ACTIVE, STOPPED, ERROR),
           ("rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"), {DONE: ACTIVE, "stopped": STOPPED}),
    Action("resetState", "os-resetState", "reset_state", _ANY, ("resetting",), {ACTIVE: ACTIVE, ERROR: ERROR},
           fail_back=False, supersedes=True, checks_lock=False, instant=True),
    Action("injectNetworkInfo", "inject_network_info", "inject_network_info",
           (ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, RESIZED, ERROR), ("networking",), {DONE: SAME}),
    Action("softDelete", "delete", "soft_delete", (ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, RESIZED, SHELVED,
                                                    SHELVED_OFFLOADED, ERROR),
           ("soft-deleting",), {DONE: SOFT_DELETED}, recorded_as="delete"),
    Action("restore", "restore", "restore", (SOFT_DELETED,), ("restoring",), {DONE: ACTIVE}),
    Action("migrate", "migrate", "migrate", (ACTIVE, STOPPED),
           ("resize_prep", "resize_migrating", "resize_migrated", "resize_finish"), {DONE: RESIZED}),
]
ACTIONS: dict[str, Action] = {a.name: a for a in _ACTIONS}
API_ACTIONS = tuple(a for a in _ACTIONS if a.name != "create")  # events from stable states
START = f"{BUILDING}/scheduling"


def transient(vm_state: str, task_state: str) -> str:
    return f"{vm_state}/{task_state}"


def split(state: str) -> tuple[str, str | None]:
    vm_state, _, task_state = state.partition("/")
    return vm_state, task_state or None


def _edges() -> list[tuple[str, str, str]]:
    """(from, event, to) for every transition, from ACTIONS."""
    edges: dict[tuple[str, str], str] = {}

    def add(src: str, event: str, dst: str) -> None:
        if edges.setdefault((src, event), dst) != dst:
            raise ValueError(f"{src} --{event}--> both {edges[(src, event)]} and {dst}")

    for action in _ACTIONS:
        for source in action.sources:
            path = [transient(source, ts) for ts in action.task_states]
            if source in STABLE or source == SOFT_DELETED:  # building is never stable: only delete leaves it
                add(source, action.name, path[0])
            for here, (ts, there) in zip(path, zip(action.task_states[1:], path[1:])):
                add(here, ts, there)
            for event, target in action.outcomes.items():
                add(path[-1], event, source if target == SAME else target)
            for here in path:
                add(here, BROKEN, ERROR)
                if action.fail_back:
                    add(here, FAILED, source)
    # delete takes the server over from whatever task it runs
    for state in {src for src, _ in edges}:
        vm_state, task_state = split(state)
        if task_state and task_state != "deleting":
            for action in _ACTIONS:
                if action.supersedes:
                    add(state, action.name, transient(vm_state, action.task_states[0]))
    return [(src, event, dst) for (src, event), dst in edges.items()]


@lru_cache(maxsize=1)
def transitions() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for src, event, dst in _edges():
        out.setdefault(src, {})[event] = dst
        out.setdefault(dst, {})
    return out


def build_machine() -> machines.FiniteMachine:
    """The server machine as an automaton FiniteMachine (fresh, not initialized)."""
    machine = machines.FiniteMachine()
    for state in transitions():
        machine.add_state(state, terminal=state in TERMINAL)
    for src, events in transitions().items():
        for event, dst in events.items():
            machine.add_transition(src, dst, event)
    machine.default_start_state = START
    return machine


def stable(state: str) -> bool:
    return "/" not in state and state not in TERMINAL


def allowed_from(action: str) -> tuple[str, ...]:
    """vm_states an API action is accepted from."""
    return ACTIONS[action].sources


def target(action: str, source: str, event: str = DONE) -> str:
    """Where a finished flow leaves the server (read from the machine)."""
    last = transient(source, ACTIONS[action].task_states[-1])
    return transitions()[last][event]


def after_failure(action: str, source: str, guest_power: int | None) -> str:
    """A failed task goes back to its source when the guest still looks as the
    source state says (the failure did not change it); otherwise to ERROR."""
    spec = ACTIONS[action]
    event = FAILED if spec.fail_back and guest_power in GUEST_POWER.get(source, ()) else BROKEN
    return transitions()[transient(source, spec.task_states[-1])][event]
