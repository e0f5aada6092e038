"""The route index in front of FastAPI picks exactly the route FastAPI's own in-order scan would."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match, Route

from tests.conftest import ADMIN_AUTH, Replica, make_config
from vigil.app import create_app
from vigil.http.routing import RouteIndex

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
