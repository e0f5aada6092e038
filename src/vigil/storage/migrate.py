"""Schema migrations under a cross-replica lock that waits.

The lock is ``storage.locks.named_lock("migration")``: an advisory lock, ``GET_LOCK`` or a
``flock`` beside the SQLite file. Exactly one replica migrates; the others wait for the lock, find
the schema at head and go on. ``after`` (seeding) runs under the same lock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from vigil.storage.db import Database
from vigil.storage.locks import named_lock

log = logging.getLogger("vigil.migrate")
LOCK_NAME = "migration"


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _log_waiting(timeout: float) -> Callable[[], None]:
    def note() -> None:
        log.info("another replica holds the migration lock: waiting for it (up to %gs)", timeout)

    return note


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
    async with named_lock(db, LOCK_NAME, timeout, on_wait=_log_waiting(timeout)):
        applied = False
        if await current_revisions(db) != target:
            log.info("applying migrations up to %s", ", ".join(sorted(target)))
            async with db.engine.begin() as conn:
                await conn.run_sync(_upgrade)
            applied = True
        if after is not None:
            await after()
        return applied
