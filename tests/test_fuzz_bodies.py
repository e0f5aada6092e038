"""Hypothesis on the bodies and parameters with the most code behind them: dashboard saves and
imports, search parameters, and ``/api/ds/query`` bodies (TestData scenarios and server-side
expressions, which run in the server; nothing leaves the machine).

Generated values keep Grafana's field names but take any JSON value — deep nesting, wrong types,
huge and negative numbers, unicode, NUL — so each run reaches the validation and the code after it.
Every answer must be below 500, an error must be a JSON object with a message, and no request may
take longer than ``TIMEOUT`` seconds (no hang). One app in process on SQLite (the database-dependent
cases are pinned in test_fuzz_regressions.py on all three databases).
"""

from __future__ import annotations

import concurrent.futures
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_AUTH, make_config

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette would prefer httpx2 to the httpx this project uses
    from starlette.testclient import TestClient

from vigil.app import create_app

EXAMPLES = int(os.environ.get("VIGIL_FUZZ_BODY_EXAMPLES", "150"))
TIMEOUT = 20.0
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("VIGIL_FUZZ_RANDOM", "") == "",
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            make_config(
                # another (empty) database for an exploratory run, e.g. a PostgreSQL one
                os.environ.get("VIGIL_FUZZ_DATABASE_URL") or f"sqlite:///{tmp}/vigil.db",
                Path(tmp),
                alerting__enabled="false",
                security__outbound_blocked_ranges="0.0.0.0/1, 128.0.0.0/1, ::/0",
            )
        )
        with TestClient(app, base_url="http://vigil.test", raise_server_exceptions=False) as c:
            r = c.post(
                "/api/datasources",
                json={"name": "TestData", "uid": "testdata", "type": "grafana-testdata-datasource"},
                headers=ADMIN_AUTH,
            )
            assert r.status_code == 200, r.text
            r = c.post("/api/folders", json={"uid": "fz", "title": "Fuzz"}, headers=ADMIN_AUTH)
            assert r.status_code == 200, r.text
            yield c


_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)


def send(c: TestClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request, failing the test if it takes longer than TIMEOUT (a hang) or answers 5xx or an
    error without a message."""
    future = _pool.submit(c.request, method, path, headers=ADMIN_AUTH, **kwargs)
    try:
        r = future.result(timeout=TIMEOUT)
    except concurrent.futures.TimeoutError:
        raise AssertionError(f"{method} {path} did not answer within {TIMEOUT}s: {kwargs!r:.500}") from None
    assert r.status_code < 500, f"{method} {path} -> {r.status_code} {r.text[:300]}\n{kwargs!r:.2000}"
    if r.status_code >= 400:
        body = r.json()
        assert isinstance(body, dict), (path, r.text[:300])
        if path == "/api/ds/query" and "results" in body:
            # Grafana's shape: the failing queries' status, each failed refId with its error
            assert any(isinstance(v, dict) and v.get("error") for v in body["results"].values()), r.text[:300]
        else:
            assert isinstance(body.get("message"), str) and body["message"], (path, r.text[:300])
    return r


# -- values -------------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 1e308, -1e308, 1e-308]),
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "\x00", "now-1h", "now", "1h", "$__all", "${v}", "A", "testdata", "-1", "1e309"]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four: enough wrong values to test refusals, enough right ones to get
    past validation to the code behind it."""
    return st.integers(0, 3).flatmap(lambda pick: good if pick else bad)


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    """Any JSON, whose objects mostly use the given keys (so the code behind them is reached)."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8))
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(key, inner, max_size=6),
        ),
        max_leaves=25,
    )


DASH_KEYS = [
    "id", "uid", "title", "tags", "panels", "rows", "templating", "list", "annotations", "time", "from",
    "to", "refresh", "schemaVersion", "version", "timezone", "links", "gridPos", "x", "y", "w", "h",
    "type", "targets", "datasource", "fieldConfig", "defaults", "overrides", "options", "collapsed",
    "name", "query", "current", "value", "text", "options", "refId", "expr", "folderUid", "__inputs",
    "__requires", "pluginId", "repeat", "libraryPanel", "editable", "graphTooltip", "weekStart",
]  # fmt: skip


def dashboards() -> st.SearchStrategy[dict[str, Any]]:
    inner = json_values(DASH_KEYS)
    panel = st.fixed_dictionaries(
        {"type": mostly(st.sampled_from(["timeseries", "graph", "stat", "table", "text", "row"]), TEXT)},
        optional={
            "id": mostly(st.integers(0, 100), SCALARS),
            "title": TEXT,
            "gridPos": mostly(st.fixed_dictionaries({k: st.integers(-5, 30) for k in "xywh"}), inner),
            "targets": mostly(
                st.lists(st.dictionaries(st.sampled_from(DASH_KEYS), inner, max_size=4)), inner
            ),
            "datasource": mostly(st.just({"uid": "testdata"}), inner),
            "panels": inner,
            "collapsed": SCALARS,
            "fieldConfig": inner,
            "options": inner,
            "repeat": TEXT,
            "libraryPanel": inner,
        },
    )
    return st.fixed_dictionaries(
        {"title": mostly(st.text(min_size=1, max_size=60), SCALARS)},
        optional={
            "uid": mostly(st.from_regex(r"[a-zA-Z0-9_-]{1,40}", fullmatch=True), SCALARS),
            "id": SCALARS,
            "version": SCALARS,
            "tags": mostly(st.lists(TEXT, max_size=4), inner),
            "panels": mostly(st.lists(panel, max_size=5), inner),
            "rows": inner,
            "templating": mostly(st.fixed_dictionaries({"list": st.lists(inner, max_size=3)}), inner),
            "time": mostly(st.fixed_dictionaries({"from": TEXT, "to": TEXT}), inner),
            "schemaVersion": mostly(st.integers(0, 45), SCALARS),
            "annotations": inner,
            "links": inner,
            "refresh": SCALARS,
        },
    )


def saves() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"dashboard": mostly(dashboards(), SCALARS)},
        optional={
            "overwrite": mostly(st.booleans(), SCALARS),
            "folderUid": mostly(st.just("fz"), SCALARS),
            "folderId": SCALARS,
            "message": SCALARS,
            "inputs": json_values(["name", "type", "pluginId", "value"]),
        },
    )


@FUZZ
@given(body=saves())
def test_dashboard_saves_and_imports_never_fail_on_the_server(
    client: TestClient, body: dict[str, Any]
) -> None:
    for path in ("/api/dashboards/db", "/api/dashboards/import"):
        r = send(client, "POST", path, json=body)
        if r.status_code == 200:
            uid = r.json().get("uid") or (r.json().get("dashboard") or {}).get("uid")
            if isinstance(uid, str) and uid:
                send(client, "GET", f"/api/dashboards/uid/{uid}")
                send(client, "GET", f"/api/dashboards/uid/{uid}/versions")
                send(client, "POST", "/api/dashboards/calculate-diff", json={
                    "base": {"dashboardUid": uid, "version": 1},
                    "new": {"dashboardUid": uid, "version": 2},
                    "diffType": "json",
                })  # fmt: skip


SEARCH_PARAMS = ["query", "tag", "type", "dashboardUIDs", "dashboardIds", "folderUIDs", "folderIds",
                 "starred", "limit", "page", "sort", "permission", "deleted"]  # fmt: skip


@FUZZ
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(SEARCH_PARAMS),
            st.one_of(
                TEXT, NUMBERS.map(str), st.sampled_from(["dash-db", "dash-folder", "alpha-asc", "true"])
            ),
        ),
        max_size=6,
    )
)
def test_search_parameters_never_fail_on_the_server(
    client: TestClient, params: list[tuple[str, str]]
) -> None:
    send(client, "GET", "/api/search", params=params)
    send(client, "GET", "/api/dashboards/tags", params=params)


QUERY_KEYS = [
    "refId", "datasource", "uid", "type", "scenarioId", "seriesCount", "alias", "labels", "min", "max",
    "spread", "noise", "startValue", "pulseWave", "csvWave", "timeStep", "onCount", "offCount",
    "onValue", "offValue", "valuesCSV", "csvContent", "stringInput", "expression", "reducer",
    "window", "downsampler", "upsampler", "conditions", "evaluator", "params", "settings", "mode",
    "hide", "intervalMs", "maxDataPoints", "queryType", "timeRange",
]  # fmt: skip

SCENARIO = st.one_of(
    st.sampled_from(
        [
            "random_walk",
            "predictable_pulse",
            "predictable_csv_wave",
            "csv_metric_values",
            "csv_content",
            "no_data_points",
            "random_walk_table",
            "exponential_heatmap_bucket_data",
            "linear_heatmap_bucket_data",
        ]
    ),
    TEXT,
)
EXPR_TYPE = st.one_of(
    st.sampled_from(["math", "reduce", "resample", "threshold", "classic_conditions"]), TEXT
)
EXPRESSION = st.one_of(
    st.sampled_from(["$A + 1", "$A * $B", "abs($A)", "$A > 0 && $B", "$A / 0", "log(-1)", "$Z", "(((", ""]),
    TEXT,
)


def queries() -> st.SearchStrategy[dict[str, Any]]:
    inner = json_values(QUERY_KEYS)
    testdata = st.fixed_dictionaries(
        {"refId": st.sampled_from(["A", "B"]), "datasource": st.just({"uid": "testdata"})},
        optional={
            "scenarioId": SCENARIO,
            "seriesCount": SCALARS,
            "alias": TEXT,
            "labels": TEXT,
            "min": SCALARS,
            "max": SCALARS,
            "spread": SCALARS,
            "startValue": SCALARS,
            "pulseWave": inner,
            "csvWave": inner,
            "stringInput": TEXT,
            "csvContent": TEXT,
            "intervalMs": SCALARS,
            "maxDataPoints": SCALARS,
        },
    )
    expression = st.fixed_dictionaries(
        {
            "refId": st.sampled_from(["C", "D"]),
            "datasource": st.just({"uid": "__expr__", "type": "__expr__"}),
        },
        optional={
            "type": EXPR_TYPE,
            "expression": EXPRESSION,
            "reducer": st.one_of(st.sampled_from(["last", "mean", "sum", "min", "max", "count"]), TEXT),
            "window": TEXT,
            "downsampler": TEXT,
            "upsampler": TEXT,
            "conditions": inner,
            "settings": inner,
        },
    )
    refs = st.lists(mostly(st.one_of(testdata, expression), inner), max_size=4).map(_unique_ref_ids)
    return st.fixed_dictionaries(
        {
            "queries": mostly(refs, SCALARS),
            "from": mostly(st.sampled_from(["now-1h", "now-6h", "1700000000000", "now-5m"]), SCALARS),
            "to": mostly(st.sampled_from(["now", "now-1m", "1700003600000"]), SCALARS),
        },
        optional={"debug": SCALARS},
    )


def _unique_ref_ids(items: list[Any]) -> list[Any]:
    """Mostly distinct refIds (A, B, C, D), as a client sends; a duplicate is refused early."""
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and "refId" in item:
            item = {**item, "refId": "ABCD"[i]}
        out.append(item)
    return out


@FUZZ
@given(body=queries())
def test_query_bodies_never_fail_on_the_server_or_hang(client: TestClient, body: dict[str, Any]) -> None:
    send(client, "POST", "/api/ds/query", json=body)
