"""``Database.fast_write()``/``fast_read()``: SQLAlchemy Core statements run on asyncpg directly
(PostgreSQL), elsewhere the ordinary connection. Each statement's results are compared with what
SQLAlchemy's own execution gives for it; transactions commit, roll back and are retried on a
deadlock; a dropped connection is a 503 and is not handed out again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)

from tests.conftest import _create_database
from vigil.alerting.sqlutil import insert_ignore_stmt, write_retrying
from vigil.errors import AppError
from vigil.storage.db import Database, resolve_url

md = MetaData()
item = Table(
    "fast_item",
    md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("n", BigInteger, nullable=False),
    Column("on", Boolean, nullable=False),
    Column("body", Text, nullable=False),
)
watched = Table("fast_watched", md, Column("id", Integer, primary_key=True), Column("v", Integer))

BY_NAME = select(item).where(item.c.name == bindparam("b_name"))
BY_IDS = (
    select(item.c.id, item.c.name)
    .where(item.c.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(item.c.id)
)
ON_ONLY = select(item.c.name).where(item.c.on == True).order_by(item.c.name)  # noqa: E712  (a literal bind)
SET_N = update(item).where(item.c.name == bindparam("b_name"))
DROP = delete(item).where(item.c.id.in_(bindparam("b_ids", expanding=True)))


async def _open(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'fast.db'}", None
    else:
        url, drop = await _create_database(backend)
    database = Database(resolve_url(url, tmp_path))
    async with database.write() as conn:
        await conn.run_sync(md.create_all)

    async def hook(conn: Any, hits: frozenset[str]) -> None:
        return None

    database.watch_writes(["fast_watched"], hook)
    try:
        yield database
    finally:
        await database.dispose()
        if drop is not None:
            await drop()


@pytest.fixture(params=["postgresql", "sqlite", "mysql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async for database in _open(request.param, tmp_path):
        yield database


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Database]:
    """PostgreSQL only: the asyncpg path (elsewhere fast_write() is write())."""
    async for database in _open("postgresql", tmp_path):
        yield database


@pytest.fixture(params=["postgresql", "mysql"])
async def locking_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The databases with row locks (SQLite serialises writers: no deadlock there)."""
    async for database in _open(request.param, tmp_path):
        yield database


def row(name: str, n: int = 1, on: bool = True) -> dict[str, Any]:
    return {"name": name, "n": n, "on": on, "body": f"body of {name}"}


async def test_results_match_sqlalchemy(db: Database) -> None:
    ins = insert_ignore_stmt(db.dialect, item)
    async with db.fast_write() as conn:
        added = [(await conn.execute(ins, row(n, i, i % 2 == 0))).rowcount for i, n in enumerate("abcd")]
        again = (await conn.execute(ins, row("a", 99))).rowcount  # the unique name exists: nothing
    assert added == [1, 1, 1, 1] and again == 0

    async with db.fast_read() as fast, db.read() as plain:
        for stmt, params in [
            (BY_NAME, {"b_name": "b"}),
            (BY_NAME, {"b_name": "nobody"}),
            (ON_ONLY, None),
        ]:
            got = (await fast.execute(stmt, params)).all()
            want = (await plain.execute(stmt, params)).all()
            assert [tuple(r) for r in got] == [tuple(r) for r in want]
            assert [dict(r._mapping) for r in got] == [dict(r._mapping) for r in want]
        ids = [r[0] for r in (await plain.execute(select(item.c.id).order_by(item.c.id))).all()]
        for some in (ids[:1], ids[1:3], ids):  # expanding IN lists of several lengths
            got = (await fast.execute(BY_IDS, {"b_ids": some})).all()
            want_ids = [(i, n) for i, n in zip(ids, "abcd", strict=True) if i in some]
            assert [(r[0], r.name) for r in got] == want_ids
        first = (await fast.execute(BY_NAME, {"b_name": "c"})).first()
        assert first is not None and first._mapping["n"] == 2 and first.on is True
        assert first._mapping["body"] == "body of c"
        assert (await fast.execute(BY_NAME, {"b_name": "zz"})).first() is None

    async with db.fast_write() as conn:
        assert (await conn.execute(SET_N, {"b_name": "a", "n": 41})).rowcount == 1
        assert (await conn.execute(SET_N, {"b_name": "zz", "n": 41})).rowcount == 0
        assert (await conn.execute(DROP, {"b_ids": ids[2:]})).rowcount == 2
    async with db.read() as plain:
        left = (await plain.execute(select(item.c.name, item.c.n).order_by(item.c.name))).all()
    assert [tuple(r) for r in left] == [("a", 41), ("b", 1)]


async def test_a_failed_transaction_leaves_nothing_and_a_good_one_commits(db: Database) -> None:
    ins = insert_ignore_stmt(db.dialect, item)
    with pytest.raises(RuntimeError, match="boom"):
        async with db.fast_write() as conn:
            await conn.execute(ins, row("lost"))
            raise RuntimeError("boom")
    async with db.fast_write() as conn:
        await conn.execute(ins, row("kept"))
    async with db.read() as plain:
        names = [r[0] for r in (await plain.execute(select(item.c.name))).all()]
    assert names == ["kept"]


async def test_a_watched_table_is_refused_on_the_fast_path(pg: Database) -> None:
    db = pg
    with pytest.raises(RuntimeError, match="write watches"):
        async with db.fast_write() as conn:
            await conn.execute(insert(watched), {"id": 1, "v": 1})


async def test_a_deadlock_is_retried(locking_db: Database) -> None:
    """Two transactions lock the same two rows in opposite orders: the database kills one, which
    ``write_retrying(fast=True)`` runs again; both end up applied."""
    db = locking_db
    async with db.fast_write() as conn:
        for n in ("x", "y"):
            await conn.execute(insert_ignore_stmt(db.dialect, item), row(n, 0))
    both = asyncio.Barrier(2)
    attempts = {"xy": 0, "yx": 0}

    def body(first: str, second: str) -> Any:
        async def run(conn: Any) -> None:
            attempts[first + second] += 1
            await conn.execute(SET_N, {"b_name": first, "n": 1})
            if attempts[first + second] == 1:
                await both.wait()
            await conn.execute(SET_N, {"b_name": second, "n": 1})

        return run

    await asyncio.wait_for(
        asyncio.gather(
            write_retrying(db, body("x", "y"), fast=True), write_retrying(db, body("y", "x"), fast=True)
        ),
        30,
    )
    assert sorted(attempts.values()) == [1, 2]  # one of them ran twice
    async with db.read() as plain:
        ns = [r[0] for r in (await plain.execute(select(item.c.n).order_by(item.c.name))).all()]
    assert ns == [1, 1]


async def test_a_dropped_connection_is_a_503_and_is_not_used_again(pg: Database) -> None:
    db = pg
    with pytest.raises(AppError) as err:
        async with db.fast_write() as conn:
            pid = (await conn.execute(select(text("pg_backend_pid()")))).first()[0]
            async with db.read() as other:
                await other.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
            await conn.execute(insert_ignore_stmt(db.dialect, item), row("after"))
    assert err.value.status_code == 503
    for _ in range(3):  # the pool hands out live connections afterwards
        async with db.fast_write() as conn:
            await conn.execute(insert_ignore_stmt(db.dialect, item), row("ok"))
        async with db.fast_read() as conn:
            assert (await conn.execute(BY_NAME, {"b_name": "ok"})).first() is not None
