"""The per-replica cache of dashboard reads (vigil.dashboards.cache) is never stale: a change made
through replica A is seen by replica B's next, cached, GET at once, for the dashboard itself and for
everything that decides who may read it. Two replicas on one real database, every backend."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_AUTH, AppFactory, Replica, basic
from tests.dashboards_support import caller, folder_ok, save_ok, team_with


async def _get(rep: Replica, uid: str, headers: dict[str, str]) -> Any:
    return await rep.client.get(f"/api/dashboards/uid/{uid}", headers=headers)


async def _cached_get(rep: Replica, uid: str, headers: dict[str, str]) -> Any:
    """Two reads: the second one must come from the cache."""
    await _get(rep, uid, headers)
    hits = rep.services.dashboard_cache.hits
    r = await _get(rep, uid, headers)
    assert rep.services.dashboard_cache.hits == hits + 1, "the second read did not use the cache"
    return r


async def _post(rep: Replica, path: str, body: Any, method: str = "POST") -> None:
    r = await rep.client.request(method, path, json=body, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text


async def test_saves_moves_deletes_and_folder_changes_on_a_are_seen_by_bs_cached_get_at_once(
    make_replica: AppFactory, db_url: str
) -> None:
    a, b = await make_replica(db_url), await make_replica(db_url)
    _, viewer = await caller(a, "viewer")
    await folder_ok(a.client, ADMIN_AUTH, "Ops", uid="ops")
    await folder_ok(a.client, ADMIN_AUTH, "Secret", uid="secret")
    await _post(a, "/api/folders/secret/permissions", {"items": []})
    d = await save_ok(a.client, ADMIN_AUTH, {"title": "Cached", "uid": "cached"}, folderUid="ops")
    assert (await _cached_get(b, "cached", viewer)).json()["dashboard"]["title"] == "Cached"

    await save_ok(
        a.client,
        ADMIN_AUTH,
        {"title": "Saved on A", "uid": "cached", "version": d["version"]},
        folderUid="ops",
    )
    got = (await _get(b, "cached", viewer)).json()
    assert got["dashboard"]["title"] == "Saved on A" and got["meta"]["version"] == 2

    await _post(a, "/api/folders/ops", {"title": "Operations", "overwrite": True}, method="PUT")
    assert (await _cached_get(b, "cached", viewer)).json()["meta"]["folderTitle"] == "Operations"

    # moved into a folder the viewer may not read: refused on B at once
    await save_ok(
        a.client, ADMIN_AUTH, {"title": "Saved on A", "uid": "cached"}, folderUid="secret", overwrite=True
    )
    assert (await _get(b, "cached", viewer)).status_code == 403

    assert (await a.client.delete("/api/dashboards/uid/cached", headers=ADMIN_AUTH)).status_code == 200
    assert (await _get(b, "cached", ADMIN_AUTH)).status_code == 404


async def test_permission_team_and_star_changes_on_a_are_seen_by_bs_cached_get_at_once(
    make_replica: AppFactory, db_url: str
) -> None:
    a, b = await make_replica(db_url), await make_replica(db_url)
    viewer_id, viewer = await caller(a, "viewer")
    team_id = await team_with(a, "readers", viewer_id)
    await folder_ok(a.client, ADMIN_AUTH, "Team", uid="team")
    await save_ok(a.client, ADMIN_AUTH, {"title": "Guarded", "uid": "guarded"}, folderUid="team")

    # folder items: the role default goes, a team item comes
    assert (await _cached_get(b, "guarded", viewer)).status_code == 200
    await _post(a, "/api/folders/team/permissions", {"items": [{"teamId": team_id, "permission": 1}]})
    assert (await _cached_get(b, "guarded", viewer)).status_code == 200
    # team membership removed through A's teams API: B refuses the cached dashboard at once
    r = await a.client.delete(f"/api/teams/{team_id}/members/{viewer_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    assert (await _get(b, "guarded", viewer)).status_code == 403
    await _post(a, f"/api/teams/{team_id}/members", {"userId": viewer_id})
    assert (await _cached_get(b, "guarded", viewer)).status_code == 200

    # a dashboard item for the user alone, then every item of the folder gone
    await _post(
        a, "/api/dashboards/uid/guarded/permissions", {"items": [{"userId": viewer_id, "permission": 2}]}
    )
    assert (await _cached_get(b, "guarded", viewer)).json()["meta"]["canSave"] is True
    await _post(a, "/api/dashboards/uid/guarded/permissions", {"items": []})
    assert (await _get(b, "guarded", viewer)).json()["meta"]["canSave"] is False
    await _post(a, "/api/folders/team/permissions", {"items": []})
    assert (await _get(b, "guarded", viewer)).status_code == 403

    # stars
    assert (await _cached_get(b, "guarded", ADMIN_AUTH)).json()["meta"]["isStarred"] is False
    r = await a.client.post("/api/user/stars/dashboard/uid/guarded", headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    assert (await _get(b, "guarded", ADMIN_AUTH)).json()["meta"]["isStarred"] is True


async def test_nested_folder_permissions_and_moves_are_seen_by_bs_cached_get_at_once(
    make_replica: AppFactory, db_url: str
) -> None:
    a, b = await make_replica(db_url), await make_replica(db_url)
    _, viewer = await caller(a, "viewer")
    await folder_ok(a.client, ADMIN_AUTH, "Top", uid="top")
    await folder_ok(a.client, ADMIN_AUTH, "Mid", uid="mid", parentUid="top")
    await folder_ok(a.client, ADMIN_AUTH, "Closed", uid="closed")
    await _post(a, "/api/folders/closed/permissions", {"items": []})
    await _post(a, "/api/folders/mid/permissions", {"items": []})
    await save_ok(a.client, ADMIN_AUTH, {"title": "Deep", "uid": "deep"}, folderUid="mid")
    # readable through the grandparent's Viewer item only
    assert (await _cached_get(b, "deep", viewer)).status_code == 200
    await _post(a, "/api/folders/top/permissions", {"items": []})
    assert (await _get(b, "deep", viewer)).status_code == 403
    await _post(a, "/api/folders/top/permissions", {"items": [{"role": "Viewer", "permission": 1}]})
    assert (await _cached_get(b, "deep", viewer)).status_code == 200
    # the parent folder moved under a closed one: the inherited item is gone
    await _post(a, "/api/folders/mid/move", {"parentUid": "closed"})
    assert (await _get(b, "deep", viewer)).status_code == 403


async def test_an_org_role_change_on_a_is_seen_by_b_at_once_without_a_token_cache(
    make_replica: AppFactory, db_url: str
) -> None:
    """The role is the caller's identity, not the dashboard cache's: with the identity cache off
    (``[auth] token_cache_seconds = 0``) a demotion is seen at once; with it on, within its TTL."""
    a = await make_replica(db_url)
    b = await make_replica(db_url, auth__token_cache_seconds=0)
    r = await a.client.post(
        "/api/admin/users",
        json={"name": "Ed", "login": "ed", "password": "ed-password-1", "email": "ed@example.com"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200, r.text
    user_id = r.json()["id"]
    await _post(a, f"/api/org/users/{user_id}", {"role": "Admin"}, method="PATCH")
    team_id = await team_with(a, "workers", user_id)
    ed = basic("ed", "ed-password-1")
    await folder_ok(a.client, ADMIN_AUTH, "Work", uid="work")
    await _post(a, "/api/folders/work/permissions", {"items": [{"teamId": team_id, "permission": 1}]})
    await save_ok(a.client, ADMIN_AUTH, {"title": "Work", "uid": "work-d"}, folderUid="work")
    assert (await _cached_get(b, "work-d", ed)).json()["meta"]["canSave"] is True
    # demoted: the team's View item still lets them read, no longer write
    await _post(a, f"/api/org/users/{user_id}", {"role": "Viewer"}, method="PATCH")
    got = await _get(b, "work-d", ed)
    assert got.status_code == 200 and got.json()["meta"]["canSave"] is False
    r = await a.client.delete(f"/api/teams/{team_id}/members/{user_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    assert (await _get(b, "work-d", ed)).status_code == 403


async def test_a_write_that_rolls_back_or_touches_other_tables_keeps_the_cache(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    a = await make_replica(sqlite_url)
    await save_ok(a.client, ADMIN_AUTH, {"title": "Kept", "uid": "kept"})
    await _cached_get(a, "kept", ADMIN_AUTH)
    cache = a.services.dashboard_cache
    before = cache.invalidations
    # a preference write (another table) and a refused save (rolled back) drop nothing
    r = await a.client.put("/api/user/preferences", json={"theme": "dark"}, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    r = await a.client.post(
        "/api/dashboards/db",
        json={"dashboard": {"title": "Kept", "uid": "kept", "version": 99}},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 412
    await a.services.cluster.bus.sync()
    assert cache.invalidations == before
    await _cached_get(a, "kept", ADMIN_AUTH)


async def test_title_search_on_postgresql_has_a_trigram_index_the_planner_can_use(
    make_replica: AppFactory, db_url: str, backend: str
) -> None:
    """Migration 0006: ``lower(title)`` under a pg_trgm GIN index on PostgreSQL (elsewhere nothing)."""
    from sqlalchemy import text

    a = await make_replica(db_url)
    await save_ok(a.client, ADMIN_AUTH, {"title": "Payments API latency"})
    async with a.services.db.read() as conn:
        if backend != "postgresql":
            return
        names = [
            r[0]
            for r in await conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'dashboard'")
            )
        ]
        assert "ix_dashboard_title_trgm" in names
        await conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in await conn.execute(
                text("EXPLAIN SELECT id FROM dashboard WHERE lower(title) LIKE '%' || :q || '%'"),
                {"q": "payments api"},
            )
        )
        await conn.execute(text("RESET enable_seqscan"))
    assert "ix_dashboard_title_trgm" in plan, plan
    r = await a.client.get("/api/search", params={"query": "MENTS API"}, headers=ADMIN_AUTH)
    assert [h["title"] for h in r.json()] == ["Payments API latency"]


async def _search_uids(rep: Replica, headers: dict[str, str], **params: Any) -> list[str]:
    r = await rep.client.get("/api/search", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [h["uid"] for h in r.json()]


async def test_search_folder_grants_cached_on_b_follow_permission_and_team_changes_on_a_at_once(
    make_replica: AppFactory, db_url: str
) -> None:
    a, b = await make_replica(db_url), await make_replica(db_url)
    viewer_id, viewer = await caller(a, "viewer")
    team_id = await team_with(a, "readers", viewer_id)
    await folder_ok(a.client, ADMIN_AUTH, "Top", uid="top")
    await folder_ok(a.client, ADMIN_AUTH, "Sub", uid="sub", parentUid="top")
    await _post(a, "/api/folders/sub/permissions", {"items": []})
    await save_ok(a.client, ADMIN_AUTH, {"title": "Findable"}, folderUid="sub")
    expected = ["sub", (await _search_uids(a, ADMIN_AUTH, query="findable"))[0]]
    assert await _search_uids(b, viewer, query="findable") == expected[1:]  # inherited from Top
    assert await _search_uids(b, viewer, query="sub") == ["sub"]
    await _post(a, "/api/folders/top/permissions", {"items": [{"teamId": team_id, "permission": 1}]})
    assert await _search_uids(b, viewer, query="findable") == expected[1:]
    r = await a.client.delete(f"/api/teams/{team_id}/members/{viewer_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    assert await _search_uids(b, viewer, query="findable") == []
    assert await _search_uids(b, viewer, query="sub") == []
    await _post(a, "/api/folders/sub/permissions", {"items": [{"userId": viewer_id, "permission": 1}]})
    assert await _search_uids(b, viewer, query="findable") == expected[1:]
    # moved out from under its own item's folder: the dashboard goes with the folder it is in
    await save_ok(
        a.client, ADMIN_AUTH, {"title": "Findable", "uid": expected[1]}, folderUid="top", overwrite=True
    )
    assert await _search_uids(b, viewer, query="findable") == []


async def test_search_without_the_cache_decides_folder_permissions_in_sql(
    make_replica: AppFactory, db_url: str
) -> None:
    rep = await make_replica(db_url, dashboards__read_cache_mb=0)
    viewer_id, viewer = await caller(rep, "viewer")
    team_id = await team_with(rep, "readers", viewer_id)
    await folder_ok(rep.client, ADMIN_AUTH, "Top", uid="top")
    await folder_ok(rep.client, ADMIN_AUTH, "Sub", uid="sub", parentUid="top")
    await _post(rep, "/api/folders/sub/permissions", {"items": []})
    uid = (await save_ok(rep.client, ADMIN_AUTH, {"title": "Findable"}, folderUid="sub"))["uid"]
    assert await _search_uids(rep, viewer, query="findable") == [uid]
    await _post(rep, "/api/folders/top/permissions", {"items": [{"teamId": team_id, "permission": 1}]})
    assert await _search_uids(rep, viewer, query="findable") == [uid]
    await _post(rep, "/api/folders/top/permissions", {"items": []})
    assert await _search_uids(rep, viewer, query="findable") == []
    assert (await _get(rep, uid, viewer)).status_code == 403
    assert rep.services.dashboard_cache.hits == 0
