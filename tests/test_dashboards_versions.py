"""Dashboard versions: list (array, and the wrapped Grafana 12 form), one version, restore; tags and
the home dashboard. SQLite."""

from __future__ import annotations

import html
from typing import Any

from tests.conftest import ADMIN_AUTH, Replica
from tests.dashboards_support import caller, folder_ok, save_ok


async def _three_versions(rep: Replica, headers: dict[str, str]) -> dict[str, Any]:
    c = rep.client
    first = await save_ok(c, headers, {"title": "Versioned", "panels": [{"id": 1}]}, message="v1")
    await save_ok(
        c, headers, {"title": "Versioned", "uid": first["uid"], "version": 1, "panels": []}, message="v2"
    )
    await save_ok(c, headers, {"title": "Versioned 3", "uid": first["uid"], "version": 2}, message="v3")
    return first


async def test_versions_list_newest_first_as_an_array_for_uid_and_id_forms(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "bot", "Admin")
    c = sqlite_replica.client
    d = await _three_versions(sqlite_replica, admin)
    by_uid = (await c.get(f"/api/dashboards/uid/{d['uid']}/versions", headers=admin)).json()
    by_id = (await c.get(f"/api/dashboards/id/{d['id']}/versions", headers=admin)).json()
    assert isinstance(by_uid, list) and by_uid == by_id
    assert [v["version"] for v in by_uid] == [3, 2, 1]
    assert [v["message"] for v in by_uid] == ["v3", "v2", "v1"]
    assert [v["parentVersion"] for v in by_uid] == [2, 1, 0]
    v = by_uid[0]
    assert set(v) == {
        "id", "dashboardId", "uid", "parentVersion", "restoredFrom",
        "version", "created", "createdBy", "message",
    }  # fmt: skip
    assert v["dashboardId"] == d["id"] and v["uid"] == d["uid"] and v["createdBy"] == "sa-bot"
    assert v["restoredFrom"] == 0 and v["created"].endswith("Z")
    paged = (await c.get(f"/api/dashboards/uid/{d['uid']}/versions?limit=1&start=1", headers=admin)).json()
    assert [x["version"] for x in paged] == [2]
    wrapped = (await c.get(f"/api/dashboards/uid/{d['uid']}/versions?continueToken=", headers=admin)).json()
    assert wrapped == {"versions": by_uid, "continueToken": ""}


async def test_get_version_and_limit_start_from_a_form_body_on_get(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "bot", "Admin")
    c = sqlite_replica.client
    d = await _three_versions(sqlite_replica, admin)
    r = await c.get(f"/api/dashboards/uid/{d['uid']}/versions/1", headers=admin)
    assert r.status_code == 200
    one = r.json()
    assert one["version"] == 1 and one["message"] == "v1"
    assert one["data"] == {
        "title": "Versioned",
        "panels": [{"id": 1}],
        "id": d["id"],
        "uid": d["uid"],
        "version": 1,
    }
    assert (await c.get(f"/api/dashboards/id/{d['id']}/versions/2", headers=admin)).json()["data"][
        "version"
    ] == 2
    r = await c.get(f"/api/dashboards/uid/{d['uid']}/versions/9", headers=admin)
    assert r.status_code == 404 and r.json() == {"message": "Dashboard version not found"}
    r = await c.get(f"/api/dashboards/uid/{d['uid']}/versions/x", headers=admin)
    assert r.status_code == 400
    # grafana-client sends limit/start as a form body on GET
    form = {**admin, "Content-Type": "application/x-www-form-urlencoded"}
    r = await c.request(
        "GET", f"/api/dashboards/uid/{d['uid']}/versions", content=b"limit=1&start=0", headers=form
    )
    assert r.status_code == 200 and [v["version"] for v in r.json()] == [3]
    r = await c.get("/api/dashboards/uid/nope/versions", headers=admin)
    assert r.status_code == 404 and r.json() == {"message": "Dashboard not found"}


async def test_restore_saves_the_old_json_as_a_new_version(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "bot", "Admin")
    c = sqlite_replica.client
    d = await _three_versions(sqlite_replica, admin)
    r = await c.post(f"/api/dashboards/uid/{d['uid']}/restore", json={"version": 1}, headers=admin)
    assert r.status_code == 200
    body = r.json()
    assert (
        body["status"] == "success"
        and body["version"] == 4
        and body["uid"] == d["uid"]
        and body["id"] == d["id"]
    )
    assert set(body) == {"id", "uid", "url", "status", "version", "slug", "folderUid"}
    got = (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=admin)).json()["dashboard"]
    assert got == {"title": "Versioned", "panels": [{"id": 1}], "id": d["id"], "uid": d["uid"], "version": 4}
    newest = (await c.get(f"/api/dashboards/uid/{d['uid']}/versions", headers=admin)).json()[0]
    assert newest["restoredFrom"] == 1 and newest["message"] == "Restored from version 1"
    r = await c.post(f"/api/dashboards/id/{d['id']}/restore", json={"version": 3}, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 5
    r = await c.post(f"/api/dashboards/uid/{d['uid']}/restore", json={"version": 77}, headers=admin)
    assert r.status_code == 404 and r.json() == {"message": "Dashboard version not found"}
    r = await c.post(f"/api/dashboards/uid/{d['uid']}/restore", json={}, headers=admin)
    assert r.status_code == 400


async def test_restore_keeps_the_dashboard_in_its_folder(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "bot", "Admin")
    c = sqlite_replica.client
    f = await folder_ok(c, admin, "Kept Here")
    d = await save_ok(c, admin, {"title": "Foldered"}, folderUid=f["uid"])
    await save_ok(c, admin, {"title": "Foldered", "uid": d["uid"], "version": 1, "x": 1}, folderUid=f["uid"])
    r = await c.post(f"/api/dashboards/uid/{d['uid']}/restore", json={"version": 1}, headers=admin)
    assert r.status_code == 200 and r.json()["folderUid"] == f["uid"]


async def test_tags_count_dashboards_per_term(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "bot", "Admin")
    c = sqlite_replica.client
    await save_ok(c, admin, {"title": "a", "tags": ["prod", "db"]})
    await save_ok(c, admin, {"title": "b", "tags": ["prod", "prod", 7, None, ""]})
    await save_ok(c, admin, {"title": "c", "tags": "not a list"})
    r = await c.get("/api/dashboards/tags", headers=admin)
    assert r.json() == [{"term": "db", "count": 1}, {"term": "prod", "count": 2}]
    # the stored JSON keeps the tags exactly as sent
    hits = (await c.get("/api/search", params={"query": "b"}, headers=admin)).json()
    got = (await c.get(f"/api/dashboards/uid/{hits[0]['uid']}", headers=admin)).json()["dashboard"]
    assert got["tags"] == ["prod", "prod", 7, None, ""]


async def test_home_is_built_in_until_a_preference_names_a_dashboard(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.get("/api/dashboards/home", headers=ADMIN_AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["meta"]["isHome"] is True and body["meta"]["canSave"] is False
    assert body["dashboard"]["title"] == "Home" and isinstance(body["dashboard"]["panels"], list)
    d = await save_ok(c, ADMIN_AUTH, {"title": "My Home"})
    r = await c.put("/api/user/preferences", json={"homeDashboardUID": d["uid"]}, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    r = await c.get("/api/dashboards/home", headers=ADMIN_AUTH)
    assert r.json() == {"redirectUri": d["url"]}


async def test_calculate_diff_answers_html_for_json_and_basic(sqlite_replica: Replica) -> None:
    _, admin = await caller(sqlite_replica, "bot", "Admin")
    c = sqlite_replica.client
    d = await _three_versions(sqlite_replica, admin)
    body = {"base": {"dashboardId": d["id"], "version": 1}, "new": {"dashboardId": d["id"], "version": 3}}
    r = await c.post("/api/dashboards/calculate-diff", json={**body, "diffType": "basic"}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "changed /title" in r.text and "removed /panels" in r.text and "changed /version" in r.text
    r = await c.post("/api/dashboards/calculate-diff", json={**body, "diffType": "json"}, headers=admin)
    assert (
        r.status_code == 200
        and '-  "title": "Versioned",' in html.unescape(r.text)
        and '+  "title": "Versioned 3",' in html.unescape(r.text)
    )
    r = await c.post("/api/dashboards/calculate-diff", json={**body, "diffType": "xml"}, headers=admin)
    assert r.status_code == 400
    bad = {"base": {"dashboardId": d["id"], "version": 99}, "new": body["new"]}
    r = await c.post("/api/dashboards/calculate-diff", json=bad, headers=admin)
    assert r.status_code == 404 and r.json() == {"message": "Dashboard version not found"}
