"""Playlists: shapes, validation, ordering, permissions and org isolation."""

from __future__ import annotations

from tests.conftest import ADMIN_AUTH, Replica
from tests.content_support import add_org, add_user, join_org

ITEMS = [
    {"type": "dashboard_by_uid", "value": "abc"},
    {"type": "dashboard_by_tag", "value": "prod"},
    {"type": "dashboard_by_id", "value": 12},
]


async def test_playlist_create_get_update_delete(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.post(
        "/api/playlists", headers=ADMIN_AUTH, json={"name": "Ops", "interval": "1m", "items": ITEMS}
    )
    assert r.status_code == 200
    created = r.json()
    uid = created["uid"]
    assert isinstance(created["id"], int) and uid
    assert created == {
        "id": created["id"],
        "uid": uid,
        "name": "Ops",
        "interval": "1m",
        "items": [
            {"type": "dashboard_by_uid", "value": "abc", "order": 1},
            {"type": "dashboard_by_tag", "value": "prod", "order": 2},
            {"type": "dashboard_by_id", "value": "12", "order": 3},
        ],
    }
    assert (await c.get(f"/api/playlists/{uid}", headers=ADMIN_AUTH)).json() == created
    assert (await c.get(f"/api/playlists/{uid}/items", headers=ADMIN_AUTH)).json() == created["items"]
    assert (await c.get("/api/playlists", headers=ADMIN_AUTH)).json() == [
        {"id": created["id"], "uid": uid, "name": "Ops", "interval": "1m"}
    ]
    r = await c.put(
        f"/api/playlists/{uid}",
        headers=ADMIN_AUTH,
        json={"name": "Ops 2", "interval": "5m", "items": [ITEMS[1], ITEMS[0]]},
    )
    assert r.status_code == 200
    assert r.json()["name"] == "Ops 2"
    assert [i["value"] for i in r.json()["items"]] == ["prod", "abc"]
    r = await c.delete(f"/api/playlists/{uid}", headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert (await c.get(f"/api/playlists/{uid}", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.get("/api/playlists", headers=ADMIN_AUTH)).json() == []


async def test_playlist_search_filters_by_name_and_limits(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for name in ("Night shift", "Day shift", "Wall"):
        assert (await c.post("/api/playlists", headers=ADMIN_AUTH, json={"name": name})).status_code == 200
    names = [p["name"] for p in (await c.get("/api/playlists?query=SHIFT", headers=ADMIN_AUTH)).json()]
    assert names == ["Day shift", "Night shift"]
    assert len((await c.get("/api/playlists?limit=1", headers=ADMIN_AUTH)).json()) == 1
    assert (await c.get("/api/playlists?limit=x", headers=ADMIN_AUTH)).status_code == 400


async def test_playlist_validation_errors_are_400(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for body in (
        {"interval": "5m"},
        {"name": "x", "items": [{"type": "dashboard_by_magic", "value": "a"}]},
        {"name": "x", "items": [{"type": "dashboard_by_uid"}]},
        {"name": "x", "items": [{"type": "dashboard_by_id", "value": "abc"}]},
        {"name": "x", "items": "nope"},
        {"name": "x", "uid": "bad uid!"},
    ):
        r = await c.post("/api/playlists", headers=ADMIN_AUTH, json=body)
        assert r.status_code == 400, body
        assert r.json()["message"]
    r = await c.post("/api/playlists", headers=ADMIN_AUTH, json={"name": "x", "uid": "fixed"})
    assert r.json()["uid"] == "fixed"
    assert r.json()["interval"] == "5m"
    r = await c.post("/api/playlists", headers=ADMIN_AUTH, json={"name": "y", "uid": "fixed"})
    assert r.status_code == 409


async def test_viewers_read_playlists_but_cannot_write(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    _, viewer = await add_user(sqlite_replica, "vic", "Viewer")
    _, editor = await add_user(sqlite_replica, "eve", "Editor")
    uid = (await c.post("/api/playlists", headers=editor, json={"name": "E"})).json()["uid"]
    assert (await c.get(f"/api/playlists/{uid}", headers=viewer)).status_code == 200
    assert (await c.post("/api/playlists", headers=viewer, json={"name": "V"})).status_code == 403
    assert (await c.put(f"/api/playlists/{uid}", headers=viewer, json={"name": "V"})).status_code == 403
    assert (await c.delete(f"/api/playlists/{uid}", headers=viewer)).status_code == 403
    assert (await c.get("/api/playlists")).status_code == 401


async def test_playlists_are_isolated_per_org(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    uid = (await c.post("/api/playlists", headers=ADMIN_AUTH, json={"name": "Main"})).json()["uid"]
    other = await add_org(sqlite_replica, "Other")
    await join_org(sqlite_replica, 1, other, "Admin")
    in_other = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(other)}
    assert (await c.get("/api/playlists", headers=in_other)).json() == []
    assert (await c.get(f"/api/playlists/{uid}", headers=in_other)).status_code == 404
    assert (await c.delete(f"/api/playlists/{uid}", headers=in_other)).status_code == 404
    assert (await c.get(f"/api/playlists/{uid}", headers=ADMIN_AUTH)).status_code == 200
