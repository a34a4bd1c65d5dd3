"""Bare-metal flavors and the flows a bare-metal server's actions run."""
from __future__ import annotations

import pytest

from taskvisor.baremetal.placement import BAREMETAL_FLOWS, flow_for, host_for, node_class, normalize
from taskvisor.flows import FLOWS
from taskvisor.states import server as states


def flavor(**specs) -> dict:
    return {"name": "f", "extra_specs": specs}


@pytest.mark.parametrize("given, expected", [
    ("gold", "CUSTOM_GOLD"), ("baremetal.Large-2", "CUSTOM_BAREMETAL_LARGE_2"), ("CUSTOM_GOLD", "CUSTOM_GOLD"),
    ("custom_gold", "CUSTOM_GOLD"), ("a b/c", "CUSTOM_A_B_C")])
def test_resource_class_is_normalised_as_nova_does(given, expected):
    assert normalize(given) == expected


def test_a_flavor_fits_one_node_class_with_amount_one():
    assert node_class(flavor(**{"resources:CUSTOM_GOLD": "1", "resources:VCPU": "0"})) == "CUSTOM_GOLD"
    assert node_class(flavor(**{"resources:CUSTOM_GOLD": "2"})) is None
    assert node_class(flavor(**{"resources:CUSTOM_GOLD": "x"})) is None
    assert node_class(flavor(**{"resources:CUSTOM_GOLD": "1", "resources:CUSTOM_SILVER": "1"})) is None
    assert node_class(flavor(**{"resources:CUSTOM_GOLD": "1", "resources:CUSTOM_SILVER": "0"})) == "CUSTOM_GOLD"


def test_flows_by_flavor():
    bm = flavor(**{"resources:CUSTOM_GOLD": "1"})
    assert flow_for(flavor(), "pause") == "pause" and flow_for(None, "boot") == "boot"
    assert flow_for(bm, "boot") == "bm_boot" and flow_for(bm, "pause") is None
    assert flow_for(bm, "reboot_hard") == "bm_reboot_hard"


@pytest.mark.parametrize("action", sorted(a for a in states.ACTIONS
                                          if states.ACTIONS[a].flow in BAREMETAL_FLOWS and states.ACTIONS[a].flow != "delete"))
def test_bare_metal_flows_set_the_task_states_the_machine_lists(action):
    spec = states.ACTIONS[action]
    flow = FLOWS.get(BAREMETAL_FLOWS[spec.flow])
    step_states = [s.task_state for s in flow.steps if s.task_state]
    assert [ts for i, ts in enumerate(step_states) if i == 0 or ts != step_states[i - 1]] == list(spec.task_states)
    assert flow.action == spec.instance_action
    assert flow.failure_fn is not None and flow.success_fn is not None


def test_a_node_is_served_by_one_compute_whatever_the_order():
    hosts = ["c1", "c2", "c3"]
    assert host_for("n", hosts) == host_for("n", list(reversed(hosts)))
    assert host_for("n", []) is None
    assert len({host_for(f"node-{i}", hosts) for i in range(50)}) == 3
