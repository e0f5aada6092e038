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
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.clock import Clock
from vigil.cluster.tables import cluster_change as t
from vigil.storage.db import Database, now_ms

log = logging.getLogger("vigil.cluster.bus")

Handler = Callable[[str, str], Awaitable[None] | None]
KEEP_MS = 600_000
LOOKBACK_MS = 5_000
_NEW_CHANGES_SQL = "SELECT id, topic, key, created FROM cluster_change WHERE id > $1 ORDER BY id LIMIT 5000"
_NEW_CHANGES = (
    select(t.c.id, t.c.topic, t.c.key, t.c.created)
    .where(t.c.id > bindparam("floor"))
    .order_by(t.c.id)
    .limit(5000)
)


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
        self._polling: asyncio.Future[None] | None = None  # the poll running now
        self._next_poll: asyncio.Future[None] | None = None  # the one that starts after it
        self._poll_task: asyncio.Future[None] | None = None
        self._direct: Any = None  # PostgreSQL: an asyncpg connection kept for the poll (_fetch_new)
        self._direct_stmt: Any = None
        self._direct_busy = False
        self._direct_retry_at = 0.0
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

    def on_writes(self, tables: Iterable[str], topic: str, handler: Handler) -> None:
        """Keep a per-replica cache exact: every ``db.write()`` transaction that writes one of
        ``tables`` (``Database.watch_writes`` names) records a change of ``topic`` in that same
        transaction, so no replica can read the new data without the change being there; ``handler``
        runs on every replica that hears of it, this one right after the commit."""

        async def record(conn: AsyncConnection, hits: frozenset[str]) -> Callable[[], Awaitable[None]]:
            key = ",".join(sorted(hits))
            await self.publish(topic, key, conn)

            async def after_commit() -> None:
                await self.deliver_local(topic, key)

            return after_commit

        self.db.watch_writes(tables, record)
        self.subscribe(topic, handler)

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
        self.started = False
        for task in (self._task, self._poll_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._poll_task = None
        if self._direct is not None:
            conn, self._direct, self._direct_stmt = self._direct, None, None
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
            if not conn.is_closed():
                conn.terminate()

    async def poll(self) -> int:
        """Deliver new changes (every replica's, ours included); returns how many were delivered."""
        now = now_ms(self.clock)
        rows = await self._fetch_new()
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

    async def _fetch_new(self) -> list[Any]:
        direct = (
            self.db.dialect == "postgresql"
            and not self._direct_busy  # one query at a time on the connection (a direct poll() call)
            and self.clock.monotonic() >= self._direct_retry_at
        )
        if direct:
            self._direct_busy = True
            try:
                return await self._fetch_new_asyncpg()
            except Exception as exc:  # the connection broke: the pool's path reports or recovers
                log.debug("change bus: direct read failed (%s); reading through the pool", exc)
                self._direct_retry_at = self.clock.monotonic() + 1.0
                await self._close_direct()
            finally:
                self._direct_busy = False
        async with self.db.read() as conn:
            return list((await conn.execute(_NEW_CHANGES, {"floor": self._floor})).all())

    async def _fetch_new_asyncpg(self) -> list[Any]:
        """PostgreSQL: the poll runs as a prepared statement of asyncpg's own on a connection the
        bus keeps (outside the pool, opened with the pool's settings): about 30 µs a poll instead of
        about 400 µs through SQLAlchemy, which matters since ``sync`` polls in front of cached reads."""
        if self._direct_stmt is None:
            import asyncpg

            engine = self.db.engine
            _, opts = engine.dialect.create_connect_args(engine.url)
            for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
                opts.pop(sqlalchemy_only, None)
            o = self.db.options
            conn = await asyncpg.connect(
                **opts,
                timeout=o.connect_timeout,
                command_timeout=o.query_timeout,
                server_settings={"jit": "off"},
            )
            try:
                self._direct_stmt = await conn.prepare(_NEW_CHANGES_SQL)
            except BaseException:
                conn.terminate()
                raise
            self._direct = conn
        return list(await self._direct_stmt.fetch(self._floor))

    async def _close_direct(self) -> None:
        conn, self._direct, self._direct_stmt = self._direct, None, None
        if conn is not None:
            conn.terminate()

    async def sync(self) -> None:
        """Return once every change committed before this call, on any replica, was delivered here:
        a poll that starts after the call. Callers that arrive while one poll runs share the next
        one, so under load a single query serves a batch of requests."""
        waiter = self._next_poll
        if waiter is None:
            waiter = self._next_poll = asyncio.get_running_loop().create_future()
            if self._polling is None:
                self._start_next_poll()
        await asyncio.shield(waiter)

    def _start_next_poll(self) -> None:
        waiter, self._next_poll = self._next_poll, None
        assert waiter is not None
        self._polling = waiter
        self._poll_task = asyncio.ensure_future(self._poll_for(waiter))

    async def _poll_for(self, waiter: asyncio.Future[None]) -> None:
        try:
            await self.poll()
        except Exception as exc:
            waiter.set_exception(exc)
            waiter.exception()  # retrieved: nobody may be waiting any more
        except BaseException:
            waiter.cancel()
            raise
        else:
            waiter.set_result(None)
        finally:
            self._polling = None
            if self._next_poll is not None:
                self._start_next_poll()

    async def _run(self) -> None:
        while True:
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change bus poll failed: %s", exc)
            await asyncio.sleep(self.poll_interval)
