"""Provisioning cycles on one replica (SQLite): data sources and dashboard providers, changes,
deletions, folders, clashes, UI updates and the admin reload routes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import ADMIN_AUTH, AppFactory, Replica
from tests.content_support import add_user
from vigil.dashboards.tables import dashboard, dashboard_version
from vigil.provisioning.runner import Provisioner

DS_FILE = """apiVersion: 1
deleteDatasources:
  - name: Old
datasources:
  - name: Metrics
    type: prometheus
    uid: metrics
    url: $PROM_URL
    isDefault: true
    jsonData:
      timeInterval: 15s
      label: "cost $$5"
    secureJsonData:
      httpHeaderValue1: ${PROM_TOKEN}
  - name: Scratch
    type: testdata
    editable: true
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _dash(uid: str | None, title: str, **extra: Any) -> str:
    body: dict[str, Any] = {"title": title, "panels": [], "schemaVersion": 41, **extra}
    if uid is not None:
        body["uid"] = uid
    return json.dumps(body)


async def _versions(r: Replica) -> dict[str, int]:
    async with r.services.db.read() as conn:
        rows = await conn.execute(select(dashboard.c.title, dashboard.c.version))
        return {t: v for t, v in rows}


async def _version_rows(r: Replica) -> int:
    async with r.services.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(dashboard_version))).scalar_one())


async def test_data_sources_are_provisioned_read_only_and_kept_in_step(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROM_URL", "http://127.0.0.1:9090")
    monkeypatch.setenv("PROM_TOKEN", "Bearer abc")
    root = tmp_path / "prov"
    _write(root / "datasources" / "ds.yaml", DS_FILE)
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    c = r.client
    got = (await c.get("/api/datasources/uid/metrics", headers=ADMIN_AUTH)).json()
    assert (got["name"], got["url"], got["readOnly"], got["isDefault"], got["version"]) == (
        "Metrics", "http://127.0.0.1:9090", True, True, 1
    )  # fmt: skip
    assert got["jsonData"] == {"timeInterval": "15s", "label": "cost $5"}
    assert got["secureJsonFields"] == {"httpHeaderValue1": True}
    assert "secureJsonData" not in got
    assert r.services.datasources.store.secrets(await r.services.datasources.store.by_uid(1, "metrics")) == {
        "httpHeaderValue1": "Bearer abc"
    }
    # read-only unless editable
    refused = await c.put(
        f"/api/datasources/{got['id']}", headers=ADMIN_AUTH, json={**got, "url": "http://x:1"}
    )
    assert refused.status_code == 403
    scratch = (await c.get("/api/datasources/name/Scratch", headers=ADMIN_AUTH)).json()
    assert scratch["readOnly"] is False
    # unchanged files: nothing is written again
    prov = Provisioner(r.services)
    for _ in range(3):
        assert [p for p in await prov.run_once() if p.refused] == []
    assert (await c.get("/api/datasources/uid/metrics", headers=ADMIN_AUTH)).json()["version"] == 1
    # a change in the environment is a change of the definition
    monkeypatch.setenv("PROM_URL", "http://127.0.0.1:9091")
    await prov.run_once()
    got = (await c.get("/api/datasources/uid/metrics", headers=ADMIN_AUTH)).json()
    assert (got["url"], got["version"]) == ("http://127.0.0.1:9091", 2)
    # an edit through the API (of the editable one) is put back by the next provisioning
    scratch["url"] = "http://127.0.0.1:1"
    assert (
        await c.put(f"/api/datasources/{scratch['id']}", headers=ADMIN_AUTH, json=scratch)
    ).status_code == 200
    await prov.run_once()
    assert (await c.get("/api/datasources/name/Scratch", headers=ADMIN_AUTH)).json()["url"] == ""
    # deleteDatasources removes a data source the files do not provision
    assert (
        await c.post("/api/datasources", headers=ADMIN_AUTH, json={"name": "Old", "type": "testdata"})
    ).status_code == 200
    await prov.run_once()
    assert (await c.get("/api/datasources/name/Old", headers=ADMIN_AUTH)).status_code == 404
    names = sorted(d["name"] for d in (await c.get("/api/datasources", headers=ADMIN_AUTH)).json())
    assert names == ["Metrics", "Scratch"]


async def test_dashboards_are_provisioned_into_the_provider_folder_and_follow_their_files(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "prov"
    files = tmp_path / "dash"
    _write(
        root / "dashboards" / "p.yaml",
        "apiVersion: 1\nproviders:\n"
        f"  - name: main\n    folder: Provisioned\n    options:\n      path: {files}\n",
    )
    _write(files / "a.json", _dash("dash-a", "A"))
    _write(files / "b.json", _dash(None, "B without uid"))
    _write(files / "deeper" / "c.json", _dash("dash-c", "C"))
    _write(files / "readme.txt", "ignored")
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    c = r.client
    a = (await c.get("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).json()
    assert a["meta"]["folderTitle"] == "Provisioned"
    assert a["meta"]["provisioned"] is True
    assert a["meta"]["provisionedExternalId"] == "a.json"
    assert a["dashboard"]["version"] == 1
    assert (await c.get("/api/dashboards/uid/dash-c", headers=ADMIN_AUTH)).json()["meta"][
        "provisionedExternalId"
    ] == ("deeper/c.json")
    hits = (await c.get("/api/search?query=B without", headers=ADMIN_AUTH)).json()
    b_uid = hits[0]["uid"]
    prov = Provisioner(r.services)
    for _ in range(3):
        await prov.run_once()
    assert await _versions(r) == {"A": 1, "B without uid": 1, "C": 1}
    assert await _version_rows(r) == 3
    assert (await c.get("/api/search?query=B without", headers=ADMIN_AUTH)).json()[0]["uid"] == b_uid
    # provisioned dashboards refuse UI saves and deletes
    body = {"dashboard": {**a["dashboard"], "title": "A edited"}, "overwrite": True}
    assert (await c.post("/api/dashboards/db", headers=ADMIN_AUTH, json=body)).status_code == 400
    assert (await c.delete("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).status_code == 400
    # a changed file is a new version; a file without uid keeps its first uid
    _write(files / "a.json", _dash("dash-a", "A", description="changed"))
    _write(files / "b.json", _dash(None, "B without uid", description="changed"))
    await prov.run_once()
    assert await _versions(r) == {"A": 2, "B without uid": 2, "C": 1}
    assert (await c.get("/api/search?query=B without", headers=ADMIN_AUTH)).json()[0]["uid"] == b_uid
    # a removed file removes its dashboard; a changed uid replaces the dashboard
    (files / "deeper" / "c.json").unlink()
    _write(files / "a.json", _dash("dash-a2", "A"))
    await prov.run_once()
    assert (await c.get("/api/dashboards/uid/dash-c", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.get("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.get("/api/dashboards/uid/dash-a2", headers=ADMIN_AUTH)).status_code == 200
    assert sorted(await _versions(r)) == ["A", "B without uid"]


async def test_a_missing_provider_path_loads_nothing_and_deletes_nothing(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "prov"
    files = tmp_path / "dash"
    _write(root / "dashboards" / "p.yaml", f"providers:\n  - name: main\n    options:\n      path: {files}\n")
    _write(files / "a.json", _dash("dash-a", "A"))
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    assert await _versions(r) == {"A": 1}
    (files / "a.json").unlink()
    files.rmdir()
    problems = await Provisioner(r.services).run_once()
    assert await _versions(r) == {"A": 1}
    assert any("does not exist; nothing loaded and nothing deleted" in p.message for p in problems)


async def test_disable_deletion_keeps_the_dashboard_and_releases_it(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "prov"
    files = tmp_path / "dash"
    _write(
        root / "dashboards" / "p.yaml",
        f"providers:\n  - name: keep\n    disableDeletion: true\n    options:\n      path: {files}\n",
    )
    _write(files / "a.json", _dash("dash-a", "A"))
    _write(files / "b.json", _dash("dash-b", "B"))
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    (files / "a.json").unlink()
    await Provisioner(r.services).run_once()
    a = (await r.client.get("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).json()
    assert a["meta"]["provisioned"] is False
    assert (await r.client.delete("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).status_code == 200


async def test_folders_from_file_structure_and_single_file_paths(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "prov"
    tree = tmp_path / "tree"
    single = tmp_path / "one" / "single.json"
    _write(
        root / "dashboards" / "p.yaml",
        "apiVersion: 1\nproviders:\n"
        f"  - name: tree\n    options:\n      path: {tree}\n      foldersFromFilesStructure: true\n"
        f"  - name: single\n    folder: Solo\n    folderUid: solo-uid\n    options:\n      path: {single}\n",
    )
    _write(tree / "top.json", _dash("top", "Top"))
    _write(tree / "Team One" / "t1.json", _dash("t1", "T1"))
    _write(tree / "Team Two" / "t2.json", _dash("t2", "T2"))
    _write(single, _dash("single", "Single"))
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    c = r.client

    async def folder_of(uid: str) -> tuple[str, str]:
        meta = (await c.get(f"/api/dashboards/uid/{uid}", headers=ADMIN_AUTH)).json()["meta"]
        return meta["folderTitle"], meta["folderUid"]

    assert (await folder_of("top")) == ("General", "")
    assert (await folder_of("t1"))[0] == "Team One"
    assert (await folder_of("t2"))[0] == "Team Two"
    assert await folder_of("single") == ("Solo", "solo-uid")
    # a Viewer sees provisioned dashboards in General and in the created folders
    _, viewer = await add_user(r, "vera", "Viewer")
    assert (await c.get("/api/dashboards/uid/top", headers=viewer)).status_code == 200
    assert (await c.get("/api/dashboards/uid/t1", headers=viewer)).status_code == 200
    await Provisioner(r.services).run_once()
    folders = (await c.get("/api/folders", headers=ADMIN_AUTH)).json()
    assert sorted(f["title"] for f in folders) == ["Solo", "Team One", "Team Two"]


async def test_uid_and_title_clashes_keep_the_first_owner(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "prov"
    files = tmp_path / "dash"
    _write(root / "dashboards" / "p.yaml", f"providers:\n  - name: main\n    options:\n      path: {files}\n")
    _write(files / "1.json", _dash("same", "First"))
    _write(files / "2.json", _dash("same", "Second"))
    _write(files / "3.json", _dash("other", "First"))
    _write(files / "4.json", "{not json")
    _write(files / "5.json", json.dumps({"apiVersion": "dashboard.grafana.app/v2beta1", "spec": {}}))
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    prov = Provisioner(r.services)
    problems = []
    for _ in range(3):
        problems += await prov.run_once()
    assert await _versions(r) == {"First": 1}
    text = "\n".join(str(p) for p in problems)
    assert "2.json: provider 'main': uid 'same' is already provisioned from '1.json'" in text
    assert (
        "3.json: provider 'main': title 'First' in this folder is already provisioned from '1.json'" in text
    )
    assert "4.json: provider 'main': not a valid JSON dashboard" in text
    assert "5.json: provider 'main': dashboard in the v2 resource format" in text
    # once the owner's file is gone, the next file may take the uid
    (files / "1.json").unlink()
    await prov.run_once()
    assert (await r.client.get("/api/dashboards/uid/same", headers=ADMIN_AUTH)).json()["dashboard"][
        "title"
    ] == "Second"


async def test_allow_ui_updates_keeps_ui_changes_until_the_file_changes(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "prov"
    files = tmp_path / "dash"
    _write(
        root / "dashboards" / "p.yaml",
        f"providers:\n  - name: main\n    allowUiUpdates: true\n    options:\n      path: {files}\n",
    )
    _write(files / "a.json", _dash("dash-a", "A"))
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    c = r.client
    a = (await c.get("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).json()
    assert a["meta"]["provisioned"] is False  # editable in the UI
    saved = await c.post(
        "/api/dashboards/db",
        headers=ADMIN_AUTH,
        json={"dashboard": {**a["dashboard"], "description": "from UI"}},
    )
    assert saved.status_code == 200, saved.text
    await Provisioner(r.services).run_once()
    got = (await c.get("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).json()["dashboard"]
    assert (got["description"], got["version"]) == ("from UI", 2)
    _write(files / "a.json", _dash("dash-a", "A", description="from file"))
    await Provisioner(r.services).run_once()
    got = (await c.get("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).json()["dashboard"]
    assert (got["description"], got["version"]) == ("from file", 3)


async def test_reload_routes_need_a_server_admin_and_report_problems(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "prov"
    files = tmp_path / "dash"
    _write(root / "dashboards" / "p.yaml", f"providers:\n  - name: main\n    options:\n      path: {files}\n")
    _write(root / "datasources" / "bad.yaml", "apiVersion: 1\ndatasources:\n  - name: NoType\n")
    files.mkdir()
    r = await make_replica(sqlite_url, paths__provisioning=str(root))
    c = r.client
    _write(files / "a.json", _dash("dash-a", "A"))
    resp = await c.post("/api/admin/provisioning/dashboards/reload", headers=ADMIN_AUTH)
    assert (resp.status_code, resp.json()) == (200, {"message": "Dashboards config reloaded"})
    assert (await c.get("/api/dashboards/uid/dash-a", headers=ADMIN_AUTH)).status_code == 200
    resp = await c.post("/api/admin/provisioning/datasources/reload", headers=ADMIN_AUTH)
    assert resp.status_code == 200
    assert resp.json()["message"] == "Datasources config reloaded"
    assert any("type is required" in e for e in resp.json()["errors"])
    _, editor = await add_user(r, "ed", "Editor")
    assert (await c.post("/api/admin/provisioning/dashboards/reload", headers=editor)).status_code == 403
