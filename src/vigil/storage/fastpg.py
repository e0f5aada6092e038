"""PostgreSQL: SQLAlchemy Core statements executed on the asyncpg connection itself.

The alerting hot path (a state change written, its notification claimed and recorded) runs eight
to ten statements per change. Through SQLAlchemy's async engine each costs about 0.13 ms of CPU
(a greenlet, an execution context, a result proxy) and a transaction about 0.3 ms more; on asyncpg
directly a statement costs about 0.03 ms (measured in one process, uvloop, on this repository's
test machine). ``Database.fast_write()``/``fast_read()`` give a connection with the one method the
hot path uses, ``execute(statement, parameters)``, whose results offer what it reads of
SQLAlchemy's (``rowcount``, ``first()``, ``all()``, iteration, ``row[i]``, ``row._mapping``).

The statements stay SQLAlchemy Core objects, defined once for every dialect: each is compiled by
SQLAlchemy for asyncpg (once per statement object and set of parameter names) and SQLAlchemy
renders the final SQL and positional parameters (``construct_expanded_state``: expanding ``IN``
lists and literal values included). Only the execution is asyncpg's. Writes through it are not
seen by ``Database.watch_writes``: a statement writing a watched table is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

CACHE_SIZE = 512  # compiled statements kept (statements built per call are compiled per call)


class FastRow:
    """A row: ``row[0]``, iteration over the values, ``row._mapping["column"]``."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getitem__(self, index: int | str) -> Any:
        return self._record[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._record)

    def __len__(self) -> int:
        return len(self._record)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> Mapping[str, Any]:
        return dict(self._record.items())


class FastResult:
    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[FastRow], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def first(self) -> FastRow | None:
        return self._rows[0] if self._rows else None

    def all(self) -> list[FastRow]:
        return list(self._rows)

    def __iter__(self) -> Iterator[FastRow]:
        return iter(self._rows)


def _status_count(status: str) -> int:
    """The row count of a command status: ``UPDATE 3``, ``DELETE 0``, ``INSERT 0 1``."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else -1


class StatementCache:
    """Compiled statements of one dialect, keyed by statement object and parameter names."""

    def __init__(self, dialect: Dialect, watched: Callable[[], frozenset[str]]) -> None:
        self.dialect = dialect
        self.watched = watched  # the tables with write watches
        self._compiled: dict[tuple[int, tuple[str, ...]], tuple[Any, SQLCompiler, bool]] = {}

    def compiled(self, stmt: Any, keys: tuple[str, ...]) -> tuple[SQLCompiler, bool]:
        """The statement compiled for these parameter names, and whether it returns rows."""
        found = self._compiled.get((id(stmt), keys))
        if found is not None and found[0] is stmt:
            return found[1], found[2]
        if isinstance(stmt, UpdateBase):
            name = getattr(stmt.table, "name", "")
            if name in self.watched():
                raise RuntimeError(f"table {name} has write watches: write it through Database.write()")
        compiled: SQLCompiler = stmt.compile(dialect=self.dialect, column_keys=list(keys) or None)
        dml = bool(compiled.isinsert or compiled.isupdate or compiled.isdelete)
        returns = not dml or bool(getattr(compiled, "effective_returning", None))
        if len(self._compiled) >= CACHE_SIZE:
            self._compiled.clear()
        # the statement is kept with its entry: its id cannot be reused by another while cached
        self._compiled[(id(stmt), keys)] = (stmt, compiled, returns)
        return compiled, returns


class FastConnection:
    """``execute`` on an asyncpg connection (in the transaction its owner opened, if any)."""

    def __init__(self, raw: Any, cache: StatementCache) -> None:
        self.raw = raw
        self.cache = cache

    async def execute(self, stmt: Any, params: Mapping[str, Any] | None = None) -> FastResult:
        keys = tuple(params) if params else ()
        compiled, returns = self.cache.compiled(stmt, keys)
        state = compiled.construct_expanded_state(dict(params) if params else None)
        args = state.positional_parameters
        processors = state.processors
        if processors:  # type conversions SQLAlchemy would apply (none for the hot path's columns)
            args = tuple(
                processors[name](value) if name in processors else value
                for name, value in zip(state.positiontup or (), args, strict=True)
            )
        if returns:
            records = await self.raw.fetch(state.statement, *args)
            return FastResult([FastRow(r) for r in records], len(records))
        status = await self.raw.execute(state.statement, *args)
        return FastResult([], _status_count(status))
