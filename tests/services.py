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


def require(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: tests that need it must run)")
    pytest.skip(f"{message}; start it to run this test")


def require_postgres() -> str:
    require("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


def require_rabbitmq() -> str:
    require("RabbitMQ", "127.0.0.1", 5672)
    return RABBIT_URL
