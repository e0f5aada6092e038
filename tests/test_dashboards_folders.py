"""/api/folders: CRUD, nesting with parentUid, moves, deletes with contents. SQLite."""

from __future__ import annotations

from tests.conftest import ADMIN_AUTH, Replica
from tests.dashboards_support import folder_ok, save_ok

NOT_FOUND = {"status": "not-found", "message": "folder not found"}


async def test_create_returns_the_folder_dto_and_get_by_uid_and_id_agree(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.post("/api/folders", json={"uid": "ops", "title": "Ops Team"}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    dto = r.json()
    assert dto["uid"] == "ops" and dto["title"] == "Ops Team" and dto["orgId"] == 1 and dto["version"] == 1
    assert dto["url"] == "/dashboards/f/ops/ops-team" and dto["hasAcl"] is False
    assert dto["canSave"] and dto["canEdit"] and dto["canAdmin"] and dto["canDelete"]
    assert dto["createdBy"] == "admin" and dto["updatedBy"] == "admin" and dto["created"].endswith("Z")
    assert "parentUid" not in dto and "parents" not in dto
    assert (await c.get("/api/folders/ops", headers=ADMIN_AUTH)).json() == dto
    assert (await c.get(f"/api/folders/id/{dto['id']}", headers=ADMIN_AUTH)).json() == dto
    listed = (await c.get("/api/folders", headers=ADMIN_AUTH)).json()
    assert listed == [{"id": dto["id"], "uid": "ops", "title": "Ops Team"}]


async def test_missing_folder_is_404_with_status_not_found(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for path in ("/api/folders/nope", "/api/folders/id/999", "/api/folders/nope/permissions"):
        r = await c.get(path, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == NOT_FOUND, path
    for method, path in (("PUT", "/api/folders/nope"), ("POST", "/api/folders/nope/move")):
        r = await c.request(method, path, json={"title": "x", "version": 1}, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == NOT_FOUND
    r = await c.delete("/api/folders/nope", headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == NOT_FOUND


async def test_create_errors_same_uid_409_empty_title_and_bad_uid_400(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await folder_ok(c, ADMIN_AUTH, "First", uid="dup")
    r = await c.post("/api/folders", json={"uid": "dup", "title": "Second"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and "same uid" in r.json()["message"]
    for body in ({"title": ""}, {"title": "  "}, {}):
        r = await c.post("/api/folders", json=body, headers=ADMIN_AUTH)
        assert r.status_code == 400 and r.json() == {"message": "folder title cannot be empty"}
    r = await c.post("/api/folders", json={"title": "T", "uid": "bad uid"}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json() == {"message": "uid contains illegal characters"}
    r = await c.post("/api/folders", json={"title": "T", "uid": "x" * 41}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json() == {"message": "uid too long, max 40 characters"}
    r = await c.post("/api/folders", json={"title": "first"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and "same name" in r.json()["message"]


async def test_a_whole_saved_folder_dto_can_be_posted_back(sqlite_replica: Replica) -> None:
    """grafana-backup restore POSTs the saved GET body, server-owned fields and all."""
    c = sqlite_replica.client
    saved = await folder_ok(c, ADMIN_AUTH, "Backed Up", uid="bk")
    assert (await c.delete("/api/folders/bk", headers=ADMIN_AUTH)).status_code == 200
    r = await c.post("/api/folders", json={**saved, "id": 999, "version": 7}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["uid"] == "bk" and r.json()["version"] == 1


async def test_update_checks_the_version_unless_overwrite(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await folder_ok(c, ADMIN_AUTH, "Old", uid="upd")
    r = await c.put("/api/folders/upd", json={"title": "New", "version": 1}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["title"] == "New" and r.json()["version"] == 2
    r = await c.put("/api/folders/upd", json={"title": "Newer", "version": 1}, headers=ADMIN_AUTH)
    assert r.status_code == 412
    assert r.json() == {
        "status": "version-mismatch",
        "message": "The folder has been changed by someone else",
    }
    r = await c.put("/api/folders/upd", json={"title": "Newer", "overwrite": True}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["title"] == "Newer" and r.json()["version"] == 3
    r = await c.put("/api/folders/upd", json={"title": "", "version": 3}, headers=ADMIN_AUTH)
    assert r.status_code == 400


async def test_nested_folders_carry_parent_uid_and_parents(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    top = await folder_ok(c, ADMIN_AUTH, "Top", uid="top")
    mid = await folder_ok(c, ADMIN_AUTH, "Mid", uid="mid", parentUid="top")
    leaf = await folder_ok(c, ADMIN_AUTH, "Leaf", uid="leaf", parentUid="mid")
    assert mid["parentUid"] == "top" and [p["uid"] for p in mid["parents"]] == ["top"]
    assert leaf["parentUid"] == "mid" and [p["uid"] for p in leaf["parents"]] == ["top", "mid"]
    assert (await c.get("/api/folders", headers=ADMIN_AUTH)).json() == [
        {"id": top["id"], "uid": "top", "title": "Top"}
    ]
    r = await c.get("/api/folders", params={"parentUid": "top"}, headers=ADMIN_AUTH)
    assert r.json() == [{"id": mid["id"], "uid": "mid", "title": "Mid", "parentUid": "top"}]
    # the same title is fine under another parent
    await folder_ok(c, ADMIN_AUTH, "Mid", parentUid="leaf")
    r = await c.post("/api/folders", json={"title": "x", "parentUid": "ghost"}, headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == NOT_FOUND


async def test_nesting_stops_at_the_maximum_depth(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    parent = ""
    for level in range(4):
        parent = (await folder_ok(c, ADMIN_AUTH, f"L{level}", parentUid=parent))["uid"]
    r = await c.post("/api/folders", json={"title": "Too deep", "parentUid": parent}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and "depth" in r.json()["message"]


async def test_move_reparents_refuses_cycles_and_moves_the_contents_along(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await folder_ok(c, ADMIN_AUTH, "A", uid="a")
    await folder_ok(c, ADMIN_AUTH, "B", uid="b")
    await folder_ok(c, ADMIN_AUTH, "A child", uid="ac", parentUid="a")
    dash = await save_ok(c, ADMIN_AUTH, {"title": "Inside"}, folderUid="ac")
    r = await c.post("/api/folders/a/move", json={"parentUid": "b"}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["parentUid"] == "b" and r.json()["version"] == 2
    child = (await c.get("/api/folders/ac", headers=ADMIN_AUTH)).json()
    assert [p["uid"] for p in child["parents"]] == ["b", "a"]
    meta = (await c.get(f"/api/dashboards/uid/{dash['uid']}", headers=ADMIN_AUTH)).json()["meta"]
    assert meta["folderUid"] == "ac"
    for target in ("a", "ac"):
        r = await c.post("/api/folders/a/move", json={"parentUid": target}, headers=ADMIN_AUTH)
        assert r.status_code == 400 and "under itself" in r.json()["message"]
    r = await c.post("/api/folders/a/move", json={"parentUid": ""}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and "parentUid" not in r.json()
    assert {f["uid"] for f in (await c.get("/api/folders", headers=ADMIN_AUTH)).json()} == {"a", "b"}


async def test_delete_removes_subfolders_and_their_dashboards(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await folder_ok(c, ADMIN_AUTH, "Gone", uid="gone")
    await folder_ok(c, ADMIN_AUTH, "Gone child", uid="gonechild", parentUid="gone")
    d1 = await save_ok(c, ADMIN_AUTH, {"title": "D1"}, folderUid="gone")
    d2 = await save_ok(c, ADMIN_AUTH, {"title": "D2"}, folderUid="gonechild")
    keep = await save_ok(c, ADMIN_AUTH, {"title": "Kept"})
    r = await c.delete("/api/folders/gone", headers=ADMIN_AUTH)
    assert r.status_code == 200
    body = r.json()
    assert (
        body["title"] == "Gone" and body["message"] == "Folder Gone deleted" and isinstance(body["id"], int)
    )
    for uid in (d1["uid"], d2["uid"]):
        assert (await c.get(f"/api/dashboards/uid/{uid}", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.get("/api/folders/gonechild", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.get(f"/api/dashboards/uid/{keep['uid']}", headers=ADMIN_AUTH)).status_code == 200


async def test_folder_list_pages_by_title(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for title in ("charlie", "Alpha", "bravo"):
        await folder_ok(c, ADMIN_AUTH, title)
    page = [
        [
            f["title"]
            for f in (await c.get("/api/folders", params={"limit": 2, "page": p}, headers=ADMIN_AUTH)).json()
        ]
        for p in (1, 2, 3)
    ]
    assert page == [["Alpha", "bravo"], ["charlie"], []]
    r = await c.get("/api/folders/", headers=ADMIN_AUTH)  # the trailing slash grafana-backup sends
    assert r.status_code == 200 and len(r.json()) == 3


async def test_delete_org_content_removes_only_that_orgs_folders_and_dashboards(
    sqlite_replica: Replica,
) -> None:
    from sqlalchemy import func, select

    from vigil.dashboards.service import delete_org_content
    from vigil.dashboards.tables import dashboard, dashboard_version, folder

    c, s = sqlite_replica.client, sqlite_replica.services
    await folder_ok(c, ADMIN_AUTH, "Org one", uid="one")
    await save_ok(c, ADMIN_AUTH, {"title": "Org one board"}, folderUid="one")
    org2 = await s.orgs.create("Second", None)
    async with s.db.write() as conn:
        await conn.execute(
            folder.insert().values(
                uid="two", org_id=org2, title="Org two", parent_uid="", version=1, created=0, updated=0
            )
        )
        await delete_org_content(conn, org2)
        assert (await conn.execute(select(func.count()).select_from(folder))).scalar_one() == 1
        await delete_org_content(conn, 1)
        for table in (folder, dashboard, dashboard_version):
            assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 0
