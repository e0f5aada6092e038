"""Membership: every replica heartbeats into ``cluster_member``; a member is dead after ``peer_timeout``.

The heartbeat loop writes this replica's row and reads the whole table in the same round, so
``live()`` is at most one heartbeat interval old. A draining replica (SIGTERM) marks itself and is
no longer counted as live; on shutdown it deletes its row so peers react at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from vigil.clock import Clock
from vigil.cluster.tables import cluster_member as t
from vigil.storage.db import Database, now_ms

log = logging.getLogger("vigil.cluster")

# Rows of members dead for longer than this are removed by any live replica.
PRUNE_AFTER_MS = 3_600_000


@dataclass(frozen=True)
class Member:
    name: str
    address: str
    version: str
    started_at: int
    last_heartbeat: int
    draining: bool
    alive: bool


def is_alive(last_heartbeat_ms: int, draining: bool, now: int, peer_timeout: float) -> bool:
    """Pure liveness rule: heartbeat seen within ``peer_timeout`` and not draining."""
    return not draining and now - last_heartbeat_ms <= int(peer_timeout * 1000)


class Membership:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        name: str,
        address: str,
        version: str,
        heartbeat_interval: float,
        peer_timeout: float,
    ) -> None:
        self.db = db
        self.clock = clock
        self.name = name
        self.address = address
        self.version = version
        self.heartbeat_interval = heartbeat_interval
        self.peer_timeout = peer_timeout
        self.started_at = 0
        self.draining = False
        self._members: list[Member] = []
        self._live: tuple[str, ...] = ()
        self._listeners: list[Callable[[tuple[str, ...]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0
        self.registered = asyncio.Event()

    # -- reads ---------------------------------------------------------------------------------

    def live(self) -> tuple[str, ...]:
        """Names of live members (sorted) as of the last heartbeat round; includes self while up."""
        return self._live

    def members(self) -> list[Member]:
        return list(self._members)

    def on_change(self, callback: Callable[[tuple[str, ...]], None]) -> None:
        self._listeners.append(callback)

    async def fetch(self) -> list[Member]:
        now = now_ms(self.clock)
        async with self.db.read() as conn:
            rows = (await conn.execute(select(t).order_by(t.c.name))).all()
        out = []
        for r in rows:
            m = r._mapping
            out.append(
                Member(
                    name=m["name"],
                    address=m["address"],
                    version=m["version"],
                    started_at=int(m["started_at"]),
                    last_heartbeat=int(m["last_heartbeat"]),
                    draining=bool(m["draining"]),
                    alive=is_alive(int(m["last_heartbeat"]), bool(m["draining"]), now, self.peer_timeout),
                )
            )
        return out

    # -- writes --------------------------------------------------------------------------------

    async def register(self) -> None:
        now = now_ms(self.clock)
        self.started_at = now
        values = {
            "address": self.address,
            "version": self.version,
            "started_at": now,
            "last_heartbeat": now,
            "draining": False,
        }
        async with self.db.write() as conn:
            result = await conn.execute(update(t).where(t.c.name == self.name).values(**values))
            updated = result.rowcount == 1
        if not updated:
            try:
                async with self.db.write() as conn:
                    await conn.execute(insert(t).values(name=self.name, **values))
            except IntegrityError:
                async with self.db.write() as conn:
                    await conn.execute(update(t).where(t.c.name == self.name).values(**values))
        self.registered.set()
        await self.refresh()

    async def beat(self) -> None:
        """One heartbeat round: write our row (re-creating it if pruned), then re-read the table."""
        now = now_ms(self.clock)
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t).where(t.c.name == self.name).values(last_heartbeat=now, draining=self.draining)
            )
            missing = result.rowcount == 0
        if missing:
            log.warning("cluster member row of %s was missing; registering again", self.name)
            await self.register()
            return
        await self.refresh()
        if self.clock.monotonic() - self._last_prune > 60:
            self._last_prune = self.clock.monotonic()
            await self.prune()

    async def refresh(self) -> None:
        members = await self.fetch()
        self._members = members
        live = tuple(sorted(m.name for m in members if m.alive))
        if not self.draining and self.name not in live:
            live = tuple(sorted((*live, self.name)))
        if self.draining:
            live = tuple(n for n in live if n != self.name)
        if live != self._live:
            old = self._live
            self._live = live
            if old:
                log.info("cluster members changed: %s -> %s", ",".join(old), ",".join(live))
            for cb in self._listeners:
                with contextlib.suppress(Exception):
                    cb(live)

    async def prune(self) -> None:
        cutoff = now_ms(self.clock) - PRUNE_AFTER_MS
        async with self.db.write() as conn:
            await conn.execute(delete(t).where(t.c.last_heartbeat < cutoff))

    async def drain(self) -> None:
        self.draining = True
        with contextlib.suppress(Exception):
            async with self.db.write() as conn:
                await conn.execute(update(t).where(t.c.name == self.name).values(draining=True))
        self._live = tuple(n for n in self._live if n != self.name)

    async def leave(self) -> None:
        async with self.db.write() as conn:
            await conn.execute(delete(t).where(t.c.name == self.name))

    # -- loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                if not self.registered.is_set():
                    await self.register()
                else:
                    await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(self.heartbeat_interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"vigil-heartbeat-{self.name}")

    async def stop(self, leave: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if leave:
            with contextlib.suppress(Exception):
                await self.leave()
