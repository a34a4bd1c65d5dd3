"""The bus: call/cast to topics, fan-out notifications, versioned payloads.

A message is ``{"method", "version", "args"}``. Each endpoint declares the
newest version it speaks (``RPC_API_VERSION = "1.3"``); a call whose version
has another major number, or a newer minor one, is refused (the caller caps
its version to what the target published, so this only catches mistakes).
Errors travel back as ``{"type", "message", "retryable"}`` and are raised at
the caller as ``RemoteError``.
"""
from __future__ import annotations

import abc
import json
import logging
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)


class RpcError(Exception):
    retryable = False


class RpcTimeout(RpcError):
    """No answer in time: the target may be down, or the message was lost."""
    retryable = True


class RemoteError(RpcError):
    def __init__(self, type_: str, message: str, retryable: bool = False):
        super().__init__(f"{type_}: {message}")
        self.type, self.message, self.retryable = type_, message, retryable


class UnsupportedVersion(RpcError):
    pass


class TransientError(Exception):
    """Raised by an endpoint for a failure worth retrying (busy, not ready)."""
    retryable = True


def parse_version(version: str) -> tuple[int, int]:
    major, _, minor = str(version).partition(".")
    return int(major), int(minor or 0)


def version_ok(requested: str, supported: str) -> bool:
    req, sup = parse_version(requested), parse_version(supported)
    return req[0] == sup[0] and req[1] <= sup[1]


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=str).encode()


def decode(data: bytes | str) -> Any:
    return json.loads(data)


def dispatch(endpoint: Any, message: dict) -> dict:
    """Run one message against an endpoint; always returns a reply dict."""
    method, version = message.get("method", ""), message.get("version", "1.0")
    supported = getattr(endpoint, "RPC_API_VERSION", "1.0")
    if method.startswith("_") or not callable(getattr(endpoint, method, None)):
        return {"error": {"type": "NoSuchMethod", "message": f"no method {method!r}", "retryable": False}}
    if not version_ok(version, supported):
        return {"error": {"type": "UnsupportedVersion",
                          "message": f"{method} v{version} not supported (endpoint speaks {supported})",
                          "retryable": False}}
    try:
        return {"result": getattr(endpoint, method)(**message.get("args", {}))}
    except Exception as exc:  # the error goes back to the caller, which decides
        LOG.info("rpc %s failed: %s: %s", method, type(exc).__name__, exc)
        return {"error": {"type": type(exc).__name__, "message": str(exc),
                          "retryable": bool(getattr(exc, "retryable", False))}}


def unwrap(reply: dict) -> Any:
    if "error" in reply:
        err = reply["error"]
        raise RemoteError(err["type"], err["message"], err.get("retryable", False))
    return reply.get("result")


class Server(abc.ABC):
    @abc.abstractmethod
    def stop(self) -> None:
        """Stop taking new messages; messages not yet taken stay queued."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the messages already taken to finish; True when all did."""


class Transport(abc.ABC):
    @abc.abstractmethod
    def call(self, topic: str, method: str, args: dict, version: str = "1.0",
             timeout: float = 60.0) -> Any: ...

    @abc.abstractmethod
    def cast(self, topic: str, method: str, args: dict, version: str = "1.0") -> None: ...

    @abc.abstractmethod
    def serve(self, topic: str, endpoint: Any, workers: int = 8) -> Server: ...

    @abc.abstractmethod
    def notify(self, topic: str, payload: dict) -> None:
        """Fan-out, fire-and-forget (e.g. wake every conductor)."""

    @abc.abstractmethod
    def listen(self, topic: str, callback: Callable[[dict], None]) -> Server: ...

    def close(self) -> None:
        pass


def get_transport(url: str) -> Transport:
    if url.startswith("inprocess"):
        from taskvisor.rpc.inprocess import InProcessTransport
        return InProcessTransport()
    if url.startswith(("amqp", "pyamqp", "memory")):
        from taskvisor.rpc.amqp import KombuTransport
        return KombuTransport(url)
    raise ValueError(f"unsupported transport_url {url!r}")
