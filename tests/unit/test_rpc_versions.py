"""Compute RPC versions with Nova's semantics (issue 14 #10): what
[upgrade_levels] compute accepts, what a client may send each host, and
that the real bus refuses what a compute does not serve."""
from __future__ import annotations

import subprocess
import sys

import pytest

from taskvisor.compute import rpcapi
from taskvisor.compute.manager import ComputeManager
from taskvisor.compute.rpcapi import ComputeClient, ComputeVersions, parse_upgrade_level
from taskvisor.rpc.base import RemoteError, UnsupportedVersion
from taskvisor.rpc.inprocess import InProcessTransport
from taskvisor.virt.fake import FakeDriver
from tests.procs import wait_for


def test_every_version_in_the_history_and_every_release_is_one_this_code_speaks():
    assert rpcapi.RPC_API_VERSION == "1.1"
    assert set(rpcapi.SERVICE_VERSIONS.values()) == set(rpcapi.HISTORY)
    assert set(rpcapi.METHOD_VERSIONS.values()) <= set(rpcapi.HISTORY)
    assert set(rpcapi.RELEASES.values()) <= set(rpcapi.HISTORY)


@pytest.mark.parametrize("value, cap", [
    ("", None), ("auto", "auto"), ("1.0", "1.0"), ("1.1", "1.1"),
    ("2026.1", "1.0"), ("2026.2", "1.1"),  # release names
    ("1", "1.0"), ("2", "1.1"),            # deprecated integer service versions
])
def test_upgrade_level_values(value, cap):
    assert parse_upgrade_level(value) == cap


@pytest.mark.parametrize("value", ["bogus", "1.9", "2.0", "0.1", "1.x", "zed"])
def test_an_unknown_upgrade_level_fails_with_what_is_accepted(value):
    with pytest.raises(ValueError, match=r"\[upgrade_levels\] compute = .* is not understood: use auto, .*2026\.1"):
        parse_upgrade_level(value)


def test_an_unknown_upgrade_level_stops_a_service_at_start(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "taskvisor.cli", "conductor", "--data-dir", str(tmp_path)],
                          env={"TASKVISOR_UPGRADE_LEVELS__COMPUTE": "kilo", "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "[upgrade_levels] compute = 'kilo' is not understood" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_auto_takes_the_lowest_running_compute_and_a_host_gets_no_more_than_it_serves():
    hosts = {"new": 2, "old": 1}
    versions = ComputeVersions("auto", hosts.__getitem__, lambda: hosts.values())
    assert versions.current_cap() == "1.0"
    assert versions.for_host("new") == "1.0"
    del hosts["old"]  # the old compute is upgraded away
    versions._auto = None  # (looked up again after AUTO_SECONDS)
    assert versions.current_cap() == "1.1"
    assert versions.for_host("new") == "1.1"
    uncapped = ComputeVersions("", {"new": 2, "old": 1}.__getitem__, lambda: [])
    assert (uncapped.for_host("new"), uncapped.for_host("old")) == ("1.1", "1.0")
    assert ComputeVersions("2026.1", {"new": 2}.__getitem__, lambda: [2]).for_host("new") == "1.0"


def serve(transport, host: str, version: str) -> ComputeManager:
    manager = ComputeManager(FakeDriver(), host)
    manager.RPC_API_VERSION = version  # as ComputeService does for a pinned compute
    transport.serve(f"compute.{host}", manager)
    return manager


def test_a_compute_pinned_to_1_0_is_served_and_refuses_what_it_does_not_serve():
    transport = InProcessTransport()
    serve(transport, "old", "1.0")
    client = ComputeClient(transport, "old", {"hosts_touched": ["old"]}, "1.0", 5.0)
    assert client.topic() == "compute.old"  # no compute-alt on a 1.0 compute, even mid-operation
    assert client.call("list_guests") == {}
    with pytest.raises(UnsupportedVersion, match="operation_done needs 1.1"):
        client.call("operation_done", op="t1")  # fails clearly, before anything is sent
    with pytest.raises(RemoteError, match="v1.1 not supported"):
        transport.call("compute.old", "operation_done", {"op": "t1"}, version="1.1", timeout=5)
    with pytest.raises(RemoteError, match="v2.0 not supported"):  # a major version it does not serve
        transport.call("compute.old", "list_guests", {}, version="2.0", timeout=5)


def test_operation_done_uses_its_older_form_for_a_1_0_compute():
    transport = InProcessTransport()
    new, old = serve(transport, "new", "1.1"), serve(transport, "old", "1.0")
    transport.serve("compute-alt.new", new)
    for host in ("new", "old"):
        ComputeClient(transport, host, {}, {"new": "1.1", "old": "1.0"}[host], 5.0, op="t1").call("list_guests")
    assert "t1" in new.operations.in_flight() and "t1" in old.operations.in_flight()
    rpcapi.operation_done(transport, "t1", ["new", "old"], {"new": "1.1", "old": "1.0"}.__getitem__)
    wait_for(lambda: "t1" not in new.operations.in_flight(), 10, "operation_done to reach the 1.1 compute")
    assert "t1" in old.operations.in_flight()  # never sent: it stops counting once quiet
