"""The web UI in a real browser (Debian's Chromium, headless) against a real `vigil server`.

Fixture dashboards are imported through the API and opened like an operator would: every panel of
a supported type must draw something, unsupported ones show the placeholder, no JavaScript error.
Screenshots of every page land in build/ui-artifacts/ (VIGIL_UI_ARTIFACTS) for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui_harness import (
    ADMIN_PW,
    ARTIFACTS,
    FIXTURES,
    Prometheus,
    Vigil,
    Watch,
    import_fixture,
    missing,
    new_page,
    wait_true,
)
from vigil.web import STATIC_DIR

pytestmark = pytest.mark.slow

SUPPORTED = {
    "timeseries",
    "graph",
    "stat",
    "singlestat",
    "gauge",
    "bargauge",
    "table",
    "table-old",
    "text",
    "heatmap",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (STATIC_DIR / "index.html").exists():
        missing("WEB UI NOT BUILT: run `make build` (make test does it first)")
    tmp = tmp_path_factory.mktemp("ui")
    vigil = Vigil(tmp)
    prom: Prometheus | None = None
    try:
        ds: dict[str, str] = {}
        td = vigil.call(
            "POST",
            "/api/datasources",
            {"name": "TestData", "type": "grafana-testdata-datasource", "isDefault": True},
        )
        ds["testdata"] = td["datasource"]["uid"]
        # the name the Grafana devenv dashboards use
        vigil.call("POST", "/api/datasources", {"name": "gdev-testdata", "type": "testdata"})
        if shutil.which("prometheus"):
            prom = Prometheus(tmp, vigil.port)
            p = vigil.call(
                "POST",
                "/api/datasources",
                {
                    "name": "Prometheus",
                    "uid": "prometheus",  # the uid fake-logs refers to; the others use variables
                    "type": "prometheus",
                    "url": prom.url,
                    "jsonData": {"timeInterval": "1s"},
                },
            )
            ds["prometheus"] = p["datasource"]["uid"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield {"vigil": vigil, "prometheus": prom, "ds": ds, "tmp": tmp}
    finally:
        if prom:
            prom.stop()
        vigil.stop()


def expand_all_rows(page: Any) -> None:
    """One row by a click on its title, then the rest by Grafana's shortcut "d shift+e"."""
    collapsed = page.locator(".grid-row.collapsed .row-toggle")
    if collapsed.count() == 0:
        return
    before = page.locator(".panel").count()
    collapsed.first.click()
    wait_true(page, f"document.querySelectorAll('.panel').length > {before}")
    page.keyboard.press("d")
    page.keyboard.press("Shift+E")
    wait_true(page, "document.querySelectorAll('.grid-row.collapsed').length === 0")


def scroll_through(page: Any) -> None:
    """Bring every panel into view once (panels query lazily, like Grafana's)."""
    page.evaluate(
        "async () => { const frame = () =>"
        " new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));"
        " for (let y = 0; y < document.documentElement.scrollHeight; y += 700) {"
        " window.scrollTo(0, y); await frame(); } }"
    )


def wait_all_loaded(page: Any, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pending = page.evaluate("document.querySelectorAll('.panel[data-loaded=\"false\"]').length")
        if pending == 0:
            return
        scroll_through(page)
        page.wait_for_timeout(150)
    raise AssertionError(f"{pending} panels never finished loading")


PANEL_REPORT_JS = """
() => Array.from(document.querySelectorAll('.panel')).map(p => {
  const canvases = Array.from(p.querySelectorAll('canvas'));
  let inked = 0;
  for (const c of canvases) {
    if (!c.width || !c.height) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4 * 7) if (d[i] > 0) { inked++; if (inked > 50) break; }
  }
  const body = p.querySelector('.panel-body');
  return {
    id: p.dataset.panelId, type: p.dataset.panelType, errors: Number(p.dataset.errors || 0),
    errorText: (p.querySelector('.panel-error-badge') || {}).title || '',
    title: (p.querySelector('.panel-title') || {}).textContent || '',
    unsupported: !!p.querySelector('.panel-unsupported'),
    series: !!p.querySelector('[data-drawn="true"]'),
    inked, svg: p.querySelectorAll('svg path, svg text').length,
    images: p.querySelectorAll('.panel-body img').length,
    text: body ? body.innerText.trim().length : 0,
    cells: p.querySelectorAll('td').length,
  };
})
"""


# Query errors a fixture may show, and why; any other panel error fails the test.
EXPECTED_ERRORS = {
    # Grafana's devenv uses a TestData scenario Vigil's TestData does not generate
    "heatmap-legacy": "exponential_heatmap_bucket_data",
    # its Loki panels: there is no Loki here (the logs panel itself is unsupported)
    "fake-logs-dashboard": "Loki",
}


def fixture_files() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(FIXTURES.glob("*.json"))


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.stem.split("__")[-1])
def test_every_fixture_dashboard_opens_and_draws_every_supported_panel(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any], path: Path
) -> None:
    text = path.read_text()
    needs_prometheus = '"prometheus"' in text and "testdata" not in text
    if needs_prometheus and "prometheus" not in stack["ds"]:
        missing("PROMETHEUS MISSING: apt-get install -y prometheus prometheus-node-exporter")
    imported = import_fixture(stack["vigil"], path, stack["ds"])
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(stack["vigil"].url + imported["url"])
        page.wait_for_selector("[data-testid=dashboard-grid]", timeout=20000)
        expand_all_rows(page)
        wait_all_loaded(page)
        page.wait_for_timeout(300)
        panels = page.evaluate(PANEL_REPORT_JS)
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{path.stem}.png"), full_page=True)
    finally:
        ctx.close()
    assert panels, "no panel rendered"
    problems: list[str] = []
    drawn = 0
    for p in panels:
        label = f"panel {p['id']} ({p['type']}) {p['title']!r}"
        if p["type"] not in SUPPORTED:
            if not p["unsupported"]:
                problems.append(f"{label}: no placeholder for an unsupported type")
            continue
        if p["unsupported"]:
            problems.append(f"{label}: placeholder shown for a supported type")
        content = p["inked"] > 0 or p["svg"] > 0 or p["cells"] > 0 or p["text"] > 0 or p["images"] > 0
        if not content:
            problems.append(f"{label}: drew nothing")
        if p["series"] or p["inked"] > 50 or p["svg"] > 2 or p["cells"] > 0:
            drawn += 1
        if p["errors"]:
            allowed = EXPECTED_ERRORS.get(path.stem.split("__")[-1])
            lines = [line for line in p["errorText"].splitlines() if line.strip()]
            if not allowed or not all(allowed in line for line in lines):
                problems.append(f"{label}: query error {p['errorText']!r}")
    assert not watch.errors, watch.errors
    assert not watch.failed_requests, watch.failed_requests
    assert not problems, "\n".join(problems)
    supported = [p for p in panels if p["type"] in SUPPORTED]
    assert drawn >= max(1, len(supported) // 2), f"only {drawn} of {len(supported)} panels drew data"


def test_wrong_password_shows_the_error_then_login_and_logout_work(
    browser: Any, stack: dict[str, Any]
) -> None:
    base = stack["vigil"].url
    ctx = browser.new_context()
    page = ctx.new_page()
    watch = Watch(page)
    try:
        page.goto(base + "/d/anything/slug")
        page.wait_for_url("**/login?redirectTo=*")
        page.fill("input[name=user]", "admin")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        error = page.locator(".login-error")
        error.wait_for()
        assert "Invalid username or password" in error.inner_text()
        page.screenshot(path=str(ARTIFACTS / "page-login-error.png"))
        page.fill("input[name=password]", ADMIN_PW)
        page.click("button[type=submit]")
        page.wait_for_url("**/d/anything/slug")
        page.get_by_text("Dashboard not found").wait_for()
        page.goto(base + "/")
        page.locator(".user-login").wait_for()
        page.click("a[href='/logout']")
        page.wait_for_url("**/login")
        page.goto(base + "/dashboards")
        page.wait_for_url("**/login?redirectTo=*")
    finally:
        ctx.close()
    assert not watch.errors, watch.errors


XSS_TITLE = '<img src=x onerror="window.__xss=1">Evil'
XSS_MARKDOWN = (
    '# Notes\n\n<script>window.__xss=2</script>\n\n<img src=x onerror="window.__xss=3">\n\n'
    '[click](javascript:window.__xss=4)\n\n<a href="javascript:window.__xss=5">a</a> <b>bold</b>'
)


def test_script_in_titles_text_panels_and_variables_is_not_executed(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    vigil = stack["vigil"]
    dash = {
        "uid": "xss-probe",
        "title": XSS_TITLE,
        "tags": ["<b>tag</b>"],
        "templating": {
            "list": [{"name": "v", "type": "textbox", "query": "x", "label": "<i onmouseover=x>v</i>"}]
        },
        "panels": [
            {
                "id": 1,
                "type": "text",
                "title": XSS_TITLE,
                "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                "options": {"mode": "markdown", "content": XSS_MARKDOWN + "\n\nvalue: $v"},
            },
            {
                "id": 2,
                "type": "text",
                "title": "html $v",
                "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
                "options": {
                    "mode": "html",
                    "content": '<div onclick="window.__xss=6">$v</div><svg onload="window.__xss=7"></svg>',
                },
            },
        ],
        "schemaVersion": 41,
    }
    vigil.call("POST", "/api/dashboards/db", {"dashboard": dash, "overwrite": True})
    ctx, page, watch = new_page(browser, auth_state)
    try:
        evil_var = "%3Cimg%20src%3Dx%20onerror%3D%22window.__xss%3D8%22%3E"
        page.goto(vigil.url + f"/d/xss-probe/x?var-v={evil_var}")
        page.wait_for_selector(".text-panel")
        page.wait_for_timeout(500)
        for link in page.locator(".text-panel a").all():
            link.click(no_wait_after=True)
        page.wait_for_timeout(300)
        assert page.evaluate("window.__xss") is None
        assert page.locator(".dash-title h1").inner_text() == XSS_TITLE
        assert page.locator(".panel-title").first.inner_text() == XSS_TITLE
        assert (
            page.locator(
                ".text-panel script, .text-panel [onerror], .text-panel [onclick], .text-panel [onload]"
            ).count()
            == 0
        )
        hrefs = page.eval_on_selector_all(".text-panel a", "els => els.map(e => e.getAttribute('href'))")
        assert not any(h and h.lower().startswith("javascript") for h in hrefs), hrefs
        assert page.locator(".text-panel b").count() >= 1  # harmless markup survives
        page.screenshot(path=str(ARTIFACTS / "dashboard-xss-probe.png"))
    finally:
        ctx.close()
    # the sanitiser drops every handler; the page's Content-Security-Policy would block any that
    # slipped through (Chromium reports those blocks, even inside inert parsed documents)
    unexpected = [e for e in watch.errors if "violates the following Content Security Policy" not in e]
    assert not unexpected, unexpected


def test_a_dashboard_built_in_the_editor_saves_and_reloads_the_same(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    vigil = stack["vigil"]
    ctx, page, watch = new_page(browser, auth_state, theme="light")
    try:
        page.goto(vigil.url + "/dashboard/new")
        page.get_by_role("button", name="+ Add visualization").click()
        page.wait_for_selector(".panel-editor")
        page.select_option("select[name=scenarioId]", "random_walk")
        page.fill("input[name=seriesCount]", "3")
        page.locator("input[name=seriesCount]").blur()
        page.fill("input[name=panel-title]", "Walks from the editor")
        page.wait_for_selector(".editor-preview [data-drawn=true]", timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "page-panel-editor.png"))
        page.get_by_role("button", name="Apply").click()
        page.wait_for_selector(".grid [data-panel-type=timeseries]")
        page.get_by_role("button", name="Save", exact=True).click()
        page.fill(".modal input[name=title]", "Built in the browser")
        page.fill(".modal textarea[name=message]", "first version")
        page.locator(".modal").get_by_role("button", name="Save").click()
        page.wait_for_url("**/d/*/built-in-the-browser*")
        uid = page.url.split("/d/")[1].split("/")[0]
        page.reload()
        page.wait_for_selector(".grid [data-panel-type=timeseries] [data-drawn=true]", timeout=15000)
        assert page.locator(".panel-title").first.inner_text() == "Walks from the editor"
        legend = page.locator(".legend-item")
        assert legend.count() == 3
        page.screenshot(path=str(ARTIFACTS / "dashboard-built-in-browser-light.png"))
    finally:
        ctx.close()
    saved = vigil.call("GET", f"/api/dashboards/uid/{uid}")
    panel = saved["dashboard"]["panels"][0]
    assert saved["dashboard"]["title"] == "Built in the browser"
    assert panel["type"] == "timeseries" and panel["title"] == "Walks from the editor"
    assert panel["targets"][0]["scenarioId"] == "random_walk" and panel["targets"][0]["seriesCount"] == 3
    assert panel["datasource"]["uid"] == stack["ds"]["testdata"]
    versions = vigil.call("GET", f"/api/dashboards/uid/{uid}/versions")
    items = versions["versions"] if isinstance(versions, dict) else versions
    assert any(v.get("message") == "first version" for v in items)
    assert not watch.errors, watch.errors


def test_two_browsers_saving_the_same_dashboard_get_the_conflict_dialog(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    vigil = stack["vigil"]
    dash = {"uid": "conflict", "title": "Conflict", "panels": [], "schemaVersion": 41}
    vigil.call("POST", "/api/dashboards/db", {"dashboard": dash, "overwrite": True})
    ctx_a, a, watch_a = new_page(browser, auth_state)
    ctx_b, b, watch_b = new_page(browser, auth_state)
    try:
        for p in (a, b):
            p.goto(vigil.url + "/d/conflict/conflict")
            p.wait_for_selector("[data-testid=dashboard-grid]")
        for p, title in ((a, "from A"), (b, "from B")):
            p.get_by_role("button", name="+ Row").click()
            p.get_by_role("button", name="Save", exact=True).click()
            p.fill(".modal textarea[name=message]", title)
            p.locator(".modal").get_by_role("button", name="Save").click()
            if p is a:
                p.get_by_text("Dashboard saved").wait_for()
        dialog = b.locator(".modal", has_text="Someone else has updated this dashboard")
        dialog.wait_for()
        b.screenshot(path=str(ARTIFACTS / "dialog-save-conflict.png"))
        dialog.get_by_role("button", name="Save and overwrite").click()
        b.get_by_text("Dashboard saved").wait_for()
    finally:
        ctx_a.close()
        ctx_b.close()
    saved = vigil.call("GET", "/api/dashboards/uid/conflict")
    assert saved["dashboard"]["version"] == 3
    assert not watch_a.errors and not watch_b.errors, watch_a.errors + watch_b.errors


def test_adding_a_prometheus_data_source_in_the_form_passes_save_and_test(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    if not stack["prometheus"]:
        missing("PROMETHEUS MISSING: apt-get install -y prometheus")
    vigil = stack["vigil"]
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(vigil.url + "/connections/datasources/new")
        page.get_by_role("button", name="Add Prometheus").click()
        page.wait_for_url("**/connections/datasources/edit/*")
        page.fill("input[name=name]", "Prometheus from the form")
        page.fill("input[name=url]", stack["prometheus"].url)
        page.get_by_role("button", name="Save & test").click()
        result = page.locator(".ds-test-result .alert")
        result.wait_for()
        page.screenshot(path=str(ARTIFACTS / "page-datasource-save-and-test.png"), full_page=True)
        assert "alert-success" in (result.get_attribute("class") or ""), result.inner_text()
        page.goto(vigil.url + "/connections/datasources")
        page.get_by_text("Prometheus from the form").wait_for()
    finally:
        ctx.close()
    names = [d["name"] for d in vigil.call("GET", "/api/datasources")]
    assert "Prometheus from the form" in names
    assert not watch.errors, watch.errors


PAGES = [
    ("home", "/"),
    ("dashboards", "/dashboards"),
    ("dashboard-new", "/dashboard/new"),
    ("import", "/dashboard/import"),
    ("datasources", "/connections/datasources"),
    ("datasource-new", "/connections/datasources/new"),
    ("alert-rules", "/alerting/list"),
    ("alert-rule-new", "/alerting/new"),
    ("contact-points", "/alerting/notifications"),
    ("notification-templates", "/alerting/notifications/templates"),
    ("policies", "/alerting/routes"),
    ("silences", "/alerting/silences"),
    ("admin-users", "/admin/users"),
    ("admin-orgs", "/admin/orgs"),
    ("teams", "/org/teams"),
    ("service-accounts", "/org/serviceaccounts"),
    ("profile", "/profile"),
    ("cluster", "/admin/cluster"),
]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_page_opens_without_a_javascript_error(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any], theme: str
) -> None:
    ctx, page, watch = new_page(browser, auth_state, theme=theme)
    try:
        for name, path in PAGES:
            page.goto(stack["vigil"].url + path)
            page.wait_for_selector("main.content h1, main.content .panel-editor, main.content .dash-nav")
            page.wait_for_timeout(250)
            assert page.evaluate("document.documentElement.dataset.theme") == theme
            page.screenshot(path=str(ARTIFACTS / f"page-{name}-{theme}.png"), full_page=True)
        page.goto(stack["vigil"].url + "/nowhere")
    finally:
        ctx.close()
    assert not watch.errors, watch.errors
    assert not watch.failed_requests, watch.failed_requests


def test_the_imported_json_round_trips_through_import_page_with_inputs(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    path = FIXTURES / "FUSAKLA-Prometheus2-grafana-dashboard__prometheus2-dashboard.json"
    if not path.exists():
        missing("fixtures missing")
    if "prometheus" not in stack["ds"]:
        missing("PROMETHEUS MISSING: apt-get install -y prometheus")
    raw = json.loads(path.read_text())
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(stack["vigil"].url + "/dashboard/import")
        page.fill("textarea[name=dashboard-json]", json.dumps(raw))
        page.get_by_role("button", name="Load", exact=True).click()
        page.fill("input[name=title]", "Imported through the page")
        page.fill("input[name=uid]", "imported-page")
        page.select_option("select[name=input-VAR_DATASOURCE]", stack["ds"]["prometheus"])
        assert page.input_value("input[name=input-VAR_CUSTOM_LABEL_NAME]") == "job"
        page.screenshot(path=str(ARTIFACTS / "page-import-inputs.png"), full_page=True)
        page.get_by_role("button", name="Import").click()
        page.wait_for_url("**/d/imported-page/*")
        page.wait_for_selector("[data-testid=dashboard-grid] .panel")
    finally:
        ctx.close()
    saved = stack["vigil"].call("GET", "/api/dashboards/uid/imported-page")["dashboard"]
    text = json.dumps(saved)
    assert "${DS_" not in text and "${VAR_" not in text
    assert "__inputs" not in saved
    assert not watch.errors, watch.errors


class Receiver:
    """A local webhook receiver recording every POST body."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    outer.bodies.append(json.loads(raw or b"{}"))
                except ValueError:
                    outer.bodies.append({"raw": raw.decode("utf-8", "replace")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_rule_and_a_webhook_contact_point_made_in_the_ui_fire_at_a_local_receiver(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    vigil = stack["vigil"]
    folder = vigil.call("POST", "/api/folders", {"title": "UI alerts", "uid": "ui-alerts"})
    receiver = Receiver()
    ctx, page, watch = new_page(browser, auth_state)
    try:
        base = vigil.url
        # a notification template, then a contact point whose title calls it, and its "Test" button
        page.goto(base + "/alerting/notifications/templates")
        page.get_by_role("button", name="+ Add template").click()
        page.fill("input[name=template-name]", "ui-templates")
        page.fill(
            "textarea[name=template-content]",
            '{{ define "ui.title" }}UI {{ .Status }}: {{ .CommonLabels.alertname }}{{ end }}',
        )
        page.get_by_role("button", name="Save template").click()
        page.get_by_text("Template saved").wait_for()
        page.locator("tr", has_text="ui-templates").get_by_text("ui.title").wait_for()
        page.goto(base + "/alerting/notifications")
        page.get_by_role("button", name="+ Add contact point").click()
        page.fill("input[name=cp-name]", "ui-webhook")
        page.select_option("select[name=cp-type]", "webhook")
        page.fill("input[name=cp-url]", receiver.url)
        page.fill("input[name=cp-title]", '{{ template "ui.title" . }}')
        page.get_by_role("button", name="Save contact point").click()
        page.get_by_text("Contact point saved").wait_for()
        page.locator("tr", has_text="ui-webhook").get_by_role("button", name="Test").click()
        page.get_by_text("Test notification sent to ui-webhook").wait_for()
        assert receiver.bodies, "the test notification did not arrive"
        assert receiver.bodies[-1]["title"] == "UI firing: TestAlert", receiver.bodies[-1]["title"]
        tested = len(receiver.bodies)
        # the policy tree routes everything to it quickly
        page.goto(base + "/alerting/routes")
        policy = {
            "receiver": "ui-webhook",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        }
        page.fill("textarea", json.dumps(policy))
        page.get_by_role("button", name="Save policies").click()
        page.get_by_text("Policies updated").wait_for()
        # the rule: TestData values of 5, firing above 1, evaluated every second
        page.goto(base + "/alerting/new")
        page.fill("input[name=rule-title]", "UI rule fires")
        page.select_option("select[name=scenarioId]", "csv_metric_values")
        page.fill("input[name=stringInput]", "5,5,5,5")
        page.locator("input[name=stringInput]").blur()
        page.fill("input[name=threshold]", "1")
        page.locator("input[name=threshold]").blur()
        page.get_by_role("button", name="Preview").click()
        page.locator(".preview-out").wait_for()
        page.select_option("select[name=rule-folder]", folder["uid"])
        page.fill("input[name=rule-group]", "ui")
        page.fill("input[name=rule-interval]", "1s")
        page.screenshot(path=str(ARTIFACTS / "page-alert-rule-editor.png"), full_page=True)
        page.get_by_role("button", name="Save rule").click()
        page.wait_for_url("**/alerting/list")
        page.locator("tr", has_text="UI rule fires").wait_for()
        deadline = time.monotonic() + 60
        fired: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not fired:
            fired = [
                b
                for b in receiver.bodies[tested:]
                if b.get("status") == "firing" and "UI rule fires" in json.dumps(b)
            ]
            time.sleep(0.5)
        assert fired, f"no firing notification for the rule; got {receiver.bodies[tested:]}"
        page.reload()
        page.locator("tr", has_text="UI rule fires").locator(".state-firing").wait_for(timeout=20000)
        page.screenshot(path=str(ARTIFACTS / "page-alert-rules-firing.png"), full_page=True)
        # the template's Delete button, after the confirmation
        page.goto(base + "/alerting/notifications/templates")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("tr", has_text="ui-templates").get_by_role("button", name="Delete").click()
        page.locator("tr", has_text="ui-templates").wait_for(state="detached")
    finally:
        ctx.close()
        receiver.stop()
    rules = vigil.call("GET", "/api/v1/provisioning/alert-rules")
    rule = next(r for r in rules if r["title"] == "UI rule fires")
    assert rule["folderUID"] == "ui-alerts" and rule["ruleGroup"] == "ui"
    group = vigil.call("GET", "/api/v1/provisioning/folder/ui-alerts/rule-groups/ui")
    assert group["interval"] == 1
    assert vigil.call("GET", "/api/v1/provisioning/templates") == []
    assert not watch.errors, watch.errors


def test_time_range_zoom_and_variables_live_in_the_url(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    path = FIXTURES / "grafana-grafana__testdata_alerts.json"
    if not path.exists():
        missing("fixtures missing")
    imported = import_fixture(stack["vigil"], path, stack["ds"])
    ctx, page, watch = new_page(browser, auth_state)
    try:
        base = stack["vigil"].url + imported["url"]
        page.goto(base + "?from=now-3h&to=now&var-namefilter=Prometheus")
        page.wait_for_selector("[data-panel-type=graph] [data-drawn=true]")
        assert "Prometheus" in page.locator(".var-btn").first.inner_text()
        # quick range from the picker
        page.get_by_role("button", name="Time range", exact=True).click()
        page.get_by_role("button", name="Last 30 minutes").click()
        wait_true(page, "location.search.includes('from=now-30m')")
        # a variable choice
        page.get_by_role("button", name="Variable namefilter").click()
        page.locator(".var-menu .menu-item", has_text="Graphite").click()
        wait_true(page, "location.search.includes('var-namefilter=Graphite')")
        # drag across a chart: an absolute range, in the URL
        page.wait_for_selector("[data-panel-type=graph] [data-drawn=true]")
        page.wait_for_timeout(300)  # charts redraw after the variable change
        over = page.locator("[data-panel-type=graph] .u-over").first
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
        wait_true(page, "/from=\\d{13}&to=\\d{13}/.test(location.search)")
        q = dict(x.split("=", 1) for x in page.evaluate("location.search.slice(1)").split("&"))
        span = int(q["to"]) - int(q["from"])
        assert 0 < span < 30 * 60_000 * 0.5, span
        # reload keeps all of it
        page.reload()
        page.wait_for_selector("[data-panel-type=graph] [data-drawn=true]")
        assert "Graphite" in page.locator(".var-btn").first.inner_text()
        assert page.evaluate("location.search").count("from=") == 1
    finally:
        ctx.close()
    assert not watch.errors, watch.errors


INJECTION = "x' UNION SELECT 'pwned' --"


def test_sql_panels_leave_variables_to_the_server_so_values_stay_data(
    browser: Any, auth_state: dict[str, Any], stack: dict[str, Any]
) -> None:
    import sqlite3

    vigil = stack["vigil"]
    db = stack["tmp"] / "ui-sql.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE IF NOT EXISTS hosts (name TEXT)")
        c.execute("DELETE FROM hosts")
        c.executemany("INSERT INTO hosts VALUES (?)", [("alpha",), ("beta",)])
    ds = vigil.call(
        "POST", "/api/datasources", {"name": "UI SQLite", "type": "sqlite", "jsonData": {"path": str(db)}}
    )
    ref = {"type": "sqlite", "uid": ds["datasource"]["uid"]}
    dash = {
        "uid": "sql-vars",
        "title": "SQL variables",
        "schemaVersion": 41,
        "templating": {"list": [{"name": "host", "type": "textbox", "query": "alpha"}]},
        "panels": [
            {
                "id": 1,
                "type": "table",
                "title": "echo",
                "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
                "datasource": ref,
                "targets": [
                    {
                        "refId": "A",
                        "datasource": ref,
                        "format": "table",
                        "rawSql": "SELECT name FROM hosts WHERE name = '$host' ORDER BY name",
                    }
                ],
            }
        ],
    }
    vigil.call("POST", "/api/dashboards/db", {"dashboard": dash, "overwrite": True})
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(vigil.url + "/d/sql-vars/x?var-host=alpha")
        page.wait_for_selector(".table-panel td")
        assert page.locator(".table-panel td").all_inner_texts() == ["alpha"]
        requests: list[dict[str, Any]] = []
        page.on("request", lambda r: requests.append(r.post_data_json) if "/api/ds/query" in r.url else None)
        page.goto(vigil.url + "/d/sql-vars/x?var-host=" + INJECTION.replace(" ", "%20").replace("'", "%27"))
        page.wait_for_selector(".table-panel [data-loaded=true], .panel[data-loaded=true]")
        page.wait_for_timeout(500)
        cells = page.locator(".table-panel td").all_inner_texts()
        assert "pwned" not in cells, cells
        assert cells == [], cells  # no host has that name: the value stayed a value
    finally:
        ctx.close()
    sent = [q for body in requests if body for q in body["queries"]]
    assert sent and all("$host" in q["rawSql"] for q in sent), sent
    assert not watch.errors, watch.errors
