"""Reconcile servers with what their compute reports about its guests
(Nova's _sync_power_states), run by the conductor: computes never write the
database, they cast their guests' power states to the ``conductor`` topic.

Only servers with no task in progress (task_state IS NULL) are touched, and
each change is a compare-and-swap on (task_state, vm_state, updated_at), so a
task that starts, or a row that changed after the compute looked, wins.
  - active/paused/suspended, guest off, crashed or gone → stopped (SHUTOFF)
  - stopped, guest running → active (unlike Nova, which stops the guest:
    we believe the hypervisor, e.g. after adopting a guest)
  - otherwise only power_state follows the guest.
A guest whose server is deleted (a local delete while its compute was down)
is reaped: the conductor asks the compute to destroy it (Nova's
running_deleted_instance_action = reap). A guest whose server is assigned
to another host is destroyed by a ``reap_guest`` task (``stray_guests``).
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, select, update

from taskvisor.db.models import servers, tasks
from taskvisor.db.session import Database, utcnow
from taskvisor.states import power
from taskvisor.states import server as states

LOG = logging.getLogger(__name__)
WITH_GUEST = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED, states.RESCUED, states.ERROR)
OFF = (power.SHUTDOWN, power.CRASHED)


def sync_power_states(db: Database, host: str, guests: dict, taken_at: float | None = None) -> list[dict]:
    """Apply one compute's report ({server_id: power state}); returns the changes."""
    taken = dt.datetime.fromtimestamp(taken_at, dt.UTC).replace(tzinfo=None) if taken_at else None
    changes = []
    with db.write() as conn:
        rows = conn.execute(select(servers.c.id, servers.c.vm_state, servers.c.power_state, servers.c.updated_at)
                            .where(servers.c.host == host, servers.c.deleted.is_(False),
                                   servers.c.task_state.is_(None), servers.c.vm_state.in_(WITH_GUEST))).all()
        for server_id, vm_state, db_power, updated_at in rows:
            if taken is not None and updated_at > taken:
                continue  # changed after the compute looked; the next report decides
            gone = server_id not in guests
            actual = power.SHUTDOWN if gone else int(guests[server_id])
            values: dict = {}
            if vm_state in (states.ACTIVE, states.PAUSED, states.SUSPENDED) and actual in OFF:
                values = {"vm_state": states.STOPPED, "power_state": actual}
            elif vm_state == states.STOPPED and actual == power.RUNNING:
                values = {"vm_state": states.ACTIVE, "power_state": actual}
            elif db_power != actual:
                values = {"power_state": actual}
            if not values:
                continue
            result = conn.execute(update(servers).where(
                servers.c.id == server_id, servers.c.task_state.is_(None), servers.c.vm_state == vm_state,
                servers.c.updated_at == updated_at).values(**values, updated_at=utcnow()))
            if result.rowcount == 1:
                change = {"server": server_id, "guest": "gone" if gone else power.NAMES.get(actual),
                          "from": {"vm_state": vm_state, "power_state": db_power}, "to": values}
                changes.append(change)
                LOG.warning("sync power states on %s: server %s guest is %s; %s → %s", host, server_id,
                            change["guest"], change["from"], values)
    return changes


def deleted_guests(db: Database, guests: dict) -> list[str]:
    """The reported guests whose servers are deleted: leftovers to destroy."""
    if not guests:
        return []
    with db.read() as conn:
        return [r[0] for r in conn.execute(select(servers.c.id).where(
            servers.c.id.in_(list(guests)), servers.c.deleted.is_(True)))]


def stray_guests(db: Database, host: str, guests: dict, grace: float) -> list[dict]:
    """Reported guests whose servers exist but are assigned to another host
    (or none), settled so for ``grace`` seconds with no task running: a
    spawn that moved on without this host's answer. Not a resized server
    (its source guest waits for confirm or revert)."""
    if not guests:
        return []
    cutoff = utcnow() - dt.timedelta(seconds=grace)
    busy = select(tasks.c.id).where(tasks.c.resource_id == servers.c.id,
                                    tasks.c.status.in_(("queued", "running", "reverting")))
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(servers.c.id, servers.c.project_id, servers.c.user_id).where(
            servers.c.id.in_(list(guests)), servers.c.deleted.is_(False),
            or_(servers.c.host.is_(None), servers.c.host != host), servers.c.vm_state != "resized",
            servers.c.updated_at < cutoff, ~busy.exists())).mappings()]
