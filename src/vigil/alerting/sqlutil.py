"""Small dialect helpers: insert-if-absent and retrying a transaction on deadlock/serialization."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from sqlalchemy import Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert

from vigil.storage.db import Database

T = TypeVar("T")


def insert_ignore(dialect: str, table: Table, values: dict[str, Any]) -> Insert:
    """INSERT that does nothing (rowcount 0) when a unique key already exists."""
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    if dialect == "mysql":
        return mysql.insert(table).values(**values).prefix_with("IGNORE")
    return sqlite.insert(table).values(**values).on_conflict_do_nothing()


_INSERT_IGNORE: dict[tuple[str, str], Insert] = {}


def insert_ignore_stmt(dialect: str, table: Table) -> Insert:
    """``insert_ignore`` built once per table: execute it with the row as parameters (hot paths
    save building and keying a statement each time)."""
    key = (dialect, table.name)
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        if dialect == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing()
        elif dialect == "mysql":
            stmt = mysql.insert(table).prefix_with("IGNORE")
        else:
            stmt = sqlite.insert(table).on_conflict_do_nothing()
        _INSERT_IGNORE[key] = stmt
    return stmt


def _retryable(exc: BaseException) -> bool:
    if str(getattr(exc, "sqlstate", "") or "") in ("40P01", "40001"):
        return True  # asyncpg's own deadlock or serialization failure (``Database.fast_write``)
    if not isinstance(exc, DBAPIError):
        return False
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(
        w in text
        for w in ("deadlock", "serializ", "lock wait timeout", "database is locked", "try restarting")
    )


async def write_retrying(
    db: Database, body: Callable[[Any], Awaitable[T]], attempts: int = 6, fast: bool = False
) -> T:
    """Run ``body`` in a write transaction, again on a deadlock or serialization failure.
    ``fast``: in ``db.fast_write()`` (the body then uses only ``conn.execute``)."""
    for i in range(attempts):
        try:
            async with db.fast_write() if fast else db.write() as conn:
                return await body(conn)
        except Exception as exc:
            if i == attempts - 1 or not _retryable(exc):
                raise
            await asyncio.sleep(0.01 * (2**i) + random.random() * 0.01)
    raise AssertionError("unreachable")


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def loads(text: str | None, default: Any = None) -> Any:
    if not text:
        return default
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return default
