"""Replicas started together on an empty database: one migrates under a waiting lock, all come up.

Real ``vigil`` processes (the venv's console script) on SQLite, PostgreSQL and MariaDB, a fresh
database each test.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.server_proc import ServerProcess, VigilProcess, stop_all, vigil_env
from vigil.auth.tables import org, user
from vigil.storage.db import Database, resolve_url
from vigil.storage.locks import mysql_lock_name, pg_lock_key, sqlite_lock_path
from vigil.storage.migrate import LOCK_NAME, heads

pytestmark = pytest.mark.slow


@pytest.fixture
def procs() -> Iterator[list[VigilProcess]]:
    started: list[VigilProcess] = []
    yield started
    stop_all(started)


async def _open(db_url: str, tmp_path: Path) -> Database:
    return Database(resolve_url(db_url, tmp_path))


@asynccontextmanager
async def hold_migration_lock(db_url: str, tmp_path: Path) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Take the migration lock as another replica would, yield a release function."""
    db = await _open(db_url, tmp_path)
    released = False
    try:
        if db.dialect == "sqlite":
            assert db.sqlite_path is not None
            db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = sqlite_lock_path(db, LOCK_NAME)
            assert lock_path is not None
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

            async def release_file() -> None:
                nonlocal released
                if not released:
                    released = True
                    os.close(fd)

            try:
                yield release_file
            finally:
                await release_file()
            return
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            params: dict[str, Any]
            if db.dialect == "postgresql":
                key = pg_lock_key(LOCK_NAME)
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                unlock, params = "SELECT pg_advisory_unlock(:k)", {"k": key}
            else:
                name = mysql_lock_name(db, LOCK_NAME)
                got = (await conn.execute(text("SELECT GET_LOCK(:n, 5)"), {"n": name})).scalar()
                assert got == 1
                unlock, params = "SELECT RELEASE_LOCK(:n)", {"n": name}

            async def release_sql() -> None:
                nonlocal released
                if not released:
                    released = True
                    assert (await conn.execute(text(unlock), params)).scalar() == 1

            try:
                yield release_sql
            finally:
                await release_sql()
    finally:
        await db.dispose()


async def _schema_and_seed(db_url: str, tmp_path: Path) -> tuple[list[str], list[tuple[int, str]], list[str]]:
    db = await _open(db_url, tmp_path)
    try:
        async with db.read() as conn:
            versions = sorted(
                r[0] for r in (await conn.execute(text("SELECT version_num FROM alembic_version")))
            )
            orgs = [(int(r[0]), str(r[1])) for r in await conn.execute(select(org.c.id, org.c.name))]
            users = [
                str(r[0])
                for r in await conn.execute(select(user.c.login).where(user.c.is_service_account.is_(False)))
            ]
        return versions, orgs, users
    finally:
        await db.dispose()


def _waits(p: VigilProcess) -> bool:
    return any("waiting for it" in o.get("msg", "") for o in p.json_lines())


def _migrators(ps: Sequence[VigilProcess]) -> list[str]:
    return [
        p.name for p in ps if any(o.get("msg", "").startswith("applying migrations") for o in p.json_lines())
    ]


async def test_five_replicas_started_together_on_an_empty_database_all_come_up_with_one_history(
    procs: list[VigilProcess], db_url: str, tmp_path: Path
) -> None:
    servers = [
        ServerProcess(f"mig-{i}", db_url, tmp_path / "data", SERVER_DRAIN_SECONDS="0") for i in range(5)
    ]
    procs.extend(servers)
    for s in servers:  # back to back: all five race for the empty database
        s.start()
    await asyncio.gather(*(s.wait_healthy(90) for s in servers))

    versions, orgs, users = await _schema_and_seed(db_url, tmp_path)
    assert versions == sorted(heads())
    assert orgs == [(1, "Main Org.")]
    assert users == ["admin"]
    assert len(_migrators(servers)) == 1, _migrators(servers)
    stop_all(servers)
    for s in servers:
        assert s.returncode() == 0, s.output()[-3000:]
        assert s.problems() == [], f"{s.name} logged errors:\n" + "\n".join(s.problems())


async def test_vigil_migrate_twice_in_a_row_says_already_up_to_date(
    procs: list[VigilProcess], db_url: str, tmp_path: Path
) -> None:
    env = vigil_env(db_url, tmp_path / "data")
    first = VigilProcess(["migrate"], env, "migrate-1")
    procs.append(first)
    assert await first.start().wait_async(60) == 0, first.output()
    assert "vigil: migrations applied" in first.lines
    second = VigilProcess(["migrate"], env, "migrate-2")
    procs.append(second)
    assert await second.start().wait_async(60) == 0, second.output()
    assert "vigil: schema already up to date" in second.lines
    assert "Traceback" not in first.output() + second.output()
    versions, orgs, users = await _schema_and_seed(db_url, tmp_path)
    assert versions == sorted(heads()) and orgs == [(1, "Main Org.")] and users == ["admin"]


async def test_replicas_wait_on_a_held_migration_lock_and_proceed_when_it_is_released(
    procs: list[VigilProcess], db_url: str, tmp_path: Path
) -> None:
    servers = [
        ServerProcess(f"wait-{i}", db_url, tmp_path / "data", SERVER_DRAIN_SECONDS="0") for i in range(2)
    ]
    procs.extend(servers)
    async with hold_migration_lock(db_url, tmp_path) as release:
        for s in servers:
            s.start()
        deadline = time.monotonic() + 60
        while not all(_waits(s) for s in servers):  # each one imports, connects, finds the lock held
            assert time.monotonic() < deadline, "\n".join(s.output() for s in servers)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        for s in servers:
            assert s.returncode() is None, s.output()
        assert _migrators(servers) == []  # nobody migrated behind the holder's back
        db = await _open(db_url, tmp_path)
        try:
            async with db.read() as conn:
                tables = await conn.run_sync(lambda c: c.dialect.has_table(c, "alembic_version"))
            assert not tables
        finally:
            await db.dispose()
        await release()
        await asyncio.gather(*(s.wait_healthy(60) for s in servers))
    assert len(_migrators(servers)) == 1
    versions, orgs, users = await _schema_and_seed(db_url, tmp_path)
    assert versions == sorted(heads()) and orgs == [(1, "Main Org.")] and users == ["admin"]
    stop_all(servers)
    for s in servers:
        assert s.returncode() == 0 and s.problems() == [], s.output()[-3000:]


async def test_a_replica_gives_up_with_a_clear_message_after_migration_lock_timeout(
    procs: list[VigilProcess], db_url: str, tmp_path: Path
) -> None:
    server = ServerProcess("stuck", db_url, tmp_path / "data", DATABASE_MIGRATION_LOCK_TIMEOUT="2")
    migrate = VigilProcess(
        ["migrate"], vigil_env(db_url, tmp_path / "data", DATABASE_MIGRATION_LOCK_TIMEOUT="2"), "migrate"
    )
    procs.extend([server, migrate])
    async with hold_migration_lock(db_url, tmp_path):
        started = time.monotonic()
        server.start()
        migrate.start()
        rc_server, rc_migrate = await asyncio.gather(server.wait_async(60), migrate.wait_async(60))
        elapsed = time.monotonic() - started
    expected = "timed out after 2s waiting for another replica's migration lock"
    assert rc_migrate == 1 and f"vigil: {expected}" in migrate.lines, migrate.output()
    assert rc_server != 0
    assert any(expected in o.get("msg", "") for o in server.json_lines()), server.output()
    assert "Traceback" not in server.output() + migrate.output()
    assert 2 <= elapsed < 30
    db = await _open(db_url, tmp_path)
    try:
        async with db.read() as conn:
            assert not await conn.run_sync(lambda c: c.dialect.has_table(c, "alembic_version"))
            assert not await conn.run_sync(lambda c: c.dialect.has_table(c, "user"))
    finally:
        await db.dispose()


async def test_a_new_sqlite_database_opens_while_another_connection_holds_its_write_lock(
    tmp_path: Path,
) -> None:
    """Replicas opening a new SQLite file together: the switch to WAL is refused at once (no busy
    wait) while another connection holds a lock; the connection must open all the same and wait
    for the lock like any other (this failed under load in CI with "database is locked")."""
    import sqlite3

    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    db = Database(resolve_url(f"sqlite:///{path}", tmp_path))
    try:
        assert await _count(db) == 0  # opens and reads what is committed
        writer = asyncio.create_task(_insert(db))
        await asyncio.sleep(0.3)
        holder.execute("COMMIT")
        await asyncio.wait_for(writer, 10)  # waited for the lock, then wrote
        await _insert(db)  # the first write with no other lock held switches the file to WAL
        assert await _count(db) == 3
        async with db.read() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    finally:
        holder.close()
        await db.dispose()


async def _insert(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO t VALUES (2)"))


async def _count(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar() or 0)
