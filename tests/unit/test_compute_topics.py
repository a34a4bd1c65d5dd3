"""Which topic a conductor's or the API's compute call goes to (issue 14 #10):
console output reaches compute-alt whenever the compute serves it, so a
draining compute still answers; a compute that may only be sent 1.0 gets
everything on compute."""
from __future__ import annotations

from taskvisor.compute.rpcapi import ALT_TOPIC_VERSION, ComputeClient
from taskvisor.rpc.inprocess import InProcessTransport


def test_console_output_goes_to_compute_alt_when_the_compute_serves_it():
    client = ComputeClient(InProcessTransport(), "c1", {}, ALT_TOPIC_VERSION, 1.0, read_only=True)
    assert client.topic() == "compute-alt.c1"


def test_an_older_compute_gets_console_output_on_compute():
    client = ComputeClient(InProcessTransport(), "c1", {}, "1.0", 1.0, read_only=True)
    assert client.topic() == "compute.c1"


def test_the_first_call_of_an_operation_goes_to_compute():
    store: dict = {}
    client = ComputeClient(InProcessTransport(), "c1", store, ALT_TOPIC_VERSION, 1.0)
    assert client.topic() == "compute.c1"
    store["hosts_touched"] = ["c1"]
    assert client.topic() == "compute-alt.c1"
