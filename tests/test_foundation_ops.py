"""Operations: SIGTERM drains, one JSON log line per request, Prometheus metrics, JSON errors.

The drain and the log lines are checked on a real ``vigil server`` process; metrics and error bodies
on an in-process replica (SQLite: none of this depends on the database).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request
from sqlalchemy import event
from starlette.responses import Response

from tests.conftest import ADMIN, ADMIN_AUTH, AppFactory, Replica, basic
from tests.server_proc import ServerProcess, VigilProcess, stop_all
from vigil.clock import FakeClock
from vigil.http.identity import services
from vigil.http.responses import json_response


@pytest.fixture
def procs() -> Iterator[list[VigilProcess]]:
    started: list[VigilProcess] = []
    yield started
    stop_all(started)


@pytest.mark.slow
async def test_sigterm_drains_health_fails_first_requests_are_still_served_then_the_process_exits_0(
    procs: list[VigilProcess], sqlite_url: str, tmp_path: Path
) -> None:
    drain = 3.0
    server = ServerProcess("drainer", sqlite_url, tmp_path / "data", SERVER_DRAIN_SECONDS=str(drain))
    procs.append(server)
    server.start()
    await server.wait_healthy(60)
    sent: dict[tuple[str, str, int], int] = {}

    def count(method: str, route: str, status: int) -> None:
        sent[(method, route, status)] = sent.get((method, route, status), 0) + 1

    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as c:
        r = await c.get("/api/user", headers=ADMIN_AUTH)
        assert r.status_code == 200 and r.headers["x-vigil-instance"] == "drainer"
        count("GET", "/api/user", 200)
        r = await c.post("/api/user/using/1", headers=ADMIN_AUTH)
        assert r.status_code == 200
        count("POST", "/api/user/using/{org_id}", 200)
        assert (await c.get("/api/no-such-thing")).status_code == 404
        count("GET", "unmatched", 404)

        server.signal(signal.SIGTERM)
        sigterm_at = time.monotonic()
        health_503 = served = 0
        while time.monotonic() - sigterm_at < drain - 0.7:
            h = await c.get("/api/health")
            if h.status_code == 503:
                assert h.json()["database"] == "ok" and "draining" in h.json()["message"]
                health_503 += 1
            count("GET", "/api/health", h.status_code)
            r = await c.get("/api/user", headers=ADMIN_AUTH)
            assert r.status_code == 200, r.text  # in-flight work keeps being served
            count("GET", "/api/user", 200)
            served += 1
            await asyncio.sleep(0.1)
        assert health_503 >= 5 and served >= 5
        first_health = [k for k in sent if k[1] == "/api/health"]
        assert first_health == [("GET", "/api/health", 503)]  # 503 from the first check on

    rc = await server.wait_async(drain + 30)
    assert rc == 0, server.output()[-3000:]
    assert time.monotonic() - sigterm_at >= drain - 0.5
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as c:
            await c.get("/api/health")

    requests = [o for o in server.json_lines() if o.get("logger") == "vigil.request"]
    logged: dict[tuple[str, str, int], int] = {}
    for line in requests:
        assert line["instance"] == "drainer"
        assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
        key = (line["method"], line["route"], line["status"])
        logged[key] = logged.get(key, 0) + 1
    # exactly one line per request we sent (plus the health polls made while starting up)
    startup_polls = logged.pop(("GET", "/api/health", 200), 0)
    assert startup_polls >= 1
    assert logged == sent
    assert server.problems() == [], server.problems()


async def _login(rep: Replica) -> str:
    r = await rep.client.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200
    return r.cookies["vigil_session"]


def _sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m is None or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return None


async def test_metrics_count_requests_by_route_template_with_latency_pool_and_session_gauges(
    sqlite_replica: Replica,
) -> None:
    c = sqlite_replica.client
    await _login(sqlite_replica)
    c.cookies.clear()  # the session lives on in the store; requests below carry their own credentials
    for _ in range(3):
        assert (await c.get("/api/user", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.post("/api/user/using/1", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.get("/api/user")).status_code == 401
    assert (await c.get("/api/nothing/here/42")).status_code == 404
    r = await c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert _sample(text, "vigil_http_requests_total", route="/api/user", method="GET", status="200") == 3
    assert _sample(text, "vigil_http_requests_total", route="/api/user", method="GET", status="401") == 1
    assert (
        _sample(
            text, "vigil_http_requests_total", route="/api/user/using/{org_id}", method="POST", status="200"
        )
        == 1
    )
    assert _sample(text, "vigil_http_requests_total", route="/login", method="POST", status="200") == 1
    # unknown paths share one label: no label per path a scanner invents
    assert "/api/nothing/here/42" not in text
    assert _sample(text, "vigil_http_requests_total", route="unmatched", status="404") == 1
    assert _sample(text, "vigil_http_request_duration_seconds_count", route="/api/user") == 4
    assert _sample(text, "vigil_http_request_duration_seconds_bucket", route="/api/user", le="+Inf") == 4
    assert (_sample(text, "vigil_http_request_duration_seconds_sum", route="/api/user") or 0) > 0
    assert _sample(text, "vigil_db_pool_size") is not None
    assert _sample(text, "vigil_db_pool_connections_in_use") == 0
    assert _sample(text, "vigil_active_sessions") == 1
    assert _sample(text, "vigil_database_up") == 1
    assert _sample(text, "vigil_draining") == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/does-not-exist"), ("POST", "/api/no/such/route/1"), ("DELETE", "/api/nope/")],
)
async def test_unknown_api_routes_are_json_404(sqlite_replica: Replica, method: str, path: str) -> None:
    for headers in ({}, ADMIN_AUTH):
        r = await sqlite_replica.client.request(method, path, headers=headers)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
        assert r.json() == {"message": "Not found"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/user/"),
        ("GET", "/api/frontend/settings/"),
        ("POST", "/api/user/using/1/"),
        ("GET", "/api/health/"),
    ],
)
async def test_a_trailing_slash_is_served_directly_never_redirected(
    sqlite_replica: Replica, method: str, path: str
) -> None:
    r = await sqlite_replica.client.request(method, path, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    assert "location" not in r.headers


def _add_probe_routes(rep: Replica) -> None:
    """Routes that call the real services, so their conflicts travel the real error path."""
    api = rep.app.api

    @api.post("/api/probe/users")
    async def create_user(request: Request, body: dict[str, Any]) -> Response:
        u = await services(request).identities.create_user(
            login=body["login"], password=body["password"], email=body.get("email", "")
        )
        return json_response({"id": u.id})

    @api.post("/api/probe/serviceaccounts")
    async def create_sa(request: Request, body: dict[str, Any]) -> Response:
        return json_response({"id": await services(request).service_accounts.create(1, body["name"])})


async def test_error_bodies_are_json_with_a_message_for_every_client_error(sqlite_replica: Replica) -> None:
    rep = sqlite_replica
    c = rep.client
    _add_probe_routes(rep)
    sa = rep.services.service_accounts
    bot = await sa.add_token(1, await sa.create(1, "bot"), "t")
    bot_auth = {"Authorization": f"Bearer {bot.key}"}
    await rep.services.identities.create_user(login="vic", password="vic-pw-1", email="vic@example.com")
    vic = basic("vic", "vic-pw-1")

    cases: list[tuple[int, httpx.Response]] = [
        (400, await c.get("/api/user", headers={**ADMIN_AUTH, "X-Grafana-Org-Id": "abc"})),
        (400, await c.post("/login", content=b"{not json", headers={"content-type": "application/json"})),
        (400, await c.post("/login", json={"user": "admin"})),
        (401, await c.get("/api/user")),
        (401, await c.get("/api/user", headers=basic("admin", "wrong"))),
        (401, await c.get("/api/user", headers={"Authorization": "Basic %%%"})),
        (401, await c.get("/api/user", headers={"Authorization": "Bearer glsa_nope_00000000"})),
        (401, await c.post("/login", json={"user": "admin", "password": "wrong"})),
        (403, await c.get("/api/user", headers={**ADMIN_AUTH, "X-Grafana-Org-Id": "99"})),
        (
            403,
            await c.put(
                "/api/user/password", json={"oldPassword": "x", "newPassword": "yyyyyy"}, headers=bot_auth
            ),
        ),
        (404, await c.get("/api/definitely/not/here")),
        (409, await c.post("/api/probe/serviceaccounts", json={"name": "bot"}, headers=ADMIN_AUTH)),
        (412, await c.post("/api/probe/users", json={"login": "vic", "password": "pw-123456"})),
        (
            422,
            await c.put(
                "/api/user/password",
                json={"oldPassword": "vic-pw-1", "newPassword": "x", "confirmNew": "x"},
                headers=vic,
            ),
        ),
        (422, await c.put("/api/user/password", json=["not", "an", "object"], headers=vic)),
    ]
    for expected, r in cases:
        where = f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text}"
        assert r.status_code == expected, where
        assert r.headers["content-type"].startswith("application/json"), where
        body = r.json()
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], where
        assert "Traceback" not in r.text and 'File "' not in r.text, where
    # and the user whose password change was refused still logs in with the old one
    assert (await c.get("/api/user", headers=vic)).status_code == 200


async def test_when_the_token_cache_expires_concurrent_requests_share_one_database_lookup(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    clock = FakeClock()
    rep = await make_replica(sqlite_url, clock)
    sa = rep.services.service_accounts
    good = await sa.add_token(1, await sa.create(1, "herd"), "t")
    lookups: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_token" in statement and statement.lstrip().upper().startswith("SELECT"):
            lookups.append(statement)

    event.listen(rep.services.db.engine.sync_engine, "before_cursor_execute", count)
    for token, status in ((good.key, 200), ("glsa_not_a_real_token_00000000", 401)):
        for _ in range(2):
            clock.advance(2)  # past the one-second token cache
            lookups.clear()
            headers = {"Authorization": f"Bearer {token}"}
            answers = await asyncio.gather(*(rep.client.get("/api/user", headers=headers) for _ in range(20)))
            assert [r.status_code for r in answers] == [status] * 20
            assert len(lookups) == 1, len(lookups)


@pytest.mark.slow
async def test_forwarded_client_addresses_are_believed_only_from_trusted_proxies(
    procs: list[VigilProcess], sqlite_url: str, tmp_path: Path
) -> None:
    """The auth proxy whitelist sees the address X-Forwarded-For gives when the connection comes from
    a trusted proxy ([server] trusted_proxies), and the connection's own address otherwise."""
    proxy = {
        "AUTH_PROXY_ENABLED": "true",
        "AUTH_PROXY_WHITELIST": "10.9.9.9",
        "AUTH_PROXY_AUTO_SIGN_UP": "true",
    }
    trusting = ServerProcess("trusting", sqlite_url, tmp_path / "a", **proxy)
    distrusting = ServerProcess(
        "distrusting",
        f"sqlite:///{tmp_path / 'b.db'}",
        tmp_path / "b",
        SERVER_TRUSTED_PROXIES="10.0.0.0/8",
        **proxy,
    )
    procs.extend([trusting, distrusting])
    for p in (trusting, distrusting):
        p.start()
    for p in (trusting, distrusting):
        await p.wait_healthy(60)
    user = {"X-WEBAUTH-USER": "carol"}
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.get(f"{trusting.base_url}/api/user", headers={**user, "X-Forwarded-For": "10.9.9.9"})
        assert r.status_code == 200 and r.json()["login"] == "carol", r.text
        r = await c.get(f"{trusting.base_url}/api/user", headers={**user, "X-Forwarded-For": "10.9.9.8"})
        assert r.status_code == 407, r.text
        # Loopback is not a trusted proxy here: the header is ignored and 127.0.0.1 is not whitelisted.
        r = await c.get(f"{distrusting.base_url}/api/user", headers={**user, "X-Forwarded-For": "10.9.9.9"})
        assert r.status_code == 407 and "127.0.0.1" in r.json()["message"], r.text


def test_an_invalid_trusted_proxy_stops_startup_with_the_key_named(sqlite_url: str, tmp_path: Path) -> None:
    p = ServerProcess("bad", sqlite_url, tmp_path / "data", SERVER_TRUSTED_PROXIES="10.0.0.0/8, not-an-ip")
    p.start()
    try:
        assert p.wait(60) == 2
    finally:
        p.kill()
    assert "[server] trusted_proxies" in p.output() and "not-an-ip" in p.output()
