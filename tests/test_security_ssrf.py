"""SSRF: data source requests (proxy, queries, health checks, SQL connections) and contact points
(webhook, Slack) never connect to a blocked address.

Only loopback ever receives traffic. Each test first proves the guard end to end on loopback: with
``127.0.0.2`` added to ``[security] outbound_blocked_ranges``, a listener there must see no connection
at all while the same request to ``127.0.0.1`` arrives. Only then are link-local and metadata
addresses tried, and only as literal addresses (no DNS): they are refused before any connection, as
the guard refuses every blocked literal in the request hook and again where connections open.
SQLite: nothing here depends on the database.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ADMIN_AUTH, AppFactory, Replica
from vigil.errors import ConfigError
from vigil.http.outbound import DEFAULT_BLOCKED_RANGES, OutboundBlocked, OutboundGuard

BLOCKED_LOOPBACK = "127.0.0.2"
EXTRA = {"security__outbound_blocked_ranges": DEFAULT_BLOCKED_RANGES + ", 127.0.0.2/32"}

# literal addresses only: refusing them needs no DNS lookup, and none is ever connected to
METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254:80/computeMetadata/v1/",
    "http://2852039166/",  # 169.254.169.254 as one decimal number
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]:9090/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://168.63.129.16/machine",
    "http://metadata.google.internal/computeMetadata/v1/",  # refused by name, never resolved
    "https://169.254.169.254/",
]


def refused(text: str) -> bool:
    """The guard's refusal, or httpx refusing to parse the address at all (octal dotted quads)."""
    return "refused" in text or "Invalid IPv4 address" in text


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *_args: Any) -> None:
        return


class Listener(ThreadingHTTPServer):
    """An HTTP server on a loopback address that counts the connections it accepts."""

    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.connections = 0
        self.url = f"http://{host}:{self.server_address[1]}"
        self.port = int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        got = super().get_request()
        self.connections += 1
        return got


@pytest.fixture
def listeners() -> Iterator[tuple[Listener, Listener]]:
    servers = [Listener("127.0.0.1"), Listener(BLOCKED_LOOPBACK)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    yield servers[0], servers[1]
    for s in servers:
        s.shutdown()
        s.server_close()


async def _datasource(rep: Replica, uid: str, url: str, kind: str = "prometheus") -> None:
    body: dict[str, Any] = {"name": uid, "uid": uid, "type": kind, "url": url, "access": "proxy"}
    if kind != "prometheus":
        body["jsonData"] = {"database": "test"}
        body["user"] = "postgres"
    r = await rep.client.post("/api/datasources", json=body, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text


async def _query(rep: Replica, uid: str, expr: str = "up") -> dict[str, Any]:
    body = {
        "from": "now-5m",
        "to": "now",
        "queries": [{"refId": "A", "datasource": {"uid": uid}, "expr": expr, "rawSql": "SELECT 1"}],
    }
    r = await rep.client.post("/api/ds/query", json=body, headers=ADMIN_AUTH)
    result: dict[str, Any] = r.json()
    return result


def test_the_default_ranges_cover_link_local_metadata_and_every_spelling_of_them() -> None:
    guard = OutboundGuard.default()
    for url in METADATA_URLS:
        with pytest.raises(OutboundBlocked, match="refused"):
            guard.check_host(urlsplit(url).hostname or "")
    for allowed in ("127.0.0.1", "::1", "10.1.2.3", "192.168.0.10", "prometheus.internal"):
        guard.check_host(allowed)


async def test_the_proxy_queries_and_health_checks_never_connect_to_a_blocked_address(
    make_replica: AppFactory, sqlite_url: str, listeners: tuple[Listener, Listener]
) -> None:
    ok, blocked = listeners
    rep = await make_replica(sqlite_url, **EXTRA)
    await _datasource(rep, "ok", ok.url)
    await _datasource(rep, "lo2", blocked.url)
    c = rep.client
    r = await c.get("/api/datasources/proxy/uid/ok/api/v1/query?query=up", headers=ADMIN_AUTH)
    assert r.status_code == 200 and ok.connections >= 1
    r = await c.get("/api/datasources/proxy/uid/lo2/api/v1/query?query=up", headers=ADMIN_AUTH)
    assert r.status_code == 403 and "refused" in r.json()["message"], r.text
    got = await _query(rep, "lo2")
    assert "refused" in json.dumps(got), got
    r = await c.get("/api/datasources/uid/lo2/health", headers=ADMIN_AUTH)
    assert "refused" in r.text, r.text
    assert blocked.connections == 0
    # the guard holds on loopback: now the real targets, each refused before any connection
    for i, url in enumerate(METADATA_URLS):
        await _datasource(rep, f"meta{i}", url)
        r = await c.get(f"/api/datasources/proxy/uid/meta{i}/latest/meta-data/", headers=ADMIN_AUTH)
        assert r.status_code in (400, 403) and refused(r.json()["message"]), (url, r.text)
        got = await _query(rep, f"meta{i}")
        assert refused(json.dumps(got)), (url, got)
    assert blocked.connections == 0


async def test_a_name_that_resolves_to_a_blocked_address_is_refused(
    make_replica: AppFactory, sqlite_url: str, listeners: tuple[Listener, Listener]
) -> None:
    ok, _ = listeners
    rep = await make_replica(sqlite_url, security__outbound_blocked_ranges="127.0.0.0/8, ::1/128")
    await _datasource(rep, "byname", f"http://localhost:{ok.port}")
    r = await rep.client.get("/api/datasources/proxy/uid/byname/api/v1/query", headers=ADMIN_AUTH)
    assert r.status_code == 403 and "resolves to" in r.json()["message"], r.text
    assert ok.connections == 0


async def test_blocked_ranges_are_configurable_and_empty_allows_every_address(
    make_replica: AppFactory, sqlite_url: str, listeners: tuple[Listener, Listener]
) -> None:
    _, other = listeners
    rep = await make_replica(
        sqlite_url, security__outbound_blocked_ranges="", security__outbound_blocked_hosts=""
    )
    await _datasource(rep, "lo2", other.url)
    r = await rep.client.get("/api/datasources/proxy/uid/lo2/api/v1/query", headers=ADMIN_AUTH)
    assert r.status_code == 200 and other.connections >= 1
    with pytest.raises(ConfigError, match="outbound_blocked_ranges"):
        await make_replica(sqlite_url, security__outbound_blocked_ranges="169.254.0.0/16, not-a-range")


async def test_sql_data_sources_do_not_connect_to_a_blocked_host(
    make_replica: AppFactory, sqlite_url: str, listeners: tuple[Listener, Listener]
) -> None:
    _, blocked = listeners
    rep = await make_replica(sqlite_url, **EXTRA)
    for kind in ("grafana-postgresql-datasource", "mysql"):
        await _datasource(rep, f"{kind}-lo2", f"{BLOCKED_LOOPBACK}:{blocked.port}", kind)
        got = await _query(rep, f"{kind}-lo2")
        assert "refused" in json.dumps(got), got
    assert blocked.connections == 0
    for kind in ("grafana-postgresql-datasource", "mysql"):
        await _datasource(rep, f"{kind}-meta", "169.254.169.254:5432", kind)
        got = await _query(rep, f"{kind}-meta")
        assert "refused" in json.dumps(got), got


def _receiver_test(kind: str, url: str) -> dict[str, Any]:
    return {
        "receivers": [
            {
                "name": "ssrf",
                "grafana_managed_receiver_configs": [
                    {"name": "ssrf", "type": kind, "settings": {"url": url}}
                ],
            }
        ]
    }


async def test_webhook_and_slack_contact_points_never_connect_to_a_blocked_address(
    make_replica: AppFactory, sqlite_url: str, listeners: tuple[Listener, Listener]
) -> None:
    ok, blocked = listeners
    rep = await make_replica(sqlite_url, **EXTRA)
    path = "/api/alertmanager/grafana/config/api/v1/receivers/test"
    r = await rep.client.post(path, json=_receiver_test("webhook", ok.url + "/hook"), headers=ADMIN_AUTH)
    assert r.status_code == 200 and ok.connections >= 1, r.text
    for kind in ("webhook", "slack"):
        r = await rep.client.post(path, json=_receiver_test(kind, blocked.url + "/hook"), headers=ADMIN_AUTH)
        item = r.json()["receivers"][0]["grafana_managed_receiver_configs"][0]
        assert item["status"] == "failed" and "refused" in item["error"], r.text
    assert blocked.connections == 0
    for url in METADATA_URLS:
        for kind in ("webhook", "slack"):
            r = await rep.client.post(path, json=_receiver_test(kind, url), headers=ADMIN_AUTH)
            item = r.json()["receivers"][0]["grafana_managed_receiver_configs"][0]
            assert item["status"] == "failed" and refused(item["error"]), (kind, url, r.text)


async def test_a_refused_webhook_is_a_permanent_failure_not_retried(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    from vigil.alerting.notifier import DeliveryError, Integration
    from vigil.alerting.notifier import webhook as hook

    rep = await make_replica(sqlite_url)
    ctx = rep.services.alerting.send_context("n1")
    integ = Integration("u", 1, "r", "webhook", {"url": "http://169.254.169.254/hook"})
    data = {
        "receiver": "r",
        "status": "firing",
        "orgId": 1,
        "alerts": [],
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://vigil.test/",
        "groupKey": "{}:{}",
    }
    with pytest.raises(DeliveryError) as caught:
        await hook.send(integ, data, ctx)
    assert caught.value.permanent and "refused" in str(caught.value)
