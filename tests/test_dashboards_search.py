"""GET /api/search with every parameter of reference §5, and its hit shape. SQLite, plus the
title ordering on every database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert

from tests.conftest import ADMIN_AUTH, Replica
from tests.dashboards_support import caller, folder_ok, save_ok


async def _search(rep: Replica, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = await rep.client.get("/api/search", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


def _titles(hits: list[dict[str, Any]]) -> list[str]:
    return [h["title"] for h in hits]


@pytest.fixture
async def world(sqlite_replica: Replica) -> dict[str, Any]:
    """Folders and dashboards made by an org admin (a service account: fast to authenticate)."""
    c = sqlite_replica.client
    admin_id, admin = await caller(sqlite_replica, "admin-bot", "Admin")
    ops = await folder_ok(c, admin, "Ops", uid="ops")
    sub = await folder_ok(c, admin, "Ops Sub", uid="opssub", parentUid="ops")
    dev = await folder_ok(c, admin, "dev", uid="dev")
    made = {
        "cpu": await save_ok(c, admin, {"title": "CPU Usage", "tags": ["prod", "linux"]}, folderUid="ops"),
        "mem": await save_ok(c, admin, {"title": "memory", "tags": ["prod"]}, folderUid="opssub"),
        "net": await save_ok(c, admin, {"title": "Network 100%_done", "tags": ["staging"]}, folderUid="dev"),
        "home": await save_ok(c, admin, {"title": "Home Overview", "tags": []}),
        "app": await save_ok(c, admin, {"title": "apps", "tags": ["prod", "app"]}),
    }
    return {
        "rep": sqlite_replica,
        "admin_id": admin_id,
        "admin": admin,
        "ops": ops,
        "sub": sub,
        "dev": dev,
        **made,
    }


async def test_hit_shape_for_dashboards_in_folders_at_root_and_for_folders(world: dict[str, Any]) -> None:
    hits = {h["uid"]: h for h in await _search(world["rep"], world["admin"])}
    cpu = hits[world["cpu"]["uid"]]
    assert cpu == {
        "id": world["cpu"]["id"],
        "uid": world["cpu"]["uid"],
        "title": "CPU Usage",
        "uri": "db/cpu-usage",
        "url": f"/d/{world['cpu']['uid']}/cpu-usage",
        "slug": "cpu-usage",
        "type": "dash-db",
        "tags": ["linux", "prod"],
        "isStarred": False,
        "folderId": world["ops"]["id"],
        "folderUid": "ops",
        "folderTitle": "Ops",
        "folderUrl": "/dashboards/f/ops/ops",
        "sortMeta": 0,
    }
    root = hits[world["home"]["uid"]]
    assert not {"folderId", "folderUid", "folderTitle", "folderUrl"} & set(root)
    assert root["tags"] == []
    folder = hits["ops"]
    assert (
        folder["type"] == "dash-folder" and folder["url"] == "/dashboards/f/ops/ops" and folder["tags"] == []
    )
    assert "folderUid" not in folder
    assert hits["opssub"]["folderUid"] == "ops" and hits["opssub"]["folderTitle"] == "Ops"


async def test_default_order_is_folders_first_then_case_insensitive_title(world: dict[str, Any]) -> None:
    hits = await _search(world["rep"], world["admin"])
    assert _titles(hits) == [
        "dev", "Ops", "Ops Sub", "apps", "CPU Usage", "Home Overview", "memory", "Network 100%_done",
    ]  # fmt: skip
    desc = await _search(world["rep"], world["admin"], sort="alpha-desc")
    assert _titles(desc) == [
        "Ops Sub", "Ops", "dev", "Network 100%_done", "memory", "Home Overview", "CPU Usage", "apps",
    ]  # fmt: skip
    assert _titles(await _search(world["rep"], world["admin"], sort="alpha-asc")) == _titles(hits)


async def test_query_is_a_case_insensitive_title_substring_with_no_wildcards(world: dict[str, Any]) -> None:
    assert _titles(await _search(world["rep"], world["admin"], query="OPS")) == ["Ops", "Ops Sub"]
    assert _titles(await _search(world["rep"], world["admin"], query="usage")) == ["CPU Usage"]
    assert _titles(await _search(world["rep"], world["admin"], query="100%_")) == ["Network 100%_done"]
    assert _titles(await _search(world["rep"], world["admin"], query="%")) == ["Network 100%_done"]
    assert await _search(world["rep"], world["admin"], query="_x") == []


async def test_repeated_tags_must_all_match_and_exclude_folders(world: dict[str, Any]) -> None:
    assert _titles(await _search(world["rep"], world["admin"], tag="prod")) == ["apps", "CPU Usage", "memory"]
    assert _titles(await _search(world["rep"], world["admin"], tag=["prod", "linux"])) == ["CPU Usage"]
    assert await _search(world["rep"], world["admin"], tag=["prod", "staging"]) == []


async def test_type_filter(world: dict[str, Any]) -> None:
    assert {h["type"] for h in await _search(world["rep"], world["admin"], type="dash-folder")} == {
        "dash-folder"
    }
    assert len(await _search(world["rep"], world["admin"], type="dash-folder")) == 3
    assert len(await _search(world["rep"], world["admin"], type="dash-db")) == 5
    r = await world["rep"].client.get("/api/search", params={"type": "nope"}, headers=world["admin"])
    assert r.status_code == 400 and "message" in r.json()


async def test_dashboard_ids_and_uids_filters(world: dict[str, Any]) -> None:
    ids = [world["cpu"]["id"], world["app"]["id"]]
    assert _titles(await _search(world["rep"], world["admin"], dashboardIds=ids)) == ["apps", "CPU Usage"]
    uids = [world["mem"]["uid"], world["home"]["uid"]]
    assert _titles(await _search(world["rep"], world["admin"], dashboardUIDs=uids)) == [
        "Home Overview",
        "memory",
    ]
    assert _titles(await _search(world["rep"], world["admin"], dashboardUID=world["mem"]["uid"])) == [
        "memory"
    ]


async def test_folder_filters_by_id_and_uid_with_root_as_zero_or_empty(world: dict[str, Any]) -> None:
    rep = world["rep"]
    assert _titles(await _search(rep, world["admin"], folderUIDs="ops", type="dash-db")) == ["CPU Usage"]
    assert _titles(await _search(rep, world["admin"], folderUIDs="ops")) == ["Ops Sub", "CPU Usage"]
    assert _titles(
        await _search(rep, world["admin"], folderIds=[world["ops"]["id"], world["dev"]["id"]], type="dash-db")
    ) == [
        "CPU Usage",
        "Network 100%_done",
    ]
    assert _titles(await _search(rep, world["admin"], folderIds=0, type="dash-db")) == [
        "apps",
        "Home Overview",
    ]
    assert _titles(await _search(rep, world["admin"], folderUIDs="", type="dash-db")) == [
        "apps",
        "Home Overview",
    ]


async def test_ids_and_uids_of_the_same_filter_together_are_400(world: dict[str, Any]) -> None:
    c = world["rep"].client
    for params in (
        {"folderIds": 1, "folderUIDs": "ops"},
        {"dashboardIds": 1, "dashboardUIDs": "x"},
    ):
        r = await c.get("/api/search", params=params, headers=world["admin"])
        assert r.status_code == 400 and r.json() == {"message": "search supports UIDs or IDs, not both"}


async def test_limit_and_page_are_real_paging(world: dict[str, Any]) -> None:
    rep = world["rep"]
    everything = _titles(await _search(rep, world["admin"]))
    pages = [_titles(await _search(rep, world["admin"], limit=3, page=p)) for p in (1, 2, 3, 4)]
    assert pages[0] + pages[1] + pages[2] == everything and pages[3] == []
    # grafana-backup's probe: page 1 and page 2 of size 1 differ
    one = await _search(rep, world["admin"], type="dash-db", limit=1, page=1)
    two = await _search(rep, world["admin"], type="dash-db", limit=1, page=2)
    assert len(one) == len(two) == 1 and one != two
    assert await _search(rep, world["admin"], type="dash-db", limit=5000, page=2) == []


async def test_limit_above_5000_is_422(world: dict[str, Any]) -> None:
    r = await world["rep"].client.get("/api/search", params={"limit": 5001}, headers=world["admin"])
    assert r.status_code == 422
    assert r.json() == {
        "message": "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit"
    }


async def test_permission_edit_lists_only_what_the_caller_may_edit(world: dict[str, Any]) -> None:
    rep = world["rep"]
    _, viewer = await caller(rep, "viewer", "Viewer")
    r = await rep.client.get("/api/search", params={"permission": "Edit"}, headers=viewer)
    assert r.json() == []
    r = await rep.client.get("/api/search", params={"permission": "View"}, headers=viewer)
    assert len(r.json()) == 8
    r = await rep.client.get("/api/search", params={"permission": "Sudo"}, headers=viewer)
    assert r.status_code == 400


async def test_starred_filters_to_the_callers_stars_and_marks_hits(world: dict[str, Any]) -> None:
    from vigil.preferences.tables import star

    rep = world["rep"]
    assert await _search(rep, world["admin"], starred="true") == []
    async with rep.services.db.write() as conn:
        await conn.execute(
            insert(star).values(
                org_id=1,
                user_id=world["admin_id"],
                dashboard_id=world["mem"]["id"],
                dashboard_uid=world["mem"]["uid"],
                created=0,
            )
        )
    hits = await _search(rep, world["admin"], starred="true")
    assert _titles(hits) == ["memory"] and hits[0]["isStarred"] is True
    everything = {h["uid"]: h["isStarred"] for h in await _search(rep, world["admin"])}
    assert everything[world["mem"]["uid"]] is True and everything[world["cpu"]["uid"]] is False
    meta = (
        await rep.client.get(f"/api/dashboards/uid/{world['mem']['uid']}", headers=world["admin"])
    ).json()["meta"]
    assert meta["isStarred"] is True


async def test_bad_numbers_are_400_not_500(world: dict[str, Any]) -> None:
    for params in ({"limit": "x"}, {"page": "y"}, {"folderIds": "a"}, {"dashboardIds": "b"}):
        r = await world["rep"].client.get("/api/search", params=params, headers=world["admin"])
        assert r.status_code == 400 and "message" in r.json(), params


async def test_trailing_slash_search_is_served(world: dict[str, Any]) -> None:
    r = await world["rep"].client.get(
        "/api/search/", params={"type": "dash-db", "limit": 1}, headers=world["admin"]
    )
    assert r.status_code == 200 and len(r.json()) == 1


async def test_title_order_is_the_same_on_every_database(replica: Replica) -> None:
    titles = ["b", "B2", "a b", "ab", "A-c", "_z", "Zeta", "éclair", "10", "9"]
    for t in titles:
        await save_ok(replica.client, ADMIN_AUTH, {"title": t})
    hits = _titles(await _search(replica, ADMIN_AUTH, type="dash-db"))
    assert hits == sorted(titles, key=str.lower)
    assert _titles(await _search(replica, ADMIN_AUTH, type="dash-db", sort="alpha-desc")) == list(
        reversed(hits)
    )
