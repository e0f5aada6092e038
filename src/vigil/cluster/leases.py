"""Named leases in the shared database: at most one holder per name until the lease expires.

``acquire`` is a compare-and-swap (update when free, expired or already ours; otherwise insert and
let the primary key refuse a second holder). A holder renews its leases in one statement and
releases them on hand-off or shutdown, so another replica can take them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from vigil.clock import Clock
from vigil.cluster.tables import cluster_lease as t
from vigil.storage.db import Database, now_ms


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    expires_at: int
    fence: int


def _insert_ignore(dialect: str) -> Any:
    """INSERT that skips rows whose name already exists (no error, no second holder)."""
    if dialect == "postgresql":
        return postgresql.insert(t).on_conflict_do_nothing()
    if dialect == "mysql":
        return mysql.insert(t).prefix_with("IGNORE")
    return sqlite.insert(t).on_conflict_do_nothing()


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Leases:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def acquire(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew ``name`` for ``holder``; False while another holder's lease is unexpired."""
        now = now_ms(self.clock)
        expires = now + int(ttl * 1000)
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.name == name, (t.c.holder == holder) | (t.c.expires_at < now))
                # Fence and acquired_at first: MySQL assigns left to right with the new values.
                .ordered_values(
                    (t.c.fence, case((t.c.holder == holder, t.c.fence), else_=t.c.fence + 1)),
                    (t.c.acquired_at, case((t.c.holder == holder, t.c.acquired_at), else_=now)),
                    (t.c.holder, holder),
                    (t.c.expires_at, expires),
                )
            )
            if result.rowcount == 1:
                return True
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    insert(t).values(name=name, holder=holder, expires_at=expires, acquired_at=now, fence=1)
                )
            return True
        except IntegrityError:
            return False

    async def acquire_many(self, names: Iterable[str], holder: str, ttl: float) -> set[str]:
        """Take or renew many leases in a few statements; returns the names ``holder`` now holds.

        Same rule as ``acquire``: free, expired or already ours. Absent rows are inserted with
        insert-if-absent, so two replicas inserting one name at once leave a single holder."""
        wanted = sorted(set(names))
        got: set[str] = set()
        for chunk in _chunks(wanted):
            now = now_ms(self.clock)
            expires = now + int(ttl * 1000)
            async with self.db.write() as conn:
                await conn.execute(
                    update(t)
                    .where(t.c.name.in_(chunk), (t.c.holder == holder) | (t.c.expires_at < now))
                    .ordered_values(
                        (t.c.fence, case((t.c.holder == holder, t.c.fence), else_=t.c.fence + 1)),
                        (t.c.acquired_at, case((t.c.holder == holder, t.c.acquired_at), else_=now)),
                        (t.c.holder, holder),
                        (t.c.expires_at, expires),
                    )
                )
            async with self.db.read() as conn:
                present = {r[0] for r in await conn.execute(select(t.c.name).where(t.c.name.in_(chunk)))}
            absent = [n for n in chunk if n not in present]
            if absent:
                rows = [
                    {"name": n, "holder": holder, "expires_at": expires, "acquired_at": now, "fence": 1}
                    for n in absent
                ]
                async with self.db.write() as conn:
                    await conn.execute(_insert_ignore(self.db.dialect).values(rows))
            async with self.db.read() as conn:
                got |= {
                    r[0]
                    for r in await conn.execute(
                        select(t.c.name).where(
                            t.c.name.in_(chunk), t.c.holder == holder, t.c.expires_at >= now
                        )
                    )
                }
        return got

    async def renew(self, holder: str, prefix: str, ttl: float) -> int:
        """Extend every unexpired lease of ``holder`` whose name starts with ``prefix``."""
        now = now_ms(self.clock)
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t)
                .where(
                    t.c.holder == holder, t.c.name.startswith(prefix, autoescape=True), t.c.expires_at >= now
                )
                .values(expires_at=now + int(ttl * 1000))
            )
        return int(result.rowcount)

    async def held(self, holder: str, prefix: str) -> set[str]:
        """Names under ``prefix`` that ``holder`` holds right now."""
        now = now_ms(self.clock)
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(t.c.name).where(
                    t.c.holder == holder, t.c.name.startswith(prefix, autoescape=True), t.c.expires_at >= now
                )
            )
            return {r[0] for r in rows}

    async def release(self, holder: str, names: Iterable[str]) -> int:
        """Give up leases (only those still held by ``holder``)."""
        total = 0
        for chunk in _chunks(sorted(set(names))):
            async with self.db.write() as conn:
                result = await conn.execute(delete(t).where(t.c.holder == holder, t.c.name.in_(chunk)))
                total += int(result.rowcount)
        return total

    async def release_all(self, holder: str, prefix: str = "") -> int:
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(t).where(t.c.holder == holder, t.c.name.startswith(prefix, autoescape=True))
            )
        return int(result.rowcount)

    async def holders(self, prefix: str) -> dict[str, list[str]]:
        """Unexpired lease names under ``prefix`` by holder."""
        now = now_ms(self.clock)
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(t.c.holder, t.c.name).where(
                    t.c.name.startswith(prefix, autoescape=True), t.c.expires_at >= now
                )
            )
            out: dict[str, list[str]] = {}
            for holder, name in rows:
                out.setdefault(holder, []).append(name)
            return out

    async def get(self, name: str) -> Lease | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(t).where(t.c.name == name))).first()
        if row is None:
            return None
        m = row._mapping
        return Lease(m["name"], m["holder"], m["expires_at"], m["fence"])

    async def count(self) -> int:
        async with self.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
