"""The server state machine, checked from its own data."""
from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvisor.flows import FLOWS, server_doc
from taskvisor.states import diagram, power
from taskvisor.states import server as states

T = states.transitions()


def reachable(start: str) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        for dst in T[todo.popleft()].values():
            if dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def test_every_state_is_reachable_from_the_start():
    assert reachable(states.START) == set(T)


@pytest.mark.parametrize("state", sorted(s for s in T if s not in states.TERMINAL))
def test_a_stable_state_is_reachable_from_every_non_terminal_state(state):
    assert any(states.stable(s) for s in reachable(state) - {state}) or states.stable(state)
    assert T[state], f"{state} is a dead end"


def test_only_deleted_is_terminal():
    assert [s for s in T if not T[s]] == [states.DELETED]


@pytest.mark.parametrize("action", sorted(a.name for a in states.API_ACTIONS))
def test_each_actions_source_states_are_exactly_the_listed_ones(action):
    spec = states.ACTIONS[action]
    from_states = {states.split(s)[0] for s, events in T.items() if action in events}
    assert from_states == set(spec.sources)
    for vm_state in states.STABLE:  # a stable state has the event iff its vm_state is listed
        assert (action in T[vm_state]) == (vm_state in spec.sources)


def test_nova_table_of_allowed_states():
    allowed = {a: set(states.allowed_from(a)) for a in states.ACTIONS}
    assert allowed["stop"] == {"active", "error"}
    assert allowed["start"] == {"stopped"}
    assert allowed["reboot"] == {"active"}
    assert allowed["reboot_hard"] == {"active", "stopped", "paused", "suspended", "error"}
    assert allowed["rescue"] == {"active", "stopped", "error"}
    assert allowed["unrescue"] == {"rescued"}
    assert allowed["shelve"] == {"active", "stopped", "paused", "suspended"}
    assert allowed["shelveOffload"] == {"shelved"}
    assert allowed["unshelve"] == {"shelved", "shelved_offloaded"}
    assert allowed["resize"] == {"active", "stopped"}
    assert allowed["confirmResize"] == allowed["revertResize"] == {"resized"}
    assert (allowed["pause"], allowed["unpause"]) == ({"active"}, {"paused"})
    assert (allowed["suspend"], allowed["resume"]) == ({"active"}, {"suspended"})
    assert allowed["delete"] == allowed["forceDelete"] == {"building", *states.STABLE, "soft-delete"}
    assert allowed["createImage"] == allowed["createBackup"] == {"active", "stopped", "paused", "suspended"}
    assert allowed["rebuild"] == {"active", "stopped", "error"}
    assert allowed["restore"] == {"soft-delete"}
    assert allowed["migrate"] == allowed["resize"]


def test_no_transition_leads_to_a_state_missing_from_the_status_map():
    for state in T:
        vm_state, task_state = states.split(state)
        assert states.status(vm_state, task_state) != "UNKNOWN", state


def test_statuses_users_see_during_actions():
    assert states.status("active", "rebooting_hard") == "HARD_REBOOT"
    assert states.status("stopped", "resize_migrating") == "RESIZE"
    assert states.status("resized", "resize_reverting") == "REVERT_RESIZE"
    assert states.status("resized", "resize_confirming") == "VERIFY_RESIZE"
    assert states.status("active", "deleting") == "ACTIVE"


@pytest.mark.parametrize("action", sorted(a for a in states.ACTIONS if a not in ("delete", "forceDelete")))
def test_flows_set_the_task_states_the_machine_lists(action):
    """The API writes the first task_state; the flow's steps name the rest, in order."""
    spec = states.ACTIONS[action]
    flow = FLOWS.get(spec.flow)
    step_states = [s.task_state for s in flow.steps if s.task_state]
    assert step_states[0] == spec.task_states[0]
    assert [ts for i, ts in enumerate(step_states) if i == 0 or ts != step_states[i - 1]] == list(spec.task_states)
    assert flow.failure_fn is not None and flow.success_fn is not None


def test_each_action_records_its_nova_instance_action_name():
    for spec in states.ACTIONS.values():
        if spec.flow != "delete":
            assert FLOWS.get(spec.flow).action == spec.instance_action


def test_targets_and_failures_come_from_the_machine():
    assert states.target("shelve", "paused") == "shelved_offloaded"
    assert states.target("shelve", "paused", "kept") == "shelved"
    assert states.target("confirmResize", "resized", "stopped") == "stopped"
    # a failure that left the guest as the source state says goes back there
    assert states.after_failure("reboot", "active", power.RUNNING) == "active"
    assert states.after_failure("reboot", "active", power.SHUTDOWN) == "error"
    assert states.after_failure("unshelve", "shelved_offloaded", power.NOSTATE) == "shelved_offloaded"
    assert states.after_failure("stop", "active", None) == "error"  # nobody knows: ERROR
    assert states.after_failure("delete", "active", power.RUNNING) == "error"  # delete never goes back


def test_the_automaton_machine_walks_a_lifecycle():
    machine = states.build_machine()
    machine.initialize()
    for event in ("networking", "spawning", "done", "stop", "done", "start", "done", "resize",
                  "resize_migrating", "resize_migrated", "resize_finish", "done", "revertResize", "done",
                  "shelve", "shelving_image_pending_upload", "shelving_image_uploading", "shelving_offloading",
                  "done", "unshelve", "spawning", "failed", "unshelve", "spawning", "done", "delete", "done"):
        machine.process_event(event)
    assert machine.current_state == "deleted" and machine.terminated


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=60))
def test_random_walks_stay_in_known_states(choices):
    """Any sequence of allowed events keeps the automaton and our table in step."""
    machine = states.build_machine()
    machine.initialize()
    for choice in choices:
        events = sorted(T[machine.current_state])
        if not events:
            break
        event = events[choice % len(events)]
        expected = T[machine.current_state][event]
        machine.process_event(event)
        assert machine.current_state == expected
        vm_state, task_state = states.split(expected)
        assert states.status(vm_state, task_state) != "UNKNOWN"


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_diagrams_name_every_state_and_transition(fmt):
    text = diagram.render("server", fmt)
    for state in T:
        assert f'"{state}"' in text
    edges = sum(len(e) for e in T.values())
    assert text.count("->" if fmt == "dot" else "-->") >= edges


def test_diagram_rejects_unknown_formats_and_machines():
    with pytest.raises(ValueError):
        diagram.render("server", "svg")
    with pytest.raises(ValueError):
        diagram.render("toaster", "dot")


def test_docs_are_generated_from_the_machine():
    with open(Path(__file__).parents[2] / "docs" / "server-states.md") as f:
        assert f.read() == server_doc.markdown(), "regenerate: python -m taskvisor.flows.server_doc > docs/server-states.md"
