"""Bare-metal node provision states: Ironic's machine, as data.

``TRANSITIONS`` lists every (source, event, target). Events named after API
verbs (manage, provide, clean, deploy, delete, abort, unhold) are what users
ask for; the rest (done, fail, wait, hold, resume) are what the conductor's
flows report. ``VERBS`` maps each provision target the API accepts to its
event, and ``verb_sources`` says from which states the API accepts it.
"""
from __future__ import annotations

from functools import lru_cache

from automaton import machines

TITLE = "Bare-metal node provision states (Ironic)"

ENROLL, VERIFYING, MANAGEABLE, AVAILABLE = "enroll", "verifying", "manageable", "available"
DEPLOYING, DEPLOYWAIT, DEPLOYFAIL, ACTIVE = "deploying", "wait call-back", "deploy failed", "active"
DELETING, ERROR = "deleting", "error"
CLEANING, CLEANWAIT, CLEANHOLD, CLEANFAIL = "cleaning", "clean wait", "clean hold", "clean failed"
INSPECTING, INSPECTFAIL = "inspecting", "inspect failed"

STABLE_STATES = (ENROLL, MANAGEABLE, AVAILABLE, ACTIVE, ERROR)
FAILURE_STATES = (DEPLOYFAIL, CLEANFAIL, INSPECTFAIL)
CLEANING_STATES = (CLEANING, CLEANWAIT, CLEANHOLD)
STATES = (ENROLL, VERIFYING, MANAGEABLE, AVAILABLE, DEPLOYING, DEPLOYWAIT, DEPLOYFAIL, ACTIVE,
          DELETING, ERROR, CLEANING, CLEANWAIT, CLEANHOLD, CLEANFAIL, INSPECTING, INSPECTFAIL)
# Where a transient state is headed when nothing says otherwise (Ironic's targets).
TARGETS = {VERIFYING: MANAGEABLE, DEPLOYING: ACTIVE, DEPLOYWAIT: ACTIVE, DEPLOYFAIL: ACTIVE,
           DELETING: AVAILABLE, CLEANING: AVAILABLE, CLEANWAIT: AVAILABLE, CLEANHOLD: AVAILABLE,
           CLEANFAIL: AVAILABLE, INSPECTING: MANAGEABLE, INSPECTFAIL: MANAGEABLE}
# A node may be deleted only here (Ironic: DELETE_ALLOWED_STATES + available).
DELETE_ALLOWED = (MANAGEABLE, ENROLL, AVAILABLE)

TRANSITIONS: tuple[tuple[str, str, str], ...] = (
    (ENROLL, "manage", VERIFYING),
    (VERIFYING, "done", MANAGEABLE),
    (VERIFYING, "fail", ENROLL),
    (MANAGEABLE, "provide", CLEANING),
    (MANAGEABLE, "clean", CLEANING),
    (AVAILABLE, "manage", MANAGEABLE),
    (AVAILABLE, "deploy", DEPLOYING),
    (DEPLOYING, "wait", DEPLOYWAIT),
    (DEPLOYWAIT, "resume", DEPLOYING),
    (DEPLOYWAIT, "fail", DEPLOYFAIL),
    (DEPLOYWAIT, "abort", DEPLOYFAIL),
    (DEPLOYWAIT, "delete", DELETING),
    (DEPLOYING, "done", ACTIVE),
    (DEPLOYING, "fail", DEPLOYFAIL),
    (DEPLOYFAIL, "deploy", DEPLOYING),
    (DEPLOYFAIL, "delete", DELETING),
    (ACTIVE, "delete", DELETING),
    (DELETING, "clean", CLEANING),
    (DELETING, "fail", ERROR),
    (ERROR, "delete", DELETING),
    (CLEANING, "done", AVAILABLE),
    (CLEANING, "manage", MANAGEABLE),  # a manual clean finished
    (CLEANING, "fail", CLEANFAIL),
    (CLEANING, "wait", CLEANWAIT),
    (CLEANING, "hold", CLEANHOLD),
    (CLEANWAIT, "resume", CLEANING),
    (CLEANWAIT, "hold", CLEANHOLD),
    (CLEANWAIT, "fail", CLEANFAIL),
    (CLEANWAIT, "abort", CLEANFAIL),
    (CLEANHOLD, "unhold", CLEANWAIT),
    (CLEANHOLD, "abort", CLEANFAIL),
    (CLEANFAIL, "manage", MANAGEABLE),
    # in-band-less inspection (Ironic's synchronous inspect interfaces)
    (MANAGEABLE, "inspect", INSPECTING),
    (INSPECTING, "done", MANAGEABLE),
    (INSPECTING, "fail", INSPECTFAIL),
    (INSPECTFAIL, "manage", MANAGEABLE),
    (INSPECTFAIL, "inspect", INSPECTING),
)

# API provision target -> event (Ironic's VERBS subset).
VERBS = {"manage": "manage", "provide": "provide", "clean": "clean", "active": "deploy", "deploy": "deploy",
         "deleted": "delete", "undeploy": "delete", "abort": "abort", "unhold": "unhold",
         "inspect": "inspect"}
# Events only flows raise: the API never accepts them as verbs from these states.
_INTERNAL = {(CLEANING, "manage"), (DELETING, "clean")}
# Minimum API microversion of each target (Ironic's MIN_VERB_VERSIONS; unhold 1.85).
MIN_VERB_VERSION = {"manage": 4, "provide": 4, "inspect": 6, "abort": 13, "clean": 15, "deploy": 73, "undeploy": 73,
                    "unhold": 85}


def transitions() -> list[tuple[str, str, str]]:
    return list(TRANSITIONS)


def stable(state: str) -> bool:
    return state in STABLE_STATES


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {s: {} for s in STATES}
    for src, event, dst in TRANSITIONS:
        if event in table[src]:
            raise ValueError(f"{src} --{event}--> twice")
        table[src][event] = dst
    return table


def build_machine() -> machines.FiniteMachine:
    machine = machines.FiniteMachine()
    for state in STATES:
        machine.add_state(state)
    for src, event, dst in TRANSITIONS:
        machine.add_transition(src, dst, event)
    machine.default_start_state = ENROLL
    return machine


def next_state(state: str, event: str) -> str | None:
    return _table().get(state, {}).get(event)


def verb_sources(verb: str) -> tuple[str, ...]:
    """States from which the API accepts this provision target."""
    event = VERBS[verb]
    return tuple(src for src, ev, _ in TRANSITIONS if ev == event and (src, ev) not in _INTERNAL)


def allowed(state: str, verb: str) -> bool:
    return verb in VERBS and state in verb_sources(verb)


class IllegalTransition(ValueError):
    """A provision_state write the machine does not have."""


def check_transition(old: str | None, new: str) -> str:
    """Every flow's provision_state write passes here: ``new`` must be
    ``old`` or one transition away from it; otherwise IllegalTransition."""
    if old is None or old == new or new in _table().get(old, {}).values():
        return new
    raise IllegalTransition(f"provision state {old!r} -> {new!r} is not a transition of the node machine")
