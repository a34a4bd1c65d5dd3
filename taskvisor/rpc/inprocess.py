"""In-process bus for all-in-one: a message goes straight to the serving
thread pool (no broker, no polling), but still through JSON so that what
crosses it is exactly what would cross RabbitMQ.
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable
from typing import Any

from taskvisor.rpc.base import message as base_message
from taskvisor.rpc.base import RpcTimeout, Server, Transport, decode, dispatch, encode, unwrap


class _PoolServer(Server):
    def __init__(self, transport: "InProcessTransport", topic: str, handler: Callable[[dict], Any],
                 workers: int):
        self.transport, self.topic, self.handler = transport, topic, handler
        self.pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"rpc-{topic}")
        self.running = True
        self._inflight: set[cf.Future] = set()
        self._lock = threading.Lock()

    def submit(self, message: dict) -> cf.Future:
        with self._lock:
            fut = self.pool.submit(self.handler, message)
            self._inflight.add(fut)
        fut.add_done_callback(lambda f: self._inflight.discard(f))
        return fut

    def stop(self) -> None:
        self.running = False
        self.transport._unregister(self.topic, self)

    def wait(self, timeout: float | None = None) -> bool:
        with self._lock:
            pending = list(self._inflight)
        _, not_done = cf.wait(pending, timeout=timeout)
        if not not_done:
            self.pool.shutdown(wait=False)
        return not not_done


class InProcessTransport(Transport):
    def __init__(self) -> None:
        self._servers: dict[str, list[_PoolServer]] = {}
        self._listeners: dict[str, list[Callable[[dict], None]]] = {}
        self._lock = threading.Lock()
        self._rr = 0

    def _pick(self, topic: str) -> _PoolServer | None:
        with self._lock:
            servers = self._servers.get(topic) or []
            if not servers:
                return None
            self._rr += 1
            return servers[self._rr % len(servers)]

    def _unregister(self, topic: str, server: _PoolServer) -> None:
        with self._lock:
            if server in self._servers.get(topic, []):
                self._servers[topic].remove(server)

    def call(self, topic: str, method: str, args: dict, version: str = "1.0",
             timeout: float = 60.0, op: str | None = None) -> Any:
        server = self._pick(topic)
        if server is None:
            raise RpcTimeout(f"nothing serves topic {topic}")
        message = decode(encode(base_message(method, args, version, timeout, op)))
        try:
            reply = server.submit(message).result(timeout=timeout)
        except cf.TimeoutError:
            raise RpcTimeout(f"{method} on {topic}: no reply in {timeout}s") from None
        return unwrap(decode(encode(reply)))

    def cast(self, topic: str, method: str, args: dict, version: str = "1.0") -> None:
        server = self._pick(topic)
        if server is not None:
            server.submit(decode(encode({"method": method, "version": version, "args": args})))

    def serve(self, topic: str, endpoint: Any, workers: int = 8) -> Server:
        server = _PoolServer(self, topic, lambda message: dispatch(endpoint, message), workers)
        with self._lock:
            self._servers.setdefault(topic, []).append(server)
        return server

    def notify(self, topic: str, payload: dict) -> None:
        for callback in list(self._listeners.get(topic, [])):
            callback(payload)

    def listen(self, topic: str, callback: Callable[[dict], None]) -> Server:
        with self._lock:
            self._listeners.setdefault(topic, []).append(callback)
        transport = self

        class _Listener(Server):
            def stop(self) -> None:
                with transport._lock:
                    if callback in transport._listeners.get(topic, []):
                        transport._listeners[topic].remove(callback)

            def wait(self, timeout: float | None = None) -> bool:
                return True

        return _Listener()
