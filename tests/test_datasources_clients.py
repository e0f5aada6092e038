"""A real ``vigil server`` process with a real Prometheus scraping it (Vigil's own /metrics) and
itself, real PostgreSQL and MariaDB databases:

- grafana-client 5.x data-source checks (native health inquiry, client-side health check, smart
  query) pass for TestData, Prometheus, PostgreSQL and MySQL data sources;
- every TestData and Prometheus target of the fixture dashboards in ../shared/fixtures/dashboards,
  with their variables resolved the way a dashboard load does, answers 200 with frames.
"""

# mypy: allow-untyped-calls
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from grafana_client.api import GrafanaApi

from tests.conftest import ADMIN, SECRET, SHARED, _create_database
from tests.prom_support import PASSWORD, USER, PromServer, free_port

pytestmark = pytest.mark.slow
VIGIL = Path(sys.executable).with_name("vigil")
DASHBOARDS = SHARED / "fixtures" / "dashboards"


@dataclass
class Stack:
    url: str
    prom: PromServer
    api: GrafanaApi
    sql: dict[str, dict[str, Any]]

    session: httpx.Client | None = None

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """As a signed-in browser would: one login, then the session cookie (no password hashing per call)."""
        if self.session is None:
            self.session = httpx.Client(base_url=self.url, timeout=30)
            r = self.session.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
            assert r.status_code == 200, r.text
        return self.session.post(path, json=body)


def _sql_sources() -> tuple[dict[str, dict[str, Any]], list[Any]]:
    async def make() -> tuple[dict[str, dict[str, Any]], list[Any]]:
        out: dict[str, dict[str, Any]] = {}
        drops = []
        for backend in ("postgresql", "mysql"):
            url, drop = await _create_database(backend)
            drops.append(drop)
            p = urlsplit(url)
            if backend == "postgresql":
                out["postgres"] = {
                    "name": "pg",
                    "uid": "pg",
                    "type": "postgres",
                    "access": "proxy",
                    "url": f"{p.hostname}:{p.port}",
                    "user": p.username or "postgres",
                    "jsonData": {"database": p.path.lstrip("/"), "sslmode": "disable"},
                }
            else:
                out["mysql"] = {
                    "name": "my",
                    "uid": "my",
                    "type": "mysql",
                    "access": "proxy",
                    "url": f"{p.hostname}:{p.port or 3306}",
                    "user": p.username or "root",
                    "database": p.path.lstrip("/"),
                    "secureJsonData": {"password": p.password or ""},
                }
        return out, drops

    return asyncio.run(make())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("vigil-clients")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        {
            "VIGIL_DATABASE_URL": f"sqlite:///{data / 'vigil.db'}",
            "VIGIL_PATHS_DATA": str(data),
            "VIGIL_SERVER_HTTP_ADDR": "127.0.0.1",
            "VIGIL_SERVER_HTTP_PORT": str(port),
            "VIGIL_SECURITY_ADMIN_USER": ADMIN[0],
            "VIGIL_SECURITY_ADMIN_PASSWORD": ADMIN[1],
            "VIGIL_SECURITY_SECRET_KEY": SECRET,
            "VIGIL_CLUSTER_INSTANCE_NAME": "ds-clients",
            "VIGIL_SERVER_ROUTER_LOGGING": "false",
        }
    )
    log = data / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(VIGIL), "server"], env=env, stdout=out, stderr=subprocess.STDOUT)
    prom: PromServer | None = None
    drops: list[Any] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        prom = PromServer(tmp_path_factory.mktemp("prom-clients"), extra_targets=(f"127.0.0.1:{port}",))
        sql, drops = _sql_sources()
        api = GrafanaApi(auth=ADMIN, host="127.0.0.1", port=port, protocol="http")
        prom.wait_for_samples()
        stack = Stack(f"http://127.0.0.1:{port}", prom, api, sql)
        yield stack
        if stack.session is not None:
            stack.session.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if prom is not None:
            prom.stop()
        for drop in drops:
            asyncio.run(drop())
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.fixture(scope="module")
def sources(stack: Stack) -> dict[str, dict[str, Any]]:
    ds = stack.api.datasource
    bodies = {
        "testdata": {"name": "gdev-testdata", "uid": "gdev-testdata", "type": "testdata", "access": "proxy"},
        "prometheus": {
            "name": "prometheus",
            "uid": "prom",
            "type": "prometheus",
            "access": "proxy",
            "url": stack.prom.url,
            "basicAuth": True,
            "basicAuthUser": USER,
            "isDefault": True,
            "secureJsonData": {"basicAuthPassword": PASSWORD},
            "jsonData": {"timeInterval": "1s"},
        },
        **stack.sql,
    }
    out = {}
    for kind, body in bodies.items():
        created = ds.create_datasource(body)
        assert created["message"] == "Datasource added"
        out[kind] = created["datasource"]
    return out


def test_prometheus_scrapes_vigils_own_metrics(stack: Stack, sources: dict[str, Any]) -> None:
    r = stack.api.datasource.query(datasource_uid="prom", query='up{job="vigil"}')
    assert r["status"] == "success" and r["data"]["result"][0]["value"][1] == "1"
    r = stack.api.datasource.query_range(
        datasource_uid="prom",
        query='up{job="vigil"}',
        start=int(time.time()) - 30,
        end=int(time.time()),
        step=1,
    )
    assert r["data"]["result"][0]["values"]


@pytest.mark.parametrize("kind", ["testdata", "prometheus", "postgres", "mysql"])
def test_grafana_client_health_inquiry_check_and_smart_query(
    stack: Stack, sources: dict[str, Any], kind: str
) -> None:
    ds = sources[kind]
    native = stack.api.datasource.health_inquiry(ds["uid"])
    assert native.success is True and native.status == "OK", native
    if kind == "testdata":
        # grafana-client's client-side check for TestData posts an empty body to /api/ds/query (which
        # Grafana refuses too); its smart query with a TestData request works.
        now = int(time.time() * 1000)
        request = {
            "method": "POST",
            "data": {
                "from": str(now - 300_000),
                "to": str(now),
                "queries": [
                    {
                        "refId": "test",
                        "datasource": {"uid": ds["uid"]},
                        "scenarioId": "csv_metric_values",
                        "stringInput": "1,2,3",
                    }
                ],
            },
        }
        result = stack.api.datasource.smartquery(ds, "", request=request)
        assert result["results"]["test"]["frames"][0]["data"]["values"][1] == [1, 2, 3]
        return
    client_side = stack.api.datasource.health_check(ds)
    assert client_side.success is True, client_side
    expression = {"prometheus": "1+1", "postgres": "SELECT 1", "mysql": "SELECT 1"}[kind]
    result = stack.api.datasource.smartquery(ds, expression)
    frames = result["results"]["test"]["frames"]
    assert isinstance(frames, list) and frames
    if kind == "prometheus":
        assert set(frames[0]["data"]["values"][1]) == {2}
        assert frames[0]["schema"]["meta"]["executedQueryString"].startswith("Expr: 1+1\nStep: ")
    else:
        assert frames[0]["data"]["values"] == [[1]]


def test_grafana_client_health_of_a_missing_data_source(stack: Stack, sources: dict[str, Any]) -> None:
    missing = stack.api.datasource.health_inquiry("nope")
    assert missing.success is False and missing.message == "Data source not found"


# -- fixture dashboards --------------------------------------------------------------------------


def _panels(d: dict[str, Any]) -> Iterator[dict[str, Any]]:
    def walk(ps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in ps:
            yield p
            yield from walk(p.get("panels") or [])

    yield from walk(d.get("panels") or [])
    for row in d.get("rows") or []:
        yield from walk(row.get("panels") or [])


def _auto_interval(var: dict[str, Any], range_ms: int) -> str:
    from vigil.datasources.timerange import format_duration_ms, parse_duration_ms, round_interval_ms

    count = int(var.get("auto_count") or 30)
    minimum = parse_duration_ms(var.get("auto_min") or "10s")
    return format_duration_ms(max(round_interval_ms(range_ms // count), minimum))


def resolve_variables(stack: Stack, d: dict[str, Any]) -> dict[str, Any]:
    """What a dashboard load does: inputs, constants, intervals, custom values and query variables
    (asked of the data source in order, since they chain)."""
    scoped: dict[str, Any] = {}
    inputs = {i["name"]: i for i in d.get("__inputs") or []}
    for name, item in inputs.items():
        scoped[name] = "prom" if item.get("type") == "datasource" else str(item.get("value") or "")
    for var in (d.get("templating") or {}).get("list") or []:
        name, kind = var["name"], var.get("type")
        current = var.get("current") or {}
        if kind == "datasource":
            scoped[name] = "prom" if var.get("query") == "prometheus" else "gdev-testdata"
        elif kind == "constant":
            value = re.sub(
                r"\$\{(\w+)\}", lambda m: str(scoped.get(m.group(1), "")), str(var.get("query") or "")
            )
            scoped[name] = value
        elif kind == "interval":
            value = current.get("value") or str(var.get("query", "")).split(",")[0]
            if str(value).startswith("$__auto_interval"):
                value = _auto_interval(var, 3_600_000)
            scoped[name] = value
        elif kind in ("custom", "textbox"):
            scoped[name] = {"value": current.get("value", ""), "multi": bool(var.get("multi"))}
        elif kind == "query":
            ds_ref = var.get("datasource")
            query = var.get("query")
            if (isinstance(ds_ref, dict) and ds_ref.get("type") == "loki") or not query:
                scoped[name] = {"value": current.get("value", "")}
                continue
            r = stack.post(
                "/api/ds/variable-query",
                {
                    "datasource": ds_ref or {"uid": "prom"},
                    "query": query,
                    "from": "now-1h",
                    "to": "now",
                    "scopedVars": scoped,
                },
            )
            assert r.status_code == 200, (name, query, r.text)
            values = [o["value"] for o in r.json()]
            regex = var.get("regex")
            if regex:
                pattern = re.compile(regex.strip("/"))
                kept = []
                for v in values:
                    m = pattern.search(v)
                    if m:
                        kept.append(m.group(1) if m.groups() else v)
                values = kept
            if var.get("includeAll"):
                scoped[name] = {
                    "value": "$__all",
                    "includeAll": True,
                    "allValue": var.get("allValue"),
                    "options": values,
                    "multi": bool(var.get("multi")),
                }
            else:
                scoped[name] = {"value": values[0] if values else "", "multi": bool(var.get("multi"))}
    return scoped


def _target_datasource(target: dict[str, Any], panel: dict[str, Any]) -> Any:
    return target.get("datasource", panel.get("datasource"))


_CLIENT_SIDE = ("-- Dashboard --", "-- Mixed --", "Loki")


def _skip(ref: Any, target: dict[str, Any]) -> bool:
    """Targets of other data sources (Loki, InfluxDB) and the client-side ones."""
    kinds = ("loki", "datasource")
    if isinstance(ref, dict) and (ref.get("type") in kinds or ref.get("uid") in _CLIENT_SIDE):
        return True
    if isinstance(ref, str) and ref in ("-- Dashboard --", "-- Grafana --", "-- Mixed --"):
        return True
    return "expr" not in target and "scenarioId" not in target


@pytest.mark.skipif(not DASHBOARDS.is_dir(), reason="../shared/fixtures/dashboards is absent")
def test_every_testdata_and_prometheus_target_of_the_fixture_dashboards_answers(
    stack: Stack, sources: dict[str, Any]
) -> None:
    checked = 0
    empty = 0
    for path in sorted(DASHBOARDS.glob("*.json")):
        d = json.loads(path.read_text())
        d = d.get("dashboard", d)
        targets = [
            t for p in _panels(d) for t in p.get("targets") or [] if not _skip(_target_datasource(t, p), t)
        ]
        if not targets:  # InfluxDB-only (heapster): nothing for these data sources
            continue
        scoped = resolve_variables(stack, d)
        for panel in _panels(d):
            queries = []
            for i, target in enumerate(panel.get("targets") or []):
                ref = _target_datasource(target, panel)
                if _skip(ref, target):
                    continue
                q = {
                    **target,
                    "refId": target.get("refId") or f"T{i}",
                    "intervalMs": 15_000,
                    "maxDataPoints": 500,
                }
                q["datasource"] = ref if ref is not None else {"uid": "prom"}
                queries.append(q)
            if not queries:
                continue
            refs = [q["refId"] for q in queries]
            if len(set(refs)) != len(refs):
                for j, q in enumerate(queries):
                    q["refId"] = f"{q['refId']}{j}"
            r = stack.post(
                "/api/ds/query", {"from": "now-1h", "to": "now", "queries": queries, "scopedVars": scoped}
            )
            assert r.status_code == 200, (path.name, panel.get("title"), r.text[:2000])
            for ref_id, res in r.json()["results"].items():
                assert res["status"] == 200 and isinstance(res["frames"], list), (path.name, ref_id, res)
                checked += 1
                empty += all(not f["schema"]["fields"] for f in res["frames"])
    assert checked > 800, checked
    assert empty < checked  # some targets have data (self-scraped Prometheus and Vigil metrics)
