"""KombuTransport against a real RabbitMQ.

Every test uses its own topic (a uuid) and deletes its queue and fan-out
exchange afterwards, so tests neither interfere nor leave durable litter.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from taskvisor.rpc.amqp import KombuTransport
from taskvisor.rpc.base import RemoteError, RpcTimeout
from tests.services import require_rabbitmq

pytestmark = pytest.mark.rabbitmq

ROOT = str(pathlib.Path(__file__).resolve().parents[2])


class Calculator:
    RPC_API_VERSION = "1.0"

    def __init__(self, name: str = "calc"):
        self.name = name
        self.seen: list = []
        self.seen_event = threading.Event()

    def add(self, a, b):
        return a + b

    def fail(self):
        raise ValueError("no can do")

    def record(self, value):
        self.seen.append(value)
        self.seen_event.set()

    def whoami(self):
        return self.name

    def echo(self, thread, i):
        time.sleep(0.001 * (i % 3))  # let replies come back out of order
        return {"thread": thread, "i": i}


@pytest.fixture
def url():
    return require_rabbitmq()


@pytest.fixture
def topic(url):
    name = f"test-rpc-{uuid.uuid4().hex}"
    yield name
    with Connection(url) as conn:
        for entity in (Queue(name), Exchange(f"taskvisor.fanout.{name}")):
            try:
                entity(conn.channel()).delete()
            except Exception:
                pass  # never declared


@pytest.fixture
def make_transport(url, topic):  # needs topic so the queue is deleted after transports close
    transports = []

    def make():
        transports.append(KombuTransport(url))
        return transports[-1]

    yield make
    for transport in transports:
        transport.close()


@pytest.fixture
def transport(make_transport):
    return make_transport()


def ready_messages(url: str, topic: str) -> int:
    with Connection(url) as conn:
        _, count, _ = conn.channel().queue_declare(topic, passive=True)
        return count


def test_call_round_trip(transport, topic):
    transport.serve(topic, Calculator())
    assert transport.call(topic, "add", {"a": 2, "b": 3}, timeout=10) == 5


def test_remote_exception_comes_back_as_remote_error(transport, topic):
    transport.serve(topic, Calculator())
    with pytest.raises(RemoteError) as info:
        transport.call(topic, "fail", {}, timeout=10)
    assert (info.value.type, info.value.message) == ("ValueError", "no can do")


def test_call_times_out_when_nothing_serves(transport, topic):
    start = time.monotonic()
    with pytest.raises(RpcTimeout):
        transport.call(topic, "add", {"a": 1, "b": 1}, timeout=1.0)
    assert time.monotonic() - start >= 1.0  # it waited its timeout (how much longer is load, not behaviour)


def test_cast_executes(transport, topic):
    calc = Calculator()
    transport.serve(topic, calc)
    transport.cast(topic, "record", {"value": "hello"})
    assert calc.seen_event.wait(10)
    assert calc.seen == ["hello"]


def test_newer_minor_version_is_refused(transport, topic):
    transport.serve(topic, Calculator())
    with pytest.raises(RemoteError) as info:
        transport.call(topic, "add", {"a": 1, "b": 1}, version="1.1", timeout=10)
    assert info.value.type == "UnsupportedVersion"


SERVER_A = """
import pathlib, sys, time
from taskvisor.rpc.amqp import KombuTransport
url, topic, marker = sys.argv[1:]
class Stuck:
    def whoami(self):
        pathlib.Path(marker).touch()
        time.sleep(600)
KombuTransport(url).serve(topic, Stuck(), workers=1)
time.sleep(600)
"""


def test_message_taken_by_killed_server_is_redelivered(transport, topic, url, tmp_path):
    marker = tmp_path / "taken"
    server_a = subprocess.Popen([sys.executable, "-c", SERVER_A, url, topic, str(marker)],
                                env={**os.environ, "PYTHONPATH": ROOT})
    try:
        with cf.ThreadPoolExecutor(1) as pool:
            reply = pool.submit(transport.call, topic, "whoami", {}, "1.0", 60)
            deadline = time.monotonic() + 30
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert marker.exists(), "server A never took the message"
            server_a.kill()  # dies holding the message, unacked
            server_a.wait()
            transport.serve(topic, Calculator("B"))
            assert reply.result(timeout=60) == "B"
    finally:
        server_a.kill()
        server_a.wait()


def test_stop_leaves_later_messages_queued_for_the_next_server(make_transport, topic, url):
    first, second = make_transport(), make_transport()
    server = first.serve(topic, Calculator())
    assert first.call(topic, "add", {"a": 1, "b": 1}, timeout=10) == 2
    server.stop()
    assert server.wait(10)
    first.cast(topic, "record", {"value": "later"})
    assert ready_messages(url, topic) == 1
    calc = Calculator()
    second.serve(topic, calc)
    assert calc.seen_event.wait(10)
    assert calc.seen == ["later"]


def test_wait_waits_for_messages_in_flight(transport, topic, url):
    started, release, finished = threading.Event(), threading.Event(), []

    class Slow:
        def work(self):
            started.set()
            release.wait(30)
            finished.append(True)

    server = transport.serve(topic, Slow(), workers=2)
    transport.cast(topic, "work", {})
    assert started.wait(10)
    server.stop()
    assert server.wait(0.1) is False  # still blocked on release
    release.set()
    assert server.wait(10) is True
    assert finished == [True]
    assert ready_messages(url, topic) == 0  # acked, not requeued when the connection closed


def test_concurrent_calls_get_their_own_answers(transport, topic):
    transport.serve(topic, Calculator(), workers=8)

    def caller(thread):
        return [transport.call(topic, "echo", {"thread": thread, "i": i}, timeout=30) for i in range(5)]

    with cf.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(caller, range(10)))
    assert results == [[{"thread": t, "i": i} for i in range(5)] for t in range(10)]


def test_notify_reaches_every_listener(make_transport, topic):
    sender, other = make_transport(), make_transport()
    got = {"a": [], "b": []}
    events = {"a": threading.Event(), "b": threading.Event()}

    def listener(name):
        def callback(payload):
            got[name].append(payload)
            events[name].set()
        return callback

    sender.listen(topic, listener("a"))
    other.listen(topic, listener("b"))
    sender.notify(topic, {"wake": True})
    assert events["a"].wait(10) and events["b"].wait(10)
    assert got == {"a": [{"wake": True}], "b": [{"wake": True}]}


def test_calls_recover_after_connections_are_cut(transport, topic):
    """Stands in for a broker restart: every socket of the transport dies."""
    transport.serve(topic, Calculator())
    assert transport.call(topic, "add", {"a": 1, "b": 2}, timeout=10) == 3
    socks = [transport._conn.connection.sock] + [c.connection.connection.sock for c in transport._consumers]
    for sock in socks:
        sock.shutdown(socket.SHUT_RDWR)
    deadline, result = time.monotonic() + 60, None
    while result is None and time.monotonic() < deadline:
        try:
            result = transport.call(topic, "add", {"a": 2, "b": 2}, timeout=5)
        except RpcTimeout:
            pass  # a call racing the reconnect may lose its reply: it times out, never hangs
    assert result == 4
