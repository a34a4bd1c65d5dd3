"""The node provision machine, checked from its data (DESIGN §3.6)."""
from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from taskvisor.states import diagram, node_doc
from taskvisor.states import node as states


def reachable(start: str) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        here = todo.popleft()
        for src, _event, dst in states.transitions():
            if src == here and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def test_machine_is_built_from_the_transitions():
    machine = states.build_machine()
    assert sorted(machine) == sorted(states.transitions())
    assert set(machine.states) == set(states.STATES) and machine.default_start_state == states.ENROLL


def test_every_state_is_reachable_from_enroll():
    assert reachable(states.ENROLL) == set(states.STATES)


@pytest.mark.parametrize("state", [s for s in states.STATES if s not in states.STABLE_STATES])
def test_every_unstable_state_can_reach_a_stable_state(state):
    assert reachable(state) & set(states.STABLE_STATES), state


def test_no_state_is_a_dead_end():
    assert {src for src, _, _ in states.transitions()} == set(states.STATES)


def test_verbs_source_states_are_exactly_the_listed_ones():
    expected = {
        "manage": {"enroll", "available", "clean failed", "inspect failed"},
        "inspect": {"manageable", "inspect failed"},
        "provide": {"manageable"},
        "clean": {"manageable"},
        "active": {"available", "deploy failed"},
        "deploy": {"available", "deploy failed"},
        "deleted": {"active", "deploy failed", "error", "wait call-back"},
        "undeploy": {"active", "deploy failed", "error", "wait call-back"},
        "abort": {"clean wait", "clean hold", "wait call-back"},
        "unhold": {"clean hold"},
    }
    assert {verb: set(states.verb_sources(verb)) for verb in states.VERBS} == expected


def test_clean_failed_leaves_only_through_manage():
    assert [(e, d) for s, e, d in states.transitions() if s == states.CLEANFAIL] == [("manage", "manageable")]


def test_a_failed_clean_never_reaches_available_directly():
    into_available = {src for src, _e, dst in states.transitions() if dst == states.AVAILABLE}
    assert into_available == {states.CLEANING}  # only a clean that finished


def test_each_transient_state_has_a_target():
    transient = set(states.STATES) - set(states.STABLE_STATES)
    assert transient == set(states.TARGETS)


def test_diagram_and_docs():
    dot = diagram.render("node", "dot")
    assert '"clean hold" -> "clean wait" [label="unhold"]' in dot
    with open(Path(__file__).parents[2] / "docs" / "node-states.md") as f:
        assert f.read() == node_doc.markdown(), "regenerate: python -m taskvisor.states.node_doc > docs/node-states.md"
