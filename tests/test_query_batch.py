"""/api/ds/query with a dashboard's batch: many queries naming a few data sources. The server looks
each data source up once per request; every query must still be answered by its own data source
(by uid, by name, by a variable, the default), never by the one an earlier query resolved."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import ADMIN_AUTH, Replica
from tests.prom_support import module_replica

pytestmark = pytest.mark.asyncio(loop_scope="module")

FROM, TO = 1_700_000_000_000, 1_700_000_600_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rep(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replica]:
    tmp = tmp_path_factory.mktemp("vigil-batch")
    db = tmp / "data.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (v INTEGER)")
        c.execute("INSERT INTO t VALUES (42)")
    async with module_replica(tmp) as replica:
        for body in (
            {"name": "td-main", "type": "testdata", "uid": "td", "isDefault": True},
            {"name": "rows", "type": "sqlite", "uid": "sq", "jsonData": {"path": str(db)}},
        ):
            r = await replica.client.post("/api/datasources", json=body, headers=ADMIN_AUTH)
            assert r.status_code == 200, r.text
        yield replica


def kind(result: dict[str, Any]) -> str:
    """Which data source answered: the SQLite table's one row, or a TestData series."""
    assert "error" not in result, result
    (frame,) = result["frames"]
    values = frame["data"]["values"]
    if values == [[42]]:
        return "sqlite"
    assert frame["schema"]["fields"][0]["type"] == "time" and len(values[0]) > 1, frame
    return "testdata"


async def test_each_query_of_a_batch_is_answered_by_its_own_data_source(rep: Replica) -> None:
    td_q = {"scenarioId": "random_walk"}
    sq_q = {"rawSql": "SELECT v FROM t", "format": "table"}
    queries: list[dict[str, Any]] = []
    expected: dict[str, str] = {}
    refs: list[tuple[Any, dict[str, Any], str]] = [
        ({"uid": "td", "type": "testdata"}, td_q, "testdata"),
        ({"uid": "sq"}, sq_q, "sqlite"),
        ("rows", sq_q, "sqlite"),  # by name
        ("td-main", td_q, "testdata"),
        ({"uid": "${src}"}, sq_q, "sqlite"),  # a variable: resolved per query
        (None, td_q, "testdata"),  # the default
        ({"uid": "sq", "type": "sqlite"}, sq_q, "sqlite"),
    ]
    for i in range(21):  # the same references again and again, interleaved
        ref, model, answer = refs[i % len(refs)]
        q = {"refId": f"Q{i}", **model}
        if ref is not None:
            q["datasource"] = ref
        queries.append(q)
        expected[f"Q{i}"] = answer
    body = {
        "from": str(FROM),
        "to": str(TO),
        "queries": queries,
        "variables": [{"name": "src", "current": {"text": "sq", "value": "sq"}}],
    }
    r = await rep.client.post("/api/ds/query", json=body, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert {ref: kind(res) for ref, res in results.items()} == expected


async def test_an_unknown_data_source_in_a_batch_is_still_refused(rep: Replica) -> None:
    body = {
        "from": str(FROM),
        "to": str(TO),
        "queries": [
            {"refId": "A", "datasource": {"uid": "td"}, "scenarioId": "random_walk"},
            {"refId": "B", "datasource": {"uid": "nope"}, "scenarioId": "random_walk"},
        ],
    }
    r = await rep.client.post("/api/ds/query", json=body, headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json()["message"] == "Data source not found"
