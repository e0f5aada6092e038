"""Dashboard features operators expect from Grafana, checked in a real browser (Debian's Chromium):
annotations drawn on time series, dashboard and panel links, ad-hoc filters reaching Prometheus
as label matchers, library panels resolved from the library, panels moved and resized on the grid.

Each test checks the effect (pixels on the canvas, where a link leads, which series Prometheus
answered, what the saved JSON holds), not only that an element exists. Screenshots go to
build/ui-artifacts/ (VIGIL_UI_ARTIFACTS).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.ui_harness import (
    ARTIFACTS,
    Prometheus,
    Vigil,
    Watch,
    missing,
    new_page,
    wait_true,
)
from vigil.web import STATIC_DIR

pytestmark = pytest.mark.slow

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (STATIC_DIR / "index.html").exists():
        missing("WEB UI NOT BUILT: run `make build` (make test does it first)")
    tmp = tmp_path_factory.mktemp("ui-features")
    vigil = Vigil(tmp)
    prom: Prometheus | None = None
    try:
        td = vigil.call(
            "POST",
            "/api/datasources",
            {"name": "TestData", "type": "grafana-testdata-datasource", "isDefault": True},
        )
        out: dict[str, Any] = {"vigil": vigil, "td": td["datasource"]["uid"], "tmp": tmp}
        if shutil.which("prometheus"):
            prom = Prometheus(tmp, vigil.port)
            p = vigil.call(
                "POST",
                "/api/datasources",
                {
                    "name": "Prometheus",
                    "type": "prometheus",
                    "url": prom.url,
                    "jsonData": {"timeInterval": "1s"},
                },
            )
            out["prom"] = p["datasource"]["uid"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield out
    finally:
        if prom:
            prom.stop()
        vigil.stop()


def td_panel(td: str, pid: int, grid: dict[str, int], title: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "gridPos": grid,
        "datasource": {"type": "grafana-testdata-datasource", "uid": td},
        "targets": [{"refId": "A", "scenarioId": "random_walk", "seriesCount": 1}],
        **extra,
    }


def save(vigil: Vigil, dash: dict[str, Any]) -> None:
    vigil.call("POST", "/api/dashboards/db", {"dashboard": {"id": None, **dash}, "overwrite": True})


def no_errors(watch: Watch) -> None:
    assert not watch.errors, watch.errors
    assert not watch.failed_requests, watch.failed_requests


# ---- annotations ---------------------------------------------------------------------------

ANNOTATION_PIXELS_JS = """
(panelId) => {
  const panel = document.querySelector(`.panel[data-panel-id="${panelId}"]`);
  const canvas = panel.querySelector('canvas');
  const cr = canvas.getBoundingClientRect();
  const scale = canvas.width / cr.width;
  const g = canvas.getContext('2d');
  return Array.from(panel.querySelectorAll('.anno-marker')).map(m => {
    const r = m.getBoundingClientRect();
    const x = Math.round((r.left + r.width / 2 - cr.left) * scale);
    let magenta = 0;
    for (let dx = -2; dx <= 2; dx++) {
      const d = g.getImageData(x + dx, 0, 1, canvas.height).data;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 90 && d[i + 2] > 200) magenta++;
    }
    return { title: m.title, time: Number(m.dataset.annotationTime),
             x: (r.left + r.width / 2 - cr.left) / cr.width,
             magenta, over: panel.querySelector('.u-over').getBoundingClientRect().left - cr.left,
             overWidth: panel.querySelector('.u-over').getBoundingClientRect().width, cw: cr.width };
  });
}
"""


XSS_TEXT = '<img src=x onerror="window.__xss=1"> rollback'


def test_annotations_are_drawn_on_time_series(browser: Any, auth_state: Any, stack: dict[str, Any]) -> None:
    vigil, td = stack["vigil"], stack["td"]
    now = int(time.time() * 1000)
    frm, to = now - HOUR_MS, now
    save(
        vigil,
        {
            "uid": "feat-anno",
            "title": "Annotations",
            "time": {"from": str(frm), "to": str(to)},
            "annotations": {
                "list": [
                    {
                        "builtIn": 1,
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "enable": True,
                        "iconColor": "#FF00FF",
                        "name": "Annotations & Alerts",
                        "type": "dashboard",
                    }
                ]
            },
            "panels": [
                td_panel(td, 1, {"x": 0, "y": 0, "w": 12, "h": 9}, "one"),
                td_panel(td, 2, {"x": 12, "y": 0, "w": 12, "h": 9}, "two"),
            ],
        },
    )
    t_all, t_two = frm + HOUR_MS // 2, frm + 3 * HOUR_MS // 4
    vigil.call(
        "POST",
        "/api/annotations",
        {"dashboardUID": "feat-anno", "time": t_all, "text": "deploy v1.2", "tags": ["deploy"]},
    )
    vigil.call(
        "POST",
        "/api/annotations",
        {"dashboardUID": "feat-anno", "panelId": 2, "time": t_two, "text": "only on panel two"},
    )
    # markup in an annotation's text stays text
    vigil.call(
        "POST",
        "/api/annotations",
        {"dashboardUID": "feat-anno", "panelId": 1, "time": t_two, "text": XSS_TEXT},
    )
    # an organisation-wide annotation (no dashboard) is not this dashboard's: not shown
    vigil.call("POST", "/api/annotations", {"time": t_all + 60_000, "text": "org-wide", "tags": ["org"]})

    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(vigil.url + "/d/feat-anno/annotations")
        wait_true(page, "document.querySelectorAll('.panel[data-panel-id=\"2\"] .anno-marker').length === 2")
        wait_true(page, "document.querySelectorAll('[data-drawn=\"true\"]').length === 2")
        page.wait_for_timeout(200)
        one = page.evaluate(ANNOTATION_PIXELS_JS, 1)
        two = page.evaluate(ANNOTATION_PIXELS_JS, 2)
        page.screenshot(path=str(ARTIFACTS / "dashboard-annotations.png"), full_page=True)
        # batched queries answer as if asked alone: TestData names the series after the refId
        assert legend_names(page, 1) == ["A-series"]
        assert [m["time"] for m in one] == [t_all, t_two]
        assert "deploy v1.2" in one[0]["title"] and "deploy" in one[0]["title"]
        assert XSS_TEXT in one[1]["title"]
        assert page.evaluate("window.__xss") is None
        assert page.locator(".panel img").count() == 0
        assert sorted(m["time"] for m in two) == [t_all, t_two]
        assert any("only on panel two" in m["title"] for m in two)
        for markers in (one, two):
            for m in markers:
                # the marker sits at its time on the x axis of the plotting area ...
                expected = (m["over"] + (m["time"] - frm) / (to - frm) * m["overWidth"]) / m["cw"]
                assert abs(m["x"] - expected) < 0.01, (m, expected)
                # ... and the canvas has the annotation's colour drawn there
                assert m["magenta"] > 50, m
        no_errors(watch)
    finally:
        ctx.close()


# ---- links ---------------------------------------------------------------------------------


def test_dashboard_and_panel_links(browser: Any, auth_state: Any, stack: dict[str, Any]) -> None:
    vigil, td = stack["vigil"], stack["td"]
    save(vigil, {"uid": "feat-target", "title": "Target board", "tags": ["feat-tag"], "panels": []})
    save(
        vigil,
        {
            "uid": "feat-links",
            "title": "Links",
            "tags": ["feat-tag"],
            "time": {"from": "now-3h", "to": "now"},
            "templating": {
                "list": [
                    {
                        "name": "env",
                        "type": "custom",
                        "query": "staging,prod",
                        "current": {"text": "prod", "value": "prod"},
                    }
                ]
            },
            "links": [
                {
                    "type": "link",
                    "title": "Runbook ${env}",
                    "url": "/d/feat-target/target",
                    "keepTime": True,
                    "includeVars": True,
                },
                {"type": "dashboards", "tags": ["feat-tag"], "title": "Related"},
                {"type": "link", "title": "Evil", "url": "javascript:alert(document.cookie)"},
                {"type": "link", "title": "Tabbed", "url": "java\tscript:alert(document.cookie)"},
                {"type": "link", "title": "Elsewhere", "url": "/\\evil.example/"},
            ],
            "panels": [
                td_panel(
                    td,
                    1,
                    {"x": 0, "y": 0, "w": 12, "h": 8},
                    "linked",
                    links=[
                        {
                            "title": "Details for ${env}",
                            "url": "/d/feat-target/target?from=now-1h&panel=${env}",
                        }
                    ],
                )
            ],
        },
    )
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(vigil.url + "/d/feat-links/links")
        page.wait_for_selector(".dash-links")
        runbook = page.locator(".dash-links a.dash-link", has_text="Runbook prod")
        href = runbook.get_attribute("href") or ""
        q = parse_qs(urlparse(href).query)
        assert urlparse(href).path == "/d/feat-target/target"
        assert q["from"] == ["now-3h"] and q["to"] == ["now"] and q["var-env"] == ["prod"], href
        # the tag link finds the other dashboard with the tag, not this one
        page.wait_for_selector(".dash-link-item")
        tagged = page.locator(".dash-link-item").all_inner_texts()
        assert [t.strip() for t in tagged] == ["Target board"]
        # a javascript: URL never becomes a link target
        for name in ("Evil", "Tabbed", "Elsewhere"):
            assert page.locator(".dash-links a", has_text=name).get_attribute("href") is None, name
        page.screenshot(path=str(ARTIFACTS / "dashboard-links.png"))
        runbook.click()
        page.wait_for_url(lambda u: "/d/feat-target/" in u)
        page.wait_for_selector("h1:has-text('Target board')")
        assert parse_qs(urlparse(page.url).query)["from"] == ["now-3h"]

        page.goto(vigil.url + "/d/feat-links/links")
        page.click("button[aria-label='Links of panel linked']")
        link = page.locator(".panel-links-menu a", has_text="Details for prod")
        assert link.get_attribute("href") == "/d/feat-target/target?from=now-1h&panel=prod"
        link.click()
        page.wait_for_selector("h1:has-text('Target board')")
        assert parse_qs(urlparse(page.url).query)["from"] == ["now-1h"]
        no_errors(watch)
    finally:
        ctx.close()


# ---- ad-hoc filters ------------------------------------------------------------------------


def legend_names(page: Any, panel_id: int) -> list[str]:
    return sorted(
        t.strip() for t in page.locator(f".panel[data-panel-id='{panel_id}'] .legend-item").all_inner_texts()
    )


def test_adhoc_filter_reaches_prometheus_as_label_matcher(
    browser: Any, auth_state: Any, stack: dict[str, Any]
) -> None:
    if "prom" not in stack:
        missing("PROMETHEUS MISSING: apt-get install -y prometheus")
    vigil, prom = stack["vigil"], stack["prom"]
    ref = {"type": "prometheus", "uid": prom}
    save(
        vigil,
        {
            "uid": "feat-adhoc",
            "title": "Adhoc",
            "time": {"from": "now-5m", "to": "now"},
            "templating": {"list": [{"name": "Filters", "type": "adhoc", "datasource": ref, "filters": []}]},
            "panels": [
                {
                    "id": 1,
                    "type": "timeseries",
                    "title": "up",
                    "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
                    "datasource": ref,
                    "targets": [
                        {
                            "refId": "A",
                            "expr": "max by (job) (up)",
                            "legendFormat": "{{job}}",
                            "datasource": ref,
                        }
                    ],
                }
            ],
        },
    )
    ctx, page, watch = new_page(browser, auth_state)
    exprs: list[str] = []

    def on_request(r: Any) -> None:
        if "/api/ds/query" in r.url and r.post_data:
            exprs.extend(q.get("expr", "") for q in json.loads(r.post_data)["queries"])

    page.on("request", on_request)
    try:
        page.goto(vigil.url + "/d/feat-adhoc/adhoc")
        page.wait_for_selector(".panel[data-panel-id='1'] .legend-item")
        before = legend_names(page, 1)
        assert "prometheus" in before and "vigil" in before, before
        page.click("button[aria-label='Add filter to Filters']")
        # the key and value fields suggest Prometheus' label names and the label's values
        wait_true(
            page,
            "Array.from(document.querySelectorAll('#adhoc-Filters-keys option'))"
            ".some(o => o.value === 'job')",
        )
        page.fill("input[aria-label='Filter key']", "job")
        wait_true(
            page,
            "(() => { const v = Array.from(document.querySelectorAll('#adhoc-Filters-values option'))"
            ".map(o => o.value); return v.includes('prometheus') && v.includes('vigil'); })()",
        )
        page.select_option("select[aria-label='Filter operator']", "=")
        page.fill("input[aria-label='Filter value']", "prometheus")
        page.click(".adhoc-new button:has-text('Add')")
        wait_true(
            page,
            "(() => { const l = Array.from(document.querySelectorAll("
            "'.panel[data-panel-id=\"1\"] .legend-item'));"
            " return l.length === 1 && l[0].textContent.trim() === 'prometheus'; })()",
        )
        assert 'max by (job) (up{job="prometheus"})' in exprs, exprs
        q = parse_qs(urlparse(page.url).query)
        assert q["var-Filters"] == ["job|=|prometheus"], page.url
        page.screenshot(path=str(ARTIFACTS / "dashboard-adhoc-filter.png"))

        # the URL carries the filter: a fresh load applies it, and a negative regex one works too
        page.goto(vigil.url + "/d/feat-adhoc/adhoc?var-Filters=job%7C!~%7Cprom.*")
        page.wait_for_selector(".adhoc-chip")
        assert page.locator(".adhoc-chip").first.inner_text().startswith("job !~ prom.*")
        wait_true(
            page,
            "(() => { const l = Array.from(document.querySelectorAll("
            "'.panel[data-panel-id=\"1\"] .legend-item'));"
            " return l.length > 0 && l.every(x => x.textContent.trim() !== 'prometheus'); })()",
        )
        assert "vigil" in legend_names(page, 1)
        # removing the filter brings every job back
        page.click("button[aria-label='Remove filter job']")
        wait_true(
            page,
            "Array.from(document.querySelectorAll('.panel[data-panel-id=\"1\"] .legend-item'))"
            ".some(x => x.textContent.trim() === 'prometheus')",
        )
        no_errors(watch)
    finally:
        ctx.close()


# ---- library panels ------------------------------------------------------------------------


def test_library_panel_is_resolved_and_saved_as_reference(
    browser: Any, auth_state: Any, stack: dict[str, Any]
) -> None:
    vigil, td = stack["vigil"], stack["td"]
    el = vigil.call(
        "POST",
        "/api/library-elements",
        {
            "name": "Shared walk",
            "kind": 1,
            "model": {
                "type": "timeseries",
                "title": "Library walk",
                "datasource": {"type": "grafana-testdata-datasource", "uid": td},
                "targets": [
                    {"refId": "A", "scenarioId": "random_walk", "seriesCount": 3, "alias": "lib-$seriesIndex"}
                ],
            },
        },
    )["result"]
    save(
        vigil,
        {
            "uid": "feat-lib",
            "title": "Library",
            "panels": [
                {
                    "id": 4,
                    "gridPos": {"x": 0, "y": 0, "w": 16, "h": 9},
                    "libraryPanel": {"uid": el["uid"], "name": el["name"]},
                },
                {
                    "id": 5,
                    "gridPos": {"x": 16, "y": 0, "w": 8, "h": 9},
                    "libraryPanel": {"uid": "no-such-element", "name": "gone"},
                },
            ],
        },
    )
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(vigil.url + "/d/feat-lib/library")
        page.wait_for_selector(".panel[data-panel-id='4'] [data-drawn='true']")
        panel = page.locator(".panel[data-panel-id='4']")
        assert panel.get_attribute("data-panel-type") == "timeseries"
        assert panel.locator(".panel-title").inner_text() == "Library walk"
        assert legend_names(page, 4) == ["lib-0", "lib-1", "lib-2"]
        assert "not found" in page.locator(".panel[data-panel-id='5']").inner_text()
        page.screenshot(path=str(ARTIFACTS / "dashboard-library-panel.png"))
        # saving keeps the reference, not a copy of the library's model
        page.click(".dash-actions button:has-text('Save')")
        page.fill("textarea[name=message]", "library panel")
        page.click(".modal button.btn-primary:has-text('Save')")
        page.wait_for_selector("text=Dashboard saved")
        stored = vigil.call("GET", "/api/dashboards/uid/feat-lib")["dashboard"]
        p4 = next(p for p in stored["panels"] if p["id"] == 4)
        assert p4["libraryPanel"]["uid"] == el["uid"]
        assert "targets" not in p4 and p4["gridPos"] == {"x": 0, "y": 0, "w": 16, "h": 9}
        no_errors(watch)
    finally:
        ctx.close()


# ---- moving and resizing -------------------------------------------------------------------


def gridpos(page: Any, pid: int) -> list[int]:
    raw = page.evaluate(
        f"document.querySelector('.panel[data-panel-id=\"{pid}\"]').parentElement.dataset.gridpos"
    )
    return [int(x) for x in raw.split(",")]


GRIDPOS_1 = "document.querySelector('.panel[data-panel-id=\"1\"]').parentElement.dataset.gridpos"


def test_drag_and_resize_panels_update_gridpos(browser: Any, auth_state: Any, stack: dict[str, Any]) -> None:
    vigil, td = stack["vigil"], stack["td"]
    save(
        vigil,
        {
            "uid": "feat-drag",
            "title": "Drag",
            "panels": [
                td_panel(td, 1, {"x": 0, "y": 0, "w": 12, "h": 8}, "A"),
                td_panel(td, 2, {"x": 12, "y": 0, "w": 12, "h": 8}, "B"),
            ],
        },
    )
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(vigil.url + "/d/feat-drag/drag")
        page.wait_for_selector(".panel[data-panel-id='2'] [data-drawn='true']")
        grid = page.locator("[data-testid=dashboard-grid]").bounding_box()
        col = (grid["width"] + 8) / 24
        row = 38
        a_before = page.locator(".panel[data-panel-id='1']").bounding_box()
        title = page.locator(".panel[data-panel-id='1'] .panel-title").bounding_box()
        # drag A by its header 12 columns to the right: it takes B's place, B goes below it
        x0, y0 = title["x"] + 20, title["y"] + title["height"] / 2
        page.mouse.move(x0, y0)
        page.mouse.down()
        for i in range(1, 13):
            page.mouse.move(x0 + i * col, y0)
        page.mouse.up()
        wait_true(
            page,
            GRIDPOS_1 + " === '12,0,12,8'",
        )
        assert gridpos(page, 2) == [12, 8, 12, 8]
        a_after = page.locator(".panel[data-panel-id='1']").bounding_box()
        b_after = page.locator(".panel[data-panel-id='2']").bounding_box()
        assert a_after["x"] - a_before["x"] == pytest.approx(12 * col, abs=3)
        assert b_after["y"] >= a_after["y"] + a_after["height"]
        # resize A from its corner: 6 columns narrower, 4 rows taller
        handle = page.locator("[aria-label='Resize panel A']").bounding_box()
        hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        page.mouse.move(hx, hy)
        page.mouse.down()
        for i in range(1, 7):
            page.mouse.move(hx - i * col, hy + i * 4 * row / 6)
        page.mouse.up()
        wait_true(
            page,
            GRIDPOS_1 + " === '12,0,6,12'",
        )
        assert gridpos(page, 2) == [12, 12, 12, 8]
        a_sized = page.locator(".panel[data-panel-id='1']").bounding_box()
        assert a_sized["width"] == pytest.approx(6 * col - 8, abs=3)
        assert a_sized["height"] == pytest.approx(12 * row - 8, abs=3)
        # the chart follows the new size
        wait_true(
            page,
            "(() => { const c = document.querySelector('.panel[data-panel-id=\"1\"] canvas');"
            f" return c && c.getBoundingClientRect().width < {a_after['width'] * 0.6}; }})()",
        )
        page.screenshot(path=str(ARTIFACTS / "dashboard-drag-resize.png"), full_page=True)
        page.click(".dash-actions button:has-text('Save')")
        page.click(".modal button.btn-primary:has-text('Save')")
        page.wait_for_selector("text=Dashboard saved")
        stored = {
            p["id"]: p["gridPos"]
            for p in vigil.call("GET", "/api/dashboards/uid/feat-drag")["dashboard"]["panels"]
        }
        assert stored[1] == {"x": 12, "y": 0, "w": 6, "h": 12}
        assert stored[2] == {"x": 12, "y": 12, "w": 12, "h": 8}
        no_errors(watch)
    finally:
        ctx.close()


def test_prometheus_annotation_query_marks_its_events(
    browser: Any, auth_state: Any, stack: dict[str, Any]
) -> None:
    if "prom" not in stack:
        missing("PROMETHEUS MISSING: apt-get install -y prometheus")
    vigil, prom = stack["vigil"], stack["prom"]
    ref = {"type": "prometheus", "uid": prom}
    save(
        vigil,
        {
            "uid": "feat-prom-anno",
            "title": "Prometheus annotations",
            "time": {"from": "now-10m", "to": "now"},
            "annotations": {
                "list": [
                    {
                        "name": "Scrapes",
                        "datasource": ref,
                        "enable": True,
                        "iconColor": "#FF00FF",
                        # non-zero while Prometheus scrapes itself: one region since it started
                        "expr": 'up{job="prometheus"}',
                        "step": "5s",
                        "titleFormat": "{{job}} is up",
                        "tagKeys": "job",
                    },
                    {
                        "name": "Never",
                        "datasource": ref,
                        "enable": True,
                        "expr": 'up{job="prometheus"} == 0',
                    },
                ]
            },
            "panels": [
                {
                    "id": 1,
                    "type": "timeseries",
                    "title": "up",
                    "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
                    "datasource": ref,
                    "targets": [{"refId": "A", "expr": "up", "datasource": ref}],
                }
            ],
        },
    )
    ctx, page, watch = new_page(browser, auth_state)
    try:
        page.goto(vigil.url + "/d/feat-prom-anno/x")
        wait_true(page, "document.querySelectorAll('.panel[data-panel-id=\"1\"] .anno-marker').length > 0")
        page.wait_for_selector(".panel[data-panel-id='1'] [data-drawn='true']")
        page.wait_for_timeout(200)
        markers = page.evaluate(ANNOTATION_PIXELS_JS, 1)
        page.screenshot(path=str(ARTIFACTS / "dashboard-prometheus-annotations.png"))
        assert len(markers) == 1, markers
        (m,) = markers
        assert "prometheus is up" in m["title"] and "[prometheus]" in m["title"], m
        assert m["magenta"] > 50, m
        no_errors(watch)
    finally:
        ctx.close()


# ---- editing and unlinking library panels --------------------------------------------------


def _panel_menu(page: Any, pid: int, item: str) -> None:
    page.click(f".panel[data-panel-id='{pid}'] .panel-menu-btn")
    page.click(f".panel[data-panel-id='{pid}'] .menu button.menu-item:text-is('{item}')")


def _save_dashboard(page: Any) -> None:
    page.click(".dash-actions button:has-text('Save')")
    page.click(".modal button.btn-primary:has-text('Save')")


def test_library_panel_edits_update_the_library_and_unlink_inlines_the_model(
    browser: Any, auth_state: Any, stack: dict[str, Any]
) -> None:
    vigil, td = stack["vigil"], stack["td"]
    el = vigil.call(
        "POST",
        "/api/library-elements",
        {
            "name": "Edited walk",
            "kind": 1,
            "model": {
                "type": "timeseries",
                "title": "Before edit",
                "datasource": {"type": "grafana-testdata-datasource", "uid": td},
                "targets": [{"refId": "A", "scenarioId": "random_walk", "seriesCount": 1}],
            },
        },
    )["result"]
    uid, v1 = el["uid"], el["version"]
    ref = {"uid": uid, "name": el["name"]}
    save(
        vigil,
        {
            "uid": "lib-edit-a",
            "title": "Library edit A",
            "panels": [{"id": 2, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}, "libraryPanel": ref}],
        },
    )
    save(
        vigil,
        {
            "uid": "lib-edit-b",
            "title": "Library edit B",
            "panels": [{"id": 7, "gridPos": {"x": 6, "y": 0, "w": 10, "h": 8}, "libraryPanel": ref}],
        },
    )
    ctx, page, watch = new_page(browser, auth_state)
    page.on("dialog", lambda d: d.accept())  # the unlink confirmation
    try:
        # edit the title in the panel editor, apply, save the dashboard
        page.goto(vigil.url + "/d/lib-edit-a/x")
        page.wait_for_selector(".panel[data-panel-id='2'] [data-drawn='true']")
        # opening the editor and applying without a change is no edit of the library panel
        _panel_menu(page, 2, "Edit")
        page.click(".editor-bar button:has-text('Apply')")
        page.wait_for_selector(".panel[data-panel-id='2'] .panel-title:text-is('Before edit')")
        assert page.locator(".dirty-dot").count() == 0
        _panel_menu(page, 2, "Edit")
        page.wait_for_selector("[data-testid=library-note]")
        assert "Edited walk" in page.inner_text("[data-testid=library-note]")
        page.fill("input[name=panel-title]", "After edit")
        page.click(".editor-bar button:has-text('Apply')")
        page.wait_for_selector(".panel[data-panel-id='2'] .panel-title:text-is('After edit')")
        page.click(".dash-actions button:has-text('Save')")
        note = page.inner_text("[data-testid=library-save-note]")
        assert "Saving updates library panel Edited walk" in note, note
        page.click(".modal button.btn-primary:has-text('Save')")
        page.wait_for_selector("text=Dashboard saved")
        page.screenshot(path=str(ARTIFACTS / "dashboard-library-panel-edited.png"))
        lib = vigil.call("GET", f"/api/library-elements/{uid}")["result"]
        assert lib["model"]["title"] == "After edit"
        assert lib["model"]["targets"][0]["scenarioId"] == "random_walk"
        assert "gridPos" not in lib["model"] and "libraryPanel" not in lib["model"]
        assert lib["version"] == v1 + 1
        stored = vigil.call("GET", "/api/dashboards/uid/lib-edit-a")["dashboard"]["panels"]
        assert len(stored) == 1 and stored[0]["libraryPanel"]["uid"] == uid
        assert set(stored[0]) <= {"id", "gridPos", "title", "libraryPanel"}, stored[0]
        assert stored[0]["gridPos"] == {"x": 0, "y": 0, "w": 12, "h": 8}

        # another dashboard using the element shows the edit
        page.goto(vigil.url + "/d/lib-edit-b/x")
        page.wait_for_selector(".panel[data-panel-id='7'] [data-drawn='true']")
        assert page.inner_text(".panel[data-panel-id='7'] .panel-title") == "After edit"

        # an edit based on a version someone else has replaced is refused with a message
        _panel_menu(page, 7, "Edit")
        page.fill("input[name=panel-title]", "Stale edit")
        page.click(".editor-bar button:has-text('Apply')")
        elsewhere = {**lib["model"], "title": "Changed elsewhere"}
        vigil.call("PATCH", f"/api/library-elements/{uid}", {"model": elsewhere, "version": lib["version"]})
        b_version = vigil.call("GET", "/api/dashboards/uid/lib-edit-b")["dashboard"]["version"]
        _save_dashboard(page)
        page.wait_for_selector(".modal .alert-error")
        msg = page.inner_text(".modal .alert-error")
        assert "Edited walk" in msg and "changed by someone else" in msg, msg
        lib = vigil.call("GET", f"/api/library-elements/{uid}")["result"]
        assert lib["model"]["title"] == "Changed elsewhere" and lib["version"] == v1 + 2
        assert vigil.call("GET", "/api/dashboards/uid/lib-edit-b")["dashboard"]["version"] == b_version
        page.screenshot(path=str(ARTIFACTS / "dashboard-library-panel-conflict.png"))
        page.click(".modal button:has-text('Cancel')")

        # unlink from the panel menu keeps the edit in this dashboard, inline
        _panel_menu(page, 7, "Unlink library panel")
        page.wait_for_selector(".dirty-dot")
        _save_dashboard(page)
        page.wait_for_selector("text=Dashboard saved")
        p7 = vigil.call("GET", "/api/dashboards/uid/lib-edit-b")["dashboard"]["panels"][0]
        assert "libraryPanel" not in p7, p7
        assert p7["title"] == "Stale edit" and p7["type"] == "timeseries"
        assert p7["targets"][0]["scenarioId"] == "random_walk"
        assert p7["gridPos"] == {"x": 6, "y": 0, "w": 10, "h": 8}
        assert vigil.call("GET", f"/api/library-elements/{uid}")["result"]["version"] == v1 + 2

        # unlink from the panel editor
        page.goto(vigil.url + "/d/lib-edit-a/x")
        page.wait_for_selector(".panel[data-panel-id='2'] .panel-title:text-is('Changed elsewhere')")
        _panel_menu(page, 2, "Edit")
        page.click("[data-testid=library-note] button:has-text('Unlink')")
        assert page.locator("[data-testid=library-note]").count() == 0
        page.click(".editor-bar button:has-text('Apply')")
        _save_dashboard(page)
        page.wait_for_selector("text=Dashboard saved")
        p2 = vigil.call("GET", "/api/dashboards/uid/lib-edit-a")["dashboard"]["panels"][0]
        assert "libraryPanel" not in p2 and p2["title"] == "Changed elsewhere", p2
        assert p2["datasource"]["uid"] == td and p2["targets"][0]["refId"] == "A"
        assert vigil.call("GET", f"/api/library-elements/{uid}")["result"]["version"] == v1 + 2
        no_errors(watch)
    finally:
        ctx.close()
