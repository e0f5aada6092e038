"""Real dashboards from ../shared/fixtures/dashboards import (bare in the body, or wrapped once more
as an export with meta) and read back JSON-equal apart from id, uid and version; ``__inputs`` are
filled from ``inputs``. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, Replica
from tests.dashboards_support import caller, folder_ok, without_server_fields

FIXTURES = SHARED / "fixtures" / "dashboards"
FILES = sorted(FIXTURES.glob("*.json")) if FIXTURES.is_dir() else []


def _need_fixtures() -> None:
    if not FILES:
        pytest.skip(f"fixture dashboards not found under {FIXTURES}")


def _inputs_for(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Inputs for every ``__inputs`` entry, and the dashboard we expect back: the file's text with
    each ``${NAME}`` replaced, ``__inputs`` dropped."""
    raw = json.loads(text)
    inputs = []
    for i, d in enumerate(raw.get("__inputs") or []):
        value = f"input-value-{i}"
        inputs.append(
            {"name": d["name"], "type": d.get("type", ""), "pluginId": d.get("pluginId", ""), "value": value}
        )
        text = text.replace("${" + d["name"] + "}", value)
    expected = json.loads(text)
    expected.pop("__inputs", None)
    return inputs, expected


async def _import_and_compare(
    rep: Replica, headers: dict[str, str], path: Path, folder_uid: str, wrap: bool
) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    inputs, expected = _inputs_for(text)
    dash: Any = json.loads(text)
    if wrap:
        dash = {"dashboard": dash, "meta": {"folderUid": folder_uid, "canSave": True}}
    r = await rep.client.post(
        "/api/dashboards/import",
        json={"dashboard": dash, "overwrite": True, "inputs": inputs, "folderUid": folder_uid},
        headers=headers,
    )
    assert r.status_code == 200, (path.name, r.text)
    result = r.json()
    assert (
        result["imported"] is True
        and result["folderUid"] == folder_uid
        and result["title"] == expected["title"]
    )
    got = await rep.client.get(f"/api/dashboards/uid/{result['uid']}", headers=headers)
    assert got.status_code == 200
    back = got.json()["dashboard"]
    assert without_server_fields(back) == without_server_fields(expected), path.name
    if expected.get("uid"):
        assert back["uid"] == expected["uid"]
    assert back["id"] == result["dashboardId"]
    return result


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_every_fixture_dashboard_imports_bare_and_wrapped_and_reads_back_equal(
    replica: Replica,
) -> None:
    _need_fixtures()
    _, admin = await caller(replica, "importer", "Admin")
    uids = set()
    for n, path in enumerate(FILES):
        folder = await folder_ok(replica.client, admin, f"Fixture {n}")
        first = await _import_and_compare(replica, admin, path, folder["uid"], wrap=False)
        again = await _import_and_compare(replica, admin, path, folder["uid"], wrap=True)
        assert again["uid"] == first["uid"] and again["dashboardId"] == first["dashboardId"]
        uids.add(first["uid"])
    hits = (await replica.client.get("/api/search", params={"type": "dash-db"}, headers=admin)).json()
    assert {h["uid"] for h in hits} == uids and len(uids) == len(FILES)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_every_fixture_saves_through_dashboards_db_unchanged(replica: Replica) -> None:
    """The route grafana-backup and grafanalib use: the JSON is stored exactly as given."""
    _need_fixtures()
    _, admin = await caller(replica, "saver", "Admin")
    for n, path in enumerate(FILES):
        dash = json.loads(path.read_text(encoding="utf-8"))
        folder = await folder_ok(replica.client, admin, f"Saved {n}")
        r = await replica.client.post(
            "/api/dashboards/db",
            json={
                "dashboard": {**dash, "id": None},
                "folderUid": folder["uid"],
                "overwrite": True,
                "message": "x",
            },
            headers=admin,
        )
        assert r.status_code == 200, (path.name, r.text)
        back = (await replica.client.get(f"/api/dashboards/uid/{r.json()['uid']}", headers=admin)).json()
        assert without_server_fields(back["dashboard"]) == without_server_fields(dash), path.name


async def test_a_bare_body_without_the_dashboard_key_imports_too(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "bare", "Admin")
    r = await sqlite_replica.client.post(
        "/api/dashboards/import", json={"title": "Bare", "panels": [], "uid": "bare"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["uid"] == "bare"
    r = await sqlite_replica.client.post("/api/dashboards/import", json={"overwrite": True}, headers=admin)
    assert r.status_code == 400 and "dashboard" in r.json()["message"]


async def test_inputs_fill_every_string_missing_ones_are_400_constants_default(
    sqlite_replica: Replica,
) -> None:
    _, admin = await caller(sqlite_replica, "inputs", "Admin")
    c = sqlite_replica.client
    dash = {
        "__inputs": [
            {"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"},
            {"name": "LABEL", "type": "constant", "value": "job"},
        ],
        "__requires": [{"type": "datasource", "id": "prometheus"}],
        "title": "With inputs",
        "panels": [{"datasource": "${DS_PROM}", "targets": [{"expr": 'up{${LABEL}=~"x"} ${DS_PROM}'}]}],
        "templating": {"list": [{"name": "v", "query": "${LABEL}", "current": {"text": "${UNKNOWN}"}}]},
    }
    r = await c.post("/api/dashboards/import", json={"dashboard": dash, "inputs": []}, headers=admin)
    assert r.status_code == 400
    assert r.json() == {"message": "Dashboard input variable: DS_PROM missing from import command"}
    r = await c.post(
        "/api/dashboards/import",
        json={"dashboard": dash, "inputs": [{"name": "DS_PROM", "type": "datasource", "value": "P1"}]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    got = (await c.get(f"/api/dashboards/uid/{r.json()['uid']}", headers=admin)).json()["dashboard"]
    assert "__inputs" not in got and got["__requires"] == dash["__requires"]
    assert got["panels"] == [{"datasource": "P1", "targets": [{"expr": 'up{job=~"x"} P1'}]}]
    assert got["templating"]["list"][0]["query"] == "job"
    assert got["templating"]["list"][0]["current"]["text"] == "${UNKNOWN}"


async def test_import_without_overwrite_respects_the_version_check(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "imp", "Admin")
    c = sqlite_replica.client
    body = {"dashboard": {"title": "Once", "uid": "once", "version": 5}}
    assert (await c.post("/api/dashboards/import", json=body, headers=admin)).status_code == 200
    r = await c.post("/api/dashboards/import", json=body, headers=admin)
    assert r.status_code == 412 and r.json()["status"] == "version-mismatch"
    r = await c.post("/api/dashboards/import", json={**body, "overwrite": True}, headers=admin)
    assert r.status_code == 200
    assert (await c.get("/api/dashboards/uid/once", headers=admin)).json()["dashboard"]["version"] == 2
