"""Server-side expressions (``__expr__``) over TestData through /api/ds/query and through the alerting
entry point ``evaluate_rule_queries``: math, reduce with NaN modes, resample, threshold, classic
conditions, dependency errors. SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import ADMIN_AUTH, Replica
from tests.prom_support import module_replica
from vigil.datasources.expressions import Number, Series

T0 = 1_700_000_040_000
FROM, TO = T0, T0 + 300_000  # 5 minutes; csv_metric_values puts 5 values at 0, 75, 150, 225, 300 s
EXPR = {"type": "__expr__", "uid": "__expr__"}
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rep(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replica]:
    async with module_replica(tmp_path_factory.mktemp("vigil-expr")) as replica:
        r = await replica.client.post(
            "/api/datasources",
            json={"name": "td", "type": "grafana-testdata-datasource", "uid": "td"},
            headers=ADMIN_AUTH,
        )
        assert r.status_code == 200
        yield replica


def csv(ref: str, values: str, labels: str = "") -> dict[str, Any]:
    return {
        "refId": ref,
        "datasource": {"uid": "td"},
        "scenarioId": "csv_metric_values",
        "stringInput": values,
        "labels": labels,
    }


async def run(rep: Replica, *queries: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = await rep.client.post(
        "/api/ds/query", json={"from": str(FROM), "to": str(TO), "queries": list(queries)}, headers=ADMIN_AUTH
    )
    assert r.status_code == status, r.text
    return r.json()["results"]  # type: ignore[no-any-return]


def numbers(result: dict[str, Any]) -> list[tuple[dict[str, str], Any]]:
    out = []
    for f in result["frames"]:
        (field,) = f["schema"]["fields"]
        out.append((field.get("labels") or {}, f["data"]["values"][0][0]))
    return out


async def test_reduce_then_math_then_threshold(rep: Replica) -> None:
    res = await run(
        rep,
        csv("A", "1,2,3,4,10", "host=a"),
        csv("B", "5,5,5,5,5", "host=a"),
        {"refId": "R", "datasource": EXPR, "type": "reduce", "expression": "A", "reducer": "mean"},
        {"refId": "M", "datasource": EXPR, "type": "reduce", "expression": "$A", "reducer": "max"},
        {"refId": "C", "datasource": EXPR, "type": "math", "expression": "$R * 2 + $M - 1"},
        {
            "refId": "T",
            "datasource": EXPR,
            "type": "threshold",
            "expression": "C",
            "conditions": [{"evaluator": {"type": "gt", "params": [15]}}],
        },
        {
            "refId": "W",
            "datasource": EXPR,
            "type": "threshold",
            "expression": "R",
            "conditions": [{"evaluator": {"type": "within_range", "params": [3, 5]}}],
        },
        {"refId": "S", "datasource": EXPR, "type": "math", "expression": "$A + $B"},
    )
    assert numbers(res["R"]) == [({"host": "a"}, 4.0)]
    assert numbers(res["M"]) == [({"host": "a"}, 10.0)]
    assert numbers(res["C"]) == [({"host": "a"}, 17.0)]
    assert numbers(res["T"]) == [({"host": "a"}, 1.0)]
    assert numbers(res["W"]) == [({"host": "a"}, 1.0)]
    (series,) = res["S"]["frames"]
    assert series["data"]["values"][1] == [6, 7, 8, 9, 15] and series["schema"]["fields"][1]["labels"] == {
        "host": "a"
    }


async def test_reduce_nan_modes(rep: Replica) -> None:
    res = await run(
        rep,
        csv("A", "1,NaN,3,null,5"),
        {"refId": "S", "datasource": EXPR, "type": "reduce", "expression": "A", "reducer": "sum"},
        {
            "refId": "D",
            "datasource": EXPR,
            "type": "reduce",
            "expression": "A",
            "reducer": "sum",
            "settings": {"mode": "dropNN"},
        },
        {
            "refId": "P",
            "datasource": EXPR,
            "type": "reduce",
            "expression": "A",
            "reducer": "mean",
            "settings": {"mode": "replaceNN", "replaceWithValue": 1},
        },
        {"refId": "N", "datasource": EXPR, "type": "reduce", "expression": "A", "reducer": "count"},
        {"refId": "L", "datasource": EXPR, "type": "reduce", "expression": "A", "reducer": "last"},
        {
            "refId": "X",
            "datasource": EXPR,
            "type": "reduce",
            "expression": "A",
            "reducer": "min",
            "settings": {"mode": "dropNN"},
        },
    )
    (strict,) = res["S"]["frames"]
    assert strict["data"]["values"] == [[None]] and strict["data"]["entities"] == [
        {"NaN": [0], "Inf": [], "NegInf": []}
    ]
    assert numbers(res["D"]) == [({}, 9.0)]
    assert numbers(res["P"]) == [({}, 11 / 5)]
    assert numbers(res["N"]) == [({}, 5.0)]
    assert numbers(res["L"]) == [({}, 5.0)]
    assert numbers(res["X"]) == [({}, 1.0)]


async def test_math_pairs_series_by_labels(rep: Replica) -> None:
    res = await run(
        rep,
        {
            "refId": "A",
            "datasource": {"uid": "td"},
            "scenarioId": "predictable_csv_wave",
            "csvWave": [
                {"timeStep": 60, "valuesCSV": "1,2", "labels": "host=a"},
                {"timeStep": 60, "valuesCSV": "10,20", "labels": "host=b"},
            ],
        },
        {
            "refId": "B",
            "datasource": {"uid": "td"},
            "scenarioId": "predictable_csv_wave",
            "csvWave": [
                {"timeStep": 60, "valuesCSV": "100", "labels": "host=b"},
                {"timeStep": 60, "valuesCSV": "1000", "labels": "host=a"},
            ],
        },
        {"refId": "C", "datasource": EXPR, "type": "math", "expression": "$A + $B"},
        {"refId": "F", "datasource": EXPR, "type": "math", "expression": "abs(-$A) > 1 && !is_nan($A)"},
    )
    by_host = {f["schema"]["fields"][1]["labels"]["host"]: f["data"]["values"][1] for f in res["C"]["frames"]}
    assert set(by_host["a"]) <= {1001, 1002} and set(by_host["b"]) <= {110, 120} and len(by_host["a"]) == 5
    flags = {f["schema"]["fields"][1]["labels"]["host"]: f["data"]["values"][1] for f in res["F"]["frames"]}
    assert set(flags["b"]) == {1} and set(flags["a"]) == {0, 1}


async def test_classic_conditions(rep: Replica) -> None:
    cond = {
        "type": "query",
        "query": {"params": ["A"]},
        "reducer": {"type": "avg"},
        "evaluator": {"type": "gt", "params": [3]},
        "operator": {"type": "and"},
    }
    res = await run(
        rep,
        csv("A", "1,2,3,4,10", "host=a"),
        csv("B", "1,1,1,1,1", "host=b"),
        {"refId": "Q", "refIdEmpty": 1, "datasource": {"uid": "td"}, "scenarioId": "no_data_points"},
        {"refId": "C", "datasource": EXPR, "type": "classic_conditions", "conditions": [cond]},
        {
            "refId": "D",
            "datasource": EXPR,
            "type": "classic_conditions",
            "conditions": [cond, {**cond, "query": {"params": ["B"]}, "operator": {"type": "and"}}],
        },
        {
            "refId": "E",
            "datasource": EXPR,
            "type": "classic_conditions",
            "conditions": [
                {**cond, "query": {"params": ["B"]}},
                {**cond, "reducer": {"type": "diff"}, "operator": {"type": "or"}},
            ],
        },
        {
            "refId": "N",
            "datasource": EXPR,
            "type": "classic_conditions",
            "conditions": [{**cond, "query": {"params": ["Q"]}}],
        },
    )
    assert numbers(res["C"]) == [({}, 1.0)]
    assert numbers(res["D"]) == [({}, 0.0)]
    assert numbers(res["E"]) == [({}, 1.0)]  # diff = 9 > 3, or-ed
    assert numbers(res["N"]) == [({}, None)]
    assert res["N"]["frames"][0]["schema"]["meta"]["custom"] == {"noData": True}


async def test_expression_errors_are_per_ref_id(rep: Replica) -> None:
    res = await run(
        rep,
        csv("A", "1,2"),
        {"refId": "B", "datasource": {"uid": "td"}, "scenarioId": "bogus"},
        {"refId": "X", "datasource": EXPR, "type": "math", "expression": "$Z + 1"},
        {"refId": "Y", "datasource": EXPR, "type": "reduce", "expression": "B", "reducer": "mean"},
        {"refId": "P", "datasource": EXPR, "type": "math", "expression": "$A +"},
        {"refId": "L1", "datasource": EXPR, "type": "math", "expression": "$L2"},
        {"refId": "L2", "datasource": EXPR, "type": "math", "expression": "$L1"},
        {"refId": "K", "datasource": EXPR, "type": "sideways", "expression": "A"},
        status=400,
    )
    assert res["A"]["status"] == 200
    assert "unknown query Z" in res["X"]["error"]
    assert "depends on B, which failed" in res["Y"]["error"]
    assert "unexpected end" in res["P"]["error"]
    assert "cycle" in res["L1"]["error"] and "cycle" in res["L2"]["error"]
    assert "unknown expression type" in res["K"]["error"]


async def test_alerting_entry_point_uses_relative_time_ranges(rep: Replica) -> None:
    pulse = {"timeStep": 60, "onCount": 1, "offCount": 1, "onValue": 10, "offValue": 0}
    data = [
        {
            "refId": "A",
            "relativeTimeRange": {"from": 600, "to": 0},
            "datasourceUid": "td",
            "model": {"refId": "A", "scenarioId": "predictable_pulse", "pulseWave": pulse},
        },
        {
            "refId": "B",
            "datasourceUid": "__expr__",
            "relativeTimeRange": {"from": 0, "to": 0},
            "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last"},
        },
        {
            "refId": "C",
            "datasourceUid": "__expr__",
            "model": {
                "refId": "C",
                "type": "threshold",
                "expression": "B",
                "conditions": [{"evaluator": {"type": "gt", "params": [5]}}],
            },
        },
    ]
    svc = rep.services.datasources
    # The last point before now: minute index even → on (10), odd → off (0).
    on_time = 1_700_000_000_000 - (1_700_000_000_000 % 120_000) + 30_000  # 30 s into an even minute
    results = await svc.evaluate_rule_queries(1, data, now=on_time)
    assert results["C"].error is None and results["C"].values == [Number({}, 1.0)]
    series = results["A"].values[0]
    assert isinstance(series, Series) and series.times[-1] == on_time - 30_000 and len(series.times) == 10
    results = await svc.evaluate_rule_queries(1, data, now=on_time + 60_000)
    assert results["C"].values == [Number({}, 0.0)] and results["B"].values == [Number({}, 0.0)]
    missing = [{**data[0], "datasourceUid": "nope"}]
    with pytest.raises(Exception, match="Data source not found"):
        await svc.evaluate_rule_queries(1, missing, now=on_time)
