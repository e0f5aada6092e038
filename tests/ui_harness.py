"""A real `vigil server` process, a real Prometheus with node exporter, Debian's Chromium.

Shared by the browser tests. Nothing here downloads a browser: Playwright drives the Chromium at
/usr/bin/chromium. Missing pieces skip the tests loudly (fail under CI=true).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, SHARED

CHROMIUM = os.environ.get("VIGIL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PW = "admin-pw"
ARTIFACTS = Path(
    os.environ.get("VIGIL_UI_ARTIFACTS", Path(__file__).resolve().parents[1] / "build" / "ui-artifacts")
)
FIXTURES = SHARED / "fixtures" / "dashboards"


def missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    print(f"\n*** {reason} ***", file=sys.stderr)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0, ok: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code in ok:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up: {last}")


class Process:
    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT, env=env)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()


class Vigil:
    """One `vigil server` on SQLite with an admin and an API client."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "vigil"
        env = {
            **os.environ,
            "VIGIL_SECURITY_ADMIN_PASSWORD": ADMIN_PW,
            "VIGIL_SECURITY_SECRET_KEY": "ui-test-secret-0123456789",
            "VIGIL_SECURITY_DISABLE_BRUTE_FORCE_LOGIN_PROTECTION": "true",
            "VIGIL_SERVER_ROUTER_LOGGING": "false",
            "VIGIL_ALERTING_MIN_INTERVAL": "1s",
        }
        self.process = Process(
            [
                str(exe),
                "server",
                "--http-addr",
                "127.0.0.1",
                "--http-port",
                str(self.port),
                "--data",
                str(tmp),
                "--database-url",
                f"sqlite:///{tmp / 'vigil.db'}",
                "--instance-name",
                "ui-test",
            ],
            tmp / "vigil.log",
            env,
        )
        wait_http(self.url + "/api/health")
        self.api = httpx.Client(base_url=self.url, auth=("admin", ADMIN_PW), timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        r = self.api.request(method, path, json=body)
        if r.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def stop(self) -> None:
        self.api.close()
        self.process.stop()


class Prometheus:
    """A real Prometheus scraping a real node exporter, Vigil and itself every second."""

    def __init__(self, tmp: Path, vigil_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[Process] = []
        targets: dict[str, str] = {"prometheus": f"127.0.0.1:{self.port}", "vigil": f"127.0.0.1:{vigil_port}"}
        exporter = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
        if exporter:
            ne_port = free_port()
            self.processes.append(
                Process([exporter, f"--web.listen-address=127.0.0.1:{ne_port}"], tmp / "node-exporter.log")
            )
            targets["node"] = f"127.0.0.1:{ne_port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [t]}]} for job, t in targets.items()
            ],
        }
        (tmp / "prometheus.yml").write_text(json.dumps(config))
        self.processes.append(
            Process(
                [
                    shutil.which("prometheus") or "prometheus",
                    f"--config.file={tmp / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                tmp / "prometheus.log",
            )
        )
        wait_http(self.url + "/-/ready")
        # a few scrapes so that label values and rates exist
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = httpx.get(self.url + "/api/v1/query", params={"query": "count(up == 1)"}, timeout=5).json()
            if r["data"]["result"] and int(float(r["data"]["result"][0]["value"][1])) >= len(targets):
                break
            time.sleep(0.5)
        time.sleep(3)

    def stop(self) -> None:
        for p in reversed(self.processes):
            p.stop()


def import_fixture(vigil: Vigil, path: Path, datasources: dict[str, str]) -> dict[str, Any]:
    """Import a fixture the way the UI does: `__inputs` mapped to our data sources, then saved."""
    raw = path.read_text()
    dash = json.loads(raw)
    for inp in dash.get("__inputs", []):
        if inp.get("type") == "datasource":
            value = datasources.get(inp.get("pluginId", ""), datasources["testdata"])
        else:
            value = str(inp.get("value", ""))
        raw = raw.replace("${" + inp["name"] + "}", value)
    dash = json.loads(raw)
    dash.pop("__inputs", None)
    dash["id"] = None
    if not dash.get("uid"):
        dash["uid"] = "fx-" + path.stem.split("__")[-1][:30].replace("_", "-")
        dash["title"] = f"{dash.get('title', 'Dashboard')} ({path.stem[-7:]})"
    res = vigil.call(
        "POST", "/api/dashboards/db", {"dashboard": dash, "overwrite": True, "message": "fixture"}
    )
    return {"uid": res["uid"], "url": res["url"], "dashboard": dash}


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"CHROMIUM MISSING at {CHROMIUM}: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("PLAYWRIGHT MISSING: pip install playwright (the Python package; no browser download)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# -- browser helpers shared by the UI test modules ------------------------------------------------


def login(page: Any, base: str, user: str = "admin", password: str = ADMIN_PW) -> None:
    page.goto(base + "/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=15000)


class Watch:
    """JavaScript errors and server errors seen by a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.failed_requests: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, msg: Any) -> None:
        # a query answering 400 is logged by Chromium as a resource error: it is data, shown on
        # the panel, and checked separately; anything else logged as an error is a UI bug
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            self.errors.append(f"console: {msg.text}")

    def _response(self, resp: Any) -> None:
        if resp.status >= 500:
            self.failed_requests.append(f"{resp.status} {resp.url}")


def new_page(
    browser: Any, auth_state: dict[str, Any], theme: str = "dark", **kw: Any
) -> tuple[Any, Any, Watch]:
    ctx = browser.new_context(storage_state=auth_state, viewport={"width": 1600, "height": 1000}, **kw)
    ctx.add_init_script(f"try {{ localStorage.setItem('vigil.theme', '{theme}') }} catch (e) {{}}")
    page = ctx.new_page()
    return ctx, page, Watch(page)


def wait_true(page: Any, expression: str, timeout_s: float = 30, arg: Any = None) -> None:
    """Poll a page expression (a function called with ``arg``) from Python: Playwright's in-page
    wait_for_function polls through eval, which the server's Content-Security-Policy
    (script-src 'self') rightly refuses."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(100)
