"""The route index in front of FastAPI picks exactly the route FastAPI's own in-order scan would."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from starlette.routing import BaseRoute, Match, Route

from tests.conftest import ADMIN_AUTH, Replica, make_config
from vigil.app import create_app
from vigil.http.routing import FastReads, RouteIndex, json_read

_SAMPLES = {"int": "7", "float": "1.5", "path": "a/b.json", "uuid": str(uuid.uuid4()), "str": "x7"}


def _sample_path(template: str) -> str:
    def value(m: re.Match[str]) -> str:
        return _SAMPLES.get(m.group(2) or "str", "x7")

    return re.sub(r"\{(\w+)(?::(\w+))?\}", value, template)


def _linear(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[Match, BaseRoute | None]:
    """Starlette's rule: the first full match wins, else the first partial one."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return match, route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)


def _index_of(tmp_path: Path) -> RouteIndex:
    app = create_app(make_config(f"sqlite:///{tmp_path / 'v.db'}", tmp_path))
    [index] = [r for r in app.api.router.routes if isinstance(r, RouteIndex)]
    return index


def test_the_index_agrees_with_an_in_order_scan_for_every_route_and_method(tmp_path: Path) -> None:
    index = _index_of(tmp_path)
    routes = index.routes
    assert len(routes) > 10
    paths = {_sample_path(r.path) for r in routes if isinstance(r, Route)}
    paths |= {"/", "/api", "/api/nope", "/api/user/nope/deeper", "/login/x", "/metrics-ish"}
    checked = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            scope = {"type": "http", "path": path, "root_path": "", "method": method}
            expected_match, expected_route = _linear(routes, scope)
            match, child = index.matches(dict(scope))
            assert match == expected_match, (method, path)
            assert child.get("vigil.route") is expected_route, (method, path)
            checked += 1
    assert checked >= 5 * len(paths)


def test_a_sub_path_root_is_stripped_before_the_lookup(tmp_path: Path) -> None:
    index = _index_of(tmp_path)
    scope = {"type": "http", "path": "/grafana/api/user", "root_path": "/grafana", "method": "GET"}
    match, child = index.matches(scope)
    assert match == Match.FULL and getattr(child["vigil.route"], "path", None) == "/api/user"


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/api/user"), ("GET", "/api/user/using/1")])
async def test_a_known_path_with_the_wrong_method_is_a_json_405(
    sqlite_replica: Replica, method: str, path: str
) -> None:
    r = await sqlite_replica.client.request(method, path, headers=ADMIN_AUTH)
    assert r.status_code == 405 and r.json()["message"].lower() == "method not allowed"


def _fast_reads_of(tmp_path: Path) -> tuple[RouteIndex, FastReads]:
    index = _index_of(tmp_path)
    return index, FastReads(index.routes)


def test_a_fast_read_is_the_route_an_in_order_scan_picks_for_the_same_get(tmp_path: Path) -> None:
    index, fast = _fast_reads_of(tmp_path)
    assert len(fast) >= 2  # /api/user and /api/dashboards/uid/{uid} at least
    paths = {_sample_path(r.path) for r in index.routes if isinstance(r, Route)}
    paths |= {"/api/user/", "/api/dashboards/uid/a/b", "/api/dashboards/uid/", "/api/dashboards/uid/home"}
    served = 0
    for path in sorted(paths):
        found = fast.match(path)
        _, expected = _linear(index.routes, {"type": "http", "path": path, "root_path": "", "method": "GET"})
        if found is None:
            continue
        served += 1
        assert found[0] is expected, path
    assert served >= len(fast)


def test_a_literal_route_is_not_shadowed_by_a_fast_pattern() -> None:
    router = APIRouter()

    @router.get("/x/special")
    async def special() -> dict[str, str]:
        return {}

    @json_read(router, "/x/{item_id:int}")
    async def item(request: Any, item_id: int) -> bytes:
        return b"{}"

    @json_read(router, "/x/name/{name}")
    async def named(request: Any, name: str) -> bytes:
        return b"{}"

    fast = FastReads(router.routes)
    assert fast.match("/x/special") is None
    assert fast.match("/x/nope") is None  # the int convertor refuses it
    found = fast.match("/x/42")
    assert found is not None and found[1] is item and found[2] == {"item_id": 42}
    found = fast.match("/x/name/a%20b")
    assert found is not None and found[1] is named and found[2] == {"name": "a%20b"}


async def test_fast_reads_answer_errors_as_json_and_are_measured_by_route(replica: Replica) -> None:
    c = replica.client
    r = await c.get("/api/user")
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    assert r.json()["message"] and r.headers["x-vigil-instance"]
    me = await c.get("/api/user", headers=ADMIN_AUTH)
    assert me.status_code == 200 and me.json()["login"] == "admin"
    openapi = (await c.get("/openapi.json")).json()  # the FastAPI route made from the reply
    assert "get" in openapi["paths"]["/api/user"] and "get" in openapi["paths"]["/api/dashboards/uid/{uid}"]
    # a value the database cannot hold is the client's mistake on every backend, never a 500
    for uid in ("nul%00uid", "x" * 5000):
        r = await c.get(f"/api/dashboards/uid/{uid}", headers=ADMIN_AUTH)
        assert r.status_code in (400, 404), (uid[:10], r.status_code, r.text)
        assert "message" in r.json()
    metrics = (await c.get("/metrics")).text
    assert 'vigil_http_requests_total{method="GET",route="/api/user",status="401"} 1.0' in metrics
    assert 'route="/api/dashboards/uid/{uid}",status="' in metrics
