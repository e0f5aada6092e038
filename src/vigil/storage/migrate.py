"""Schema migrations under a cross-replica lock that waits.

PostgreSQL: a session advisory lock (PostgreSQL scopes it to the database); MySQL/MariaDB:
``GET_LOCK`` on a name that includes the database name (MySQL's named locks are server-wide);
SQLite: an exclusive ``flock`` on a file beside the database (SQLite serves one host only).
Exactly one replica migrates; the others wait for the lock, find the schema at head and go on.
``after`` (seeding) runs under the same lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from vigil.errors import AppError
from vigil.storage.db import Database

log = logging.getLogger("vigil.migrate")
LOCK_NAME = "vigil_migrations"
PG_LOCK_KEY = 0x5649_4731  # "VIG1"


class MigrationLockTimeout(AppError):
    def __init__(self, waited: float) -> None:
        super().__init__(503, f"timed out after {waited:.0f}s waiting for another replica's migration lock")


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def mysql_lock_name(db: Database) -> str:
    """The GET_LOCK name: per database, since MySQL's named locks span the whole server."""
    return f"{LOCK_NAME}:{db.url.database or ''}"[:64]


def _waiting(timeout: float) -> bool:
    log.info("another replica holds the migration lock: waiting for it (up to %gs)", timeout)
    return True


@asynccontextmanager
async def migration_lock(db: Database, timeout: float) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if db.dialect == "sqlite":
        path = db.sqlite_path
        if path is None:
            yield
            return
        fd = os.open(str(path) + ".migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            waiting = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    waiting = waiting or _waiting(timeout)
                    if loop.time() > deadline:
                        raise MigrationLockTimeout(timeout) from None
                    await asyncio.sleep(0.1)
            yield
        finally:
            os.close(fd)  # closing releases the flock
        return
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if db.dialect == "postgresql":
            waiting = False
            while not (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
            ).scalar():
                waiting = waiting or _waiting(timeout)
                if loop.time() > deadline:
                    raise MigrationLockTimeout(timeout)
                await asyncio.sleep(0.1)
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
        else:
            name = mysql_lock_name(db)
            got = (await conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": name})).scalar()
            if got != 1:
                _waiting(timeout)
                got = (
                    await conn.execute(
                        text("SELECT GET_LOCK(:n, :t)"), {"n": name, "t": max(1, int(timeout))}
                    )
                ).scalar()
            if got != 1:
                raise MigrationLockTimeout(timeout)
            try:
                yield
            finally:
                await conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})


def _current(sync_conn: Any) -> set[str]:
    return set(MigrationContext.configure(sync_conn).get_current_heads())


def _upgrade(sync_conn: Any) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "heads")


async def current_revisions(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def migrate(
    db: Database,
    timeout: float = 300.0,
    after: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Bring the schema to head. Returns True when this call applied migrations."""
    target = heads()
    async with migration_lock(db, timeout):
        applied = False
        if await current_revisions(db) != target:
            log.info("applying migrations up to %s", ", ".join(sorted(target)))
            async with db.engine.begin() as conn:
                await conn.run_sync(_upgrade)
            applied = True
        if after is not None:
            await after()
        return applied
