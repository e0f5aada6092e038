"""SQL data sources against the machine's real PostgreSQL, MariaDB and SQLite: a fresh database per
dialect with known rows; macros, formats, fill modes, read-only transactions, statement timeouts,
row limits and SQL injection attempts through template variables."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from tests.conftest import ADMIN_AUTH, POSTGRES_URL, Replica, _create_database
from tests.prom_support import module_replica

pytestmark = [pytest.mark.asyncio(loop_scope="module")]

T0 = 1_700_000_040  # epoch seconds, a multiple of 60
ROWS = [(T0 + i * 60, host, float(i * (1 if host == "a" else 10))) for i in range(10) for host in ("a", "b")]
FROM_MS, TO_MS = T0 * 1000, (T0 + 599) * 1000

DDL = {
    "postgresql": [
        "CREATE TABLE metrics (time timestamptz NOT NULL, ts bigint NOT NULL, host text NOT NULL,"
        " value double precision)",
        "CREATE TABLE secrets (token text)",
    ],
    "mysql": [
        "CREATE TABLE metrics (time datetime NOT NULL, ts bigint NOT NULL, host varchar(20) NOT NULL,"
        " value double)",
        "CREATE TABLE secrets (token varchar(50))",
    ],
    "sqlite": [
        "CREATE TABLE metrics (time integer NOT NULL, ts integer NOT NULL, host text NOT NULL, value real)",
        "CREATE TABLE secrets (token text)",
    ],
}


def _insert_rows(dialect: str) -> list[str]:
    out = []
    for t, host, value in ROWS:
        if dialect == "postgresql":
            tv = f"to_timestamp({t})"
        elif dialect == "mysql":
            tv = f"FROM_UNIXTIME({t})"
        else:
            tv = str(t)
        out.append(f"INSERT INTO metrics VALUES ({tv}, {t}, '{host}', {value})")
    out.append("INSERT INTO secrets VALUES ('top-secret')")
    return out


async def _setup(dialect: str, tmp: Path) -> tuple[dict[str, Any], Any]:
    if dialect == "sqlite":
        tmp.mkdir(parents=True, exist_ok=True)
        path = tmp / "data.sqlite"
        with sqlite3.connect(path) as c:
            for stmt in DDL["sqlite"] + _insert_rows("sqlite"):
                c.execute(stmt)
        return {"type": "sqlite", "jsonData": {"path": str(path)}}, None
    url, drop = await _create_database(dialect)
    p = urlsplit(url)
    if dialect == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
        for stmt in DDL["postgresql"] + _insert_rows("postgresql"):
            await conn.execute(stmt)
        await conn.close()
        ds = {
            "type": "grafana-postgresql-datasource",
            "url": f"{p.hostname}:{p.port}",
            "user": p.username or "postgres",
            "jsonData": {"database": p.path.lstrip("/"), "sslmode": "disable"},
        }
        return ds, drop
    import pymysql

    c = pymysql.connect(
        host=p.hostname,
        port=p.port or 3306,
        user=p.username or "root",
        password=p.password or "",
        database=p.path.lstrip("/"),
    )
    with c.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        for stmt in DDL["mysql"] + _insert_rows("mysql"):
            cur.execute(stmt)
    c.commit()
    c.close()
    ds = {
        "type": "mysql",
        "url": f"{p.hostname}:{p.port or 3306}",
        "user": p.username or "root",
        "database": p.path.lstrip("/"),
        "secureJsonData": {"password": p.password or ""},
    }
    return ds, drop


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rep(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replica]:
    async with module_replica(tmp_path_factory.mktemp("vigil-sql")) as replica:
        yield replica


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["postgresql", "mysql", "sqlite"])
async def sqlds(
    request: pytest.FixtureRequest, rep: Replica, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    dialect = str(request.param)
    ds, drop = await _setup(dialect, tmp_path_factory.mktemp(f"sql-{dialect}"))
    r = await rep.client.post(
        "/api/datasources", json={"name": dialect, "uid": dialect, **ds}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200, r.text
    try:
        yield dialect
    finally:
        if drop is not None:
            await rep.services.datasources.close()  # let the pools go before dropping the database
            await drop()


async def sql(
    rep: Replica, uid: str, raw: str, fmt: str = "table", status: int = 200, **extra: Any
) -> dict[str, Any]:
    q = {"refId": "A", "datasource": {"uid": uid}, "rawSql": raw, "format": fmt}
    q.update({k: v for k, v in extra.items() if k in ("intervalMs", "maxDataPoints")})
    body = {"from": str(FROM_MS), "to": str(TO_MS), "queries": [q]}
    body.update({k: v for k, v in extra.items() if k not in q})
    r = await rep.client.post("/api/ds/query", json=body, headers=ADMIN_AUTH)
    assert r.status_code == status, r.text
    return r.json()["results"]["A"]  # type: ignore[no-any-return]


def only_frame(res: dict[str, Any]) -> dict[str, Any]:
    (frame,) = res["frames"]
    return frame  # type: ignore[no-any-return]


def named(frame: dict[str, Any]) -> dict[str, list[Any]]:
    return {f["name"]: v for f, v in zip(frame["schema"]["fields"], frame["data"]["values"], strict=True)}


async def test_health_and_a_broken_connection(rep: Replica, sqlds: str) -> None:
    r = await rep.client.get(f"/api/datasources/uid/{sqlds}/health", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"status": "OK", "message": "Database Connection OK"}
    if sqlds == "sqlite":
        bad = {"type": "sqlite", "jsonData": {"path": "/nonexistent/x.db"}}
    elif sqlds == "postgresql":
        p = urlsplit(POSTGRES_URL)
        bad = {
            "type": "postgres",
            "url": f"{p.hostname}:{p.port}",
            "user": "postgres",
            "jsonData": {"database": "no_such_db_x"},
        }
    else:
        bad = {
            "type": "mysql",
            "url": "127.0.0.1:3306",
            "user": "root",
            "database": "test",
            "secureJsonData": {"password": "wrong"},
        }
    r = await rep.client.post(
        "/api/datasources", json={"name": f"bad-{sqlds}", "uid": f"bad-{sqlds}", **bad}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200
    r = await rep.client.get(f"/api/datasources/uid/bad-{sqlds}/health", headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json()["status"] == "ERROR", r.text


async def test_table_format_with_time_filter(rep: Replica, sqlds: str) -> None:
    res = await sql(
        rep,
        sqlds,
        "SELECT time, host, value FROM metrics WHERE $__timeFilter(time) AND host = 'a' ORDER BY time",
    )
    f = only_frame(res)
    cols = named(f)
    assert cols["host"] == ["a"] * 10 and cols["value"] == [float(i) for i in range(10)]
    assert cols["time"] == [(T0 + i * 60) * 1000 for i in range(10)]
    types = {x["name"]: x["type"] for x in f["schema"]["fields"]}
    assert types == {"time": "time", "host": "string", "value": "number"}
    executed = f["schema"]["meta"]["executedQueryString"]
    assert ("$__" not in executed and str(T0) in executed) or "2023-11-14T22:14:00Z" in executed


async def test_time_series_long_to_wide_with_metric_and_label_columns(rep: Replica, sqlds: str) -> None:
    res = await sql(
        rep,
        sqlds,
        "SELECT $__timeGroupAlias(time, '2m'), host AS metric, avg(value) AS value FROM metrics "
        "WHERE $__timeFilter(time) GROUP BY 1, 2 ORDER BY 1",
        fmt="time_series",
    )
    cols = named(only_frame(res))
    assert cols["Time"] == [(T0 + i * 120) * 1000 for i in range(5)]
    assert cols["a"] == [0.5, 2.5, 4.5, 6.5, 8.5] and cols["b"] == [5.0, 25.0, 45.0, 65.0, 85.0]
    res = await sql(rep, sqlds, "SELECT ts AS time, host, value FROM metrics ORDER BY ts", fmt="time_series")
    f = only_frame(res)
    fields = f["schema"]["fields"]
    assert [x.get("labels") for x in fields[1:]] == [{"host": "a"}, {"host": "b"}]
    assert f["data"]["values"][2] == [float(i * 10) for i in range(10)]
    assert f["schema"]["meta"]["type"] == "timeseries-wide"


async def test_fill_modes_and_unix_epoch_macros(rep: Replica, sqlds: str) -> None:
    base = (
        "SELECT $__unixEpochGroupAlias(ts, '1m', {fill}), avg(value) AS v FROM metrics "
        "WHERE host = 'a' AND ts <> {gap} AND $__unixEpochFilter(ts) GROUP BY 1 ORDER BY 1"
    )
    gap = T0 + 120
    for fill, expected in (("0", 0.0), ("NULL", None), ("previous", 1.0)):
        res = await sql(
            rep, sqlds, base.format(fill=fill, gap=gap), fmt="time_series", to=str((T0 + 599) * 1000)
        )
        cols = named(only_frame(res))
        assert cols["Time"] == [(T0 + i * 60) * 1000 for i in range(10)]
        assert cols["v"][2] == expected and cols["v"][3] == 3.0, (fill, cols)


async def test_time_from_to_and_interval_macros(rep: Replica, sqlds: str) -> None:
    f, t = "$__timeFrom()", "$__timeTo()"
    if sqlds == "postgresql":
        f, t = f"extract(epoch from {f}::timestamptz)", f"extract(epoch from {t}::timestamptz)"
    elif sqlds == "mysql":
        f, t = f"UNIX_TIMESTAMP({f})", f"UNIX_TIMESTAMP({t})"
    raw = f"SELECT {f} AS f, {t} AS t, '$__interval' AS i, $__unixEpochFrom() AS uf"
    cols = named(only_frame(await sql(rep, sqlds, raw, intervalMs=30_000)))
    assert float(cols["f"][0]) == T0 and float(cols["t"][0]) == T0 + 599
    assert cols["i"] == ["30s"] and cols["uf"] == [T0]


async def test_writes_are_refused_by_the_read_only_transaction(rep: Replica, sqlds: str) -> None:
    for stmt in ("DELETE FROM metrics", "INSERT INTO secrets VALUES ('x')", "CREATE TABLE evil (x int)"):
        res = await sql(rep, sqlds, stmt, status=400)
        assert res["status"] == 400 and res["error"], stmt
    cols = named(only_frame(await sql(rep, sqlds, "SELECT count(*) AS n FROM metrics")))
    assert cols["n"] == [20]


async def test_statement_timeout_cancels_slow_queries(rep: Replica, sqlds: str) -> None:
    r = await rep.client.get(f"/api/datasources/uid/{sqlds}", headers=ADMIN_AUTH)
    ds = r.json()
    ds["jsonData"] = {**ds["jsonData"], "queryTimeout": "1s"}
    assert (
        await rep.client.put(f"/api/datasources/uid/{sqlds}", json=ds, headers=ADMIN_AUTH)
    ).status_code == 200
    slow = {
        "postgresql": "SELECT pg_sleep(5)",
        "mysql": "SELECT SLEEP(5) AS s FROM metrics",
        "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
    }[sqlds]
    import time

    started = time.monotonic()
    res = await sql(rep, sqlds, slow, status=400)
    assert time.monotonic() - started < 4.5
    assert res["status"] == 400 and res["error"]
    ds["jsonData"].pop("queryTimeout")
    ds.pop("version")
    assert (
        await rep.client.put(f"/api/datasources/uid/{sqlds}", json=ds, headers=ADMIN_AUTH)
    ).status_code == 200


async def test_variables_cannot_inject_sql(rep: Replica, sqlds: str) -> None:
    evil = "a' OR '1'='1"
    scoped = {"host": {"text": evil, "value": evil}}
    for raw in (
        "SELECT host FROM metrics WHERE host = '$host'",
        "SELECT host FROM metrics WHERE host = $host",
        "SELECT host FROM metrics WHERE host = ${host:raw}",
        "SELECT host FROM metrics WHERE host = '[[host]]'",
    ):
        res = await sql(rep, sqlds, raw, scopedVars=scoped)
        assert named(only_frame(res))["host"] == [], raw
    multi = {"hosts": {"value": ["a", "b'); DROP TABLE metrics; --"], "multi": True}}
    res = await sql(rep, sqlds, "SELECT DISTINCT host FROM metrics WHERE host IN ($hosts)", scopedVars=multi)
    assert named(only_frame(res))["host"] == ["a"]
    res = await sql(
        rep,
        sqlds,
        "SELECT DISTINCT host FROM metrics WHERE host IN (${hosts:sqlstring}) -- $hosts",
        scopedVars=multi,
    )
    assert named(only_frame(res))["host"] == ["a"]
    bs = {"host": {"value": "a\\' UNION SELECT token FROM secrets -- "}}
    res = await sql(rep, sqlds, "SELECT host FROM metrics WHERE host = '$host'", scopedVars=bs)
    assert named(only_frame(res))["host"] == []
    assert named(only_frame(await sql(rep, sqlds, "SELECT count(*) AS n FROM metrics")))["n"] == [20]
    # Identifiers and numbers are inserted as they are.
    res = await sql(
        rep,
        sqlds,
        "SELECT $col FROM metrics WHERE host = 'a' ORDER BY ts LIMIT $n",
        scopedVars={"col": "value", "n": "3"},
    )
    assert named(only_frame(res))["value"] == [0.0, 1.0, 2.0]


async def test_variable_queries_from_sql(rep: Replica, sqlds: str) -> None:
    r = await rep.client.post(
        "/api/ds/variable-query",
        json={"datasource": {"uid": sqlds}, "query": "SELECT DISTINCT host FROM metrics ORDER BY 1"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json() == [{"text": "a", "value": "a"}, {"text": "b", "value": "b"}]
    r = await rep.client.post(
        "/api/ds/variable-query",
        json={
            "datasource": {"uid": sqlds},
            "query": "SELECT DISTINCT upper(host) AS __text, host AS __value FROM metrics ORDER BY 2",
        },
        headers=ADMIN_AUTH,
    )
    assert r.json() == [{"text": "A", "value": "a"}, {"text": "B", "value": "b"}]


async def test_select_one_as_time_series_comes_back_as_a_table(rep: Replica, sqlds: str) -> None:
    res = await sql(rep, sqlds, "SELECT 1", fmt="time_series")
    f = only_frame(res)
    assert f["data"]["values"] == [[1]] and f["schema"]["meta"]["notices"][0]["severity"] == "warning"


async def test_row_limit_truncates_with_a_notice(make_replica, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small = await make_replica(sqlite_url, dataproxy__row_limit="5")
    ds, _ = await _setup("sqlite", tmp_path / "rl")
    assert (
        await small.client.post("/api/datasources", json={"name": "s", "uid": "s", **ds}, headers=ADMIN_AUTH)
    ).status_code == 200
    res = await sql(small, "s", "SELECT * FROM metrics")
    f = only_frame(res)
    assert len(f["data"]["values"][0]) == 5
    assert "limited to 5 rows" in f["schema"]["meta"]["notices"][0]["text"]


async def test_vigils_own_sqlite_database_is_not_a_data_source(
    sqlite_replica: Replica, sqlite_url: str
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    body = {"name": "own", "uid": "own", "type": "sqlite", "jsonData": {"path": path}}
    assert (
        await sqlite_replica.client.post("/api/datasources", json=body, headers=ADMIN_AUTH)
    ).status_code == 200
    res = await sql(sqlite_replica, "own", "SELECT password_hash FROM user_account", status=400)
    assert "Vigil's own database" in res["error"]
