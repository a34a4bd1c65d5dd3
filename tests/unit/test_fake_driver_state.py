"""The fake driver's guests survive a restart: each change is in its journal
before the call returns, and saved_state reads them all back."""
from __future__ import annotations

import json
import os

from taskvisor.states import power
from taskvisor.virt.fake import FakeDriver, saved_state

FLAVOR = {"id": "1", "vcpus": 1, "ram": 512, "disk": 1}


def test_changes_survive_a_restart_and_are_in_the_saved_state_at_once(tmp_path):
    path = str(tmp_path / "fake-guests-h.json")
    driver = FakeDriver(state_path=path)
    driver.spawn({"id": "a"}, {"id": "img"}, FLAVOR)
    driver.spawn({"id": "b"}, {"id": "img"}, FLAVOR)
    driver.force_off("a")
    driver.destroy("b")
    # a new driver (the compute restarted, even after kill -9) sees every change at once
    again = FakeDriver(state_path=path)
    assert again.guests["a"]["power_state"] == power.SHUTDOWN
    assert "b" not in again.guests
    assert again.counts["b"] == {"spawn": 1, "destroy": 1}
    saved = saved_state(path)  # what another process (a test, an operator) reads
    assert sorted(saved["guests"]) == ["a"] and saved["guests"]["a"]["power_state"] == power.SHUTDOWN
    assert saved["counts"] == {"a": {"spawn": 1}, "b": {"spawn": 1, "destroy": 1}}


def test_a_state_file_from_before_per_guest_files_is_taken_over(tmp_path):
    path = str(tmp_path / "fake-guests-h.json")
    with open(path, "w") as f:
        json.dump({"guests": {"old": {"power_state": power.RUNNING, "flavor": FLAVOR, "image_id": "img",
                                      "disk": {}, "shutdown_requests": 0, "shutdown_at": None, "console": [],
                                      "behaviour": {"on_shutdown": "clean", "shutdown_seconds": 0}}},
                   "counts": {"old": {"spawn": 1}}}, f)
    driver = FakeDriver(state_path=path)
    assert driver.power_state("old") == power.RUNNING
    assert FakeDriver(state_path=path).power_state("old") == power.RUNNING  # taken over into the journal
    driver.destroy("old")
    assert FakeDriver(state_path=path).counts["old"] == {"spawn": 1, "destroy": 1}
    assert saved_state(path) == {"guests": {}, "counts": {"old": {"spawn": 1, "destroy": 1}}}


def test_no_saved_state_yet(tmp_path):
    assert saved_state(str(tmp_path / "fake-guests-h.json")) == {"guests": {}, "counts": {}}


def test_per_guest_files_are_taken_over(tmp_path):
    path = str(tmp_path / "fake-guests-h.json")
    os.makedirs(f"{path}.d")
    with open(os.path.join(f"{path}.d", "old.json"), "w") as f:
        json.dump({"guest": None, "counts": {"old": {"spawn": 1, "destroy": 1}}["old"]}, f)
    with open(os.path.join(f"{path}.d", "kept.json"), "w") as f:
        json.dump({"guest": {"power_state": power.SHUTDOWN, "flavor": FLAVOR, "image_id": "img", "disk": {},
                             "shutdown_requests": 0, "shutdown_at": None, "console": [],
                             "behaviour": {"on_shutdown": "clean", "shutdown_seconds": 0}},
                   "counts": {"spawn": 1}}, f)
    FakeDriver(state_path=path)
    again = FakeDriver(state_path=path)
    assert sorted(again.guests) == ["kept"] and again.counts["old"] == {"spawn": 1, "destroy": 1}
    assert not os.path.exists(f"{path}.d")


def test_the_journal_is_rewritten_once_it_outgrows_the_guests(tmp_path, monkeypatch):
    monkeypatch.setattr("taskvisor.virt.fake.COMPACT_AT", 10)
    path = str(tmp_path / "fake-guests-h.json")
    driver = FakeDriver(state_path=path)
    for _ in range(50):  # 200 changes of 2 guests
        for sid in ("a", "b"):
            driver.spawn({"id": sid}, {"id": "img"}, FLAVOR)
            driver.destroy(sid)
    driver.spawn({"id": "a"}, {"id": "img"}, FLAVOR)
    with open(f"{path}.journal") as f:
        assert len(f.readlines()) <= 10 + 4 * 2 + 1
    again = FakeDriver(state_path=path)
    assert sorted(again.guests) == ["a"]
    assert again.counts == {"a": {"spawn": 51, "destroy": 50}, "b": {"spawn": 50, "destroy": 50}}


def test_drivers_sharing_a_file_keep_each_others_guests_through_a_rewrite(tmp_path, monkeypatch):
    monkeypatch.setattr("taskvisor.virt.fake.COMPACT_AT", 5)
    path = str(tmp_path / "fake-guests-h.json")
    one, two = FakeDriver(state_path=path), FakeDriver(state_path=path)
    two.spawn({"id": "two's"}, {"id": "img"}, FLAVOR)
    for _ in range(10):  # enough for one to rewrite the journal
        one.spawn({"id": "one's"}, {"id": "img"}, FLAVOR)
        one.destroy("one's")
    again = FakeDriver(state_path=path)
    assert sorted(again.guests) == ["two's"] and again.counts["one's"] == {"spawn": 10, "destroy": 10}
