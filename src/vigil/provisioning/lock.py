"""A cross-replica lock held on one database connection while a replica provisions.

PostgreSQL: a session advisory lock; MySQL/MariaDB: ``GET_LOCK``; SQLite: an exclusive ``flock`` on
a file beside the database (SQLite serves one host). All three are released when the holder's
connection or process dies, so a crashed replica never blocks the others. Waiting is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator

from sqlalchemy import text

from vigil.errors import AppError
from vigil.storage.db import Database


class LockTimeout(AppError):
    def __init__(self, name: str, waited: float) -> None:
        super().__init__(503, f"timed out after {waited:.0f}s waiting for another replica's {name} lock")


def _pg_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def named_lock(db: Database, name: str, timeout: float) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if db.dialect == "sqlite":
        path = db.sqlite_path
        if path is None:
            yield
            return
        fd = os.open(f"{path}.{name}-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if loop.time() > deadline:
                        raise LockTimeout(name, timeout) from None
                    await asyncio.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the flock
        return
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if db.dialect == "postgresql":
            key = _pg_key(f"vigil:{name}")
            while not (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar():
                if loop.time() > deadline:
                    raise LockTimeout(name, timeout)
                await asyncio.sleep(0.05)
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        else:
            lock_name = f"vigil:{name}"
            got = (
                await conn.execute(
                    text("SELECT GET_LOCK(:n, :t)"), {"n": lock_name, "t": max(1, int(timeout))}
                )
            ).scalar()
            if got != 1:
                raise LockTimeout(name, timeout)
            try:
                yield
            finally:
                await conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": lock_name})
