"""Pure pieces of the data-source feature: expression math, resampling and reducing, TestData's
random walk, the proxy's path and target checks."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

import pytest

from vigil.datasources.expressions import Number, Series, run_math, run_reduce, run_resample
from vigil.datasources.proxy import proxy_path, target_url
from vigil.datasources.store import DataSource
from vigil.datasources.timerange import TimeRange
from vigil.errors import AppError


def test_math_operators_and_functions() -> None:
    env = {"A": [Number({"x": "1"}, 4.0)], "B": [Number({}, 0.0)]}

    def one(expr: str) -> float | None:
        (n,) = run_math(expr, env)
        assert isinstance(n, Number)
        return n.value

    assert one("$A ** 2 - 2 * 3 % 4") == 14.0
    assert one("-$A / 8") == -0.5
    assert one("$A / $B") == math.inf and math.isnan(one("$B / $B") or 0.0)
    assert one("($A >= 4) + ($A != 4) + ($A < 5)") == 2.0
    assert one("round(2.5) + ceil(0.2) + floor(-0.2) + log(1)") == 3.0
    assert one("is_number($A) + is_inf($A / $B) + is_null($A)") == 2.0
    assert one("$A > 3 || $B") == 1.0 and one("$A > 3 && $B") == 0.0


def test_resample_down_and_up() -> None:
    s = Series({}, [0, 1000, 2000, 10_000], [1.0, 3.0, 5.0, 7.0])
    tr = TimeRange(0, 12_000)
    (mean,) = run_resample([s], "4s", "mean", "pad", tr)
    assert isinstance(mean, Series)
    assert mean.times == [0, 4000, 8000, 12_000] and mean.values == [1.0, 4.0, 5.0, 7.0]
    (back,) = run_resample([s], "4s", "max", "backfilling", tr)
    assert isinstance(back, Series) and back.values == [1.0, 5.0, 7.0, 7.0]
    (na,) = run_resample([s], "4s", "last", "fillna", tr)
    assert isinstance(na, Series) and math.isnan(na.values[2] or 0.0) and na.values[1] == 5.0


def test_reduce_of_an_empty_series() -> None:
    empty = [Series({"a": "b"}, [], [])]
    assert run_reduce(empty, "count", "", None) == [Number({"a": "b"}, 0.0)]
    assert run_reduce(empty, "sum", "", None) == [Number({"a": "b"}, 0.0)]
    (mean,) = run_reduce(empty, "mean", "dropNN", None)
    assert isinstance(mean, Number) and mean.value is not None and math.isnan(mean.value)


def test_random_walk_default_start_is_within_a_hundred() -> None:
    from vigil.datasources.registry import DataQuery
    from vigil.datasources.testdata import random_walk
    from vigil.datasources.timerange import TimeRange

    f = random_walk(DataQuery("A", {"seed": 7, "spread": 0}, TimeRange(0, 60_000), 1000, 100), 0)
    values = f.fields[1].values
    assert len(set(values)) == 1 and 0 <= values[0] < 100 and not math.isnan(values[0])


def test_dot_segments_and_foreign_targets_are_refused() -> None:
    ds = DataSource(
        1,
        1,
        "u",
        "n",
        "prometheus",
        "proxy",
        "http://127.0.0.1:9090/base",
        "",
        "",
        False,
        "",
        False,
        False,
        {},
        {},
        False,
        1,
        0,
        0,
    )
    for raw in (
        "/api/datasources/proxy/uid/u/../x",
        "/api/datasources/proxy/uid/u/a/./b",
        "/api/datasources/proxy/uid/u/a\\b",
    ):
        with pytest.raises(AppError):
            proxy_path(raw, 6)
    assert proxy_path("/api/datasources/proxy/uid/u/api/v1/query", 6) == "api/v1/query"
    assert target_url(ds, "api/v1/query", "a=1") == "http://127.0.0.1:9090/base/api/v1/query?a=1"
    for path in ("@127.0.0.2/x", ":81/x", "/127.0.0.2/x"):
        target = urlsplit(target_url(ds, path, ""))
        assert (target.hostname, target.port) == ("127.0.0.1", 9090) and target.path.startswith("/base/")


@pytest.mark.parametrize(
    ("dialect", "macro", "expected"),
    [
        ("postgresql", "$__time(t)", 't AS "time"'),
        ("mysql", "$__timeEpoch(t)", "UNIX_TIMESTAMP(t) AS time"),
        ("postgresql", "$__timeEpoch(t)", 'extract(epoch from t) AS "time"'),
        ("postgresql", "$__timeFilter(t)", "t BETWEEN '2023-11-14T22:13:20Z' AND '2023-11-14T22:23:20.500Z'"),
        ("mysql", "$__timeFilter(t)", "t BETWEEN FROM_UNIXTIME(1700000000) AND FROM_UNIXTIME(1700000600)"),
        ("sqlite", "$__timeFilter(t)", "t BETWEEN 1700000000 AND 1700000600"),
        ("postgresql", "$__timeGroup(t, '5m')", "floor(extract(epoch from t)/300)*300"),
        ("mysql", "$__timeGroup(t, 1h)", "UNIX_TIMESTAMP(t) DIV 3600 * 3600"),
        ("sqlite", "$__timeGroup(t, $__interval)", "(CAST(t AS INTEGER)/60)*60"),
        ("mysql", "$__timeGroupAlias(t, '1m', 0)", "UNIX_TIMESTAMP(t) DIV 60 * 60 AS time"),
        ("postgresql", "$__unixEpochGroup(ts, 10m)", "floor(ts/600)*600"),
        ("mysql", "$__unixEpochGroupAlias(ts, '2m')", "floor(ts/120)*120 AS time"),
        ("postgresql", "$__unixEpochFilter(ts)", "ts >= 1700000000 AND ts <= 1700000600"),
        ("mysql", "$__unixEpochFrom() $__unixEpochTo()", "1700000000 1700000600"),
        ("postgresql", "$__timeFrom() $__timeTo()", "'2023-11-14T22:13:20Z' '2023-11-14T22:23:20.500Z'"),
        (
            "postgresql",
            "$__timeFilter(date_trunc('day', t))",
            "date_trunc('day', t) BETWEEN '2023-11-14T22:13:20Z' AND '2023-11-14T22:23:20.500Z'",
        ),
    ],
)
def test_sql_macros_per_dialect(dialect: str, macro: str, expected: str) -> None:
    from vigil.datasources.sql import expand_macros

    sql, _ = expand_macros(macro, dialect, TimeRange(1_700_000_000_000, 1_700_000_600_500), 60_000)
    assert sql == expected


def test_sql_macro_errors() -> None:
    from vigil.datasources.sql import SQLQueryError, expand_macros

    tr = TimeRange(0, 1000)
    for bad in (
        "$__timeFilter(",
        "$__timeGroup(t)",
        "$__timeGroup(t, 'soon')",
        "$__nope(x)",
        "$__timeGroup(t, 1m, maybe)",
    ):
        with pytest.raises(SQLQueryError):
            expand_macros(bad, "postgresql", tr, 60_000)
    _, fill = expand_macros("$__timeGroup(t, 1m, previous)", "postgresql", tr, 60_000)
    assert fill is not None and fill.mode == "previous" and fill.interval_ms == 60_000
