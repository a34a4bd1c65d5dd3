"""A bus between the processes of one all-in-one, with no server to run.

The all-in-one's main process runs a ``Hub`` on a Unix socket in the data
directory (``multiprocessing.connection``: framing, and an authkey
handshake so that only the processes it started can join). Each process
connects with a ``LocalTransport``: a message for a topic served in the same
process is handled there, as on the in-process bus; any other goes through
the hub to the process serving it. Payloads are JSON, as on RabbitMQ.

Frames are JSON objects; ``"k"`` says what each is:

    serve / unserve / listen / unlisten {topic}   what a peer takes
    call {id, topic, msg}   cast {topic, msg}     to one peer serving topic
    notify {topic, payload}                       to every other peer listening
    reply {id, reply} | {id, lost}                the answer to a call

As on RabbitMQ, a call or cast for a topic nobody serves yet waits at the hub
(a call until its deadline); a call whose serving peer goes away fails at
once (``RpcTimeout``) rather than at its timeout.
"""
from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from taskvisor.rpc.base import message as base_message
from taskvisor.rpc.base import RpcTimeout, Server, decode, encode, unwrap
from taskvisor.rpc.inprocess import InProcessTransport

LOG = logging.getLogger(__name__)

FAMILY = "AF_UNIX"
WAITING_LIMIT = 10_000  # messages held for a topic nobody serves; beyond, the oldest go


def _shutdown(conn: Connection) -> None:
    """Wake a thread blocked reading ``conn`` (closing the fd alone may not)."""
    try:
        with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as dup:
            dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Peer:
    """One connected process, as the hub sees it."""

    def __init__(self, conn: Connection, number: int):
        self.conn, self.name = conn, f"peer {number}"
        self._lock = threading.Lock()

    def send(self, frame: dict) -> bool:
        try:
            with self._lock:
                self.conn.send_bytes(encode(frame))
            return True
        except OSError:  # gone: its reader thread cleans up
            return False


class Hub:
    """Routes frames between the peers; lives in the all-in-one's main process."""

    def __init__(self, address: str, authkey: bytes):
        self.address, self._authkey = address, authkey
        if os.path.exists(address):  # left by a process that was killed
            os.unlink(address)
        self._listener = Listener(address, family=FAMILY, authkey=authkey)
        os.chmod(address, 0o600)
        self._lock = threading.Condition()
        self._peers: list[_Peer] = []
        self._servers: dict[str, list[_Peer]] = {}
        self._listeners: dict[str, list[_Peer]] = {}
        self._waiting: dict[str, collections.deque] = {}
        self._calls: dict[int, tuple[_Peer, int, _Peer]] = {}  # hub id → (caller, its id, server)
        self._ids = itertools.count(1)
        self._rr = itertools.count()
        self._closing = False
        self._thread = threading.Thread(target=self._accept, name="bus-hub", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        numbers = itertools.count(1)
        while True:
            try:
                conn = self._listener.accept()
            except Exception as exc:  # AuthenticationError, or the socket closed
                if self._closing:
                    return
                LOG.warning("bus hub: refused a connection: %s: %s", type(exc).__name__, exc)
                continue
            if self._closing:
                conn.close()
                return
            peer = _Peer(conn, next(numbers))
            with self._lock:
                self._peers.append(peer)
            threading.Thread(target=self._read, args=(peer,), name=f"bus-hub-{peer.name}", daemon=True).start()

    def _read(self, peer: _Peer) -> None:
        try:
            while True:
                self._route(peer, decode(peer.conn.recv_bytes()))
        except (EOFError, OSError):
            pass
        finally:
            self._drop(peer)

    def _route(self, peer: _Peer, frame: dict) -> None:
        # Decide under the lock, send after it: a send may block on a full
        # socket, and another peer's reader must still get the lock meanwhile.
        kind, topic = frame["k"], frame.get("topic")
        out: list[tuple[_Peer, dict]] = []
        with self._lock:
            if kind == "hello":
                peer.name = frame["name"]
            elif kind == "serve":
                self._servers.setdefault(topic, []).append(peer)
                self._lock.notify_all()
                for sender, waiting in self._waiting.pop(topic, ()):
                    out += self._deliver(sender, waiting)
            elif kind == "unserve":
                if peer in self._servers.get(topic, []):
                    self._servers[topic].remove(peer)
            elif kind == "listen":
                self._listeners.setdefault(topic, []).append(peer)
            elif kind == "unlisten":
                if peer in self._listeners.get(topic, []):
                    self._listeners[topic].remove(peer)
            elif kind in ("call", "cast"):
                out += self._deliver(peer, frame)
            elif kind == "notify":  # the sender told its own listeners already
                out += [(listener, frame) for listener in self._listeners.get(topic, []) if listener is not peer]
            elif kind == "reply":
                caller, caller_id, _server = self._calls.pop(frame["id"], (None, 0, None))
                if caller is not None:
                    out.append((caller, {**frame, "id": caller_id}))
        for target, outgoing in out:
            target.send(outgoing)

    def _deliver(self, sender: _Peer, frame: dict) -> list[tuple[_Peer, dict]]:
        """Where a call or cast goes: a peer serving its topic, or held until one does (lock held)."""
        servers = self._servers.get(frame["topic"])
        if not servers:
            waiting = self._waiting.setdefault(frame["topic"], collections.deque(maxlen=WAITING_LIMIT))
            now = time.time()  # calls whose caller gave up are not worth keeping
            while waiting and waiting[0][1]["msg"].get("deadline", now + 1) < now:
                waiting.popleft()
            waiting.append((sender, frame))
            return []
        server = servers[next(self._rr) % len(servers)]
        if frame["k"] == "call":
            hub_id = next(self._ids)
            self._calls[hub_id] = (sender, frame["id"], server)
            frame = {**frame, "id": hub_id}
        return [(server, frame)]

    def _drop(self, peer: _Peer) -> None:
        with self._lock:
            if peer not in self._peers:
                return
            self._peers.remove(peer)
            for table in (self._servers, self._listeners):
                for peers in table.values():
                    if peer in peers:
                        peers.remove(peer)
            out = []
            for hub_id, (caller, caller_id, server) in list(self._calls.items()):
                if peer in (caller, server):
                    del self._calls[hub_id]
                    if caller is not peer:
                        out.append((caller, {"k": "reply", "id": caller_id, "lost": f"{peer.name} went away"}))
        for caller, frame in out:
            caller.send(frame)
        peer.conn.close()
        if not self._closing:
            LOG.info("bus hub: %s disconnected", peer.name)

    def wait_served(self, topics: list[str], timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
        """Wait until every topic has a peer serving it (a started process is ready)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not all(self._servers.get(t) for t in topics):
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    return False
                self._lock.wait(min(left, 0.5))
        return True

    def _knock(self) -> None:
        try:
            Client(self.address, family=FAMILY, authkey=self._authkey).close()
        except Exception:
            pass

    def close(self) -> None:
        self._closing = True
        if self._thread.is_alive():  # wake it: connect to ourselves (on a thread: never hang here)
            threading.Thread(target=self._knock, name="bus-hub-close", daemon=True).start()
            self._thread.join(5)
        self._listener.close()
        with self._lock:
            peers = list(self._peers)
        for peer in peers:
            _shutdown(peer.conn)


class LocalTransport(InProcessTransport):
    """One process's end of the hub. ``on_lost`` runs if the hub goes away
    (the main process died) while this transport is open."""

    def __init__(self, address: str, authkey: bytes, name: str = "",
                 on_lost: Callable[[], None] | None = None):
        super().__init__()
        self._conn = Client(address, family=FAMILY, authkey=authkey)
        self._send_lock = threading.Lock()
        self._pending: dict[int, cf.Future] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self.on_lost = on_lost
        self._send({"k": "hello", "name": name or f"pid {os.getpid()}"})
        self._reader = threading.Thread(target=self._read, name="bus-client", daemon=True)
        self._reader.start()

    def _send(self, frame: dict) -> None:
        try:
            with self._send_lock:
                self._conn.send_bytes(encode(frame))
        except (OSError, ValueError) as exc:  # ValueError: closed
            raise RpcTimeout(f"the all-in-one bus is gone: {exc}") from None

    def _tell(self, frame: dict) -> None:
        """A serve/listen change; when the hub is gone it forgot us anyway."""
        if not self._closed:
            try:
                self._send(frame)
            except RpcTimeout:
                pass

    def _local(self, topic: str) -> bool:
        with self._lock:
            return bool(self._servers.get(topic))

    # -- the Transport interface ------------------------------------------------
    def call(self, topic: str, method: str, args: dict, version: str = "1.0",
             timeout: float = 60.0, op: str | None = None) -> Any:
        if self._local(topic):
            return super().call(topic, method, args, version, timeout, op)
        call_id, future = next(self._ids), cf.Future()
        self._pending[call_id] = future
        try:
            self._send({"k": "call", "id": call_id, "topic": topic,
                        "msg": base_message(method, args, version, timeout, op)})
            frame = future.result(timeout=timeout)
        except cf.TimeoutError:
            raise RpcTimeout(f"{method} on {topic}: no reply in {timeout}s") from None
        finally:
            self._pending.pop(call_id, None)
        if "lost" in frame:
            raise RpcTimeout(f"{method} on {topic}: {frame['lost']}")
        return unwrap(frame["reply"])

    def cast(self, topic: str, method: str, args: dict, version: str = "1.0") -> None:
        if self._local(topic):
            return super().cast(topic, method, args, version)
        self._send({"k": "cast", "topic": topic, "msg": base_message(method, args, version)})

    def serve(self, topic: str, endpoint: Any, workers: int = 8) -> Server:
        first = not self._local(topic)
        server = super().serve(topic, endpoint, workers)
        if first:
            self._send({"k": "serve", "topic": topic})
        return server

    def _unregister(self, topic, server) -> None:
        super()._unregister(topic, server)
        if not self._local(topic):
            self._tell({"k": "unserve", "topic": topic})

    def notify(self, topic: str, payload: dict) -> None:
        super().notify(topic, payload)
        self._send({"k": "notify", "topic": topic, "payload": payload})

    def listen(self, topic: str, callback: Callable[[dict], None]) -> Server:
        with self._lock:
            first = not self._listeners.get(topic)
        local = super().listen(topic, callback)
        if first:
            self._send({"k": "listen", "topic": topic})
        transport = self

        class _Listener(Server):
            def stop(self) -> None:
                local.stop()
                with transport._lock:
                    last = not transport._listeners.get(topic)
                if last:
                    transport._tell({"k": "unlisten", "topic": topic})

            def wait(self, timeout: float | None = None) -> bool:
                return True

        return _Listener()

    def close(self) -> None:
        self._closed = True
        _shutdown(self._conn)
        self._reader.join(5)
        self._conn.close()

    # -- frames from the hub ----------------------------------------------------
    def _read(self) -> None:
        try:
            while True:
                data = self._conn.recv_bytes()
                try:
                    self._handle(decode(data))
                except Exception:  # one bad frame must not end this process's bus
                    LOG.exception("the all-in-one bus: could not handle a frame")
        except (EOFError, OSError):
            pass
        for call_id in list(self._pending):  # wake callers now rather than at their timeouts
            future = self._pending.pop(call_id, None)
            if future is not None and not future.done():
                future.set_result({"lost": "the all-in-one bus closed"})
        if not self._closed:
            LOG.error("the all-in-one bus hub went away (its process ended)")
            if self.on_lost:
                self.on_lost()

    def _handle(self, frame: dict) -> None:
        kind = frame["k"]
        if kind == "reply":
            future = self._pending.get(frame["id"])
            if future is not None and not future.done():  # else the caller gave up
                future.set_result(frame)
        elif kind == "notify":
            super().notify(frame["topic"], frame["payload"])
        elif kind in ("call", "cast"):
            self._serve_one(frame)

    def _serve_one(self, frame: dict) -> None:
        server = self._pick(frame["topic"])
        try:
            if server is None:
                raise RuntimeError(f"{frame['topic']} is no longer served here")
            future = server.submit(frame["msg"])
        except RuntimeError as exc:  # stopped, or its pool shut down, since the hub routed this
            if frame["k"] == "call":
                self._reply(frame["id"], {"error": {"type": "ServiceStopping", "message": str(exc),
                                                    "retryable": True}})
            return
        if frame["k"] == "call":
            future.add_done_callback(lambda f: self._reply(frame["id"], f.result()))

    def _reply(self, call_id: int, reply: dict) -> None:
        try:
            self._send({"k": "reply", "id": call_id, "reply": reply})
        except RpcTimeout:
            LOG.info("could not send the reply to call %s: the bus is gone", call_id)
