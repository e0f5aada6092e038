"""Stored XSS, checked in a real browser (Debian's Chromium) against a real ``vigil server``.

Script is planted, through the API, everywhere a user can store text that the UI shows: dashboard
title, tags and description, folder title, panel titles and descriptions, text panels (markdown and
HTML), series names and table cells fed by variables, variable options and values (also from the
URL), annotations, alert rule titles, labels and annotations, data source, contact point, user,
team and service account names. Then every page that shows them is opened, hovered and clicked
through. Each payload tries three things: run script (``window.__xss``), open a dialog, and inject
an element (``<xss-probe>``, which no sanitiser keeps). None may happen; the planted text must be
shown literally where it is a title.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.ui_harness import ADMIN_PW, Vigil, chromium, missing, wait_true
from vigil.web import STATIC_DIR

pytestmark = pytest.mark.slow


def payload(n: int) -> str:
    return (
        f'"><img src=x onerror="window.__xss={n}"><svg onload="window.__xss={n}"></svg>'
        f"<script>window.__xss={n}</script><xss-probe>{n}</xss-probe>"
    )


def plain(n: int) -> str:
    """For places that cannot hold double quotes (a CSV cell): no quotes, same three tries."""
    return f"<img src=x onerror=window.__xss={n}><script>window.__xss={n}</script><xss-probe>{n}</xss-probe>"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (STATIC_DIR / "index.html").exists():
        missing("WEB UI NOT BUILT: run `make build` (make test does it first)")
    vigil = Vigil(tmp_path_factory.mktemp("xss"))
    try:
        yield _plant(vigil)
    finally:
        vigil.stop()


def _plant(vigil: Vigil) -> dict[str, Any]:
    td = vigil.call("POST", "/api/datasources", {"name": "TestData", "uid": "testdata", "type": "testdata"})
    assert td["datasource"]["uid"] == "testdata"
    vigil.call("POST", "/api/datasources", {"name": payload(1), "uid": "evil-ds", "type": "testdata"})
    folder = vigil.call("POST", "/api/folders", {"uid": "xss-folder", "title": payload(2)})
    ds = {"type": "grafana-testdata-datasource", "uid": "testdata"}
    dash = {
        "uid": "xss",
        "title": payload(3),
        "description": payload(4),
        "tags": [payload(5)],
        "links": [{"title": payload(6), "type": "link", "url": "javascript:window.__xss=6"}],
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {"name": "v", "type": "textbox", "query": payload(7), "label": payload(8)},
                {
                    "name": "c",
                    "type": "custom",
                    "query": f"safe,{plain(9)}",
                    "current": {"text": plain(9), "value": plain(9)},
                    "options": [],
                    "multi": True,
                    "includeAll": True,
                },
            ]
        },
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": payload(10),
                "description": payload(11),
                "datasource": ds,
                "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                "links": [{"title": payload(12), "url": "javascript:window.__xss=12"}],
                "targets": [{"refId": "A", "datasource": ds, "scenarioId": "random_walk", "alias": "$v"}],
            },
            {
                "id": 2,
                "type": "table",
                "title": payload(13),
                "datasource": ds,
                "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
                "targets": [
                    {
                        "refId": "A",
                        "datasource": ds,
                        "scenarioId": "csv_content",
                        "csvContent": f"name,value\n{plain(14)},1\n$c,2",
                    }
                ],
            },
            {
                "id": 3,
                "type": "stat",
                "title": payload(15),
                "datasource": ds,
                "gridPos": {"x": 0, "y": 8, "w": 6, "h": 6},
                "targets": [
                    {"refId": "A", "datasource": ds, "scenarioId": "random_walk", "alias": plain(16)}
                ],
                "options": {"textMode": "value_and_name"},
            },
            {
                "id": 4,
                "type": "text",
                "title": "html",
                "gridPos": {"x": 6, "y": 8, "w": 9, "h": 6},
                "options": {"mode": "html", "content": payload(17) + "<p>value: $v</p>"},
            },
            {
                "id": 5,
                "type": "text",
                "title": "markdown",
                "gridPos": {"x": 15, "y": 8, "w": 9, "h": 6},
                "options": {
                    "mode": "markdown",
                    "content": payload(18) + "\n\n[link](javascript:window.__xss=18)\n\nvalue: $v",
                },
            },
            {
                "id": 6,
                "type": "gauge",
                "title": payload(19),
                "datasource": ds,
                "gridPos": {"x": 0, "y": 14, "w": 6, "h": 6},
                "targets": [{"refId": "A", "datasource": ds, "scenarioId": "random_walk", "alias": "$v"}],
            },
            {
                "id": 7,
                "type": "bargauge",
                "title": payload(20),
                "datasource": ds,
                "gridPos": {"x": 6, "y": 14, "w": 6, "h": 6},
                "targets": [
                    {"refId": "A", "datasource": ds, "scenarioId": "random_walk", "alias": plain(21)}
                ],
            },
        ],
        "schemaVersion": 41,
    }
    vigil.call(
        "POST", "/api/dashboards/db", {"dashboard": dash, "folderUid": "xss-folder", "overwrite": True}
    )
    now = time.time() * 1000
    for n, extra in ((22, {"dashboardUID": "xss", "panelId": 1}), (24, {})):
        vigil.call(
            "POST",
            "/api/annotations",
            {"time": int(now - 600_000), "text": payload(n), "tags": [payload(n + 1)], **extra},
        )
    rule = {
        "title": plain(26),
        "ruleGroup": "xss-group",
        "folderUID": "xss-folder",
        "condition": "B",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 600, "to": 0},
                "datasourceUid": "testdata",
                "model": {"scenarioId": "random_walk"},
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {"type": "reduce", "expression": "A", "reducer": "last"},
            },
        ],
        "noDataState": "NoData",
        "execErrState": "Error",
        "for": "0s",
        "labels": {"team": payload(27)},
        "annotations": {
            "summary": payload(28),
            "description": payload(29),
            "runbook_url": "javascript:window.__xss=30",
        },
    }
    r = vigil.api.post(
        "/api/v1/provisioning/alert-rules", json=rule, headers={"X-Disable-Provenance": "true"}
    )
    assert r.status_code in (200, 201), r.text
    rule_uid = r.json()["uid"]
    r = vigil.api.post(
        "/api/v1/provisioning/contact-points",
        json={"name": plain(31), "type": "webhook", "settings": {"url": "http://127.0.0.1:9/hook"}},
        headers={"X-Disable-Provenance": "true"},
    )
    assert r.status_code in (200, 202), r.text
    vigil.call(
        "POST",
        "/api/admin/users",
        {"name": payload(32), "login": "xss-user", "email": "xss@example.com", "password": "xss-user-pw-1"},
    )
    vigil.call("POST", "/api/teams", {"name": payload(33)})
    vigil.call("POST", "/api/serviceaccounts", {"name": plain(34), "role": "Viewer"})
    vigil.call("POST", "/api/user/stars/dashboard/uid/xss")
    return {"vigil": vigil, "folder": folder, "rule_uid": rule_uid, "dashboard": dash}


class Watch:
    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, msg: Any) -> None:
        # Chromium reports Content-Security-Policy blocks even for inert documents a sanitiser
        # parses: the assertions below check that nothing ran or was injected; resource 404s
        # (the payloads' src=x) are expected
        text = msg.text
        if (
            msg.type == "error"
            and "Failed to load resource" not in text
            and "Content Security Policy" not in text
        ):
            self.errors.append(f"console: {text}")


def _check(page: Any, where: str) -> None:
    assert page.evaluate("window.__xss") is None, f"script ran on {where}: {page.evaluate('window.__xss')}"
    assert page.locator("xss-probe").count() == 0, f"markup injected on {where}"
    handlers = page.evaluate(
        "() => Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
        ".some(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value)))"
        ".map(e => e.outerHTML.slice(0, 120))"
    )
    assert handlers == [], f"event handlers or javascript: URLs in the DOM of {where}: {handlers}"


def _visit(page: Any, url: str, ready: str, where: str) -> None:
    page.goto(url)
    page.wait_for_selector(ready, timeout=20000)
    page.wait_for_timeout(600)
    _check(page, where)


def _hover_and_click_everything(page: Any, where: str) -> None:
    for selector in (".panel-title", ".panel canvas", ".u-over", "td", ".tag", ".state-badge"):
        for el in page.locator(selector).all()[:12]:
            try:
                el.hover(timeout=2000)
                page.wait_for_timeout(50)
            except Exception:  # an element scrolled away or hidden: nothing to hover
                pass
    for link in page.locator("main a").all()[:40]:
        href = link.get_attribute("href") or ""
        assert not href.strip().lower().startswith("javascript"), (where, href)
    _check(page, where + " after hovering")


def test_planted_script_never_runs_on_any_page(planted: dict[str, Any]) -> None:
    vigil: Vigil = planted["vigil"]
    base = vigil.url
    with chromium() as browser:
        ctx = browser.new_context(viewport={"width": 1600, "height": 1100})
        page = ctx.new_page()
        watch = Watch(page)
        try:
            page.goto(base + "/login")
            page.fill("input[name=user]", "admin")
            page.fill("input[name=password]", ADMIN_PW)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/login" not in u, timeout=15000)
            evil_var = quote(payload(40), safe="")
            _visit(
                page,
                f"{base}/d/xss/x?var-v={evil_var}&var-c={quote(plain(41), safe='')}",
                ".panel",
                "dashboard",
            )
            wait_true(page, "() => document.querySelectorAll('.panel[data-loaded=\"false\"]').length === 0")
            assert page.locator(".dash-title h1").inner_text() == payload(3)
            titles = page.locator(".panel-title").all_inner_texts()
            assert payload(10) in titles and payload(13) in titles, titles
            text = page.locator("main").inner_text()
            for expected in (payload(40), plain(14), plain(16), payload(8)):  # legend, cell, stat, label
                assert expected in text, (expected, text[:600])
            _hover_and_click_everything(page, "dashboard")
            # open every variable picker: options hold planted values
            pickers = page.locator(".var-picker .var-btn")
            assert pickers.count() >= 1
            for i in range(pickers.count()):
                pickers.nth(i).click()
                page.wait_for_timeout(300)
                _check(page, f"dashboard with variable picker {i} open")
                pickers.nth(i).click()
                page.wait_for_timeout(100)
            _check(page, "dashboard with variable pickers opened")
            page.screenshot(path=str(vigil.process.log.parent / "xss-dashboard.png"), full_page=True)
            _visit(page, f"{base}/d/xss/x?editPanel=1", ".panel", "panel editor")
            # each page, and the planted text it must show as text (proof it was rendered)
            for path, ready, shown in [
                ("/", "main.content", []),
                ("/dashboards", "main.content h1", [payload(2), payload(3)]),
                ("/dashboards/f/xss-folder/", "main.content h1", []),
                ("/alerting/list", ".rule-list", [plain(26), payload(2)]),
                (f"/alerting/{planted['rule_uid']}/edit", "main.content", []),
                ("/alerting/notifications", "main.content h1", [plain(31)]),
                ("/alerting/routes", "main.content h1", []),
                ("/connections/datasources", "main.content h1", [payload(1)]),
                ("/connections/datasources/edit/evil-ds", "main.content h1", []),
                ("/admin/users", "main.content h1", [payload(32)]),
                ("/org/teams", "main.content h1", [payload(33)]),
                ("/org/serviceaccounts", "main.content h1", [plain(34)]),
                ("/profile", "main.content h1", []),
                ("/d/xss/x/settings", "main.content", []),
            ]:
                _visit(page, base + path, ready, path)
                if shown:
                    wait_true(page, "t => document.querySelector('main').innerText.includes(t)", 15, shown[0])
                text = page.locator("main").inner_text()
                for expected in shown:
                    assert expected in text, (path, expected, text[:400])
                _hover_and_click_everything(page, path)
            # the rule editor shows the planted labels and annotations as field values
            page.goto(f"{base}/alerting/{planted['rule_uid']}/edit")
            page.wait_for_selector("main.content input")
            page.wait_for_timeout(800)
            values = page.eval_on_selector_all("main input, main textarea", "els => els.map(e => e.value)")
            for expected in (plain(26), payload(27), payload(29), "javascript:window.__xss=30"):
                assert expected in values, (expected, values)
            _check(page, "listings")
        finally:
            ctx.close()
    assert not watch.dialogs, watch.dialogs
    assert not watch.errors, watch.errors


def test_the_api_returns_planted_text_unchanged_as_json(planted: dict[str, Any]) -> None:
    """The server stores and returns text as it was given (escaping is the UI's job) and never as
    HTML: every JSON answer is served as application/json with nosniff."""
    vigil: Vigil = planted["vigil"]
    r = vigil.api.get("/api/dashboards/uid/xss")
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json()["dashboard"]["title"] == payload(3)
    assert json.loads(r.text)["dashboard"]["panels"][0]["title"] == payload(10)
    r = vigil.api.get("/api/search", params={"query": "xss-probe"})
    assert r.headers["content-type"].startswith("application/json")


EVIL_REDIRECTS = [
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example/",
    "/\t/evil.example/",
    "/%2F/evil.example/",
    "javascript:window.__xss=99",
    "data:text/html,<script>window.__xss=98</script>",
]


def test_the_login_page_never_redirects_off_the_site(planted: dict[str, Any]) -> None:
    base = planted["vigil"].url
    with chromium() as browser:
        for target in [*EVIL_REDIRECTS, "/dashboards?x=1"]:
            ctx = browser.new_context()
            page = ctx.new_page()
            watch = Watch(page)
            try:
                page.goto(f"{base}/login?redirectTo={quote(target, safe='')}")
                page.fill("input[name=user]", "admin")
                page.fill("input[name=password]", ADMIN_PW)
                page.click("button[type=submit]")
                page.wait_for_url(lambda u: "/login" not in u, timeout=15000)
                page.wait_for_timeout(300)
                assert page.url.startswith(base + "/"), (target, page.url)
                if target.startswith("/dashboards"):
                    assert page.url == base + target
                assert page.evaluate("window.__xss") is None
            finally:
                ctx.close()
            assert not watch.dialogs and not watch.errors, (target, watch.dialogs, watch.errors)
