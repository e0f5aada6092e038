"""What routing and flushing read that rarely changes, kept per replica and per org: the parsed
notification policy tree, the mute timings, the silences not yet expired and the contact points.

Exact through the change bus (``ChangeBus.on_writes``): a write to one of the four tables records
a change in its own transaction; this replica drops the cache right after the commit, the others
when they hear of it, and a transaction that uses it starts after a ``sync`` (one bus poll
shared by concurrent callers), so nothing committed before it is missed: before the
transaction, or (the state writes of an evaluation round) before the evaluation started. Without a
running bus (unit tests, the CLI) every use reads the database, in the caller's transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting import routing
from vigil.alerting.notifier import Integration
from vigil.alerting.notifyconfig import NotifyConfig
from vigil.alerting.silences import Silence, Silences
from vigil.alerting.sqlutil import loads
from vigil.alerting.tables import alert_contact_point as cp
from vigil.alerting.tables import alert_mute_timing as mt
from vigil.alerting.tables import alert_silence as si
from vigil.clock import Clock
from vigil.storage.db import now_ms

TOPIC = "alerting.notify"
WATCHED = ("alert_policy", "alert_contact_point", "alert_mute_timing", "alert_silence")


class BusSync:
    """``bus.sync()`` with a memory: ``sync(since)`` returns at once when a sync that started after
    ``since`` (``clock.monotonic()``) has completed. Shared by the caches a notification reads, so
    the writes and sends of one evaluation round share one bus poll."""

    def __init__(self, bus: Any, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock
        self._synced_from = -math.inf  # the start of the latest completed sync

    @property
    def caching(self) -> bool:
        return self.bus is not None and bool(self.bus.started)

    async def sync(self, since: float | None = None) -> None:
        """Hear of every change committed (on any replica) before this call, or with ``since``
        before that instant."""
        if not self.caching:
            return
        if since is not None and self._synced_from > since:
            return
        started = self.clock.monotonic()
        await self.bus.sync()
        self._synced_from = max(self._synced_from, started)


@dataclass(frozen=True)
class OrgNotify:
    """One org's notification settings as of one read."""

    tree: routing.Route
    timings: dict[str, list[dict[str, Any]]]
    silences: tuple[Silence, ...]  # those not expired when read; filter with ``active(now)``
    integrations: dict[str, tuple[Integration, ...]]  # receiver name -> integrations, by id

    def active_silences(self, now: int) -> list[Silence]:
        return [s for s in self.silences if s.active(now)]

    def timings_by_name(self, names: list[str]) -> dict[str, list[dict[str, Any]]]:
        return {n: self.timings[n] for n in names if n in self.timings}


class NotifyCache:
    def __init__(self, config: NotifyConfig, silences: Silences, clock: Clock, bus: Any = None) -> None:
        self.config = config
        self.silences = silences
        self.clock = clock
        self.bus = bus
        self.syncer = BusSync(bus, clock)
        self._orgs: dict[int, OrgNotify] = {}
        self._generation = 0
        self.hits = 0
        self.misses = 0
        if bus is not None:
            bus.on_writes(WATCHED, TOPIC, self._on_change)

    @property
    def caching(self) -> bool:
        return self.syncer.caching

    def _on_change(self, *_: Any) -> None:
        self._generation += 1
        self._orgs.clear()

    async def sync(self, since: float | None = None) -> None:
        """Hear of every change committed before this call (any replica's), or with ``since``
        (``clock.monotonic()``) before that instant: a sync that started after it serves, so the
        writes of one evaluation round share one bus poll. Call it before the transaction that
        uses ``org`` (not inside it: the poll may need a pooled connection)."""
        await self.syncer.sync(since)

    async def org(self, conn: AsyncConnection, org_id: int) -> OrgNotify:
        """The org's settings: cached (as of the last ``sync``), or read with ``conn``."""
        caching = self.caching
        if caching:
            found = self._orgs.get(org_id)
            if found is not None:
                self.hits += 1
                return found
        self.misses += 1
        generation = self._generation
        loaded = await self._load(conn, org_id)
        # Not kept when a change arrived while reading: what was read may predate it.
        if caching and generation == self._generation:
            self._orgs[org_id] = loaded
        return loaded

    async def _load(self, conn: AsyncConnection, org_id: int) -> OrgNotify:
        tree = await self.config.route_tree(conn, org_id)
        timings = {
            str(n): loads(t, [])
            for n, t in await conn.execute(
                select(mt.c.name, mt.c.time_intervals).where(mt.c.org_id == org_id)
            )
        }
        now = now_ms(self.clock)
        rows = await conn.execute(select(si).where(si.c.org_id == org_id, si.c.ends_at > now))
        silences = tuple(self.silences.from_row(r._mapping) for r in rows)
        by_name: dict[str, list[Integration]] = {}
        for r in await conn.execute(select(cp).where(cp.c.org_id == org_id).order_by(cp.c.id)):
            integ = self.config.integration_from_row(r._mapping)
            by_name.setdefault(integ.name, []).append(integ)
        return OrgNotify(tree, timings, silences, {k: tuple(v) for k, v in by_name.items()})
