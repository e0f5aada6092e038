"""User, org and team preferences; stars (by uid and legacy id)."""

from __future__ import annotations

from tests.conftest import ADMIN_AUTH, Replica
from tests.content_support import add_dashboard, add_org, add_team, add_user, join_org

EMPTY = {
    "theme": "",
    "homeDashboardId": 0,
    "homeDashboardUID": "",
    "timezone": "",
    "weekStart": "",
    "locale": "",
    "language": "",
}


async def test_preferences_start_empty_and_put_replaces_them(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.get("/api/user/preferences", headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert r.json() == EMPTY
    r = await c.put(
        "/api/user/preferences",
        headers=ADMIN_AUTH,
        json={
            "theme": "dark",
            "timezone": "Europe/Paris",
            "weekStart": "monday",
            "queryHistory": {"homeTab": "x"},
        },
    )
    assert r.status_code == 200
    assert r.json() == {"message": "Preferences updated"}
    got = (await c.get("/api/user/preferences", headers=ADMIN_AUTH)).json()
    assert got == {
        **EMPTY,
        "theme": "dark",
        "timezone": "Europe/Paris",
        "weekStart": "monday",
        "queryHistory": {"homeTab": "x"},
    }
    # PUT replaces: fields left out are cleared
    await c.put("/api/user/preferences", headers=ADMIN_AUTH, json={"theme": "light"})
    got = (await c.get("/api/user/preferences", headers=ADMIN_AUTH)).json()
    assert got["theme"] == "light"
    assert got["timezone"] == ""
    assert "queryHistory" not in got


async def test_patch_changes_only_the_given_fields_and_null_means_unchanged(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await c.put("/api/user/preferences", headers=ADMIN_AUTH, json={"theme": "dark", "timezone": "utc"})
    r = await c.patch(
        "/api/user/preferences", headers=ADMIN_AUTH, json={"weekStart": "sunday", "theme": None}
    )
    assert r.status_code == 200
    got = (await c.get("/api/user/preferences", headers=ADMIN_AUTH)).json()
    assert (got["theme"], got["timezone"], got["weekStart"]) == ("dark", "utc", "sunday")


async def test_invalid_preferences_are_refused_with_400(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for body, text in (
        ({"theme": "purple"}, "Invalid theme"),
        ({"timezone": "Mars/Olympus"}, "Invalid timezone"),
        ({"weekStart": "friday"}, "weekStart"),
        ({"navbar": "x"}, "navbar"),
    ):
        r = await c.put("/api/user/preferences", headers=ADMIN_AUTH, json=body)
        assert r.status_code == 400, body
        assert text in r.json()["message"]
    r = await c.put("/api/user/preferences", headers=ADMIN_AUTH, content=b"[1]")
    assert r.status_code == 400


async def test_home_dashboard_is_resolved_by_uid_or_id_and_unknown_ones_are_404(
    sqlite_replica: Replica,
) -> None:
    c = sqlite_replica.client
    dash_id = await add_dashboard(sqlite_replica, "home-1", "Home")
    r = await c.put("/api/org/preferences", headers=ADMIN_AUTH, json={"homeDashboardId": dash_id})
    assert r.status_code == 200
    got = (await c.get("/api/org/preferences", headers=ADMIN_AUTH)).json()
    assert (got["homeDashboardId"], got["homeDashboardUID"]) == (dash_id, "home-1")
    r = await c.put("/api/org/preferences", headers=ADMIN_AUTH, json={"homeDashboardUID": "nope"})
    assert r.status_code == 404
    assert r.json() == {"message": "Dashboard not found"}
    r = await c.put("/api/org/preferences", headers=ADMIN_AUTH, json={"homeDashboardId": 9999})
    assert r.status_code == 404


async def test_org_preferences_need_an_admin_to_change_and_are_per_org(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    _, viewer = await add_user(sqlite_replica, "vera", "Viewer")
    assert (await c.get("/api/org/preferences", headers=viewer)).status_code == 200
    r = await c.put("/api/org/preferences", headers=viewer, json={"theme": "dark"})
    assert r.status_code == 403
    r = await c.patch("/api/org/preferences", headers=viewer, json={"theme": "dark"})
    assert r.status_code == 403
    assert (
        await c.put("/api/org/preferences", headers=ADMIN_AUTH, json={"theme": "dark"})
    ).status_code == 200
    other = await add_org(sqlite_replica, "Other")
    await join_org(sqlite_replica, 1, other, "Admin")
    in_other = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(other)}
    assert (await c.get("/api/org/preferences", headers=in_other)).json()["theme"] == ""
    assert (await c.get("/api/org/preferences", headers=ADMIN_AUTH)).json()["theme"] == "dark"


async def test_team_preferences_read_by_members_changed_by_team_admins(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    member_id, member = await add_user(sqlite_replica, "mia", "Viewer")
    tadmin_id, tadmin = await add_user(sqlite_replica, "tom", "Viewer")
    _, outsider = await add_user(sqlite_replica, "otto", "Editor")
    team_id = await add_team(sqlite_replica, "ops", {member_id: 0, tadmin_id: 4})
    url = f"/api/teams/{team_id}/preferences"
    assert (await c.put(url, headers=tadmin, json={"timezone": "utc"})).status_code == 200
    r = await c.get(url, headers=member)
    assert r.status_code == 200
    assert r.json()["timezone"] == "utc"
    assert (await c.put(url, headers=member, json={"timezone": "browser"})).status_code == 403
    assert (await c.get(url, headers=outsider)).status_code == 404
    assert (await c.patch(url, headers=ADMIN_AUTH, json={"theme": "light"})).status_code == 200
    assert (await c.get(url, headers=member)).json()["theme"] == "light"
    assert (await c.get("/api/teams/999/preferences", headers=ADMIN_AUTH)).status_code == 404


async def test_effective_preferences_layer_org_then_team_then_user(sqlite_replica: Replica) -> None:
    from vigil.preferences import service

    c = sqlite_replica.client
    uid, user = await add_user(sqlite_replica, "lea", "Viewer")
    team_id = await add_team(sqlite_replica, "blue", {uid: 0})
    await c.put(
        "/api/org/preferences",
        headers=ADMIN_AUTH,
        json={"theme": "light", "timezone": "utc", "weekStart": "monday"},
    )
    await c.put(f"/api/teams/{team_id}/preferences", headers=ADMIN_AUTH, json={"timezone": "Asia/Tokyo"})
    await c.put("/api/user/preferences", headers=user, json={"theme": "dark"})
    async with sqlite_replica.services.db.read() as conn:
        eff = await service.effective(conn, 1, uid, [team_id])
    assert (eff.theme, eff.timezone, eff.week_start) == ("dark", "Asia/Tokyo", "monday")


async def test_stars_by_uid_and_legacy_id(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    _, user = await add_user(sqlite_replica, "sam", "Viewer")
    a = await add_dashboard(sqlite_replica, "dash-a", "A")
    await add_dashboard(sqlite_replica, "dash-b", "B")
    r = await c.post("/api/user/stars/dashboard/uid/dash-a", headers=user)
    assert (r.status_code, r.json()) == (200, {"message": "Dashboard starred!"})
    # starring twice changes nothing
    assert (await c.post("/api/user/stars/dashboard/uid/dash-a", headers=user)).status_code == 200
    assert (await c.post("/api/user/stars/dashboard/uid/dash-b", headers=user)).status_code == 200
    assert (await c.get("/api/user/stars", headers=user)).json() == ["dash-a", "dash-b"]
    assert (await c.get("/api/user/stars", headers=ADMIN_AUTH)).json() == []
    r = await c.delete(f"/api/user/stars/dashboard/{a}", headers=user)
    assert (r.status_code, r.json()) == (200, {"message": "Dashboard unstarred"})
    assert (await c.get("/api/user/stars", headers=user)).json() == ["dash-b"]
    assert (await c.post(f"/api/user/stars/dashboard/{a}", headers=user)).status_code == 200
    assert (await c.delete("/api/user/stars/dashboard/uid/dash-b", headers=user)).status_code == 200
    assert (await c.get("/api/user/stars", headers=user)).json() == ["dash-a"]
    assert (await c.post("/api/user/stars/dashboard/uid/missing", headers=user)).status_code == 404
    assert (await c.post("/api/user/stars/dashboard/424242", headers=user)).status_code == 404


async def test_stars_feed_the_dashboards_starred_lookup(sqlite_replica: Replica) -> None:
    from vigil.dashboards import hooks

    c = sqlite_replica.client
    uid, user = await add_user(sqlite_replica, "sol", "Viewer")
    a = await add_dashboard(sqlite_replica, "dash-a", "A")
    await c.post("/api/user/stars/dashboard/uid/dash-a", headers=user)
    async with sqlite_replica.services.db.read() as conn:
        assert await hooks.starred_ids(conn, 1, uid) == {a}


async def test_a_dashboard_of_another_org_cannot_be_starred(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    other = await add_org(sqlite_replica, "Other")
    await add_dashboard(sqlite_replica, "theirs", "Theirs", org_id=other)
    r = await c.post("/api/user/stars/dashboard/uid/theirs", headers=ADMIN_AUTH)
    assert r.status_code == 404


async def test_a_dashboard_the_user_cannot_view_cannot_be_starred(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    _, user = await add_user(sqlite_replica, "val", "Viewer")
    await add_dashboard(sqlite_replica, "secret", "Secret", acl=False)
    r = await c.post("/api/user/stars/dashboard/uid/secret", headers=user)
    assert r.status_code == 403
    assert (await c.post("/api/user/stars/dashboard/uid/secret", headers=ADMIN_AUTH)).status_code == 200
