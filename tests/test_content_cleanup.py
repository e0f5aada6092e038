"""Deleting an org removes the content features' rows of that org, and only of that org; deleting a
user or a team removes their stars, preferences and permission items, and only theirs."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import ADMIN_AUTH, Replica
from tests.content_support import add_dashboard, add_org, add_team, add_user, join_org
from vigil.annotations.tables import annotation, annotation_tag
from vigil.content_cleanup import delete_content_of_org
from vigil.dashboards.tables import dashboard_acl
from vigil.library.tables import library_element
from vigil.playlists.tables import playlist, playlist_item
from vigil.preferences.tables import preferences, star
from vigil.snapshots.tables import dashboard_snapshot

TABLES = (annotation, annotation_tag, library_element, playlist, star, preferences, dashboard_snapshot)


async def _fill(r: Replica, headers: dict[str, str], uid: str) -> None:
    c = r.client
    assert (
        await c.post("/api/annotations", headers=headers, json={"text": "t", "tags": ["a"]})
    ).status_code == 200
    body = {"name": "lib", "kind": 1, "model": {"type": "text"}}
    assert (await c.post("/api/library-elements", headers=headers, json=body)).status_code == 200
    body = {"name": "pl", "items": [{"type": "dashboard_by_tag", "value": "x"}]}
    assert (await c.post("/api/playlists", headers=headers, json=body)).status_code == 200
    assert (await c.post(f"/api/user/stars/dashboard/uid/{uid}", headers=headers)).status_code == 200
    assert (await c.put("/api/org/preferences", headers=headers, json={"theme": "dark"})).status_code == 200
    assert (
        await c.post("/api/snapshots", headers=headers, json={"dashboard": {"title": "s"}})
    ).status_code == 200


async def _counts(r: Replica) -> dict[str, int]:
    out = {}
    async with r.services.db.read() as conn:
        for t in (*TABLES, playlist_item):
            out[t.name] = int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
    return out


async def test_deleting_an_org_removes_its_content_only(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    other = await add_org(r, "Other")
    await join_org(r, 1, other, "Admin")
    await add_dashboard(r, "main-d", "Main")
    await add_dashboard(r, "other-d", "Other", org_id=other)
    await _fill(r, ADMIN_AUTH, "main-d")
    await _fill(r, {**ADMIN_AUTH, "X-Grafana-Org-Id": str(other)}, "other-d")
    assert set((await _counts(r)).values()) == {2}
    async with r.services.db.write() as conn:
        await delete_content_of_org(conn, other)
    assert set((await _counts(r)).values()) == {1}
    assert len((await r.client.get("/api/annotations", headers=ADMIN_AUTH)).json()) == 1


async def _rows_of(r: Replica, column: str, value: int) -> dict[str, int]:
    out = {}
    async with r.services.db.read() as conn:
        for t in (star, preferences, dashboard_acl):
            if column in t.c:
                q = select(func.count()).select_from(t).where(t.c[column] == value)
                out[t.name] = int((await conn.execute(q)).scalar_one())
    return out


async def test_deleting_a_user_or_a_team_removes_their_stars_preferences_and_permission_items(
    sqlite_replica: Replica,
) -> None:
    r, c = sqlite_replica, sqlite_replica.client
    await add_dashboard(r, "d1", "Shared")
    users = [await add_user(r, login) for login in ("gone", "kept")]
    teams = [await add_team(r, name, {users[0][0]: 0, users[1][0]: 0}) for name in ("gone-t", "kept-t")]
    for _, auth in users:
        assert (await c.post("/api/user/stars/dashboard/uid/d1", headers=auth)).status_code == 200
        assert (await c.put("/api/user/preferences", headers=auth, json={"theme": "dark"})).status_code == 200
    for team_id in teams:
        r_ = await c.put(f"/api/teams/{team_id}/preferences", headers=ADMIN_AUTH, json={"theme": "light"})
        assert r_.status_code == 200, r_.text
    items = [{"userId": u, "permission": 1} for u, _ in users] + [
        {"teamId": t, "permission": 2} for t in teams
    ]
    r_ = await c.post("/api/dashboards/uid/d1/permissions", headers=ADMIN_AUTH, json={"items": items})
    assert r_.status_code == 200, r_.text
    (gone, _), (kept, _) = users
    assert await _rows_of(r, "user_id", gone) == {"star": 1, "preferences": 1, "dashboard_acl": 1}
    assert await _rows_of(r, "team_id", teams[0]) == {"preferences": 1, "dashboard_acl": 1}

    assert (await c.delete(f"/api/admin/users/{gone}", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.delete(f"/api/teams/{teams[0]}", headers=ADMIN_AUTH)).status_code == 200

    assert await _rows_of(r, "user_id", gone) == {"star": 0, "preferences": 0, "dashboard_acl": 0}
    assert await _rows_of(r, "team_id", teams[0]) == {"preferences": 0, "dashboard_acl": 0}
    assert await _rows_of(r, "user_id", kept) == {"star": 1, "preferences": 1, "dashboard_acl": 1}
    assert await _rows_of(r, "team_id", teams[1]) == {"preferences": 1, "dashboard_acl": 1}
    listed = (await c.get("/api/dashboards/uid/d1/permissions", headers=ADMIN_AUTH)).json()
    assert {i.get("userId") for i in listed if i.get("userId")} == {kept}
    assert {i.get("teamId") for i in listed if i.get("teamId")} == {teams[1]}
