"""Prometheus data source against a real Prometheus (Debian package) scraping itself behind basic
auth: step rules, built-in intervals, legends, formats, per-refId errors, variable queries, PromQL
injection attempts. Vigil on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import ADMIN_AUTH, Replica
from tests.prom_support import PASSWORD, USER, PromServer, module_replica

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromServer]:
    server = PromServer(tmp_path_factory.mktemp("prom"))
    try:
        server.wait_for_samples()
        yield server
    finally:
        server.stop()


def prom_ds(prom: PromServer, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Prometheus",
        "uid": "prom",
        "type": "prometheus",
        "url": prom.url,
        "access": "proxy",
        "basicAuth": True,
        "basicAuthUser": USER,
        "secureJsonData": {"basicAuthPassword": PASSWORD},
        "jsonData": {"timeInterval": "1s", "httpMethod": "POST"},
        **extra,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rep(prom: PromServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replica]:
    """One replica for the module (SQLite): these tests read Prometheus, not Vigil's database."""
    async with module_replica(tmp_path_factory.mktemp("vigil-prom")) as replica:
        r = await replica.client.post("/api/datasources", json=prom_ds(prom), headers=ADMIN_AUTH)
        assert r.status_code == 200, r.text
        yield replica


async def ds_query(rep: Replica, *queries: dict[str, Any], status: int = 200, **extra: Any) -> dict[str, Any]:
    body = {
        "from": "now-2m",
        "to": "now",
        **extra,
        "queries": [{"datasource": {"type": "prometheus", "uid": "prom"}, **q} for q in queries],
    }
    r = await rep.client.post("/api/ds/query", json=body, headers=ADMIN_AUTH)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_health_ok_and_wrong_credentials(rep: Replica, prom: PromServer) -> None:
    r = await rep.client.get("/api/datasources/uid/prom/health", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {
        "status": "OK",
        "message": "Successfully queried the Prometheus API.",
    }
    bad = prom_ds(prom, name="bad", uid="bad", secureJsonData={"basicAuthPassword": "wrong"})
    assert (await rep.client.post("/api/datasources", json=bad, headers=ADMIN_AUTH)).status_code == 200
    r = await rep.client.get("/api/datasources/uid/bad/health", headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json()["status"] == "ERROR"
    assert "error returned querying the Prometheus API" in r.json()["message"]
    down = prom_ds(prom, name="down", uid="down", url="http://127.0.0.1:1")
    assert (await rep.client.post("/api/datasources", json=down, headers=ADMIN_AUTH)).status_code == 200
    r = await rep.client.get("/api/datasources/uid/down/health", headers=ADMIN_AUTH)
    assert r.status_code == 400 and "cannot reach Prometheus" in r.json()["message"]


async def test_range_query_step_rules_alignment_and_labels(rep: Replica, prom: PromServer) -> None:
    await asyncio.to_thread(prom.wait_for_range, "up", 2)
    body = await ds_query(rep, {"refId": "A", "expr": "up", "intervalMs": 1000, "maxDataPoints": 40})
    frames = body["results"]["A"]["frames"]
    assert len(frames) == 1
    f = frames[0]
    meta = f["schema"]["meta"]
    # 120 s / 40 points = 3 s, rounded to the nice 2 s; above the 1 s minimum and the safe interval.
    assert meta["executedQueryString"] == "Expr: up\nStep: 2s"
    assert meta["type"] == "timeseries-multi" and meta["typeVersion"] == [0, 1]
    time_field, value_field = f["schema"]["fields"]
    assert time_field["type"] == "time" and value_field["name"] == "Value"
    assert value_field["labels"] == {
        "__name__": "up",
        "group": "self",
        "instance": _instance,
        "job": "prometheus",
    }
    assert (
        value_field["config"]["displayNameFromDS"]
        == f'up{{group="self", instance="{_instance}", job="prometheus"}}'
    )
    times, values = f["data"]["values"]
    assert len(times) >= 2 and all(t % 2000 == 0 for t in times) and set(values) == {1}
    # A minimum interval on the query wins over the request's intervalMs; intervalFactor multiplies.
    body = await ds_query(
        rep, {"refId": "A", "expr": "up", "interval": "10s", "intervalMs": 1000, "maxDataPoints": 40}
    )
    assert body["results"]["A"]["frames"][0]["schema"]["meta"]["executedQueryString"].endswith("Step: 10s")
    body = await ds_query(
        rep, {"refId": "A", "expr": "up", "intervalFactor": 3, "intervalMs": 1000, "maxDataPoints": 40}
    )
    assert body["results"]["A"]["frames"][0]["schema"]["meta"]["executedQueryString"].endswith("Step: 6s")
    # Without intervalMs the data source's scrape interval is the minimum.
    body = await ds_query(rep, {"refId": "A", "expr": "up", "maxDataPoints": 10000})
    assert body["results"]["A"]["frames"][0]["schema"]["meta"]["executedQueryString"].endswith("Step: 1s")


_instance = ""


@pytest.fixture(autouse=True)
def _remember_instance(prom: PromServer) -> None:
    global _instance
    _instance = f"127.0.0.1:{prom.port}"


async def test_builtin_variables_interval_rate_interval_and_range(rep: Replica) -> None:
    expr = "sum(rate(prometheus_http_requests_total[$__rate_interval])) + 0*$__range_s + 0*${__interval_ms}"
    body = await ds_query(
        rep, {"refId": "A", "expr": expr, "intervalMs": 2000, "maxDataPoints": 60}, **{"from": "now-5m"}
    )
    executed = body["results"]["A"]["frames"][0]["schema"]["meta"]["executedQueryString"]
    # rate interval = max(intervalMs + scrape, 4 x scrape) = max(3 s, 4 s); range 300 s; step 5 s.
    assert executed == "Expr: sum(rate(prometheus_http_requests_total[4s])) + 0*300 + 0*5000\nStep: 5s"
    body = await ds_query(
        rep,
        {
            "refId": "A",
            "expr": "max_over_time(up[$__interval])",
            "interval": "$__rate_interval",
            "intervalMs": 1000,
            "maxDataPoints": 100,
        },
    )
    assert body["results"]["A"]["frames"][0]["schema"]["meta"]["executedQueryString"].startswith(
        "Expr: max_over_time(up[4s])\nStep: 4s"
    )


async def test_instant_query_legend_and_table_format(rep: Replica) -> None:
    body = await ds_query(
        rep,
        {
            "refId": "I",
            "expr": "up",
            "instant": True,
            "range": False,
            "legendFormat": "{{job}} on {{instance}}",
        },
        {"refId": "T", "expr": "prometheus_build_info", "instant": True, "format": "table"},
    )
    (f,) = body["results"]["I"]["frames"]
    assert f["schema"]["meta"]["type"] == "numeric-multi"
    assert f["schema"]["fields"][1]["config"]["displayNameFromDS"] == f"prometheus on {_instance}"
    assert len(f["data"]["values"][0]) == 1 and f["data"]["values"][1] == [1]
    (t,) = body["results"]["T"]["frames"]
    names = [x["name"] for x in t["schema"]["fields"]]
    assert names[0] == "Time" and names[-1] == "Value #T" and "version" in names and "goversion" in names
    assert t["schema"]["meta"]["type"] == "table" and t["data"]["values"][-1] == [1]


async def test_prometheus_errors_are_reported_per_ref_id(rep: Replica) -> None:
    body = await ds_query(rep, {"refId": "A", "expr": "up"}, {"refId": "B", "expr": "up{"}, status=400)
    assert body["results"]["A"]["status"] == 200 and body["results"]["A"]["frames"]
    b = body["results"]["B"]
    assert b["status"] == 400 and b["errorSource"] == "downstream" and "parse error" in b["error"]


async def test_a_missing_metric_gives_an_empty_frame(rep: Replica) -> None:
    body = await ds_query(rep, {"refId": "A", "expr": 'node_load1{instance="nowhere"}'})
    (f,) = body["results"]["A"]["frames"]
    assert f["schema"]["fields"] == [] and f["data"]["values"] == []
    assert body["results"]["A"]["status"] == 200


async def test_heatmap_format_de_accumulates_buckets(rep: Replica, prom: PromServer) -> None:
    expr = "sum by (le) (prometheus_http_request_duration_seconds_bucket)"
    await asyncio.to_thread(prom.wait_for_range, expr, 5)
    body = await ds_query(
        rep, {"refId": "H", "expr": expr, "format": "heatmap", "intervalMs": 1000, "maxDataPoints": 20}
    )
    (f,) = body["results"]["H"]["frames"]
    assert f["schema"]["meta"]["type"] == "heatmap-rows", str(f)[:1500]
    les = [x["name"] for x in f["schema"]["fields"][1:]]
    assert les[-1] == "+Inf" and [float(x) for x in les] == sorted(float(x) for x in les)
    assert all(v is None or v >= 0 for col in f["data"]["values"][1:] for v in col)
    assert any(v for col in f["data"]["values"][1:] for v in col)


async def variable_query(rep: Replica, query: Any, **extra: Any) -> list[str]:
    r = await rep.client.post(
        "/api/ds/variable-query",
        json={"datasource": {"uid": "prom"}, "query": query, "from": "now-5m", "to": "now", **extra},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200, r.text
    items = r.json()
    assert all(set(i) == {"text", "value"} for i in items)
    return [i["value"] for i in items]


async def test_variable_queries(rep: Replica) -> None:
    assert {"__name__", "instance", "job", "group"} <= set(await variable_query(rep, "label_names()"))
    assert await variable_query(rep, "label_values(job)") == ["prometheus"]
    assert await variable_query(rep, "label_values(up, instance)") == [_instance]
    assert await variable_query(
        rep,
        {"query": 'label_values(up{job=~"$job"}, group)', "refId": "x"},
        scopedVars={"job": {"value": ["prometheus"], "multi": True}},
    ) == ["self"]
    assert await variable_query(rep, "label_values(no_such_metric, instance)") == []
    metrics = await variable_query(rep, "metrics(^prometheus_build)")
    assert metrics == ["prometheus_build_info"]
    (result,) = await variable_query(rep, "query_result(up)")
    assert result.startswith(f'up{{group="self",instance="{_instance}",job="prometheus"}} 1 ')
    r = await rep.client.post(
        "/api/ds/variable-query",
        json={"datasource": {"uid": "prom"}, "query": "label_values(up{)"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 400 and r.json()["message"].startswith("Prometheus:")


async def test_injection_through_variables_never_becomes_promql(rep: Replica) -> None:
    evil = 'prometheus"} or vector(42) #'
    scoped = {"job": {"text": evil, "value": evil}}
    body = await ds_query(rep, {"refId": "A", "expr": 'up{job="$job"}', "instant": True}, scopedVars=scoped)
    frames = body["results"]["A"]["frames"]
    executed = frames[0]["schema"]["meta"]["executedQueryString"]
    assert executed.startswith('Expr: up{job="prometheus\\"} or vector(42) #"}')
    assert frames[0]["schema"]["fields"] == []  # no series has that job; vector(42) never ran
    body = await ds_query(rep, {"refId": "A", "expr": "up{job=~'$job'}", "instant": True}, scopedVars=scoped)
    assert body["results"]["A"]["frames"][0]["schema"]["fields"] == []
    # Bare (outside quotes), only identifiers, numbers and durations are accepted.
    body = await ds_query(
        rep, {"refId": "A", "expr": "rate(up[$w])"}, scopedVars={"w": "1m]) or vector(1"}, status=400
    )
    assert "cannot be used outside a quoted string" in body["results"]["A"]["error"]
    body = await ds_query(
        rep, {"refId": "A", "expr": "rate(up[$w])", "instant": True}, scopedVars={"w": "1m"}
    )
    assert body["results"]["A"]["status"] == 200
    # Multi-value: regex-escaped alternatives inside the string.
    body = await ds_query(
        rep,
        {"refId": "A", "expr": 'up{job=~"$job"}', "instant": True},
        scopedVars={"job": {"value": ["prometheus", "a.b|c"], "multi": True}},
    )
    executed = body["results"]["A"]["frames"][0]["schema"]["meta"]["executedQueryString"]
    assert 'job=~"(prometheus|a\\\\.b\\\\|c)"' in executed
    assert body["results"]["A"]["frames"][0]["data"]["values"][1] == [1]


async def test_get_method_and_custom_query_parameters(rep: Replica, prom: PromServer) -> None:
    ds = prom_ds(
        prom,
        name="get",
        uid="get",
        jsonData={"httpMethod": "GET", "timeInterval": "1s", "customQueryParameters": "stats=all"},
    )
    assert (await rep.client.post("/api/datasources", json=ds, headers=ADMIN_AUTH)).status_code == 200
    r = await rep.client.post(
        "/api/ds/query",
        json={
            "from": "now-1m",
            "to": "now",
            "queries": [{"refId": "A", "datasource": {"uid": "get"}, "expr": "up", "instant": True}],
        },
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json()["results"]["A"]["frames"][0]["data"]["values"][1] == [1]


async def test_proxy_reaches_prometheus_with_injected_credentials(rep: Replica, prom: PromServer) -> None:
    c = rep.client
    r = await c.post("/api/datasources/proxy/uid/prom/api/v1/query", data={"query": "up"}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["status"] == "success"
    ds_id = (await c.get("/api/datasources/uid/prom", headers=ADMIN_AUTH)).json()["id"]
    r = await c.get(f"/api/datasources/proxy/{ds_id}/api/v1/label/job/values", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["data"] == ["prometheus"]
    # Straight to Prometheus without the injected credentials: refused.
    assert httpx.get(f"{prom.url}/api/v1/query", params={"query": "up"}).status_code == 401


async def test_mixed_data_sources_and_an_expression_in_one_request(rep: Replica) -> None:
    store = rep.services.datasources.store
    if await store.by_uid(1, "mix-td") is None:
        await store.create(1, {"name": "mix-td", "uid": "mix-td", "type": "testdata"})
    body = {
        "from": "now-1m",
        "to": "now",
        "queries": [
            {"refId": "P", "datasource": {"uid": "prom"}, "expr": 'up{job="prometheus"}', "instant": True},
            {
                "refId": "T",
                "datasource": {"uid": "mix-td"},
                "scenarioId": "csv_metric_values",
                "stringInput": "3",
            },
            {
                "refId": "R",
                "datasource": {"uid": "__expr__", "type": "__expr__"},
                "type": "reduce",
                "expression": "T",
                "reducer": "last",
            },
            {
                "refId": "S",
                "datasource": {"uid": "__expr__", "type": "__expr__"},
                "type": "math",
                "expression": "$P + $R",
            },
        ],
    }
    r = await rep.client.post("/api/ds/query", json=body, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert list(res) == ["P", "T", "R", "S"]
    (s,) = res["S"]["frames"]
    assert s["data"]["values"][-1] == [4] and s["schema"]["fields"][-1]["labels"]["job"] == "prometheus"


async def test_a_slow_prometheus_times_out_per_ref_id(rep: Replica) -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accepts and never answers
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        body = {
            "name": "slow",
            "uid": "slow",
            "type": "prometheus",
            "url": f"http://127.0.0.1:{port}",
            "jsonData": {"timeout": 1},
        }
        assert (await rep.client.post("/api/datasources", json=body, headers=ADMIN_AUTH)).status_code == 200
        r = await rep.client.post(
            "/api/ds/query",
            json={
                "from": "now-1m",
                "to": "now",
                "queries": [{"refId": "A", "datasource": {"uid": "slow"}, "expr": "up"}],
            },
            headers=ADMIN_AUTH,
        )
        assert r.status_code == 400
        a = r.json()["results"]["A"]
        assert a["status"] == 504 and "did not answer within 1s" in a["error"]
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        listener.close()
