"""Engine and transactions over SQLite, PostgreSQL and MySQL/MariaDB.

``read()`` gives a connection for reading (autocommit on PostgreSQL; a short transaction that is
rolled back on MySQL and a deferred one on SQLite),
``write()`` a transaction (``BEGIN IMMEDIATE`` on SQLite, so writers queue instead of failing).
Connection loss becomes ``AppError(503)``: requests fail fast while the database is away and work
again, without a restart, when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Update, UpdateBase

from vigil.clock import Clock
from vigil.errors import AppError, ConfigError
from vigil.storage.fastpg import FastConnection, StatementCache

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "mysql": "mysql+aiomysql"}
_ALIASES = {"postgres": "postgresql", "sqlite3": "sqlite", "mariadb": "mysql"}


def now_ms(clock: Clock) -> int:
    return int(clock.now() * 1000)


# Write watches (``Database.watch_writes``): what a write transaction changed, noted per statement.
AfterCommit = Callable[[], Awaitable[None]]
BeforeCommit = Callable[[AsyncConnection, frozenset[str]], Awaitable[AfterCommit | None]]
_TOUCHED = "vigil_touched"


def _note_written_tables(conn: Any, clause: Any, *_args: Any) -> None:
    """``before_execute``: remember the tables an INSERT/UPDATE/DELETE writes ("t"), and for an
    UPDATE the columns it sets ("t.col"); an insert, a delete or an UPDATE whose columns are not
    known here touches every column ("t.*")."""
    if not isinstance(clause, UpdateBase):
        return
    name = getattr(clause.table, "name", None)
    if not name:
        return
    touched: set[str] = conn.info.setdefault(_TOUCHED, set())
    touched.add(name)
    values = getattr(clause, "_values", None) if isinstance(clause, Update) else None
    if values:
        touched.update(f"{name}.{getattr(c, 'key', c)}" for c in values)
    else:
        touched.add(f"{name}.*")


@dataclass(frozen=True)
class DatabaseOptions:
    pool_size: int = 10
    max_overflow: int = 10
    conn_max_lifetime: int = 14400
    connect_timeout: float = 3.0
    query_timeout: float = 30.0


def resolve_url(raw: str, data_dir: str | Path) -> URL:
    """Turn ``[database] url`` into an async SQLAlchemy URL; empty means SQLite under data_dir."""
    if not raw:
        raw = f"sqlite:///{Path(data_dir).absolute() / 'vigil.db'}"
    try:
        url = make_url(raw)
    except Exception:
        raise ConfigError(
            f"invalid value {raw!r} for [database] url: accepted sqlite:///path, postgresql://… or mysql://…"
        ) from None
    backend = url.get_backend_name()
    backend = _ALIASES.get(backend, backend)
    if backend not in _DRIVERS:
        raise ConfigError(
            f"invalid value {raw!r} for [database] url: accepted sqlite:///path, postgresql://… or mysql://…"
        )
    return url.set(drivername=_DRIVERS[backend])


# too many connections, shutdown in progress, connection killed, can't connect, unknown host,
# server gone away, connection lost during a query, closed for inactivity
_MYSQL_CONNECTION_LOST = {1040, 1053, 1927, 2002, 2003, 2005, 2006, 2013, 2055, 4031}


def _driver_disconnect(exc: BaseException) -> bool:
    """A driver's own error, not wrapped by SQLAlchemy (e.g. raised while a pooled connection is
    reset on check-in), that means the connection is gone."""
    module = type(exc).__module__ or ""
    name = type(exc).__name__
    if module.startswith(("pymysql", "aiomysql")):
        if name == "InterfaceError":
            return True
        return name == "OperationalError" and bool(exc.args) and exc.args[0] in _MYSQL_CONNECTION_LOST
    if module.startswith("asyncpg"):
        if any(c.__name__ == "PostgresConnectionError" for c in type(exc).__mro__):
            return True
        # class 57P: the server is shutting down, restarting or starting up (admin/crash shutdown,
        # "cannot connect now"): the database is away for a moment, not a bad statement
        if str(getattr(exc, "sqlstate", "") or "").startswith("57P"):
            return True
        return name in ("InterfaceError", "ConnectionDoesNotExistError") and "closed" in str(exc).lower()
    return False


def is_disconnect(exc: BaseException) -> bool:
    """True for errors that mean 'the database is away', as opposed to a bad statement.

    Follows the chain of causes: drivers raise connection loss wrapped in their own errors."""
    if isinstance(exc, AppError):
        return False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_disconnect_one(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_disconnect_one(exc: BaseException) -> bool:
    if _driver_disconnect(exc):
        return True
    if isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError, PoolTimeout, socket.gaierror)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, (OperationalError, InterfaceError)):
            orig = exc.orig
            if orig is not None and (type(orig).__module__ or "").startswith(("pymysql", "aiomysql")):
                # MySQL reports a deadlock (1213) or a lock wait timeout (1205) as an
                # OperationalError too: those are retried, not an outage
                return _driver_disconnect(orig)
            msg = str(exc.orig).lower() if exc.orig is not None else ""
            # SQLite's own operational errors (syntax, locked) are not outages.
            return "sqlite" not in type(exc.orig).__module__ or "unable to open" in msg
    return False


class Database:
    def __init__(self, url: URL, options: DatabaseOptions | None = None) -> None:
        self.url = url
        self.options = options or DatabaseOptions()
        self.dialect = url.get_backend_name()
        self.engine = self._create_engine()
        if self.dialect == "sqlite":
            self._reader = self.engine
            self._writer = self.engine.execution_options(vigil_write=True)
        elif self.dialect == "postgresql":
            # asyncpg's autocommit is client-side: reads skip the BEGIN and ROLLBACK round trips.
            self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            self._writer = self.engine
        else:
            # MySQL: a short transaction ended by the pool's rollback. A per-checkout AUTOCOMMIT costs
            # round trips here, and SQLAlchemy's reset of it on check-in, when it meets a lost
            # connection, drops the connection's pool slot (the pool drained in an outage).
            self._reader = self.engine
            self._writer = self.engine
        self._watches: list[tuple[frozenset[str], BeforeCommit]] = []
        self._statements: StatementCache | None = None

    def watch_writes(self, tables: Iterable[str], hook: BeforeCommit) -> None:
        """Call ``hook(conn, hits)`` inside every ``write()`` transaction that wrote one of
        ``tables`` ("t": any write to t; "t.col": an insert or delete of t, or an update setting
        col), just before it commits, with the names that matched; the coroutine function it may
        return runs after the commit. For caches: the hook records the change in the same
        transaction (so no replica can see the data without the change), the callback tells this
        replica at once. Writes outside ``write()`` (migrations) are not watched."""
        if not self._watches:
            event.listen(self.engine.sync_engine, "before_execute", _note_written_tables)
        self._watches.append((frozenset(tables), hook))

    def _watched_tables(self) -> frozenset[str]:
        return frozenset(t.split(".", 1)[0] for tables, _ in self._watches for t in tables)

    def _fast_cache(self) -> StatementCache:
        if self._statements is None:
            self._statements = StatementCache(self.engine.sync_engine.dialect, self._watched_tables)
        return self._statements

    def fast_write(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A write transaction for hot paths (``vigil.storage.fastpg``): on PostgreSQL a connection
        whose ``execute`` runs on asyncpg directly, in an asyncpg transaction; elsewhere
        ``write()``. Only ``execute`` may be used; tables with write watches may not be written."""
        return self._fast(transaction=True)

    def fast_read(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """``read()`` for hot paths; on PostgreSQL each statement commits by itself (autocommit),
        so a single UPDATE needs no transaction. Only ``execute`` may be used."""
        return self._fast(transaction=False)

    @asynccontextmanager
    async def _fast(self, transaction: bool) -> AsyncIterator[Any]:
        if self.dialect != "postgresql":
            async with self.write() if transaction else self.read() as conn:
                yield conn
            return
        try:
            async with self._writer.connect() as sa_conn:
                raw: Any = (await sa_conn.get_raw_connection()).driver_connection
                try:
                    if transaction:
                        async with raw.transaction():
                            yield FastConnection(raw, self._fast_cache())
                    else:
                        yield FastConnection(raw, self._fast_cache())
                except Exception as exc:
                    if is_disconnect(exc):
                        # the pool must not hand out this connection again
                        await sa_conn.invalidate()
                    raise
        except Exception as exc:
            if is_disconnect(exc):
                raise AppError.unavailable("database unavailable") from exc
            raise

    def _hits(self, touched: set[str]) -> list[tuple[frozenset[str], BeforeCommit]]:
        out = []
        for tables, hook in self._watches:
            hits = frozenset(
                t for t in tables if t in touched or ("." in t and t.split(".", 1)[0] + ".*" in touched)
            )
            if hits:
                out.append((hits, hook))
        return out

    @property
    def sqlite_path(self) -> Path | None:
        if self.dialect != "sqlite" or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database)

    def _create_engine(self) -> AsyncEngine:
        o = self.options
        kwargs: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": o.conn_max_lifetime}
        connect_args: dict[str, Any] = {}
        if self.dialect == "postgresql":
            # No JIT: compiling a plan whose cost estimate runs high (a recursive CTE's row guess,
            # say) costs a second or more here, for queries that run in milliseconds.
            connect_args = {
                "timeout": o.connect_timeout,
                "command_timeout": o.query_timeout,
                "server_settings": {"jit": "off"},
            }
            kwargs.update(pool_size=o.pool_size, max_overflow=o.max_overflow, pool_timeout=o.connect_timeout)
        elif self.dialect == "mysql":
            connect_args = {"connect_timeout": o.connect_timeout, "charset": "utf8mb4"}
            kwargs.update(pool_size=o.pool_size, max_overflow=o.max_overflow, pool_timeout=o.connect_timeout)
        else:
            path = self.sqlite_path
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            connect_args = {"timeout": 30}
        if self.dialect != "sqlite":
            kwargs["pool_pre_ping"] = False  # replaced by _ping_idle_connections
        engine = create_async_engine(self.url, connect_args=connect_args, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_transactions(engine)
        else:
            _ping_idle_connections(engine)
        return engine

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._reader.connect() as conn:
                yield conn
        except Exception as exc:
            if is_disconnect(exc):
                raise AppError.unavailable("database unavailable") from exc
            raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        after: list[AfterCommit] = []
        try:
            async with self._writer.begin() as conn:
                if self._watches:
                    conn.info.pop(_TOUCHED, None)
                yield conn
                if self._watches:
                    for hits, hook in self._hits(conn.info.pop(_TOUCHED, None) or set()):
                        callback = await hook(conn, hits)
                        if callback is not None:
                            after.append(callback)
        except Exception as exc:
            if is_disconnect(exc):
                raise AppError.unavailable("database unavailable") from exc
            raise
        for callback in after:
            await callback()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self.options.connect_timeout + 1):
                async with self._reader.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def pool_status(self) -> dict[str, int]:
        pool: Any = self.engine.pool
        out = {"checked_out": 0, "size": 0}
        try:
            out["checked_out"] = int(pool.checkedout())
            out["size"] = int(pool.size())
        except AttributeError:
            pass
        return out

    async def dispose(self) -> None:
        await self.engine.dispose()


# A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Pre-ping only connections that sat idle in the pool (PostgreSQL, MySQL).

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, which on asyncpg is a BEGIN and a
    ROLLBACK: two round trips in front of every one-query request. A connection checked in less
    than a second ago was just working; one idle for longer (across an outage, say) is pinged, and
    a dead one is replaced by the pool before anyone sees it, as with ``pool_pre_ping``."""
    sync = engine.sync_engine

    @event.listens_for(sync, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["vigil_idle_since"] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("vigil_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = sync.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("pooled connection failed its ping") from exc
        if alive is False:
            raise DisconnectionError("pooled connection failed its ping")


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """Let Vigil, not pysqlite, issue BEGIN: IMMEDIATE for writers, deferred for readers."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except Exception as exc:
            # Replicas opening a new database together: SQLite refuses the switch at once while
            # another connection holds a lock (no busy wait, to avoid a deadlock). The mode is
            # stored in the file; this connection asks again before its first write transaction.
            if "locked" not in str(exc) and "busy" not in str(exc).lower():
                raise
            record.info["vigil_wal_pending"] = True
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("vigil_write"):
            info = conn.connection.info
            if info.get("vigil_wal_pending"):
                with contextlib.suppress(Exception):
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                    info.pop("vigil_wal_pending", None)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
