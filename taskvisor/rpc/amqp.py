"""RabbitMQ bus over kombu.

Calls and casts go to a durable queue per topic on the direct exchange
``taskvisor``; replies come back on one exclusive queue per transport and are
matched to the waiting caller by ``correlation_id``. Notifications go to a
fan-out exchange per topic, each listener with its own exclusive queue
(handled inline, unacked).

Every consumer (servers, listeners, the reply queue) is a thread owning its
own connection: py-amqp channels are not thread-safe, so consuming, acking and
cancelling all happen on that thread. Publishing shares one connection behind
a lock, with publisher confirms so that a publish that returned is queued and
a dead socket (broker restart) is noticed and retried at once.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import queue as queue_mod
import selectors
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

from taskvisor.rpc.base import message as base_message
from taskvisor.rpc.base import RpcTimeout, Server, Transport, decode, dispatch, encode, unwrap

LOG = logging.getLogger(__name__)

EXCHANGE = Exchange("taskvisor", type="direct", durable=True)
# Bounded, so that a broker outage turns into RpcTimeout instead of a hang.
RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
HEARTBEAT = 20        # seconds; lets a consumer notice a half-open connection
RECONNECT_DELAY = 1.0
PUBLISH_TIMEOUT = 10.0


class _Consumer(Server):
    """Consume ``queue`` on a thread of its own, reconnecting after losses.

    With ``workers`` the handler runs in a pool and the message is acked only
    once it returned (workers hand acks back to this thread through ``_acks``
    and wake it via a socketpair, so no polling); without, it runs inline on
    an auto-ack consumer (the reply queue, notification listeners).
    """

    def __init__(self, url: str, queue: Queue, handler: Callable[[Any], None], workers: int, name: str):
        self.url, self.queue, self.handler, self.workers = url, queue, handler, workers
        self.pool = cf.ThreadPoolExecutor(workers, thread_name_prefix=name) if workers else None
        self.ready = threading.Event()   # set while consuming
        self.connection: Connection | None = None  # the current one, for diagnostics
        self._stopping = threading.Event()
        self._inflight: set[cf.Future] = set()
        self._lock = threading.Lock()
        self._acks: queue_mod.SimpleQueue = queue_mod.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _poke(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # buffer full (already poked) or thread gone
            pass

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                conn = self.connection = Connection(self.url, heartbeat=HEARTBEAT)
                try:
                    conn.ensure_connection(**RETRY)
                    self._consume(conn)
                    conn.release()
                except Exception:  # anything from the broker: back off, reconnect
                    LOG.warning("consumer of %s lost its connection; reconnecting", self.queue.name,
                                exc_info=LOG.isEnabledFor(logging.DEBUG))
                    conn.collect()
                    self._stopping.wait(RECONNECT_DELAY)
        finally:
            self.ready.clear()
            if self.pool:
                self.pool.shutdown(wait=False)
            self._wake_r.close()
            self._wake_w.close()

    def _consume(self, conn: Connection) -> None:
        channel = conn.channel()
        consumer = Consumer(channel, [self.queue], on_message=self._on_message,
                            no_ack=not self.workers, prefetch_count=self.workers or None)
        consumer.consume()
        sock = getattr(conn.connection, "sock", None)  # None on virtual transports (memory://)
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            if sock is not None:
                selector.register(sock, selectors.EVENT_READ)
            self.ready.set()
            try:
                while True:
                    self._flush_acks(channel)
                    if self._stopping.is_set():
                        if consumer is not None:
                            consumer.cancel()  # the broker keeps what we have not taken
                            consumer = None
                        with self._lock:
                            idle = not self._inflight
                        if idle:  # every ack was queued before its future finished
                            self._flush_acks(channel)
                            return
                    self._drain(conn, selector, sock)
            finally:
                self.ready.clear()

    def _drain(self, conn: Connection, selector: selectors.BaseSelector, sock: Any) -> None:
        """Handle what the broker sent, or return early when a worker pokes us (1s at most)."""
        timeout = 1.0
        if sock is None:
            timeout = 0.05  # no socket to wait on: poll
        elif not getattr(sock, "pending", lambda: 0)():  # TLS may already hold decrypted bytes
            ready = {key.fileobj for key, _ in selector.select(1.0)}
            if self._wake_r in ready:
                self._wake_r.recv(4096)
            if sock not in ready:
                conn.heartbeat_check()
                return
        try:
            conn.drain_events(timeout=timeout)
        except socket.timeout:
            pass
        conn.heartbeat_check()

    def _flush_acks(self, channel: Any) -> None:
        while True:
            try:
                message = self._acks.get_nowait()
            except queue_mod.Empty:
                return
            if message.channel is channel:  # else the broker already requeued it with the old channel
                message.ack()

    def _on_message(self, message: Any) -> None:
        if self.pool is None:
            try:
                self.handler(message)
            except Exception:
                LOG.exception("handling a message from %s failed", self.queue.name)
        elif self._stopping.is_set():
            message.requeue()  # arrived while cancelling: leave it for another server
        else:
            with self._lock:
                future = self.pool.submit(self._work, message)
                self._inflight.add(future)
            future.add_done_callback(self._done)

    def _done(self, future: cf.Future) -> None:
        with self._lock:
            self._inflight.discard(future)

    def _work(self, message: Any) -> None:
        try:
            self.handler(message)
        except Exception:
            LOG.exception("handling a message from %s failed", self.queue.name)
        finally:
            self._acks.put(message)
            self._poke()

    def stop(self) -> None:
        self._stopping.set()
        self._poke()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            pending = list(self._inflight)
        _, not_done = cf.wait(pending, timeout=timeout)
        if self._stopping.is_set():  # let the thread send the last acks and close
            self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            return not not_done and not self._thread.is_alive()
        return not not_done


class KombuTransport(Transport):
    def __init__(self, url: str):
        self.url = url
        self._conn = Connection(url, connect_timeout=2, transport_options={"confirm_publish": True, **RETRY})
        self._producer = Producer(self._conn)  # lazy: connects on first publish
        self._publish_lock = threading.Lock()
        self._lock = threading.Lock()
        self._consumers: list[_Consumer] = []
        self._queues: dict[str, Queue] = {}
        self._replies: _Consumer | None = None
        self._pending: dict[str, cf.Future] = {}

    # -- publishing -----------------------------------------------------------
    def _publish(self, payload: dict, exchange: Exchange | str, routing_key: str, declare: list,
                 timeout: float = PUBLISH_TIMEOUT, **properties: Any) -> None:
        if not self._publish_lock.acquire(timeout=max(timeout, 0.01)):
            raise RpcTimeout(f"could not publish to {routing_key} in {timeout}s (publisher busy)")
        try:
            self._producer.publish(encode(payload), exchange=exchange, routing_key=routing_key,
                                   declare=declare, content_type="application/json",
                                   content_encoding="utf-8", retry=True, retry_policy=RETRY,
                                   confirm_timeout=max(timeout, 0.01), **properties)
        except Exception as exc:  # connection/channel errors after the bounded retries
            raise RpcTimeout(f"could not publish to {routing_key}: {exc}") from exc
        finally:
            self._publish_lock.release()

    def _topic_queue(self, topic: str) -> Queue:
        with self._lock:
            if topic not in self._queues:
                self._queues[topic] = Queue(topic, EXCHANGE, routing_key=topic, durable=True)
            return self._queues[topic]

    def _start(self, consumer: _Consumer) -> _Consumer:
        with self._lock:
            self._consumers.append(consumer)
        return consumer

    # -- calls ----------------------------------------------------------------
    def _reply_queue(self, timeout: float) -> str:
        with self._lock:
            if self._replies is None:
                queue = Queue(f"taskvisor.reply.{uuid.uuid4().hex}", exclusive=True, auto_delete=True)
                self._replies = _Consumer(self.url, queue, self._on_reply, 0, "rpc-replies")
                self._consumers.append(self._replies)
        # Publishing before the reply queue exists could lose a fast reply.
        if not self._replies.ready.wait(timeout):
            raise RpcTimeout(f"reply queue not ready in {timeout}s (broker unreachable?)")
        return self._replies.queue.name

    def _on_reply(self, message: Any) -> None:
        future = self._pending.pop(message.properties.get("correlation_id"), None)
        if future is not None:  # else the caller already gave up
            future.set_result(decode(message.body))

    def call(self, topic: str, method: str, args: dict, version: str = "1.0",
             timeout: float = 60.0, op: str | None = None) -> Any:
        deadline = time.monotonic() + timeout
        reply_to = self._reply_queue(timeout)
        correlation_id, future = uuid.uuid4().hex, cf.Future()
        self._pending[correlation_id] = future
        try:
            # expiration: a call nobody took in time is dropped, not run late.
            self._publish(base_message(method, args, version, timeout, op), EXCHANGE, topic,
                          [self._topic_queue(topic)], timeout=deadline - time.monotonic(),
                          reply_to=reply_to, correlation_id=correlation_id,
                          delivery_mode=2, expiration=timeout)
            reply = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except cf.TimeoutError:
            raise RpcTimeout(f"{method} on {topic}: no reply in {timeout}s") from None
        finally:
            self._pending.pop(correlation_id, None)
        return unwrap(reply)

    def cast(self, topic: str, method: str, args: dict, version: str = "1.0") -> None:
        self._publish({"method": method, "version": version, "args": args}, EXCHANGE, topic,
                      [self._topic_queue(topic)], delivery_mode=2)

    def serve(self, topic: str, endpoint: Any, workers: int = 8) -> Server:
        def handle(message: Any) -> None:
            reply = dispatch(endpoint, decode(message.body))
            reply_to = message.properties.get("reply_to")
            if reply_to:  # a call, not a cast
                self._publish(reply, "", reply_to, [], delivery_mode=1,
                              correlation_id=message.properties.get("correlation_id"))
        return self._start(_Consumer(self.url, self._topic_queue(topic), handle, workers, f"rpc-{topic}"))

    # -- fan-out --------------------------------------------------------------
    @staticmethod
    def _fanout(topic: str) -> Exchange:
        return Exchange(f"taskvisor.fanout.{topic}", type="fanout", durable=True)

    def notify(self, topic: str, payload: dict) -> None:
        exchange = self._fanout(topic)
        self._publish(payload, exchange, "", [exchange], delivery_mode=1)

    def listen(self, topic: str, callback: Callable[[dict], None]) -> Server:
        queue = Queue(f"taskvisor.fanout.{topic}.{uuid.uuid4().hex}", self._fanout(topic),
                      exclusive=True, auto_delete=True)
        # Inline and unacked, like replies: a notification is not persistent and
        # its queue is this listener's alone, so an ack would keep nothing; a
        # worker pool, acks and wake-ups cost a conductor ≈ 6 % of its CPU on
        # the wake-up fanout. Callbacks are quick (set an event, flag a cancel).
        listener = self._start(_Consumer(self.url, queue, lambda m: callback(decode(m.body)), 0,
                                         f"listen-{topic}"))
        # Notifications sent before the queue is bound are not ours: give it a moment.
        listener.ready.wait(5.0)
        return listener

    def close(self) -> None:
        with self._lock:
            consumers, self._consumers, self._replies = self._consumers, [], None
        for consumer in consumers:
            consumer.stop()
        deadline = time.monotonic() + 5.0  # in-flight work gets a moment to finish and ack
        for consumer in consumers:
            consumer.wait(max(0.0, deadline - time.monotonic()))
        for correlation_id in list(self._pending):  # wake callers rather than let them time out
            future = self._pending.pop(correlation_id, None)
            if future is not None:
                future.set_exception(RpcTimeout("transport closed"))
        with self._publish_lock:
            self._conn.release()
