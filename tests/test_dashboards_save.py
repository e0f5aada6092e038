"""POST /api/dashboards/db: Grafana's validate-before-save algorithm and its exact error bodies;
GET and DELETE /api/dashboards/uid/:uid. SQLite (shape and behaviour)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert, select

from tests.conftest import ADMIN_AUTH, Replica
from tests.dashboards_support import folder_ok, save, save_ok, without_server_fields
from vigil.dashboards.tables import dashboard_provisioning, dashboard_version

VERSION_MISMATCH = {"status": "version-mismatch", "message": "The dashboard has been changed by someone else"}
NAME_EXISTS = {
    "status": "name-exists",
    "message": "A dashboard with the same name in the folder already exists",
}


async def test_new_dashboard_gets_a_generated_uid_version_1_and_the_save_response_shape(
    sqlite_replica: Replica,
) -> None:
    c = sqlite_replica.client
    r = await save(c, ADMIN_AUTH, {"id": None, "uid": None, "title": "My Title", "version": 0})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "uid", "url", "status", "version", "slug", "folderUid"}
    assert body["status"] == "success" and body["version"] == 1 and body["slug"] == "my-title"
    assert re.fullmatch(r"[A-Za-z0-9]{14}", body["uid"])
    assert body["url"] == f"/d/{body['uid']}/my-title" and body["folderUid"] == ""
    assert isinstance(body["id"], int) and body["id"] > 0


async def test_dashboard_json_is_stored_exactly_as_given_apart_from_id_uid_version(
    sqlite_replica: Replica,
) -> None:
    c = sqlite_replica.client
    dash = {
        "title": "Exact",
        "uid": "exact-1",
        "panels": [{"id": 1, "type": "timeseries", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}],
        "rows": [{"panels": [{"span": 6}]}],
        "__inputs": [],
        "gnetId": None,
        "weird": {"ünïcødé": "✓", "float": 1.5, "big": 12345678901234, "neg": -0.25, "nested": [[], {}]},
        "schemaVersion": 12,
        "style": "dark",
        "version": 0,
        "meta": {"ignored": "no, stored: it is inside dashboard"},
    }
    await save_ok(c, ADMIN_AUTH, dash, overwrite=True, message="first")
    r = await c.get("/api/dashboards/uid/exact-1", headers=ADMIN_AUTH)
    got = r.json()["dashboard"]
    assert without_server_fields(got) == without_server_fields(dash)
    assert got["uid"] == "exact-1" and got["version"] == 1 and isinstance(got["id"], int)
    assert list(got)[: len(dash) - 0][:3] == ["title", "uid", "panels"]  # key order kept


async def test_empty_or_missing_title_is_400(sqlite_replica: Replica) -> None:
    for dash in ({"title": ""}, {"title": "   "}, {}, {"title": None}, {"title": 5}):
        r = await save(sqlite_replica.client, ADMIN_AUTH, dash)
        assert r.status_code == 400 and r.json() == {"message": "Dashboard title cannot be empty"}, dash


async def test_uid_rules_illegal_characters_then_length(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for bad in ("has space", "slash/uid", "dot.uid", "ümlaut", 42):
        r = await save(c, ADMIN_AUTH, {"title": "T", "uid": bad})
        assert r.status_code == 400 and r.json() == {"message": "uid contains illegal characters"}, bad
    r = await save(c, ADMIN_AUTH, {"title": "T", "uid": "a" * 41})
    assert r.status_code == 400 and r.json() == {"message": "uid too long, max 40 characters"}
    body = await save_ok(c, ADMIN_AUTH, {"title": "T", "uid": "A_b-9" + "x" * 35})
    assert len(body["uid"]) == 40


async def test_unknown_id_is_404_and_id_uid_naming_two_rows_is_400(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await save(c, ADMIN_AUTH, {"id": 9999, "title": "T"})
    assert r.status_code == 404 and r.json() == {"message": "Dashboard not found"}
    a = await save_ok(c, ADMIN_AUTH, {"title": "A", "uid": "aaa"})
    await save_ok(c, ADMIN_AUTH, {"title": "B", "uid": "bbb"})
    r = await save(c, ADMIN_AUTH, {"id": a["id"], "uid": "bbb", "title": "A", "version": 1})
    assert r.status_code == 400 and r.json() == {"message": "A dashboard with the same uid already exists"}
    # id alone finds the row and keeps its uid
    r = await save(c, ADMIN_AUTH, {"id": a["id"], "title": "A2", "version": 1})
    assert r.status_code == 200 and r.json()["uid"] == "aaa" and r.json()["version"] == 2


async def test_version_check_gives_412_version_mismatch_unless_overwrite(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await save_ok(c, ADMIN_AUTH, {"title": "V", "uid": "v1"})
    for stale in ({"version": 5}, {"version": 0}, {}):
        r = await save(c, ADMIN_AUTH, {"title": "V", "uid": "v1", **stale})
        assert r.status_code == 412 and r.json() == VERSION_MISMATCH, stale
    ok = await save_ok(c, ADMIN_AUTH, {"title": "V", "uid": "v1", "version": 1})
    assert ok["version"] == 2
    forced = await save_ok(c, ADMIN_AUTH, {"title": "V", "uid": "v1", "version": 1}, overwrite=True)
    assert forced["version"] == 3 and forced["id"] == ok["id"]


async def test_title_check_gives_412_name_exists_and_overwrite_takes_over_the_row(
    sqlite_replica: Replica,
) -> None:
    c = sqlite_replica.client
    first = await save_ok(c, ADMIN_AUTH, {"title": "Same Name", "tags": ["old"]})
    r = await save(c, ADMIN_AUTH, {"title": "Same Name"})
    assert r.status_code == 412 and r.json() == NAME_EXISTS
    r = await save(c, ADMIN_AUTH, {"title": "  same name "})  # case and spaces do not matter
    assert r.status_code == 412 and r.json() == NAME_EXISTS
    taken = await save_ok(
        c, ADMIN_AUTH, {"title": "Same Name", "uid": "newuid", "tags": ["new"]}, overwrite=True
    )
    assert taken["id"] == first["id"] and taken["uid"] == first["uid"] and taken["version"] == 2
    got = (await c.get(f"/api/dashboards/uid/{first['uid']}", headers=ADMIN_AUTH)).json()["dashboard"]
    assert got["tags"] == ["new"] and got["uid"] == first["uid"]
    assert (await c.get("/api/dashboards/uid/newuid", headers=ADMIN_AUTH)).status_code == 404
    # the same title in another folder is another dashboard
    f = await folder_ok(c, ADMIN_AUTH, "Elsewhere")
    other = await save_ok(c, ADMIN_AUTH, {"title": "Same Name"}, folderUid=f["uid"])
    assert other["id"] != first["id"] and other["folderUid"] == f["uid"]


async def test_folder_uid_wins_over_folder_id_and_unknown_folders_are_400(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    f1 = await folder_ok(c, ADMIN_AUTH, "F1")
    f2 = await folder_ok(c, ADMIN_AUTH, "F2")
    body = await save_ok(c, ADMIN_AUTH, {"title": "In F2"}, folderUid=f2["uid"], folderId=f1["id"])
    assert body["folderUid"] == f2["uid"]
    body = await save_ok(c, ADMIN_AUTH, {"title": "In F1"}, folderId=f1["id"])
    assert body["folderUid"] == f1["uid"]
    for root in ({"folderId": 0}, {"folderUid": ""}, {"folderUid": None}, {}):
        body = await save_ok(c, ADMIN_AUTH, {"title": f"Root {root}"}, **root)
        assert body["folderUid"] == ""
    for bad in ({"folderUid": "nope"}, {"folderId": 777}):
        r = await save(c, ADMIN_AUTH, {"title": "Lost"}, **bad)
        assert r.status_code == 400 and r.json() == {"message": "folder not found"}


async def test_commit_message_lands_in_the_version_row(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    body = await save_ok(c, ADMIN_AUTH, {"title": "Msg"}, message="first cut")
    await save_ok(c, ADMIN_AUTH, {"title": "Msg", "uid": body["uid"], "version": 1}, message="second")
    async with sqlite_replica.services.db.read() as conn:
        rows = (
            await conn.execute(
                select(
                    dashboard_version.c.version,
                    dashboard_version.c.message,
                    dashboard_version.c.parent_version,
                )
                .where(dashboard_version.c.dashboard_id == body["id"])
                .order_by(dashboard_version.c.version)
            )
        ).all()
    assert [tuple(r) for r in rows] == [(1, "first cut", 0), (2, "second", 1)]


async def test_plugin_dashboards_need_overwrite(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.post(
        "/api/dashboards/import",
        json={"dashboard": {"title": "From Plugin", "uid": "plug"}, "pluginId": "my-app", "overwrite": True},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json()["pluginId"] == "my-app"
    r = await save(c, ADMIN_AUTH, {"title": "From Plugin", "uid": "plug", "version": 1})
    assert r.status_code == 412
    assert r.json() == {"status": "plugin-dashboard", "message": "The dashboard belongs to plugin my-app."}
    await save_ok(c, ADMIN_AUTH, {"title": "From Plugin", "uid": "plug", "version": 1}, overwrite=True)


async def test_v2_resource_format_is_refused_with_a_400_that_says_so(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    v2 = {
        "apiVersion": "dashboard.grafana.app/v2beta1",
        "kind": "Dashboard",
        "metadata": {"name": "x"},
        "spec": {"title": "V2", "elements": {}, "layout": {"kind": "GridLayout"}},
    }
    for r in (
        await save(c, ADMIN_AUTH, v2),
        await c.post("/api/dashboards/db", json=v2, headers=ADMIN_AUTH),
        await c.post("/api/dashboards/import", json={"dashboard": v2}, headers=ADMIN_AUTH),
    ):
        assert r.status_code == 400 and "v2" in r.json()["message"], r.text


async def test_server_owned_and_unknown_body_fields_are_ignored(sqlite_replica: Replica) -> None:
    body = await save_ok(
        sqlite_replica.client,
        ADMIN_AUTH,
        {"title": "Extra"},
        meta={"folderId": 3, "canSave": True},
        orgId=77,
        somethingNew={"x": 1},
        isFolder=False,
    )
    assert body["status"] == "success"


async def test_bad_bodies_are_400_json_never_500(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.post(
        "/api/dashboards/db", content=b"{not json", headers={**ADMIN_AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "message" in r.json()
    for body in ([1, 2], {"dashboard": "x"}, {"dashboard": [1]}, {}):
        r = await c.post("/api/dashboards/db", json=body, headers=ADMIN_AUTH)
        assert r.status_code == 400 and "message" in r.json(), body
    r = await save(c, ADMIN_AUTH, {"title": "T", "id": "abc"})
    assert r.status_code == 400


async def test_get_returns_dashboard_and_meta_with_every_field(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    f = await folder_ok(c, ADMIN_AUTH, "Team Folder")
    body = await save_ok(c, ADMIN_AUTH, {"title": "Meta Check"}, folderUid=f["uid"])
    r = await c.get(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    meta = r.json()["meta"]
    expected_keys = {
        "type", "canSave", "canEdit", "canAdmin", "canDelete", "canStar", "slug", "url", "expires",
        "created", "updated", "createdBy", "updatedBy", "version", "hasAcl", "isFolder", "folderId",
        "folderUid", "folderTitle", "folderUrl", "provisioned", "provisionedExternalId",
        "annotationsPermissions", "isStarred",
    }  # fmt: skip
    assert expected_keys <= set(meta)
    assert meta["type"] == "db" and meta["slug"] == "meta-check" and meta["url"] == body["url"]
    assert meta["expires"] == "0001-01-01T00:00:00Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["created"])
    assert meta["createdBy"] == "admin" and meta["updatedBy"] == "admin" and meta["version"] == 1
    assert meta["hasAcl"] is False and meta["isFolder"] is False and meta["provisioned"] is False
    assert (
        meta["folderId"] == f["id"] and meta["folderUid"] == f["uid"] and meta["folderTitle"] == "Team Folder"
    )
    assert meta["folderUrl"] == f"/dashboards/f/{f['uid']}/team-folder"
    assert meta["canSave"] and meta["canEdit"] and meta["canAdmin"] and meta["canDelete"] and meta["canStar"]
    assert meta["annotationsPermissions"]["dashboard"] == {"canAdd": True, "canEdit": True, "canDelete": True}
    root = await save_ok(c, ADMIN_AUTH, {"title": "At Root"})
    meta = (await c.get(f"/api/dashboards/uid/{root['uid']}", headers=ADMIN_AUTH)).json()["meta"]
    assert meta["folderUid"] == "" and meta["folderTitle"] == "General" and meta["folderId"] == 0


async def test_missing_dashboard_is_404_and_trailing_slash_is_the_same_route(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.get("/api/dashboards/uid/nope", headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == {"message": "Dashboard not found"}
    body = await save_ok(c, ADMIN_AUTH, {"title": "Slash"})
    r = await c.get(f"/api/dashboards/uid/{body['uid']}/", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["dashboard"]["title"] == "Slash"
    r = await c.post("/api/dashboards/db/", json={"dashboard": {"title": "Via slash"}}, headers=ADMIN_AUTH)
    assert r.status_code == 200


async def test_delete_returns_grafanas_body_then_404(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    body = await save_ok(c, ADMIN_AUTH, {"title": "Doomed", "tags": ["t"]})
    r = await c.delete(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert r.json() == {
        "title": "Doomed",
        "message": "Dashboard Doomed deleted",
        "uid": body["uid"],
        "id": body["id"],
    }
    assert (await c.get(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)).status_code == 404
    r = await c.delete(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == {"message": "Dashboard not found"}
    assert (await c.get("/api/dashboards/tags", headers=ADMIN_AUTH)).json() == []
    # the title is free again
    await save_ok(c, ADMIN_AUTH, {"title": "Doomed"})


async def test_provisioned_dashboard_cannot_be_deleted_or_saved_from_the_api(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    body = await save_ok(c, ADMIN_AUTH, {"title": "From File"})
    async with sqlite_replica.services.db.write() as conn:
        await conn.execute(
            insert(dashboard_provisioning).values(
                dashboard_id=body["id"],
                name="files",
                external_id="a/b.json",
                allow_ui_updates=False,
                updated=0,
            )
        )
    meta = (await c.get(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)).json()["meta"]
    assert meta["provisioned"] is True and meta["provisionedExternalId"] == "a/b.json"
    r = await c.delete(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)
    assert r.status_code == 400 and "provisioned" in r.json()["message"]
    r = await save(c, ADMIN_AUTH, {"title": "From File", "uid": body["uid"], "version": 1})
    assert r.status_code == 400 and r.json() == {"message": "Cannot save provisioned dashboard"}


async def test_legacy_slug_routes_are_404_json(sqlite_replica: Replica) -> None:
    for method in ("GET", "DELETE"):
        r = await sqlite_replica.client.request(method, "/api/dashboards/db/some-slug", headers=ADMIN_AUTH)
        assert r.status_code == 404 and "message" in r.json()


async def test_no_credentials_is_401(sqlite_replica: Replica) -> None:
    r = await save(sqlite_replica.client, {}, {"title": "x"})
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_oversized_fields_are_400_on_strict_databases(replica: Replica) -> None:
    c = replica.client
    r = await save(c, ADMIN_AUTH, {"title": "t" * 256})
    assert r.status_code == 400 and "too long" in r.json()["message"]
    r = await c.post("/api/folders", json={"title": "f" * 256}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and "too long" in r.json()["message"]
    r = await c.post(
        "/api/dashboards/import",
        json={"dashboard": {"title": "p"}, "pluginId": "x" * 191},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 400
    long_tag = "x" * 300
    body = await save_ok(
        c, ADMIN_AUTH, {"title": "t" * 255, "tags": [long_tag, "ok"], "x": "y" * 100_000}, message="m" * 5000
    )
    got = (await c.get(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)).json()["dashboard"]
    assert got["tags"] == [long_tag, "ok"] and len(got["x"]) == 100_000
    assert (await c.get("/api/dashboards/tags", headers=ADMIN_AUTH)).json() == [{"term": "ok", "count": 1}]


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_ids_beyond_32_bits_are_not_found_not_500(replica: Replica) -> None:
    c = replica.client
    huge = 2**40
    r = await save(c, ADMIN_AUTH, {"title": "T", "id": huge})
    assert r.status_code == 404 and r.json() == {"message": "Dashboard not found"}
    r = await save(c, ADMIN_AUTH, {"title": "T"}, folderId=huge)
    assert r.status_code == 400 and r.json() == {"message": "folder not found"}
    for path in (f"/api/dashboards/id/{huge}/versions", f"/api/dashboards/id/{huge}/permissions"):
        assert (await c.get(path, headers=ADMIN_AUTH)).status_code == 404, path
    assert (await c.get(f"/api/folders/id/{huge}", headers=ADMIN_AUTH)).status_code == 404
    for params in (
        {"dashboardIds": huge, "folderIds": huge},
        {"dashboardIds": huge},
        {"folderIds": [huge, 12345]},
    ):
        r = await c.get("/api/search", params=params, headers=ADMIN_AUTH)
        assert r.status_code == 200 and r.json() == [], params
    body = await save_ok(c, ADMIN_AUTH, {"title": "Versions"})
    r = await c.get(f"/api/dashboards/uid/{body['uid']}/versions/{huge}", headers=ADMIN_AUTH)
    assert r.status_code == 404
    r = await c.post(f"/api/dashboards/uid/{body['uid']}/restore", json={"version": huge}, headers=ADMIN_AUTH)
    assert r.status_code == 404
    r = await c.post(
        f"/api/dashboards/uid/{body['uid']}/permissions",
        json={"items": [{"userId": huge, "permission": 1}]},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 400


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_nul_characters_are_400_or_not_found_never_500(replica: Replica) -> None:
    c = replica.client
    r = await save(c, ADMIN_AUTH, {"title": "bad\x00title"})
    assert r.status_code == 400 and "NUL" in r.json()["message"]
    r = await c.post("/api/folders", json={"title": "bad\x00"}, headers=ADMIN_AUTH)
    assert r.status_code == 400
    r = await c.post("/api/folders", json={"title": "ok", "parentUid": "p\x00"}, headers=ADMIN_AUTH)
    assert r.status_code == 404
    r = await save(c, ADMIN_AUTH, {"title": "t"}, folderUid="f\x00")
    assert r.status_code == 400 and r.json() == {"message": "folder not found"}
    body = await save_ok(
        c, ADMIN_AUTH, {"title": "nul inside json", "x": "a\x00b", "tags": ["t\x00", "fine"]}, message="m\x00"
    )
    got = (await c.get(f"/api/dashboards/uid/{body['uid']}", headers=ADMIN_AUTH)).json()["dashboard"]
    assert got["x"] == "a\x00b" and got["tags"] == ["t\x00", "fine"]
    for path in ("/api/dashboards/uid/a%00b", "/api/folders/a%00b", "/api/dashboards/uid/a%00b/versions"):
        assert (await c.get(path, headers=ADMIN_AUTH)).status_code == 404, path
    for params in ({"query": "a\x00"}, {"tag": "x\x00"}, {"dashboardUIDs": "u\x00"}):
        r = await c.get("/api/search", params=params, headers=ADMIN_AUTH)
        assert r.status_code == 400, params
