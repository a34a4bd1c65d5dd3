"""The benchmarks that need PostgreSQL and RabbitMQ run at a small size and
print their figures."""
from __future__ import annotations

import re

import pytest

from tests.integration.benchmark_runs import NUMBER, figure, run_benchmark
from tests.services import require_postgres, require_rabbitmq


@pytest.fixture(autouse=True)
def services():
    require_postgres()
    require_rabbitmq()


def test_boot_delete_distributed():
    out = run_benchmark("boot_delete.py", "--distributed", "--servers", "10")
    assert re.search(r"lifecycle tasks\s+20 \(0 not succeeded\)", out), out
    assert re.search(rf"CPU ms per task by\s+api {NUMBER}, conductor-1 {NUMBER}, conductor-2 {NUMBER}", out), out


def test_takeover():
    out = run_benchmark("boot_delete.py", "--takeover", "12")  # past Nova's default quota of 10 servers
    assert figure(out, rf"takeover: 12 running tasks of a SIGKILLed conductor held by another after {NUMBER} s") > 0


def test_claim_and_explain():
    out = run_benchmark("claim.py", "--history", "10", "--rounds", "30")
    for db in ("SQLite", "PostgreSQL"):
        assert figure(out, rf"{db}\s+empty claim {NUMBER} ms") > 0
    out = run_benchmark("explain.py", "--rows", "30")
    assert "ix_tasks_active" in out, out


def test_rpc_roundtrip():
    out = run_benchmark("rpc_roundtrip.py")
    for transport in ("inprocess", "amqp"):
        assert figure(out, rf"{transport}\s+median\s+{NUMBER} ms") > 0


def test_chaos_benchmark_finds_no_problem():
    out = run_benchmark("chaos.py", "--operations", "20", "--servers", "5")
    assert figure(out, rf"problems\s+{NUMBER}") == 0
    assert figure(out, rf"lost \(not terminal\)\s+{NUMBER}") == 0
