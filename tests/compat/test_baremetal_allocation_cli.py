"""The unmodified `baremetal` CLI on node traits and allocations: add and
list traits, allocate a node by resource class and trait (`--wait` polls
the allocation), see it on the node, and free it again."""
from __future__ import annotations

import pytest

from tests.compat.conftest import start_cloud

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, client_home):
    yield from start_cloud(tmp_path_factory, client_home, "compat-allocations")


def test_traits_and_allocations_through_the_cli(cloud):
    bm = cloud.baremetal
    uuid = cloud.baremetal_json("node", "create", "--driver", "fake-hardware", "--name", "alloc-node",
                                "--resource-class", "gold")["uuid"]
    bm("node", "add", "trait", "alloc-node", "CUSTOM_FAST", "HW_CPU_X86_VMX")
    assert bm("node", "trait", "list", "alloc-node", "-f", "value").stdout.split() == ["CUSTOM_FAST", "HW_CPU_X86_VMX"]
    bad = bm("node", "add", "trait", "alloc-node", "not_a_trait", check=False)
    assert bad.returncode == 1 and "(HTTP 400)" in bad.stderr
    bm("node", "manage", "--wait", "60", "alloc-node")
    bm("node", "provide", "--wait", "60", "alloc-node")

    made = cloud.baremetal_json("allocation", "create", "--resource-class", "gold", "--trait", "CUSTOM_FAST",
                                "--name", "my-alloc", "--wait", "60")
    assert made["state"] == "active" and made["node_uuid"] == uuid, made
    listed = cloud.baremetal_json("allocation", "list")
    assert [a.get("UUID", a.get("uuid")) for a in listed] == [made["uuid"]], listed
    assert cloud.node(uuid)["allocation_uuid"] == made["uuid"]

    # an allocation nothing matches: --wait reports its error
    failed = bm("allocation", "create", "--resource-class", "silver", "--wait", "60", check=False)
    assert failed.returncode == 1 and "no available nodes match the resource class silver" in failed.stderr

    bm("allocation", "delete", "my-alloc")
    assert cloud.node(uuid)["allocation_uuid"] is None and cloud.node(uuid)["instance_uuid"] is None
    bm("node", "remove", "trait", "alloc-node", "--all")
    assert bm("node", "trait", "list", "alloc-node", "-f", "value").stdout.split() == []
