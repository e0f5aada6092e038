"""Named cross-replica locks held on one database connection: schema migrations, provisioning.

PostgreSQL: a session advisory lock (PostgreSQL scopes it to the database); MySQL/MariaDB:
``GET_LOCK`` on a name that includes the database name (MySQL's named locks span the whole server);
SQLite: an exclusive ``flock`` on a file beside the database (SQLite serves one host). All three are
released when the holder's connection or process dies, so a crashed replica never blocks the
others. Waiting is bounded by a timeout; ``on_wait`` is called once when the lock is found taken.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text

from vigil.errors import AppError
from vigil.storage.db import Database

POLL_SECONDS = 0.05


class LockTimeout(AppError):
    def __init__(self, name: str, waited: float) -> None:
        super().__init__(503, f"timed out after {waited:.0f}s waiting for another replica's {name} lock")


def pg_lock_key(name: str) -> int:
    """The advisory-lock key of ``name``: 64 bits of its hash."""
    return int.from_bytes(hashlib.sha256(f"vigil:{name}".encode()).digest()[:8], "big", signed=True)


def mysql_lock_name(db: Database, name: str) -> str:
    """The GET_LOCK name: per database, since MySQL's named locks span the whole server."""
    return f"vigil:{name}:{db.url.database or ''}"[:64]


def sqlite_lock_path(db: Database, name: str) -> str | None:
    return None if db.sqlite_path is None else f"{db.sqlite_path}.{name}-lock"


@asynccontextmanager
async def named_lock(
    db: Database, name: str, timeout: float, on_wait: Callable[[], None] | None = None
) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    waited = False

    def wait_or_give_up() -> None:
        nonlocal waited
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        if loop.time() > deadline:
            raise LockTimeout(name, timeout)

    if db.dialect == "sqlite":
        path = sqlite_lock_path(db, name)
        if path is None:  # in-memory: one process
            yield
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    wait_or_give_up()
                    await asyncio.sleep(POLL_SECONDS)
            yield
        finally:
            os.close(fd)  # closing releases the flock
        return
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if db.dialect == "postgresql":
            key = pg_lock_key(name)
            while not (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar():
                wait_or_give_up()
                await asyncio.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            return
        lock = mysql_lock_name(db, name)
        got = (await conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": lock})).scalar()
        if got != 1:
            if on_wait is not None:
                on_wait()
            got = (
                await conn.execute(text("SELECT GET_LOCK(:n, :t)"), {"n": lock, "t": max(1, int(timeout))})
            ).scalar()
        if got != 1:
            raise LockTimeout(name, timeout)
        try:
            yield
        finally:
            await conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": lock})
