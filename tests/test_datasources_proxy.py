"""The data-source proxy against a real HTTP server on loopback that echoes what it receives:
credentials injected, Vigil's cookies and Authorization stripped, no escape from the configured URL
(dot segments, encoded slashes, redirects to another origin), Viewers read but do not change. SQLite."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import ADMIN_AUTH, Replica, basic
from tests.prom_support import free_port, module_replica

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path.startswith("/base/redir-out"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:9/stolen")
            self.end_headers()
            return
        if self.path.startswith("/base/redir-in"):
            self.send_response(302)
            self.send_header("Location", "/base/landed")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        ).encode()
        self.send_response(418 if self.path.startswith("/base/teapot") else 200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Set-Cookie", "upstream=1; Path=/")
        self.send_header("X-Upstream", "yes")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rep(echo: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replica]:
    async with module_replica(tmp_path_factory.mktemp("vigil-proxy")) as replica:
        await _populate(replica, echo)
        yield replica


async def _populate(sqlite_replica: Replica, echo: str) -> None:
    body = {
        "name": "up",
        "uid": "up",
        "type": "prometheus",
        "url": f"{echo}/base",
        "basicAuth": True,
        "basicAuthUser": "svc",
        "secureJsonData": {"basicAuthPassword": "pw", "httpHeaderValue1": "tenant-7"},
        "jsonData": {"httpHeaderName1": "X-Scope-OrgID"},
    }
    assert (
        await sqlite_replica.client.post("/api/datasources", json=body, headers=ADMIN_AUTH)
    ).status_code == 200
    ids = sqlite_replica.services.identities
    await ids.create_user(login="vera", password="vera-pw", role="Viewer")
    await ids.create_user(login="ed", password="ed-pw", role="Editor")


async def test_credentials_are_injected_and_vigils_are_stripped(rep: Replica) -> None:
    r = await rep.client.get(
        "/api/datasources/proxy/uid/up/api/v1/labels?match[]=up&start=1",
        headers={
            **ADMIN_AUTH,
            "Cookie": "vigil_session=abc; other=1",
            "X-Grafana-Org-Id": "1",
            "Accept": "application/json",
        },
    )
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["method"] == "GET" and seen["path"] == "/base/api/v1/labels?match[]=up&start=1"
    headers = seen["headers"]
    assert headers["authorization"] == "Basic c3ZjOnB3"  # svc:pw, not the caller's admin credentials
    assert headers["x-scope-orgid"] == "tenant-7" and headers["accept"] == "application/json"
    assert "cookie" not in headers and "x-grafana-org-id" not in headers
    assert r.headers["x-upstream"] == "yes" and "set-cookie" not in r.headers
    # By id, with a body and the upstream's status relayed.
    ds_id = (await rep.client.get("/api/datasources/uid/up", headers=ADMIN_AUTH)).json()["id"]
    r = await rep.client.post(f"/api/datasources/proxy/{ds_id}/teapot", content=b"a=1", headers=ADMIN_AUTH)
    assert r.status_code == 418 and r.json()["body"] == "a=1" and r.json()["method"] == "POST"


async def test_escapes_from_the_configured_url_are_refused(rep: Replica) -> None:
    for path in ("%2e%2e/secret", "api/%2Fetc", "a%5cb", "%2E%2E%2Fx", "api/v1/%00"):
        r = await rep.client.get(f"/api/datasources/proxy/uid/up/{path}", headers=ADMIN_AUTH)
        assert r.status_code == 400 and r.json()["message"].startswith("invalid proxy path"), path
    r = await rep.client.get("/api/datasources/proxy/uid/up/redir-out", headers=ADMIN_AUTH)
    assert r.status_code == 502 and "redirected outside" in r.json()["message"]
    r = await rep.client.get("/api/datasources/proxy/uid/up/redir-in", headers=ADMIN_AUTH)
    assert r.status_code == 302 and r.headers["location"] == "/base/landed"


async def test_viewers_read_but_do_not_change(rep: Replica) -> None:
    c = rep.client
    viewer, editor = basic("vera", "vera-pw"), basic("ed", "ed-pw")
    assert (await c.get("/api/datasources/proxy/uid/up/api/v1/labels", headers=viewer)).status_code == 200
    r = await c.post("/api/datasources/proxy/uid/up/api/v1/query", data={"query": "up"}, headers=viewer)
    assert r.status_code == 200 and r.json()["body"] == "query=up"
    for method, path in (
        ("POST", "api/v1/admin/tsdb/delete_series"),
        ("DELETE", "api/v1/series"),
        ("PUT", "x"),
    ):
        r = await c.request(method, f"/api/datasources/proxy/uid/up/{path}", headers=viewer)
        assert r.status_code == 403 and "Viewers may only read" in r.json()["message"], path
    r = await c.post("/api/datasources/proxy/uid/up/api/v1/admin/tsdb/delete_series", headers=editor)
    assert r.status_code == 200
    assert (await c.get("/api/datasources/proxy/uid/up/api/v1/labels")).status_code == 401


async def test_missing_and_non_http_data_sources(rep: Replica) -> None:
    r = await rep.client.get("/api/datasources/proxy/uid/nope/x", headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == {"message": "Data source not found"}
    await rep.client.post(
        "/api/datasources", json={"name": "t", "uid": "t", "type": "testdata"}, headers=ADMIN_AUTH
    )
    r = await rep.client.get("/api/datasources/proxy/uid/t/x", headers=ADMIN_AUTH)
    assert r.status_code == 400 and "cannot be reached through the proxy" in r.json()["message"]
    await rep.client.post(
        "/api/datasources",
        json={"name": "d", "uid": "d", "type": "prometheus", "url": "http://127.0.0.1:1"},
        headers=ADMIN_AUTH,
    )
    r = await rep.client.get("/api/datasources/proxy/uid/d/x", headers=ADMIN_AUTH)
    assert r.status_code == 502 and r.json()["message"].startswith("cannot reach the data source")


@pytest.fixture(scope="module")
def tls_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The echo server over TLS, with a certificate from a private CA, demanding a client certificate."""
    import ssl

    from tests.tls_support import make_pki

    ca, server_pem, client = make_pki()
    d = tmp_path_factory.mktemp("tls")
    (d / "s.pem").write_text(server_pem.cert)
    (d / "s.key").write_text(server_pem.key)
    (d / "ca.pem").write_text(ca.cert)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(d / "s.pem"), str(d / "s.key"))
    ctx.load_verify_locations(str(d / "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Echo)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda *_a: None  # type: ignore[method-assign]  # refused handshakes are expected
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{port}", (ca, client)
    server.shutdown()
    server.server_close()


async def test_tls_options_ca_certificate_client_certificate_and_skip_verify(
    rep: Replica, tls_echo: tuple[str, Any]
) -> None:
    url, (ca, client) = tls_echo
    variants = {
        "plain": ({}, {}, 502),
        "skip-no-client": ({"tlsSkipVerify": True}, {}, 502),
        "ca-and-client": (
            {"tlsAuthWithCACert": True, "tlsAuth": True},
            {"tlsCACert": ca.cert, "tlsClientCert": client.cert, "tlsClientKey": client.key},
            200,
        ),
        "skip-and-client": (
            {"tlsSkipVerify": True, "tlsAuth": True},
            {"tlsClientCert": client.cert, "tlsClientKey": client.key},
            200,
        ),
    }
    for name, (json_data, secure, status) in variants.items():
        body = {
            "name": f"tls-{name}",
            "uid": f"tls-{name}",
            "type": "prometheus",
            "url": url,
            "jsonData": json_data,
            "secureJsonData": secure,
        }
        assert (await rep.client.post("/api/datasources", json=body, headers=ADMIN_AUTH)).status_code == 200
        r = await rep.client.get(f"/api/datasources/proxy/uid/tls-{name}/base/x", headers=ADMIN_AUTH)
        assert r.status_code == status, (name, r.text)
        if status == 200:
            assert r.json()["path"] == "/base/x"
