"""The task event stream (server-sent events) behind ``…/tasks?watch=true``.

One poller per API process looks for tasks changed since its last look
(every [api] watch_poll_interval) and hands each change to the watchers
whose filter matches, so 100 idle watchers cost one small query a tick.
Every change to a task or one of its steps bumps ``tasks.updated_at`` (the
engine's fenced writes do), so that column is the stream's cursor.

An event is the whole task as the task API renders it, with ``id:`` its
``updated_at``. A client that reconnects with ``Last-Event-ID`` gets every
task changed after that moment again, plus a margin (OVERLAP) for
transactions that committed late with an earlier timestamp: delivery is at
least once, and a repeat is harmless because each event carries the full
state. Nothing is missed.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

import anyio
from sqlalchemy import select

from taskvisor.api.tasks_list import TaskFilter, where_clauses
from taskvisor.api.tasks_view import iso, load_steps, render_task
from taskvisor.db.models import tasks
from taskvisor.db.session import Database, utcnow

LOG = logging.getLogger(__name__)
OVERLAP = dt.timedelta(seconds=5)
KEEPALIVE_SECONDS = 15.0


def parse_event_id(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.rstrip("Z"))
    except ValueError:
        return None


def matches(f: TaskFilter, task: dict, steps: list[dict]) -> bool:
    """The list filter, applied to one changed task in Python."""
    if f.project_id is not None and task["project_id"] != f.project_id:
        return False
    if f.resource_ids and task["resource_id"] not in f.resource_ids:
        return False
    if f.resource_type and task["resource_type"] != f.resource_type:
        return False
    if f.actions and task["action"] not in f.actions:
        return False
    if f.statuses and task["status"] not in f.statuses:
        return False
    if f.reasons and task.get("failure_reason") not in f.reasons:
        return False
    if f.host and task["owner"] != f.host and all(s["host"] != f.host for s in steps):
        return False
    return True


class Watcher:
    def __init__(self, f: TaskFilter, is_admin: bool):
        self.filter, self.is_admin = f, is_admin
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=10000)


class TaskFeed:
    def __init__(self, db: Database, interval: float, flows):
        self.db, self.interval, self.flows = db, interval, flows
        self.watchers: set[Watcher] = set()
        self._poller: asyncio.Task | None = None
        self._cursor: dt.datetime | None = None
        self._seen: dict[tuple[str, dt.datetime], dt.datetime] = {}

    # -- reading --------------------------------------------------------------
    def _changed(self, since: dt.datetime, f: TaskFilter | None = None) -> list[tuple[dict, list[dict]]]:
        query = select(tasks).where(tasks.c.updated_at > since)
        if f is not None:
            query = query.where(*where_clauses(TaskFilter(**{**f.__dict__, "host": None, "limit": 0})))
        with self.db.read() as conn:
            rows = [dict(r) for r in conn.execute(query.order_by(tasks.c.updated_at)).mappings()]
            steps = load_steps(conn, [t["id"] for t in rows])
        return [(t, steps[t["id"]]) for t in rows]

    async def _poll(self) -> None:
        try:
            await self._poll_while_watched()
        finally:
            self._poller = None  # the next watcher starts a new one, whatever ended this one

    async def _poll_while_watched(self) -> None:
        # a new watcher wants changes from now on (with Last-Event-ID it reads its own catch-up)
        self._cursor = await anyio.to_thread.run_sync(lambda: utcnow() - OVERLAP)
        while self.watchers:
            try:
                changed = await anyio.to_thread.run_sync(self._changed, self._cursor - OVERLAP)
            except Exception:
                LOG.exception("task watch: could not read changes; trying again")
                changed = []
            for task, steps in changed:
                key = (task["id"], task["updated_at"])
                if key in self._seen:
                    continue
                self._seen[key] = task["updated_at"]
                self._cursor = max(self._cursor, task["updated_at"])
                self._fan_out(task, steps)
            horizon = self._cursor - 2 * OVERLAP
            self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
            await asyncio.sleep(self.interval)

    def _fan_out(self, task: dict, steps: list[dict]) -> None:
        rendered: dict[bool, str] = {}
        for watcher in list(self.watchers):
            if not matches(watcher.filter, task, steps):
                continue
            if watcher.is_admin not in rendered:
                rendered[watcher.is_admin] = format_event(self.flows, task, steps, watcher.is_admin)
            try:
                watcher.queue.put_nowait(rendered[watcher.is_admin])
            except asyncio.QueueFull:  # a client that stopped reading: drop it; it can resume
                self.watchers.discard(watcher)

    # -- watching -------------------------------------------------------------
    async def watch(self, f: TaskFilter, is_admin: bool, since: dt.datetime | None) -> AsyncIterator[str]:
        watcher = Watcher(f, is_admin)
        self.watchers.add(watcher)  # first, so nothing changed during the catch-up is lost
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        try:
            yield "retry: 2000\n\n"
            if since is not None:
                for task, steps in await anyio.to_thread.run_sync(self._changed, since - OVERLAP, f):
                    if matches(f, task, steps):
                        yield format_event(self.flows, task, steps, is_admin)
            while True:
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    if watcher not in self.watchers:
                        return  # dropped for falling behind
                    yield ": keepalive\n\n"
                    continue
                yield item
        finally:
            self.watchers.discard(watcher)


def format_event(flows, task: dict, steps: list[dict], is_admin: bool) -> str:
    body = json.dumps({"task": render_task(flows, task, steps, is_admin)}, separators=(",", ":"))
    return f"id: {iso(task['updated_at'])}\nevent: task\ndata: {body}\n\n"


def feed_of(app_state) -> TaskFeed:
    feed = getattr(app_state, "task_feed", None)
    if feed is None:
        feed = app_state.task_feed = TaskFeed(app_state.db, float(app_state.conf.api.watch_poll_interval),
                                               app_state.flows)
    return feed

