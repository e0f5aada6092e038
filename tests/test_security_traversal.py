"""Path traversal (Grafana's CVE-2021-43798 was ``/public/plugins/<id>/../../../../etc/passwd``) on
every static, plugin-like, page and proxy route, over a real socket to a real ``vigil server``.

Requests are written byte for byte on a raw socket: HTTP clients normalise ``..`` and encodings away,
an attacker's client does not. Each payload — raw, percent-encoded, double-encoded, backslashed,
overlong UTF-8, NUL — must never return a file from outside the static folder: not /etc/passwd, not
the packaged defaults.ini, not Vigil's own SQLite database, not /proc/self/environ (which holds the
secret key). Page routes may answer the single-page app's index.html, and nothing else. SQLite.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.conftest import ADMIN, SECRET
from tests.server_proc import ServerProcess, stop_all

pytestmark = pytest.mark.slow

TARGETS = ["etc/passwd", "proc/self/environ", "defaults.ini", "vigil.db", "web/__init__.py"]
DEPTH = 12


def payloads(target: str) -> list[str]:
    up = "../" * DEPTH
    enc_target = target.replace("/", "%2f")
    return [
        up + target,
        "..%2f" * DEPTH + enc_target,
        "..%2F" * DEPTH + target,
        "%2e%2e/" * DEPTH + target,
        "%2e%2e%2f" * DEPTH + enc_target,
        "%2E%2E%2F" * DEPTH + target,
        ".%2e/" * DEPTH + target,
        "%252e%252e%252f" * DEPTH + target.replace("/", "%252f"),  # double-encoded
        "..%252f" * DEPTH + target,
        "%25%32%65%25%32%65%25%32%66" * DEPTH + target,  # double-encoded, every character
        "..\\" * DEPTH + target.replace("/", "\\"),
        "..%5c" * DEPTH + target,
        "%c0%ae%c0%ae/" * DEPTH + target,  # overlong UTF-8 dots
        "%c0%ae%c0%ae%c0%af" * DEPTH + target,
        "....//" * DEPTH + target,
        "..;/" * DEPTH + target,
        "/" + target,
        "%2f" + enc_target,
        "assets/" + up + target,
        "assets/%2e%2e/%2e%2e/" + up + target,
        "index.html%00/" + up + target,
        "." + "/" + up + target,
        up + target + "%00.js",
    ]


PREFIXES = [
    "/public/",
    "/public/plugins/alertlist/",  # the CVE's route shape
    "/public/plugins/welcome/",
    "/public/app/plugins/datasource/prometheus/",
    "/public/build/",
    "/public/assets/",
    "/",
    "/d/",
    "/dashboards/",
    "/dashboards/f/",
    "/connections/",
    "/alerting/",
    "/admin/",
    "/org/",
    "/login/",
    "/api/",
    "/api/plugins/",
    "/avatar/",
]


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


def raw_get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    auth = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(request)
        chunks = []
        while True:
            got = s.recv(65536)
            if not got:
                break
            chunks.append(got)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp = tmp_path_factory.mktemp("traversal")
    echo = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    proc = ServerProcess(
        "traversal",
        f"sqlite:///{tmp / 'vigil.db'}",
        tmp,
        SERVER_ROUTER_LOGGING="false",
        LOG_LEVEL="warning",
    )
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.returncode() is None, proc.output()[-3000:]
            try:
                if httpx.get(proc.base_url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, proc.output()[-3000:]
            time.sleep(0.2)
        r = httpx.post(
            proc.base_url + "/api/datasources",
            auth=ADMIN,
            json={
                "name": "up",
                "uid": "up",
                "type": "prometheus",
                "url": f"http://127.0.0.1:{echo.server_address[1]}/base",
            },
        )
        assert r.status_code == 200, r.text
        index = httpx.get(proc.base_url + "/login").content
        yield proc, index.decode("utf-8", "replace")
    finally:
        stop_all([proc])
        echo.shutdown()
        echo.server_close()


FORBIDDEN_CONTENT = [
    "root:x:0:0",  # /etc/passwd
    SECRET,  # /proc/self/environ, the test's secret key
    "VIGIL_",
    "secret_key",  # defaults.ini
    "SQLite format 3",
    "STATIC_DIR",  # web/__init__.py
]


def _assert_safe(status: int, body: bytes, index: str, what: str) -> None:
    text = body.decode("latin-1")
    for needle in FORBIDDEN_CONTENT:
        assert needle not in text, f"{what} -> {status} leaked {needle!r}"
    if status == 200:
        # only a page route may answer, and only with the single-page app itself
        assert body.decode("utf-8", "replace") == index, f"{what} -> 200 with something else: {text[:200]}"
    else:
        assert status in (400, 401, 403, 404, 405), f"{what} -> {status}: {text[:200]}"


def test_traversal_payloads_on_static_plugin_and_page_routes_never_leave_the_static_folder(
    server: tuple[ServerProcess, str],
) -> None:
    proc, index = server
    tried = 0
    for prefix in PREFIXES:
        for target in TARGETS:
            for payload in payloads(target):
                path = prefix + payload
                status, body = raw_get(proc.port, path)
                _assert_safe(status, body, index, path)
                tried += 1
    for path in ("/public/" + "../" * DEPTH + "etc/passwd", "/public/..%2f..%2f..%2fdefaults.ini"):
        status, body = raw_get(proc.port, path, "HEAD")
        assert status in (400, 404) and body == b"", path
    assert tried > 2000
    assert httpx.get(proc.base_url + "/api/health").status_code == 200
    assert not proc.problems(), proc.problems()


def test_the_data_source_proxy_never_leaves_the_data_source_url(server: tuple[ServerProcess, str]) -> None:
    proc, _ = server
    for base in ("/api/datasources/proxy/uid/up/", "/api/datasources/proxy/1/"):
        for target in ("etc/passwd", "admin/secret"):
            for payload in payloads(target):
                status, body = raw_get(proc.port, base + payload)
                once = unquote(payload)
                dotted = any(seg in (".", "..") for seg in once.replace("\\", "/").split("/"))
                if dotted or "\\" in once or "\x00" in once:
                    # a dot segment, backslash or NUL after one decoding: refused, nothing forwarded
                    assert status == 400 and b"invalid proxy path" in body, (payload, status, body[:200])
                elif status == 200:
                    seen = json.loads(body)["path"]
                    # the upstream got a path under /base whose decoding has no dot segment
                    assert seen.startswith("/base/"), (payload, seen)
                    segments = unquote(seen.split("?")[0]).split("/")
                    assert ".." not in segments and "." not in segments, (payload, seen)
                else:
                    assert status in (400, 404), (payload, status, body[:200])
    assert not proc.problems(), proc.problems()


def test_a_built_asset_is_still_served_over_the_socket(server: tuple[ServerProcess, str]) -> None:
    proc, index = server
    from vigil.web import STATIC_DIR

    if not (STATIC_DIR / "index.html").exists():
        pytest.skip("the web UI is not built (make build)")
    asset = index.split('src="/public/assets/')[1].split('"')[0]
    status, body = raw_get(proc.port, "/public/assets/" + asset)
    assert status == 200 and body == (Path(STATIC_DIR) / "assets" / asset).read_bytes()
