"""Snapshots: create, read by key, list, delete by key and by delete key, expiry, permissions."""

from __future__ import annotations

from tests.conftest import ADMIN_AUTH, AppFactory, Replica
from tests.content_support import add_org, add_user, join_org
from vigil.clock import FakeClock

DASH = {
    "title": "Snap me",
    "panels": [{"id": 1, "type": "timeseries", "snapshotData": [[1, 2]]}],
    "uid": "src",
}


async def test_snapshot_create_read_list_and_delete_by_key(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "name": "First"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"key", "deleteKey", "url", "deleteUrl", "id"}
    assert body["url"] == f"http://localhost:3000/dashboard/snapshot/{body['key']}"
    assert body["deleteUrl"] == f"http://localhost:3000/api/snapshots-delete/{body['deleteKey']}"
    got = (await c.get(f"/api/snapshots/{body['key']}", headers=ADMIN_AUTH)).json()
    assert got["dashboard"] == DASH
    assert got["meta"]["isSnapshot"] is True
    assert got["meta"]["type"] == "snapshot"
    assert got["meta"]["created"].endswith("Z")
    listed = (await c.get("/api/dashboard/snapshots", headers=ADMIN_AUTH)).json()
    assert len(listed) == 1
    item = listed[0]
    assert set(item) == {
        "id",
        "name",
        "key",
        "orgId",
        "userId",
        "external",
        "externalUrl",
        "expires",
        "created",
        "updated",
    }
    assert (item["id"], item["name"], item["key"], item["orgId"], item["external"]) == (
        body["id"],
        "First",
        body["key"],
        1,
        False,
    )
    r = await c.delete(f"/api/snapshots/{body['key']}", headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert r.json()["id"] == body["id"]
    assert r.json()["message"].startswith("Snapshot deleted")
    assert (await c.get(f"/api/snapshots/{body['key']}", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.delete(f"/api/snapshots/{body['key']}", headers=ADMIN_AUTH)).status_code == 404


async def test_delete_key_deletes_without_credentials_and_only_once(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    body = (await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH})).json()
    r = await c.get(f"/api/snapshots-delete/{body['key']}")  # the public key is not the delete key
    assert r.status_code == 404
    r = await c.get(f"/api/snapshots-delete/{body['deleteKey']}")
    assert r.status_code == 200
    assert r.json()["id"] == body["id"]
    assert (await c.get(f"/api/snapshots-delete/{body['deleteKey']}")).status_code == 404
    assert (await c.get("/api/dashboard/snapshots", headers=ADMIN_AUTH)).json() == []


async def test_client_chosen_keys_are_kept_and_must_be_unique(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.post(
        "/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "key": "k1", "deleteKey": "d1"}
    )
    assert (r.json()["key"], r.json()["deleteKey"]) == ("k1", "d1")
    r = await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "key": "k1"})
    assert r.status_code == 409
    r = await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "key": "bad key/"})
    assert r.status_code == 400


async def test_snapshot_bodies_are_validated(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    assert (await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"name": "x"})).status_code == 400
    assert (await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": [1]})).status_code == 400
    r = await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "expires": -1})
    assert r.status_code == 400
    r = await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "external": True})
    assert r.status_code == 403
    assert "External" in r.json()["message"]
    # the name defaults to the dashboard's title
    key = (await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH})).json()["key"]
    assert (await c.get("/api/dashboard/snapshots", headers=ADMIN_AUTH)).json()[0]["name"] == "Snap me"
    assert key


async def test_expired_snapshots_disappear(make_replica: AppFactory, sqlite_url: str) -> None:
    clock = FakeClock()
    r = await make_replica(sqlite_url, clock=clock)
    c = r.client
    short = (
        await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "expires": 60})
    ).json()
    forever = (
        await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "expires": 0})
    ).json()
    assert (await c.get(f"/api/snapshots/{short['key']}", headers=ADMIN_AUTH)).status_code == 200
    clock.advance(61)
    assert (await c.get(f"/api/snapshots/{short['key']}", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.get(f"/api/snapshots/{forever['key']}", headers=ADMIN_AUTH)).status_code == 200
    keys = [s["key"] for s in (await c.get("/api/dashboard/snapshots", headers=ADMIN_AUTH)).json()]
    assert keys == [forever["key"]]


async def test_reading_a_snapshot_needs_sign_in_unless_public_mode(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    private = await make_replica(sqlite_url)
    key = (await private.client.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH})).json()[
        "key"
    ]
    assert (await private.client.get(f"/api/snapshots/{key}")).status_code == 401
    public = await make_replica(sqlite_url, snapshots__public_mode="true")
    r = await public.client.get(f"/api/snapshots/{key}")
    assert r.status_code == 200
    assert r.json()["dashboard"]["title"] == "Snap me"


async def test_viewers_cannot_create_and_only_see_their_own(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    _, viewer = await add_user(sqlite_replica, "vik", "Viewer")
    _, editor = await add_user(sqlite_replica, "ed", "Editor")
    assert (await c.post("/api/snapshots", headers=viewer, json={"dashboard": DASH})).status_code == 403
    mine = (await c.post("/api/snapshots", headers=editor, json={"dashboard": DASH, "name": "ed's"})).json()
    admins = (
        await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH, "name": "admin's"})
    ).json()
    assert [s["name"] for s in (await c.get("/api/dashboard/snapshots", headers=editor)).json()] == ["ed's"]
    assert [s["name"] for s in (await c.get("/api/dashboard/snapshots", headers=viewer)).json()] == []
    assert len((await c.get("/api/dashboard/snapshots", headers=ADMIN_AUTH)).json()) == 2
    assert [
        s["name"] for s in (await c.get("/api/dashboard/snapshots?query=ADMIN", headers=ADMIN_AUTH)).json()
    ] == ["admin's"]
    # a Viewer may read by key but not delete someone else's
    assert (await c.get(f"/api/snapshots/{mine['key']}", headers=viewer)).status_code == 200
    assert (await c.delete(f"/api/snapshots/{mine['key']}", headers=viewer)).status_code == 403
    assert (await c.delete(f"/api/snapshots/{admins['key']}", headers=editor)).status_code == 200


async def test_snapshots_are_isolated_per_org(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    key = (await c.post("/api/snapshots", headers=ADMIN_AUTH, json={"dashboard": DASH})).json()["key"]
    other = await add_org(sqlite_replica, "Other")
    await join_org(sqlite_replica, 1, other, "Admin")
    in_other = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(other)}
    assert (await c.get(f"/api/snapshots/{key}", headers=in_other)).status_code == 404
    assert (await c.delete(f"/api/snapshots/{key}", headers=in_other)).status_code == 404
    assert (await c.get("/api/dashboard/snapshots", headers=in_other)).json() == []
    assert (await c.get(f"/api/snapshots/{key}", headers=ADMIN_AUTH)).status_code == 200
