"""SQL data sources: PostgreSQL, MySQL/MariaDB and SQLite.

Every query runs in a read-only transaction with a statement timeout and a row limit; results
beyond the limit are cut with a warning notice. ``rawSql`` gets template variables (escaped for the
dialect, see ``variables``) and then the macros ``$__time``, ``$__timeEpoch``, ``$__timeFilter``,
``$__timeFrom``, ``$__timeTo``, ``$__timeGroup(col, interval[, fill])``, ``$__timeGroupAlias``,
``$__unixEpochFilter``, ``$__unixEpochFrom``, ``$__unixEpochTo``, ``$__unixEpochGroup``,
``$__unixEpochGroupAlias``, and ``$__interval``/``$__interval_ms``.

Formats: ``table`` returns the rows as they are; ``time_series`` needs a ``time`` column and turns a
long result (string columns = labels, a ``metric`` column = series name) into a wide frame, filled
per ``$__timeGroup``'s fill argument (NULL, previous or a number).

SQLite has no time type: its macros compare and group epoch *seconds*.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import datetime as dt
import decimal
import re
import uuid
from dataclasses import dataclass
from typing import Any

from vigil.datasources.frames import DataResponse, Field, Frame, infer_field
from vigil.datasources.registry import (
    DataQuery,
    DataSourcePlugin,
    Health,
    Instance,
    config_field,
    register,
)
from vigil.datasources.timerange import TimeRange, parse_duration_ms
from vigil.datasources.variables import InterpolationError, Scope, interpolate_text
from vigil.errors import AppError
from vigil.http.outbound import check_host_port

_MACRO = re.compile(r"\$__(\w+)\(")


class SQLQueryError(Exception):
    pass


@dataclass
class Rows:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


# -- macros -------------------------------------------------------------------------------------


def _args(text: str, start: int) -> tuple[list[str], int]:
    """Split the arguments of a macro call starting after its '('; returns (args, index after ')')."""
    depth = 1
    i = start
    quote = ""
    buf: list[str] = []
    args: list[str] = []
    while i < len(text):
        c = text[i]
        if quote:
            buf.append(c)
            if c == quote:
                quote = ""
        elif c in "'\"`":
            quote = c
            buf.append(c)
        elif c == "(":
            depth += 1
            buf.append(c)
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(buf).strip())
                return [a for a in args if a != ""] if args != [""] else [], i + 1
            buf.append(c)
        elif c == "," and depth == 1:
            args.append("".join(buf).strip())
            buf = []
        else:
            buf.append(c)
        i += 1
    raise SQLQueryError("macro call is missing its closing parenthesis")


def _interval_arg(raw: str, default_ms: int) -> int:
    value = raw.strip().strip("'\"")
    if value in ("$__interval", "auto", ""):
        return default_ms
    try:
        ms = parse_duration_ms(value)
    except ValueError:
        raise SQLQueryError(f"invalid interval {raw!r} in $__timeGroup") from None
    if ms < 1000:
        raise SQLQueryError("$__timeGroup interval must be at least 1s")
    return ms


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{ms % 1000:03d}Z" if ms % 1000 else "Z"
    )


@dataclass
class Fill:
    interval_ms: int
    mode: str  # "null", "previous" or "value"
    value: float | None = None


def expand_macros(sql: str, dialect: str, tr: TimeRange, interval_ms: int) -> tuple[str, Fill | None]:
    fill: Fill | None = None
    out: list[str] = []
    pos = 0
    fs, ts = tr.from_ms // 1000, tr.to_ms // 1000
    for m in _MACRO.finditer(sql):
        if m.start() < pos:
            continue
        name = m.group(1)
        args, end = _args(sql, m.end())
        out.append(sql[pos : m.start()])
        pos = end

        def need(n: int, name: str = name, args: list[str] = args) -> None:
            if len(args) < n:
                raise SQLQueryError(f"macro $__{name} needs {n} argument(s)")

        if name == "time":
            need(1)
            rep = f'{args[0]} AS "time"' if dialect == "postgresql" else f"{args[0]} AS time"
        elif name == "timeEpoch":
            need(1)
            if dialect == "postgresql":
                rep = f'extract(epoch from {args[0]}) AS "time"'
            elif dialect == "mysql":
                rep = f"UNIX_TIMESTAMP({args[0]}) AS time"
            else:
                rep = f"{args[0]} AS time"
        elif name == "timeFilter":
            need(1)
            if dialect == "postgresql":
                rep = f"{args[0]} BETWEEN '{_iso(tr.from_ms)}' AND '{_iso(tr.to_ms)}'"
            elif dialect == "mysql":
                rep = f"{args[0]} BETWEEN FROM_UNIXTIME({fs}) AND FROM_UNIXTIME({ts})"
            else:
                rep = f"{args[0]} BETWEEN {fs} AND {ts}"
        elif name in ("timeFrom", "timeTo"):
            ms = tr.from_ms if name == "timeFrom" else tr.to_ms
            if dialect == "postgresql":
                rep = f"'{_iso(ms)}'"
            elif dialect == "mysql":
                rep = f"FROM_UNIXTIME({ms // 1000})"
            else:
                rep = str(ms // 1000)
        elif name in ("timeGroup", "timeGroupAlias", "unixEpochGroup", "unixEpochGroupAlias"):
            need(2)
            step_ms = _interval_arg(args[1], interval_ms)
            step = step_ms // 1000
            col = args[0]
            if name.startswith("unixEpoch") or dialect == "sqlite":
                rep = (
                    f"floor({col}/{step})*{step}"
                    if dialect != "sqlite"
                    else f"(CAST({col} AS INTEGER)/{step})*{step}"
                )
            elif dialect == "postgresql":
                rep = f"floor(extract(epoch from {col})/{step})*{step}"
            else:
                rep = f"UNIX_TIMESTAMP({col}) DIV {step} * {step}"
            if name.endswith("Alias"):
                rep += ' AS "time"' if dialect == "postgresql" else " AS time"
            if len(args) > 2:
                mode = args[2].strip().strip("'\"").lower()
                if mode in ("null", "none"):
                    fill = Fill(step_ms, "null")
                elif mode == "previous":
                    fill = Fill(step_ms, "previous")
                else:
                    try:
                        fill = Fill(step_ms, "value", float(mode))
                    except ValueError:
                        raise SQLQueryError(f"invalid fill {args[2]!r}: NULL, previous or a number") from None
        elif name == "unixEpochFilter":
            need(1)
            rep = f"{args[0]} >= {fs} AND {args[0]} <= {ts}"
        elif name == "unixEpochFrom":
            rep = str(fs)
        elif name == "unixEpochTo":
            rep = str(ts)
        elif name in ("unixEpochNanoFilter",):
            need(1)
            rep = f"{args[0]} >= {tr.from_ms * 1_000_000} AND {args[0]} <= {tr.to_ms * 1_000_000}"
        else:
            raise SQLQueryError(f"unknown macro $__{name}")
        out.append(rep)
    out.append(sql[pos:])
    return "".join(out), fill


# -- values -------------------------------------------------------------------------------------


def _to_ms(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.UTC)
        return int(v.timestamp() * 1000)
    if isinstance(v, dt.date):
        return int(dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC).timestamp() * 1000)
    if isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool):
        f = float(v)
        if abs(f) < 1e11:
            return int(f * 1000)
        if abs(f) < 1e14:
            return int(f)
        if abs(f) < 1e17:
            return int(f / 1000)
        return int(f / 1_000_000)
    if isinstance(v, str):
        try:
            parsed = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        return _to_ms(parsed)
    return None


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return _to_ms(v)
    if isinstance(v, dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, uuid.UUID):
        return str(v)
    return str(v)


def _is_time_col(values: list[Any]) -> bool:
    return any(isinstance(v, (dt.datetime, dt.date)) for v in values if v is not None)


def table_frame(rows: Rows, q: DataQuery, meta: dict[str, Any]) -> Frame:
    fields = []
    for i, name in enumerate(rows.columns):
        col = [r[i] for r in rows.rows]
        named_time = name.lower() in ("time", "time_sec") and all(
            isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool)
            for v in col
            if v is not None
        )
        if _is_time_col(col) or (named_time and col):
            fields.append(Field(name, "time", [_to_ms(v) for v in col], nullable=any(v is None for v in col)))
        else:
            fields.append(infer_field(name, [_plain(v) for v in col]))
    return Frame(fields, ref_id=q.ref_id, meta={**meta, "type": "table", "typeVersion": [0, 0]})


def timeseries_frame(rows: Rows, q: DataQuery, meta: dict[str, Any], fill: Fill | None) -> Frame:
    lower = [c.lower() for c in rows.columns]
    if "time" in lower:
        ti = lower.index("time")
    elif "time_sec" in lower:
        ti = lower.index("time_sec")
    else:
        notice = {"severity": "warning", "text": "no column named time: returned as a table"}
        frame = table_frame(rows, q, meta)
        frame.meta = {**(frame.meta or {}), "notices": [*(meta.get("notices") or []), notice]}
        return frame
    metric_i = lower.index("metric") if "metric" in lower else None
    value_cols: list[int] = []
    label_cols: list[int] = []
    for i, _name in enumerate(rows.columns):
        if i in (ti, metric_i):
            continue
        col = [r[i] for r in rows.rows if r[i] is not None]
        if col and all(isinstance(v, str) for v in col):
            label_cols.append(i)
        elif col and any(isinstance(v, (dt.datetime, dt.date)) for v in col):
            continue
        else:
            value_cols.append(i)
    if not value_cols:
        raise SQLQueryError("time_series format needs at least one numeric column")
    series: dict[tuple[Any, ...], dict[int, float | None]] = {}
    keys: dict[tuple[Any, ...], tuple[str, dict[str, str] | None]] = {}
    all_times: set[int] = set()
    for r in rows.rows:
        t = _to_ms(r[ti])
        if t is None:
            continue
        all_times.add(t)
        labels = {rows.columns[i]: "" if r[i] is None else str(r[i]) for i in label_cols}
        metric = None if metric_i is None else ("" if r[metric_i] is None else str(r[metric_i]))
        for vi in value_cols:
            key = (metric, vi, tuple(sorted(labels.items())))
            if key not in keys:
                if metric is not None:
                    fname = metric if len(value_cols) == 1 else f"{metric} {rows.columns[vi]}"
                else:
                    fname = rows.columns[vi]
                keys[key] = (fname, labels or None)
            raw = r[vi]
            series.setdefault(key, {})[t] = None if raw is None else float(_plain(raw))
    times = sorted(all_times)
    if fill is not None:
        step = fill.interval_ms
        start = (q.time_range.from_ms // step) * step
        grid = set(range(start, q.time_range.to_ms + 1, step))
        if len(grid) <= 1_000_000:
            times = sorted(grid | all_times)
    fields = [Field.time(times)]
    for key, points in series.items():
        fname, field_labels = keys[key]
        values: list[float | None] = []
        prev: float | None = None
        for t in times:
            if t in points:
                v = points[t]
                prev = v
            elif fill is None or fill.mode == "null":
                v = None
            elif fill.mode == "previous":
                v = prev
            else:
                v = fill.value
            values.append(v)
        fields.append(Field.number(values, fname, field_labels))
    return Frame(fields, ref_id=q.ref_id, meta={**meta, "type": "timeseries-wide", "typeVersion": [0, 1]})


# -- drivers ------------------------------------------------------------------------------------


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    raw = url.strip()
    if "://" in raw:
        raw = raw.split("://", 1)[1]
    raw = raw.split("/", 1)[0]
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = raw.partition(":")
    try:
        return host or "127.0.0.1", int(port) if port else default_port
    except ValueError:
        raise AppError.bad_request(f"invalid host:port {url!r}") from None


class _SQLBase(DataSourcePlugin):
    category = "sql"
    dialect = ""
    needs_url = True
    interpolated_fields = ("rawSql",)

    def escape_context(self) -> str:
        return f"sql-{self.dialect}"

    def timeout(self, inst: Instance) -> float:
        raw = inst.json.get("queryTimeout")
        if raw:
            try:
                return max(0.1, min(self.ctx.timeout, parse_duration_ms(raw) / 1000))
            except ValueError:
                pass
        return self.ctx.timeout

    def database(self, inst: Instance) -> str:
        return str(inst.ds.database or inst.json.get("database") or "")

    @abc.abstractmethod
    async def fetch(self, inst: Instance, sql: str, limit: int) -> Rows:
        """Run one statement; at most ``limit`` rows."""

    async def run_sql(self, inst: Instance, sql: str) -> Rows:
        try:
            return await self.fetch(inst, sql, self.ctx.row_limit)
        except (SQLQueryError, AppError):
            raise
        except TimeoutError:
            raise SQLQueryError(f"query canceled after {self.timeout(inst):g}s (statement timeout)") from None
        except OSError as exc:
            raise AppError(502, f"cannot connect to the database: {exc}") from None
        except Exception as exc:
            raise SQLQueryError(_clean_error(exc)) from None

    async def query(self, inst: Instance, queries: list[DataQuery]) -> dict[str, DataResponse]:
        out: dict[str, DataResponse] = {}
        for q in queries:
            out[q.ref_id] = await self._one(inst, q)
        return out

    async def _one(self, inst: Instance, q: DataQuery) -> DataResponse:
        raw = str(q.model.get("rawSql") or "").strip()
        if not raw:
            return DataResponse(frames=[])
        try:
            sql, fill = expand_macros(raw, self.dialect, q.time_range, q.interval_ms)
            meta: dict[str, Any] = {"executedQueryString": sql}
            rows = await self.run_sql(inst, sql)
            if rows.truncated:
                meta["notices"] = [
                    {
                        "severity": "warning",
                        "text": f"Results have been limited to {self.ctx.row_limit} rows (row_limit)",
                    }
                ]
            if str(q.model.get("format") or "time_series") == "table":
                return DataResponse(frames=[table_frame(rows, q, meta)])
            return DataResponse(frames=[timeseries_frame(rows, q, meta, fill)])
        except SQLQueryError as exc:
            return DataResponse.failure(str(exc), 400)
        except AppError as exc:
            return DataResponse.failure(exc.message, exc.status_code)

    async def check_health(self, inst: Instance) -> Health:
        try:
            rows = await self.run_sql(inst, "SELECT 1")
        except SQLQueryError as exc:
            return Health(False, f"Database error: {exc}")
        if rows.rows and rows.rows[0][0] == 1:
            return Health(True, "Database Connection OK")
        return Health(False, "SELECT 1 did not return 1")

    async def metric_find(
        self, inst: Instance, query: Any, tr: TimeRange, scope: Scope
    ) -> list[dict[str, Any]]:
        text = query.get("rawSql") or query.get("query") if isinstance(query, dict) else query
        if not isinstance(text, str) or not text.strip():
            raise AppError.bad_request("bad request data: query must be SQL text")
        try:
            sql = interpolate_text(text, scope, self.escape_context())
            sql, _ = expand_macros(sql, self.dialect, tr, 60_000)
            rows = await self.run_sql(inst, sql)
        except (InterpolationError, SQLQueryError) as exc:
            raise AppError.bad_request(str(exc)) from None
        cols = [c.lower() for c in rows.columns]
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        if "__text" in cols and "__value" in cols:
            ti, vi = cols.index("__text"), cols.index("__value")
            pairs = [(str(_plain(r[ti])), str(_plain(r[vi]))) for r in rows.rows]
        else:
            pairs = [(str(_plain(v)), str(_plain(v))) for r in rows.rows for v in r if v is not None]
        for p in pairs:
            if p not in seen:
                seen.add(p)
                out.append({"text": p[0], "value": p[1]})
        return out


def _clean_error(exc: BaseException) -> str:
    msg = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc.args, tuple) and len(exc.args) == 2 and isinstance(exc.args[0], int):
        msg = str(exc.args[1])  # (errno, message) from MySQL drivers
    return msg.splitlines()[0][:500]


class _PooledSQL(_SQLBase):
    """A server database reached through a driver pool, one per data source, replaced when the
    data source's record changes (its version moves)."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._pools: dict[tuple[int, str], tuple[int, Any]] = {}
        self._pool_lock = asyncio.Lock()

    async def pool(self, inst: Instance) -> Any:
        key = (inst.ds.org_id, inst.ds.uid)
        async with self._pool_lock:
            found = self._pools.get(key)
            if found is not None and found[0] == inst.ds.version:
                return found[1]
            if found is not None:
                with contextlib.suppress(Exception):
                    await self._close_pool(found[1])
            pool = await self._open_pool(inst)
            self._pools[key] = (inst.ds.version, pool)
            return pool

    @abc.abstractmethod
    async def _open_pool(self, inst: Instance) -> Any:
        """A driver connection pool for this data source."""

    @abc.abstractmethod
    async def _close_pool(self, pool: Any) -> None:
        """Close a pool made by ``_open_pool``."""

    async def close(self) -> None:
        for _, pool in list(self._pools.values()):
            with contextlib.suppress(Exception):
                await self._close_pool(pool)
        self._pools.clear()


@register
class PostgresPlugin(_PooledSQL):
    type_id = "grafana-postgresql-datasource"
    aliases = ("postgres", "postgresql")
    name = "PostgreSQL"
    dialect = "postgresql"
    logo = "public/app/plugins/datasource/grafana-postgresql-datasource/img/postgresql_logo.svg"
    config_schema = [
        config_field("url", "Host URL", "string", "root", required=True, placeholder="localhost:5432"),
        config_field("database", "Database name", "string", "jsonData", required=True),
        config_field("user", "Username", "string", "root"),
        config_field("password", "Password", "secret", "secureJsonData"),
        config_field(
            "sslmode",
            "TLS/SSL mode",
            "select",
            default="disable",
            options=["disable", "require", "verify-ca", "verify-full"],
        ),
        config_field("maxOpenConns", "Max open connections", "number", default=5),
        config_field("queryTimeout", "Query timeout", "duration", description="Below [dataproxy] timeout"),
        config_field("timeInterval", "Min time interval", "duration"),
    ]

    async def _open_pool(self, inst: Instance) -> Any:
        import asyncpg

        host, port = _host_port(inst.ds.url, 5432)
        await check_host_port(self.ctx.outbound, host, port)
        sslmode = str(inst.json.get("sslmode") or "disable")
        ssl: Any = False if sslmode == "disable" else ("require" if sslmode == "require" else sslmode)
        size = int(inst.json.get("maxOpenConns") or 5)
        return await asyncpg.create_pool(
            host=host,
            port=port,
            user=inst.ds.user or None,
            password=inst.secure.get("password") or None,
            database=self.database(inst) or None,
            min_size=0,
            max_size=max(1, min(size, 50)),
            ssl=ssl,
            timeout=self.ctx.timeout,
            command_timeout=self.ctx.timeout + 5,
        )

    async def _close_pool(self, pool: Any) -> None:
        await pool.close()

    async def fetch(self, inst: Instance, sql: str, limit: int) -> Rows:
        pool = await self.pool(inst)
        timeout = self.timeout(inst)
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            await conn.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            stmt = await conn.prepare(sql)
            columns = [a.name for a in stmt.get_attributes()]
            records = await stmt.fetch(timeout=timeout + 1) if not columns else None
            if records is not None:
                return Rows(columns, [], False)
            cursor = await stmt.cursor(timeout=timeout + 1)
            got = await cursor.fetch(limit + 1, timeout=timeout + 1)
            rows = [tuple(r) for r in got[:limit]]
            return Rows(columns, rows, len(got) > limit)


@register
class MySQLPlugin(_PooledSQL):
    type_id = "mysql"
    aliases = ("grafana-mysql-datasource",)
    name = "MySQL"
    dialect = "mysql"
    logo = "public/app/plugins/datasource/mysql/img/mysql_logo.svg"
    config_schema = [
        config_field("url", "Host", "string", "root", required=True, placeholder="localhost:3306"),
        config_field("database", "Database", "string", "jsonData", required=True),
        config_field("user", "Username", "string", "root"),
        config_field("password", "Password", "secret", "secureJsonData"),
        config_field("maxOpenConns", "Max open connections", "number", default=5),
        config_field("queryTimeout", "Query timeout", "duration", description="Below [dataproxy] timeout"),
        config_field("timeInterval", "Min time interval", "duration"),
    ]

    async def _open_pool(self, inst: Instance) -> Any:
        import aiomysql

        host, port = _host_port(inst.ds.url, 3306)
        await check_host_port(self.ctx.outbound, host, port)
        size = int(inst.json.get("maxOpenConns") or 5)
        return await aiomysql.create_pool(
            host=host,
            port=port,
            user=inst.ds.user or "root",
            password=inst.secure.get("password") or "",
            db=self.database(inst) or None,
            minsize=0,
            maxsize=max(1, min(size, 50)),
            autocommit=False,
            connect_timeout=self.ctx.timeout,
            charset="utf8mb4",
            pool_recycle=3600,
        )

    async def _close_pool(self, pool: Any) -> None:
        pool.close()
        await pool.wait_closed()

    async def fetch(self, inst: Instance, sql: str, limit: int) -> Rows:
        pool = await self.pool(inst)
        timeout = self.timeout(inst)
        conn = await pool.acquire()
        healthy = False
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT VERSION()")
                version = str((await cur.fetchone())[0])
                if "mariadb" in version.lower():
                    await cur.execute(f"SET SESSION max_statement_time = {timeout:.3f}")
                else:
                    await cur.execute(f"SET SESSION max_execution_time = {int(timeout * 1000)}")
                await cur.execute("SET SESSION TRANSACTION READ ONLY")
                await cur.execute("START TRANSACTION READ ONLY")
                try:
                    async with asyncio.timeout(timeout + 2):
                        await cur.execute(sql)
                        columns = [d[0] for d in cur.description] if cur.description else []
                        got = list(await cur.fetchmany(limit + 1)) if columns else []
                finally:
                    await cur.execute("ROLLBACK")
                    await cur.execute("SET SESSION TRANSACTION READ WRITE")
            healthy = True
            return Rows(columns, [tuple(r) for r in got[:limit]], len(got) > limit)
        finally:
            if healthy:
                pool.release(conn)
            else:
                conn.close()
                pool.release(conn)


@register
class SQLitePlugin(_SQLBase):
    type_id = "sqlite"
    aliases = ("frser-sqlite-datasource",)
    name = "SQLite"
    dialect = "sqlite"
    needs_url = False
    logo = "public/img/icn-datasource.svg"
    config_schema = [
        config_field(
            "path",
            "Path to the database file",
            "string",
            "jsonData",
            required=True,
            description="Opened read-only; must be under [dataproxy] sqlite_allowed_dirs when set",
        ),
        config_field("queryTimeout", "Query timeout", "duration", description="Below [dataproxy] timeout"),
    ]

    def path(self, inst: Instance) -> str:
        path = str(inst.json.get("path") or inst.ds.database or inst.ds.url or "").strip()
        if path.startswith("file:"):
            path = path[5:].split("?", 1)[0]
        if not path:
            raise AppError.bad_request("SQLite data source has no path (jsonData.path)")
        self.ctx.sqlite_allowed(path)
        return path

    async def fetch(self, inst: Instance, sql: str, limit: int) -> Rows:
        import os
        import urllib.parse

        import aiosqlite

        path = self.path(inst)
        if not os.path.exists(path):
            raise AppError(502, f"SQLite file {path} does not exist")
        timeout = self.timeout(inst)
        uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
        async with aiosqlite.connect(uri, uri=True, timeout=timeout) as db:
            await db.execute("PRAGMA query_only = ON")
            try:
                async with asyncio.timeout(timeout):
                    cur = await db.execute(sql)
                    columns = [d[0] for d in cur.description] if cur.description else []
                    got = list(await cur.fetchmany(limit + 1)) if columns else []
            except TimeoutError:
                await db.interrupt()
                raise
        return Rows(columns, [tuple(r) for r in got[:limit]], len(got) > limit)
