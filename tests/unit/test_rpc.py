"""The bus's own rules, on the in-process transport."""
from __future__ import annotations

import time

import pytest

from taskvisor.rpc.base import Namespaced, RemoteError, RpcTimeout, dispatch
from taskvisor.rpc.inprocess import InProcessTransport


class Endpoint:
    RPC_API_VERSION = "1.2"

    def __init__(self):
        self.calls = []

    def echo(self, value):
        self.calls.append(value)
        return value


def test_a_message_past_its_deadline_is_refused_not_run():
    endpoint = Endpoint()
    reply = dispatch(endpoint, {"method": "echo", "version": "1.0", "args": {"value": 1},
                                "deadline": time.time() - 1})
    assert reply["error"]["type"] == "Expired" and reply["error"]["retryable"] is True
    assert endpoint.calls == []
    assert dispatch(endpoint, {"method": "echo", "version": "1.0", "args": {"value": 2},
                               "deadline": time.time() + 5}) == {"result": 2}


def test_call_round_trip_and_version_cap():
    bus = InProcessTransport()
    bus.serve("t", Endpoint())
    assert bus.call("t", "echo", {"value": {"a": [1]}}, version="1.2") == {"a": [1]}
    with pytest.raises(RemoteError) as err:
        bus.call("t", "echo", {"value": 1}, version="1.3")
    assert err.value.type == "UnsupportedVersion"
    with pytest.raises(RemoteError) as err:
        bus.call("t", "_private", {})
    assert err.value.type == "NoSuchMethod"


def test_namespaces_sharing_a_bus_do_not_see_each_other():
    bus = InProcessTransport()
    blue, green = Namespaced(bus, "blue"), Namespaced(bus, "green")
    blue_endpoint = Endpoint()
    blue.serve("compute.h1", blue_endpoint)
    assert blue.call("compute.h1", "echo", {"value": "hi"}) == "hi"
    with pytest.raises(RpcTimeout):
        green.call("compute.h1", "echo", {"value": "hi"}, timeout=0.2)
    heard = []
    green.listen("wake", heard.append)
    blue.notify("wake", {"x": 1})
    green.notify("wake", {"x": 2})
    assert heard == [{"x": 2}] and blue_endpoint.calls == ["hi"]
