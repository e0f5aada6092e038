"""TestData through /api/ds/query: every scenario with expected values, epoch-aligned predictable
scenarios, reproducible seeded random walks, and the wire format (reference §7). SQLite."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import ADMIN_AUTH, Replica
from tests.prom_support import module_replica

pytestmark = pytest.mark.asyncio(loop_scope="module")

T0 = 1_700_000_000_000  # epoch ms; 20 s past a whole minute
FROM, TO = T0, T0 + 600_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def td(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replica]:
    """One replica for the module: TestData needs nothing from Vigil's database but the record."""
    async with module_replica(tmp_path_factory.mktemp("vigil-td")) as replica:
        r = await replica.client.post(
            "/api/datasources",
            json={"name": "gdev-testdata", "type": "testdata", "uid": "td"},
            headers=ADMIN_AUTH,
        )
        assert r.status_code == 200
        yield replica


async def query(
    rep: Replica, *queries: dict[str, Any], frm: Any = FROM, to: Any = TO, status: int = 200, **extra: Any
) -> dict[str, Any]:
    qs = [{"datasource": {"type": "grafana-testdata-datasource", "uid": "td"}, **q} for q in queries]
    r = await rep.client.post(
        "/api/ds/query", json={"from": str(frm), "to": str(to), "queries": qs, **extra}, headers=ADMIN_AUTH
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()  # type: ignore[no-any-return]


def columns(frame: dict[str, Any]) -> list[list[Any]]:
    return frame["data"]["values"]  # type: ignore[no-any-return]


async def test_predictable_pulse_is_aligned_to_the_epoch(td: Replica) -> None:
    pulse = {"timeStep": 60, "onCount": 2, "offCount": 3, "onValue": 10, "offValue": 1}
    body = await query(td, {"refId": "A", "scenarioId": "predictable_pulse", "pulseWave": pulse})
    (frame,) = body["results"]["A"]["frames"]
    times, values = columns(frame)
    assert all(t % 60_000 == 0 for t in times) and FROM <= times[0] < FROM + 60_000 and times[-1] <= TO
    assert len(times) == 10
    for t, v in zip(times, values, strict=True):
        assert v == (10 if (t // 60_000) % 5 < 2 else 1)
    fields = frame["schema"]["fields"]
    assert fields[0] == {"name": "time", "type": "time", "typeInfo": {"frame": "time.Time"}}
    assert fields[1]["type"] == "number" and fields[1]["typeInfo"] == {"frame": "float64", "nullable": True}
    assert fields[1]["name"] == "A-series" and frame["schema"]["refId"] == "A"
    # A shifted window gives the same value at the same instant.
    again = await query(
        td,
        {"refId": "A", "scenarioId": "predictable_pulse", "pulseWave": pulse},
        frm=FROM + 120_000,
        to=TO + 120_000,
    )
    t2, v2 = columns(again["results"]["A"]["frames"][0])
    assert (
        dict(zip(t2, v2, strict=True)).items()
        >= {t: v for t, v in zip(times, values, strict=True) if t >= FROM + 120_000}.items()
    )


async def test_predictable_csv_wave_several_waves_with_labels_and_nulls(td: Replica) -> None:
    waves = [
        {"timeStep": 30, "valuesCSV": "0,1,null,3", "labels": "wave=a", "name": "wa"},
        {"timeStep": 120, "valuesCSV": "5, 6", "labels": 'wave="b", x=y'},
    ]
    body = await query(td, {"refId": "W", "scenarioId": "predictable_csv_wave", "csvWave": waves})
    a, b = body["results"]["W"]["frames"]
    ta, va = columns(a)
    assert all(v == [0, 1, None, 3][(t // 30_000) % 4] for t, v in zip(ta, va, strict=True))
    assert a["schema"]["fields"][1]["labels"] == {"wave": "a"} and a["schema"]["fields"][1]["name"] == "wa"
    tb, vb = columns(b)
    assert all(t % 120_000 == 0 for t in tb) and all(
        v == [5, 6][(t // 120_000) % 2] for t, v in zip(tb, vb, strict=True)
    )
    assert b["schema"]["fields"][1]["labels"] == {"wave": "b", "x": "y"}


async def test_seeded_random_walk_is_reproducible_and_bounded(td: Replica) -> None:
    q = {
        "refId": "A",
        "scenarioId": "random_walk",
        "seriesCount": 3,
        "seed": 42,
        "min": 10,
        "max": 20,
        "startValue": 15,
        "spread": 5,
        "intervalMs": 10_000,
        "labels": "host=h$seriesIndex",
        "alias": "s-$seriesIndex",
    }
    one = await query(td, q)
    two = await query(td, q)
    assert one == two
    frames = one["results"]["A"]["frames"]
    assert len(frames) == 3
    for i, f in enumerate(frames):
        times, values = columns(f)
        assert len(times) == 60 and all(b - a == 10_000 for a, b in itertools.pairwise(times))
        assert all(10 <= v <= 20 for v in values) and values[0] == 15
        assert (
            f["schema"]["fields"][1]["labels"] == {"host": f"h{i}"}
            and f["schema"]["fields"][1]["name"] == f"s-{i}"
        )
    assert columns(frames[0])[1] != columns(frames[1])[1]
    other = await query(td, {**q, "seed": 43})
    assert columns(other["results"]["A"]["frames"][0])[1] != columns(frames[0])[1]
    # maxDataPoints caps the number of points.
    capped = await query(td, {**q, "maxDataPoints": 7})
    assert len(columns(capped["results"]["A"]["frames"][0])[0]) == 7


async def test_csv_metric_values_spread_over_the_range(td: Replica) -> None:
    body = await query(td, {"refId": "C", "scenarioId": "csv_metric_values", "stringInput": "1,20,90,30,5,0"})
    times, values = columns(body["results"]["C"]["frames"][0])
    assert values == [1, 20, 90, 30, 5, 0]
    assert times == [FROM + i * 120_000 for i in range(6)]


async def test_csv_content_infers_types(td: Replica) -> None:
    csv = "time,host,value,up\n1700000000000,a,1.5,true\n1700000060000,b,2,false\n"
    body = await query(td, {"refId": "T", "scenarioId": "csv_content", "csvContent": csv})
    (frame,) = body["results"]["T"]["frames"]
    fields = frame["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [
        ("time", "time"),
        ("host", "string"),
        ("value", "number"),
        ("up", "boolean"),
    ]
    assert columns(frame) == [[1700000000000, 1700000060000], ["a", "b"], [1.5, 2.0], [True, False]]


async def test_no_data_points_and_random_walk_table(td: Replica) -> None:
    body = await query(
        td,
        {"refId": "N", "scenarioId": "no_data_points"},
        {"refId": "R", "scenarioId": "random_walk_table", "seed": 1, "intervalMs": 60_000},
    )
    assert body["results"]["N"] == {"status": 200, "frames": []}
    (table,) = body["results"]["R"]["frames"]
    assert [f["name"] for f in table["schema"]["fields"]] == ["Time", "Value", "Min", "Max", "Info"]
    t, v, lo, hi, info = columns(table)
    assert len(t) == 10 and all(a <= b <= c for a, b, c in zip(lo, v, hi, strict=True))
    assert set(info) <= {"up", "down"}


async def test_nan_and_inf_are_null_with_entities(td: Replica) -> None:
    body = await query(
        td, {"refId": "A", "scenarioId": "csv_metric_values", "stringInput": "1,NaN,+Inf,-Inf,null"}
    )
    (frame,) = body["results"]["A"]["frames"]
    assert columns(frame)[1] == [1, None, None, None, None]
    assert frame["data"]["entities"] == [None, {"NaN": [1], "Inf": [2], "NegInf": [3]}]
    plain = await query(td, {"refId": "A", "scenarioId": "csv_metric_values", "stringInput": "1,2"})
    assert "entities" not in plain["results"]["A"]["frames"][0]["data"]


async def test_per_ref_id_errors_give_400_or_207(td: Replica) -> None:
    good = {"refId": "A", "scenarioId": "csv_metric_values", "stringInput": "1"}
    bad = {"refId": "B", "scenarioId": "no_such_scenario"}
    body = await query(td, good, bad, status=400)
    assert body["results"]["A"]["status"] == 200 and len(body["results"]["A"]["frames"]) == 1
    err = body["results"]["B"]
    assert err["status"] == 400 and "unknown scenario" in err["error"] and err["errorSource"] == "plugin"
    r = await td.client.post(
        "/api/ds/query?multiStatus=true",
        json={
            "from": str(FROM),
            "to": str(TO),
            "queries": [{**good, "datasource": {"uid": "td"}}, {**bad, "datasource": {"uid": "td"}}],
        },
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 207 and r.json()["results"]["B"]["status"] == 400


async def test_request_errors(td: Replica) -> None:
    c = td.client
    r = await c.post("/api/ds/query", json={"from": "now-1h", "to": "now", "queries": []}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json() == {"message": "No queries found"}
    r = await c.post(
        "/api/ds/query",
        json={"queries": [{"refId": "A", "datasource": {"uid": "missing"}}]},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 404 and r.json() == {"message": "Data source not found"}
    r = await c.post("/api/ds/query", json={"queries": "x"}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json()["message"].startswith("bad request data")
    r = await c.post(
        "/api/ds/query",
        json={"from": "yesterday-ish", "to": "now", "queries": [{"refId": "A"}]},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 400 and "cannot parse time" in r.json()["message"]
    assert (await c.post("/api/ds/query", json={"queries": [{"refId": "A"}]})).status_code == 401


async def test_data_source_by_uid_id_name_type_and_relative_times(td: Replica) -> None:
    ds = (await td.client.get("/api/datasources/uid/td", headers=ADMIN_AUTH)).json()
    base = {"scenarioId": "csv_metric_values", "stringInput": "1,2"}
    forms = [
        {"refId": "U", "datasource": {"uid": "td"}},
        {"refId": "I", "datasourceId": ds["id"]},
        {"refId": "N", "datasource": "gdev-testdata"},
        {"refId": "T", "datasource": {"type": "grafana-testdata-datasource"}},
        {"refId": "V", "datasource": {"uid": "$ds"}},
        {"refId": "G", "datasource": {"uid": "grafana"}, "queryType": "randomWalk"},
    ]
    r = await td.client.post(
        "/api/ds/query",
        json={
            "from": "now-1h",
            "to": "now",
            "queries": [{**base, **f} for f in forms],
            "scopedVars": {"ds": {"text": "x", "value": "gdev-testdata"}},
        },
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert list(results) == ["U", "I", "N", "T", "V", "G"]
    for ref in "UINTV":
        times, values = columns(results[ref]["frames"][0])
        assert values == [1, 2] and times[1] - times[0] == 3_600_000
    assert len(results["G"]["frames"]) == 1


async def test_alias_and_labels_take_template_variables(td: Replica) -> None:
    body = await query(
        td,
        {
            "refId": "A",
            "scenarioId": "csv_metric_values",
            "stringInput": "${n:csv}",
            "alias": "srv $host",
            "labels": "host=$host",
        },
        scopedVars={"host": {"text": "web", "value": "web"}, "n": {"value": ["4", "5"], "multi": True}},
    )
    f = body["results"]["A"]["frames"][0]
    assert f["schema"]["fields"][1]["name"] == "srv web" and f["schema"]["fields"][1]["labels"] == {
        "host": "web"
    }
    assert columns(f)[1] == [4, 5]


async def test_the_type_catalogue_describes_each_settings_form(td: Replica) -> None:
    r = await td.client.get("/api/datasource-types", headers=ADMIN_AUTH)
    assert r.status_code == 200
    types = {t["type"]: t for t in r.json()}
    assert set(types) == {
        "grafana-testdata-datasource",
        "prometheus",
        "grafana-postgresql-datasource",
        "mysql",
        "sqlite",
    }
    assert types["grafana-testdata-datasource"]["aliases"] == ["testdata"]
    prom = {f["key"]: f for f in types["prometheus"]["config"]}
    assert prom["url"]["target"] == "root" and prom["url"]["required"] is True
    assert (
        prom["basicAuthPassword"]["target"] == "secureJsonData"
        and prom["basicAuthPassword"]["type"] == "secret"
    )
    assert prom["httpMethod"]["options"] == ["POST", "GET"] and types["prometheus"]["supportsProxy"] is True
    pg = {f["key"]: f for f in types["grafana-postgresql-datasource"]["config"]}
    assert pg["password"]["target"] == "secureJsonData" and pg["database"]["required"] is True
