"""The all-in-one's local bus (taskvisor/rpc/local.py): a real hub on a Unix
socket, transports in this process and in a child process that is killed."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from multiprocessing import AuthenticationError

import pytest

from taskvisor.rpc.base import RemoteError, RpcTimeout
from taskvisor.rpc.local import Hub, LocalTransport
from tests.procs import wait_for

ROOT = str(pathlib.Path(__file__).resolve().parents[2])
KEY = b"k" * 32


class Calculator:
    RPC_API_VERSION = "1.0"

    def __init__(self):
        self.seen: list = []

    def add(self, a, b):
        return a + b

    def fail(self):
        raise ValueError("no can do")

    def record(self, value):
        self.seen.append(value)

    def slow(self, seconds):
        time.sleep(seconds)
        return "done"


@pytest.fixture
def hub(tmp_path):
    hub = Hub(str(tmp_path / "bus.sock"), KEY)
    yield hub
    hub.close()


@pytest.fixture
def connect(hub):
    transports = []

    def make(**kwargs) -> LocalTransport:
        transports.append(LocalTransport(hub.address, KEY, **kwargs))
        return transports[-1]
    yield make
    for transport in transports:
        transport.close()


def test_call_and_cast_cross_processes_as_json(hub, connect):
    server_side, client = connect(), connect()
    calc = Calculator()
    server_side.serve("calc", calc)
    assert hub.wait_served(["calc"], 5)
    assert client.call("calc", "add", {"a": 2, "b": 3}) == 5
    with pytest.raises(RemoteError) as err:
        client.call("calc", "fail", {})
    assert err.value.type == "ValueError" and "no can do" in err.value.message
    client.cast("calc", "record", {"value": {"nested": [1, 2]}})
    wait_for(lambda: calc.seen, 5, "the cast to arrive")
    assert calc.seen == [{"nested": [1, 2]}]


def test_a_topic_served_in_the_same_process_does_not_go_through_the_hub(hub, connect):
    transport = connect()
    transport.serve("calc", Calculator())
    hub.close()  # nothing left to route through
    assert transport.call("calc", "add", {"a": 1, "b": 1}) == 2


def test_a_call_waits_for_a_server_that_starts_later(hub, connect):
    client, late = connect(), connect()
    result: list = []
    caller = threading.Thread(target=lambda: result.append(client.call("calc", "add", {"a": 1, "b": 2}, timeout=10)))
    caller.start()
    time.sleep(0.3)
    late.serve("calc", Calculator())
    caller.join(10)
    assert result == [3]


def test_a_call_nobody_answers_times_out(hub, connect):
    client, server_side = connect(), connect()
    with pytest.raises(RpcTimeout):
        client.call("nobody", "add", {"a": 1, "b": 2}, timeout=0.3)
    server_side.serve("calc", Calculator())
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        client.call("calc", "slow", {"seconds": 2}, timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_notify_reaches_every_listener_once_including_the_senders_own(hub, connect):
    sender, other = connect(), connect()
    got_sender, got_other, got_second = [], [], []
    sender.listen("wake", got_sender.append)
    other.listen("wake", got_other.append)
    second = other.listen("wake", got_second.append)
    time.sleep(0.2)  # listen frames reach the hub
    sender.notify("wake", {"n": 1})
    wait_for(lambda: got_other and got_second, 5, "the notification in the other process")
    second.stop()
    time.sleep(0.2)
    sender.notify("wake", {"n": 2})
    wait_for(lambda: len(got_other) == 2, 5, "the second notification")
    time.sleep(0.2)
    assert got_sender == [{"n": 1}, {"n": 2}] and got_other == [{"n": 1}, {"n": 2}]
    assert got_second == [{"n": 1}]


def test_a_stopped_server_takes_no_more_calls(hub, connect):
    server_side, client = connect(), connect()
    server = server_side.serve("calc", Calculator())
    assert client.call("calc", "add", {"a": 1, "b": 1}) == 2
    server.stop()
    time.sleep(0.2)
    with pytest.raises(RpcTimeout):
        client.call("calc", "add", {"a": 1, "b": 1}, timeout=0.5)


def test_a_wrong_authkey_is_refused(hub):
    with pytest.raises(AuthenticationError):  # not any error: a bad address or a bug would pass too
        LocalTransport(hub.address, b"wrong")


SERVE_IN_CHILD = """
import sys, time
from taskvisor.rpc.local import LocalTransport
class Slow:
    RPC_API_VERSION = "1.0"
    def slow(self, seconds):
        time.sleep(seconds)
        return "done"
t = LocalTransport(sys.argv[1], b"k" * 32, name="child")
t.serve("slow", Slow())
time.sleep(600)
"""


def test_a_peer_dying_fails_its_calls_at_once_and_the_hub_lives_on(hub, connect, tmp_path):
    child = subprocess.Popen([sys.executable, "-c", SERVE_IN_CHILD, hub.address], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": ROOT})
    try:
        assert hub.wait_served(["slow"], 20, alive=lambda: child.poll() is None)
        client = connect()
        outcome: list = []

        def call():
            try:
                outcome.append(client.call("slow", "slow", {"seconds": 30}, timeout=60))
            except RpcTimeout as exc:
                outcome.append(exc)
        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.5)
        started = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        caller.join(10)
        assert isinstance(outcome[0], RpcTimeout) and "went away" in str(outcome[0])
        assert time.monotonic() - started < 5
        # the hub still routes between the peers left
        client.serve("calc", Calculator())
        assert connect().call("calc", "add", {"a": 4, "b": 4}) == 8
    finally:
        child.kill()
        child.wait()


def test_a_client_learns_when_the_hub_goes_away(hub, connect):
    lost = threading.Event()
    client = connect(on_lost=lost.set)
    hub.close()
    assert lost.wait(5)
    with pytest.raises(RpcTimeout):
        client.call("calc", "add", {"a": 1, "b": 1}, timeout=1)
