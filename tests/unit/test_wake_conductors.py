"""The API's conductor wake-up: concurrent callers share one wake, and a
task committed while a wake is on the wire still gets a wake of its own."""
from __future__ import annotations

import tempfile
import threading
import time

from taskvisor.api.app import ApiState
from tests.conftest import make_conf


class HeldTransport:
    """Records each notify; the first one waits until released (a send on the wire)."""

    def __init__(self):
        self.sent: list[str] = []
        self.on_wire = threading.Event()
        self.release = threading.Event()

    def notify(self, topic: str, payload: dict) -> None:
        if not self.sent:
            self.on_wire.set()
            self.release.wait(30)
        self.sent.append(topic)


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_callers_share_a_queued_wake_and_none_is_lost():
    transport = HeldTransport()
    with tempfile.TemporaryDirectory() as data_dir:
        state = ApiState(make_conf(data_dir), None, transport, None)
        first = threading.Thread(target=state.wake_conductors)
        first.start()
        assert transport.on_wire.wait(30)  # the first wake is being sent
        second = threading.Thread(target=state.wake_conductors)  # committed after that send began
        second.start()
        wait_for(lambda: state._wake_queued)  # its wake waits for the wire
        for _ in range(5):  # committed before that wake is sent: it covers them
            state.wake_conductors()
        transport.release.set()
        first.join(30)
        second.join(30)
        assert transport.sent == ["conductor.wake", "conductor.wake"]
        state.wake_conductors()  # nothing queued any more: its own wake
        assert transport.sent == ["conductor.wake"] * 3
