"""The node machine is binding (issue 14 #7): every provision_state a flow
writes goes through states/node.py, an illegal one raises, and random
sequences of provision actions through the real API follow the machine."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskvisor.states import node as states
from tests.functional.baremetal import Baremetal

BODIES = {"manage": {}, "provide": {}, "abort": {},
          # a manual clean with a step that runs in the ramdisk (clean wait) and one that does not
          "clean": {"clean_steps": [{"interface": "deploy", "step": "erase_devices"},
                                    {"interface": "bios", "step": "factory_reset"}]},
          "undeploy": {}}


def test_an_illegal_provision_state_write_raises():
    with pytest.raises(states.IllegalTransition):
        states.check_transition(states.CLEANWAIT, states.AVAILABLE)  # what an instrumented provide wrote
    with pytest.raises(states.IllegalTransition):
        states.check_transition(states.CLEANFAIL, states.AVAILABLE)
    assert states.check_transition(states.CLEANWAIT, states.CLEANING) == states.CLEANING
    assert states.check_transition(states.CLEANING, states.CLEANING) == states.CLEANING


def test_random_provision_sequences_follow_the_machine(cloud):
    bm = Baremetal(cloud)
    node = bm.create("walker")["uuid"]

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(sorted(BODIES)), min_size=1, max_size=6))
    def run(sequence):
        for verb in sequence:
            state = bm.node(node)["provision_state"]
            resp = bm.provision(node, verb, **BODIES[verb])
            allowed = states.allowed(state, verb)
            assert (resp.status_code == 202) == allowed, (verb, state, resp.status_code, resp.text)
            if not allowed:
                assert 400 <= resp.status_code < 500
                continue
            task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
            # a flow that wrote a state the machine does not have fails with IllegalTransition
            assert task["status"] == "succeeded", task
            after = bm.node(node)["provision_state"]
            assert states.stable(after), (verb, state, after)
            assert after in _reachable(state), (verb, state, after)

    run()


def _reachable(start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        current = todo.pop()
        for src, _event, dst in states.TRANSITIONS:
            if src == current and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen
