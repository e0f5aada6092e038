"""Change bus: a replica publishes "topic changed (key)"; every replica's subscribers hear it.

Backed by the ``cluster_change`` table and polled (DB-agnostic; works on SQLite, PostgreSQL and
MySQL alike), so a change made on one replica reaches the others within one poll interval. The
publishing replica's own subscribers are called at once. Ids are read with a short look-back
window and de-duplicated, because auto-increment ids can commit out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.clock import Clock
from vigil.cluster.tables import cluster_change as t
from vigil.storage.db import Database, now_ms

log = logging.getLogger("vigil.cluster.bus")

Handler = Callable[[str, str], Awaitable[None] | None]
KEEP_MS = 600_000
LOOKBACK_MS = 5_000


class ChangeBus:
    def __init__(self, db: Database, clock: Clock, origin: str, poll_interval: float = 0.5) -> None:
        self.db = db
        self.clock = clock
        self.origin = origin
        self.poll_interval = poll_interval
        self._handlers: dict[str, list[Handler]] = {}
        self._seen: dict[int, int] = {}  # id -> created ms
        self._floor = 0  # ids at or below are settled
        self._task: asyncio.Task[None] | None = None
        self._last_cleanup = 0.0
        self.started = False

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    async def _call(self, topic: str, key: str) -> None:
        for h in self._handlers.get(topic, []):
            try:
                result = h(topic, key)
                if result is not None:
                    await result
            except Exception:
                log.exception("change handler for %s failed", topic)

    async def publish(self, topic: str, key: str = "", conn: AsyncConnection | None = None) -> None:
        """Record a change. With ``conn`` the row joins the caller's transaction and this replica's
        own subscribers are not called: call ``deliver_local`` after the commit."""
        values: dict[str, Any] = {
            "topic": topic,
            "key": key[:190],
            "origin": self.origin,
            "created": now_ms(self.clock),
        }
        if conn is not None:
            await conn.execute(insert(t).values(**values))
            return
        async with self.db.write() as c:
            await c.execute(insert(t).values(**values))
        await self._call(topic, key)

    async def deliver_local(self, topic: str, key: str = "") -> None:
        """Tell this replica's subscribers about a change already committed with ``publish(conn=…)``."""
        await self._call(topic, key)

    async def prime(self) -> None:
        """Start listening from now on (earlier changes are not delivered)."""
        async with self.db.read() as conn:
            top = (await conn.execute(select(func.max(t.c.id)))).scalar()
        self._floor = int(top or 0)

    async def start(self) -> None:
        await self.prime()
        self.started = True
        self._task = asyncio.create_task(self._run(), name=f"vigil-bus-{self.origin}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def poll(self) -> int:
        """Deliver new changes (every replica's, ours included); returns how many were delivered."""
        now = now_ms(self.clock)
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.created)
                    .where(t.c.id > self._floor)
                    .order_by(t.c.id)
                    .limit(5000)
                )
            ).all()
        delivered = 0
        for row_id, topic, key, created in rows:
            if row_id in self._seen:
                continue
            self._seen[row_id] = int(created)
            # Our own changes too: handlers are idempotent, and a change published inside another
            # feature's transaction may not have been delivered locally.
            delivered += 1
            await self._call(topic, key)
        # Advance the floor past ids old enough that no earlier id can still commit.
        settled = [i for i, c in self._seen.items() if c < now - LOOKBACK_MS]
        if settled:
            self._floor = max(self._floor, max(settled))
            for i in [i for i in self._seen if i <= self._floor]:
                del self._seen[i]
        if self.clock.monotonic() - self._last_cleanup > 60:
            self._last_cleanup = self.clock.monotonic()
            async with self.db.write() as conn:
                await conn.execute(delete(t).where(t.c.created < now - KEEP_MS))
        return delivered

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change bus poll failed: %s", exc)
            await asyncio.sleep(self.poll_interval)
