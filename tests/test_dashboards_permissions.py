"""Folder and dashboard permissions (role, team and user items; View/Edit/Admin), enforced on every
read, search and write, inherited by contents and subfolders. SQLite."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_AUTH, Replica, basic
from tests.dashboards_support import Headers, caller, folder_ok, save, save_ok, team_with


async def _uids(replica: Replica, headers: Headers, **params: Any) -> set[str]:
    r = await replica.client.get("/api/search", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {h["uid"] for h in r.json()}


async def _set(
    replica: Replica, path: str, items: list[dict[str, Any]], headers: Headers = ADMIN_AUTH
) -> None:
    r = await replica.client.post(path, json={"items": items}, headers=headers)
    assert r.status_code == 200, r.text


async def test_new_root_folder_defaults_viewers_view_editors_edit_creator_admin(
    sqlite_replica: Replica,
) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    _, viewer = await caller(rep, "viewer", "Viewer")
    _, editor = await caller(rep, "editor", "Editor")
    await folder_ok(c, ADMIN_AUTH, "Shared", uid="shared")
    d = await save_ok(c, ADMIN_AUTH, {"title": "In Shared"}, folderUid="shared")
    items = (await c.get("/api/folders/shared/permissions", headers=ADMIN_AUTH)).json()
    assert sorted((i.get("role", ""), i["userLogin"], i["permission"]) for i in items) == [
        ("", "admin", 4),
        ("Editor", "", 2),
        ("Viewer", "", 1),
    ]
    # viewer: reads, cannot write
    assert (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=viewer)).status_code == 200
    meta = (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=viewer)).json()["meta"]
    assert meta["canSave"] is False and meta["canEdit"] is False and meta["canAdmin"] is False
    assert (await c.get("/api/folders/shared", headers=viewer)).json()["canSave"] is False
    r = await save(c, viewer, {"title": "In Shared", "uid": d["uid"], "version": 1}, folderUid="shared")
    assert r.status_code == 403 and "message" in r.json()
    assert (await save(c, viewer, {"title": "New"}, folderUid="shared")).status_code == 403
    assert (await c.delete(f"/api/dashboards/uid/{d['uid']}", headers=viewer)).status_code == 403
    assert (await c.post("/api/folders", json={"title": "Mine"}, headers=viewer)).status_code == 403
    assert (
        await c.put("/api/folders/shared", json={"title": "x", "version": 1}, headers=viewer)
    ).status_code == 403
    assert (await c.delete("/api/folders/shared", headers=viewer)).status_code == 403
    assert (await c.get(f"/api/dashboards/uid/{d['uid']}/versions", headers=viewer)).status_code == 403
    # editor: writes, but does not administer the permissions
    await save_ok(c, editor, {"title": "In Shared", "uid": d["uid"], "version": 1}, folderUid="shared")
    await save_ok(c, editor, {"title": "Editor made"}, folderUid="shared")
    assert (await c.get("/api/folders/shared/permissions", headers=editor)).status_code == 403
    assert (
        await c.post("/api/folders/shared/permissions", json={"items": []}, headers=editor)
    ).status_code == 403
    # an editor's own new folder is theirs to administer
    await folder_ok(c, editor, "Editor Own", uid="own")
    assert (await c.get("/api/folders/own/permissions", headers=editor)).status_code == 200


async def test_restricted_folder_hides_its_dashboards_from_reads_search_tags_and_writes(
    sqlite_replica: Replica,
) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    _, viewer = await caller(rep, "viewer", "Viewer")
    _, editor = await caller(rep, "editor", "Editor")
    await folder_ok(c, ADMIN_AUTH, "Secret", uid="secret")
    d = await save_ok(c, ADMIN_AUTH, {"title": "Hidden", "tags": ["classified"]}, folderUid="secret")
    open_ = await save_ok(c, ADMIN_AUTH, {"title": "Open", "tags": ["public"]})
    await _set(rep, "/api/folders/secret/permissions", [])
    for who in (viewer, editor):
        assert (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=who)).status_code == 403
        assert (await c.get("/api/folders/secret", headers=who)).status_code == 403
        assert await _uids(rep, who) == {open_["uid"]}
        assert await _uids(rep, who, query="hidden") == set()
        tags = (await c.get("/api/dashboards/tags", headers=who)).json()
        assert tags == [{"term": "public", "count": 1}]
        assert (await c.get("/api/folders", headers=who)).json() == []
    r = await save(c, editor, {"title": "Sneak in"}, folderUid="secret")
    assert r.status_code == 403
    r = await save(
        c, editor, {"title": "Hidden", "uid": d["uid"], "version": 1}, folderUid="secret", overwrite=True
    )
    assert r.status_code == 403
    assert (await c.delete(f"/api/dashboards/uid/{d['uid']}", headers=editor)).status_code == 403
    # the org admin sees everything
    assert await _uids(rep, ADMIN_AUTH) == {"secret", d["uid"], open_["uid"]}


async def test_team_items_grant_view_or_edit_to_members_only(sqlite_replica: Replica) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    member_id, member = await caller(rep, "member", "Viewer")
    _, outsider = await caller(rep, "outsider", "Viewer")
    team_id = await team_with(rep, "SRE", member_id)
    await folder_ok(c, ADMIN_AUTH, "Team Only", uid="teamf")
    d = await save_ok(c, ADMIN_AUTH, {"title": "Team Board"}, folderUid="teamf")
    await _set(rep, "/api/folders/teamf/permissions", [{"teamId": team_id, "permission": 1}])
    assert (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=member)).status_code == 200
    assert (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=outsider)).status_code == 403
    assert await _uids(rep, member) == {"teamf", d["uid"]}
    assert await _uids(rep, outsider) == set()
    assert await _uids(rep, member, permission="Edit") == set()
    r = await save(c, member, {"title": "Team Board", "uid": d["uid"], "version": 1}, folderUid="teamf")
    assert r.status_code == 403
    await _set(rep, "/api/folders/teamf/permissions", [{"teamId": team_id, "permission": 2}])
    # a Viewer by org role edits through the team's Edit item
    await save_ok(c, member, {"title": "Team Board", "uid": d["uid"], "version": 1}, folderUid="teamf")
    await save_ok(c, member, {"title": "Team made"}, folderUid="teamf")
    assert await _uids(rep, member, permission="Edit", type="dash-db") == {
        d["uid"],
        *await _uids(rep, member, query="team made"),
    }
    items = (await c.get("/api/folders/teamf/permissions", headers=ADMIN_AUTH)).json()
    assert [(i["teamId"], i["team"], i["permission"], i["permissionName"]) for i in items] == [
        (team_id, "SRE", 2, "Edit")
    ]


async def test_user_items_on_one_dashboard_grant_only_that_dashboard(sqlite_replica: Replica) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    user = await rep.services.identities.create_user(login="alice", password="alice-pw", role="Viewer")
    alice = basic("alice", "alice-pw")
    await folder_ok(c, ADMIN_AUTH, "Locked", uid="locked")
    await _set(rep, "/api/folders/locked/permissions", [])
    mine = await save_ok(c, ADMIN_AUTH, {"title": "Alice Board"}, folderUid="locked")
    other = await save_ok(c, ADMIN_AUTH, {"title": "Not Alice"}, folderUid="locked")
    await _set(rep, f"/api/dashboards/uid/{mine['uid']}/permissions", [{"userId": user.id, "permission": 2}])
    assert (await c.get(f"/api/dashboards/uid/{mine['uid']}", headers=alice)).status_code == 200
    assert (await c.get(f"/api/dashboards/uid/{other['uid']}", headers=alice)).status_code == 403
    assert (await c.get("/api/folders/locked", headers=alice)).status_code == 403
    assert await _uids(rep, alice) == {mine["uid"]}
    assert await _uids(rep, alice, permission="Edit") == {mine["uid"]}
    await save_ok(c, alice, {"title": "Alice Board", "uid": mine["uid"], "version": 1}, folderUid="locked")
    # user items do not let her move it somewhere she cannot write
    r = await save(c, alice, {"title": "Alice Board", "uid": mine["uid"], "version": 2}, folderUid="")
    assert r.status_code == 403
    items = (await c.get(f"/api/dashboards/uid/{mine['uid']}/permissions", headers=ADMIN_AUTH)).json()
    own = [i for i in items if not i["inherited"]]
    assert [(i["userId"], i["userLogin"], i["permission"], i["isFolder"]) for i in own] == [
        (user.id, "alice", 2, False)
    ]
    assert all(i["uid"] == mine["uid"] and i["dashboardId"] == mine["id"] for i in items)


async def test_role_items_include_higher_roles_but_not_lower_ones(sqlite_replica: Replica) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    _, viewer = await caller(rep, "viewer", "Viewer")
    _, editor = await caller(rep, "editor", "Editor")
    await folder_ok(c, ADMIN_AUTH, "Editors", uid="eds")
    await folder_ok(c, ADMIN_AUTH, "Viewers", uid="vws")
    await _set(rep, "/api/folders/eds/permissions", [{"role": "Editor", "permission": 1}])
    await _set(rep, "/api/folders/vws/permissions", [{"role": "Viewer", "permission": 1}])
    assert await _uids(rep, viewer) == {"vws"}
    assert await _uids(rep, editor) == {"eds", "vws"}


async def test_folder_permissions_are_inherited_by_subfolders_and_their_dashboards(
    sqlite_replica: Replica,
) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    member_id, member = await caller(rep, "member", "Viewer")
    team_id = await team_with(rep, "Platform", member_id)
    await folder_ok(c, ADMIN_AUTH, "Parent", uid="parent")
    await folder_ok(c, ADMIN_AUTH, "Child", uid="child", parentUid="parent")
    await folder_ok(c, ADMIN_AUTH, "Grandchild", uid="grandchild", parentUid="child")
    deep = await save_ok(c, ADMIN_AUTH, {"title": "Deep"}, folderUid="grandchild")
    await _set(rep, "/api/folders/parent/permissions", [{"teamId": team_id, "permission": 2}])
    await _set(rep, "/api/folders/child/permissions", [])
    await _set(rep, "/api/folders/grandchild/permissions", [])
    assert await _uids(rep, member) == {"parent", "child", "grandchild", deep["uid"]}
    await save_ok(c, member, {"title": "Deep", "uid": deep["uid"], "version": 1}, folderUid="grandchild")
    items = (await c.get("/api/folders/grandchild/permissions", headers=ADMIN_AUTH)).json()
    assert [(i["teamId"], i["inherited"], i["uid"]) for i in items] == [(team_id, True, "grandchild")]
    dash_items = (await c.get(f"/api/dashboards/uid/{deep['uid']}/permissions", headers=ADMIN_AUTH)).json()
    assert any(i["teamId"] == team_id and i["inherited"] for i in dash_items)
    # moving the subtree out of the parent takes the inherited grant away
    r = await c.post("/api/folders/child/move", json={"parentUid": ""}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert await _uids(rep, member) == {"parent"}
    assert (await c.get(f"/api/dashboards/uid/{deep['uid']}", headers=member)).status_code == 403


async def test_root_dashboards_get_role_defaults_that_can_be_removed(sqlite_replica: Replica) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    _, viewer = await caller(rep, "viewer", "Viewer")
    d = await save_ok(c, ADMIN_AUTH, {"title": "Root Board"})
    assert (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=viewer)).status_code == 200
    await _set(rep, f"/api/dashboards/id/{d['id']}/permissions", [{"role": "Editor", "permission": 2}])
    assert (await c.get(f"/api/dashboards/uid/{d['uid']}", headers=viewer)).status_code == 403
    assert await _uids(rep, viewer) == set()
    r = await c.get(f"/api/dashboards/id/{d['id']}/permissions", headers=ADMIN_AUTH)
    assert [(i.get("role"), i["permission"]) for i in r.json()] == [("Editor", 2)]


async def test_permission_items_are_validated(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await folder_ok(c, ADMIN_AUTH, "V", uid="v")
    cases = [
        ({"items": [{"role": "Viewer", "permission": 3}]}, "invalid permission"),
        ({"items": [{"role": "Viewer"}]}, "invalid permission"),
        ({"items": [{"role": "Boss", "permission": 1}]}, "invalid role"),
        ({"items": [{"userId": 4242, "permission": 1}]}, "not found"),
        ({"items": [{"teamId": 4242, "permission": 1}]}, "not found"),
        ({"items": [{"permission": 1}]}, "userId, a teamId or a role"),
        ({"items": "all"}, "items must be a list"),
    ]
    for body, text in cases:
        r = await c.post("/api/folders/v/permissions", json=body, headers=ADMIN_AUTH)
        assert r.status_code == 400 and text in r.json()["message"], (body, r.text)
    r = await c.post(
        "/api/folders/v/permissions",
        json={"items": [{"role": "Viewer", "permission": 1}]},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json() == {"message": "Folder permissions updated"}
    d = await save_ok(c, ADMIN_AUTH, {"title": "P"})
    r = await c.post(f"/api/dashboards/uid/{d['uid']}/permissions", json={"items": []}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Dashboard permissions updated"}
    assert (await c.get("/api/dashboards/uid/nope/permissions", headers=ADMIN_AUTH)).status_code == 404


async def test_saved_permission_items_post_back_to_the_uid_of_item_zero(sqlite_replica: Replica) -> None:
    """grafana-backup: GET …/permissions, later POST /api/folders/<items[0].uid>/permissions {items}."""
    rep, c = sqlite_replica, sqlite_replica.client
    member_id, _ = await caller(rep, "member", "Viewer")
    team_id = await team_with(rep, "Backups", member_id)
    await folder_ok(c, ADMIN_AUTH, "Saved", uid="saved")
    items = [
        {"teamId": team_id, "permission": 2},
        {"role": "Viewer", "permission": 1},
        {"userId": member_id, "permission": 4},
    ]
    await _set(rep, "/api/folders/saved/permissions", items)
    saved = (await c.get("/api/folders/saved/permissions", headers=ADMIN_AUTH)).json()
    keys = {
        "folderUid", "dashboardId", "uid", "title", "slug", "url", "isFolder", "inherited", "created",
        "updated", "userId", "userLogin", "userEmail", "teamId", "team", "permission", "permissionName",
    }  # fmt: skip
    assert all(keys <= set(i) for i in saved) and saved[0]["uid"] == "saved" and saved[0]["isFolder"] is True
    await _set(rep, "/api/folders/saved/permissions", [])
    r = await c.post(f"/api/folders/{saved[0]['uid']}/permissions", json={"items": saved}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    again = (await c.get("/api/folders/saved/permissions", headers=ADMIN_AUTH)).json()

    def grants(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((i["userId"], i["teamId"], i.get("role", ""), i["permission"]) for i in items)

    assert grants(again) == grants(saved)


async def test_provisioner_saves_without_a_creator_still_get_the_role_defaults(
    sqlite_replica: Replica,
) -> None:
    from vigil.dashboards.service import SaveRequest, create_folder_in, save_dashboard

    rep, c = sqlite_replica, sqlite_replica.client
    _, viewer = await caller(rep, "viewer", "Viewer")
    s = rep.services
    async with s.db.write() as conn:
        f = await create_folder_in(conn, 1, {"title": "From files", "uid": "files"}, now=0)
    req = SaveRequest(dashboard={"title": "Provisioned"}, folder_uid=f.uid, check_permissions=False)
    in_folder = await save_dashboard(s.db, 1, None, req, now=0)
    at_root = await save_dashboard(
        s.db, 1, None, SaveRequest(dashboard={"title": "Root file"}, check_permissions=False), 0
    )
    assert await _uids(rep, viewer) == {"files", in_folder.uid, at_root.uid}
    meta = (await c.get(f"/api/dashboards/uid/{at_root.uid}", headers=ADMIN_AUTH)).json()["meta"]
    assert meta["createdBy"] == "Anonymous"


async def test_access_control_routes_set_one_user_team_or_role_at_a_time(sqlite_replica: Replica) -> None:
    rep, c = sqlite_replica, sqlite_replica.client
    user_id, who = await caller(rep, "single", "Viewer")
    team_id = await team_with(rep, "One", user_id)
    await folder_ok(c, ADMIN_AUTH, "RBAC", uid="rbac")
    await _set(rep, "/api/folders/rbac/permissions", [])
    assert await _uids(rep, who) == set()
    # grafana-client's update_folder_permissions_for_user wraps the body in "items"
    r = await c.post(
        f"/api/access-control/folders/rbac/users/{user_id}",
        json={"items": {"permission": "View"}},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json() == {"message": "Permission updated"}
    assert await _uids(rep, who) == {"rbac"}
    r = await c.post(
        f"/api/access-control/folders/rbac/users/{user_id}", json={"permission": ""}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200 and await _uids(rep, who) == set()
    r = await c.post(
        f"/api/access-control/folders/rbac/teams/{team_id}", json={"permission": "Edit"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200
    await save_ok(c, who, {"title": "via team"}, folderUid="rbac")
    r = await c.post(
        "/api/access-control/folders/rbac/builtInRoles/Viewer",
        json={"permission": "View"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200
    listed = (await c.get("/api/access-control/folders/rbac", headers=ADMIN_AUTH)).json()
    assert sorted((p["teamId"], p["builtInRole"], p["permission"]) for p in listed) == [
        (0, "Viewer", "View"),
        (team_id, "", "Edit"),
    ]
    for bad in ({"permission": "Owner"}, {"permission": 3}):
        r = await c.post(f"/api/access-control/folders/rbac/users/{user_id}", json=bad, headers=ADMIN_AUTH)
        assert r.status_code == 400
    assert (
        await c.post(
            "/api/access-control/folders/rbac/users/4242", json={"permission": "View"}, headers=ADMIN_AUTH
        )
    ).status_code == 400
    assert (
        await c.post("/api/access-control/folders/rbac/users/1", json={"permission": "View"}, headers=who)
    ).status_code == 403
    assert (
        await c.post(
            "/api/access-control/folders/nope/users/1", json={"permission": "View"}, headers=ADMIN_AUTH
        )
    ).status_code == 404
    d = await save_ok(c, ADMIN_AUTH, {"title": "rbac dash"})
    r = await c.post(
        f"/api/access-control/dashboards/{d['uid']}/builtInRoles/editor",
        json={"permission": "Admin"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200
    # a folder's uid cannot be changed through PUT
    r = await c.put(
        "/api/folders/rbac", json={"uid": "other", "title": "x", "overwrite": True}, headers=ADMIN_AUTH
    )
    assert r.status_code == 400


async def test_reading_a_dashboard_decides_team_user_role_and_star_in_sql_on_every_database(
    replica: Replica,
) -> None:
    """GET /api/dashboards/uid/:uid folds the caller's items and star into its one query: the same
    answers on SQLite, PostgreSQL and MariaDB, and the general path for nested folders."""
    rep, c = replica, replica.client
    member_id, member = await caller(rep, "member", "Viewer")
    user_id, named = await caller(rep, "named", "Viewer")
    _, outsider = await caller(rep, "outsider", "Viewer")
    _, editor = await caller(rep, "editor", "Editor")
    team_id = await team_with(rep, "SRE", member_id)
    await folder_ok(c, ADMIN_AUTH, "Closed", uid="closed")
    await folder_ok(c, ADMIN_AUTH, "Inner", uid="inner", parentUid="closed")
    d = await save_ok(c, ADMIN_AUTH, {"title": "Board", "tags": ["ops", "db"]}, folderUid="closed")
    nested = await save_ok(c, ADMIN_AUTH, {"title": "Nested"}, folderUid="inner")
    await _set(rep, "/api/folders/closed/permissions", [{"teamId": team_id, "permission": 2}])
    await _set(rep, f"/api/dashboards/uid/{d['uid']}/permissions", [{"userId": user_id, "permission": 1}])

    async def meta(headers: Headers, uid: str) -> Any:
        r = await c.get(f"/api/dashboards/uid/{uid}", headers=headers)
        return r.json()["meta"] if r.status_code == 200 else r.status_code

    assert (await meta(member, d["uid"]))["canEdit"] is True  # team item on the folder
    assert (await meta(member, nested["uid"]))["canEdit"] is True  # inherited by the subfolder
    m = await meta(named, d["uid"])  # user item on the dashboard itself
    assert (m["canEdit"], m["isStarred"]) == (False, False)
    assert await meta(named, nested["uid"]) == 403
    assert await meta(outsider, d["uid"]) == 403
    assert await meta(editor, d["uid"]) == 403  # the folder's role items were replaced
    assert (await meta(ADMIN_AUTH, d["uid"]))["canAdmin"] is True
    assert (await c.post(f"/api/user/stars/dashboard/uid/{d['uid']}", headers=named)).status_code == 200
    assert (await meta(named, d["uid"]))["isStarred"] is True
    assert (await meta(member, d["uid"]))["isStarred"] is False

    # search decides the same in SQL (a recursive CTE for inheritance)
    assert await _uids(rep, member) == {"closed", "inner", d["uid"], nested["uid"]}
    assert await _uids(rep, member, permission="Edit", type="dash-db") == {d["uid"], nested["uid"]}
    assert await _uids(rep, member, folderUIDs="inner") == {nested["uid"]}
    hits = (await c.get("/api/search", params={"tag": "ops"}, headers=member)).json()
    assert [(h["uid"], h["tags"], h["folderUid"], h["folderTitle"]) for h in hits] == [
        (d["uid"], ["db", "ops"], "closed", "Closed")
    ]
    [nested_hit] = (await c.get("/api/search", params={"query": "nested"}, headers=member)).json()
    assert (nested_hit["tags"], nested_hit["folderUid"], nested_hit["folderTitle"]) == ([], "inner", "Inner")
    inner_id = (await c.get("/api/folders/inner", headers=ADMIN_AUTH)).json()["id"]
    assert await _uids(rep, member, folderIds=str(inner_id)) == {nested["uid"]}
    assert await _uids(rep, named) == {d["uid"]}
    assert await _uids(rep, named, permission="Edit") == set()
    assert await _uids(rep, named, starred="true") == {d["uid"]}
    assert await _uids(rep, member, starred="true") == set()
    assert await _uids(rep, outsider) == set()
    assert await _uids(rep, ADMIN_AUTH, query="e") == {"closed", "inner", nested["uid"]}
