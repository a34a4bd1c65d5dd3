"""Gates for tests that need a real PostgreSQL or RabbitMQ.

In CI (CI=true) a missing service is a failure, never a skip; on a laptop
without the service the test skips and says why.
"""
from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get("TASKVISOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RABBIT_URL = os.environ.get("TASKVISOR_TEST_RABBIT", "amqp://guest:guest@127.0.0.1:5672//")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def unavailable(message: str) -> None:
    """Something a test needs is missing: fail under CI=true, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: tests that need it must run)")
    pytest.skip(f"{message} (skipped because CI is not set)")


def require(name: str, host: str, port: int) -> None:
    if not _reachable(host, port):
        unavailable(f"{name} is not reachable on {host}:{port}")


def require_postgres() -> str:
    require("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


def require_rabbitmq() -> str:
    require("RabbitMQ", "127.0.0.1", 5672)
    return RABBIT_URL
