"""Concurrent saves and replicas sharing one database. All three databases."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from tests.conftest import AppFactory, Replica
from tests.dashboards_support import caller, folder_ok, save, save_ok
from vigil.dashboards.tables import dashboard_version


async def test_fifty_concurrent_saves_at_one_version_give_one_200_and_412s(replica: Replica) -> None:
    _, admin = await caller(replica, "racer", role="Admin")
    c = replica.client
    first = await save_ok(c, admin, {"title": "Contended", "uid": "race"})
    assert first["version"] == 1

    async def attempt(n: int) -> int:
        r = await save(c, admin, {"title": "Contended", "uid": "race", "version": 1, "n": n})
        if r.status_code == 412:
            assert r.json() == {
                "status": "version-mismatch",
                "message": "The dashboard has been changed by someone else",
            }
        return r.status_code

    codes = Counter(await asyncio.gather(*(attempt(n) for n in range(50))))
    assert codes == Counter({200: 1, 412: 49})
    got = (await c.get("/api/dashboards/uid/race", headers=admin)).json()["dashboard"]
    assert got["version"] == 2
    async with replica.services.db.read() as conn:
        versions = (
            await conn.execute(
                select(func.count())
                .select_from(dashboard_version)
                .where(dashboard_version.c.dashboard_id == first["id"])
            )
        ).scalar_one()
    assert versions == 2


async def test_concurrent_creates_of_one_uid_make_one_dashboard(replica: Replica) -> None:
    _, admin = await caller(replica, "creator", role="Admin")
    c = replica.client

    async def attempt(n: int) -> int:
        return (await save(c, admin, {"title": f"New {n}", "uid": "fresh"})).status_code

    codes = Counter(await asyncio.gather(*(attempt(n) for n in range(20))))
    assert codes[200] == 1 and codes[412] == 19, codes


async def test_a_save_on_one_replica_is_read_at_once_on_another(
    make_replica: AppFactory, db_url: str
) -> None:
    a = await make_replica(db_url)
    b = await make_replica(db_url)
    _, admin = await caller(a, "shared", role="Admin")
    f = await folder_ok(a.client, admin, "Shared")
    body = await save_ok(a.client, admin, {"title": "Seen Everywhere", "tags": ["ha"]}, folderUid=f["uid"])
    r = await b.client.get(f"/api/dashboards/uid/{body['uid']}", headers=admin)
    assert r.status_code == 200 and r.headers["x-vigil-instance"] == "replica-2"
    assert r.json()["dashboard"]["version"] == 1 and r.json()["meta"]["folderTitle"] == "Shared"
    # an update through B is seen through A immediately, in reads and in search
    await save_ok(b.client, admin, {"title": "Renamed", "uid": body["uid"], "version": 1}, folderUid=f["uid"])
    got = (await a.client.get(f"/api/dashboards/uid/{body['uid']}", headers=admin)).json()
    assert got["dashboard"]["title"] == "Renamed" and got["dashboard"]["version"] == 2
    hits = (await a.client.get("/api/search", params={"query": "renamed"}, headers=admin)).json()
    assert [h["uid"] for h in hits] == [body["uid"]]
    # a stale save through A after B's update is refused
    r = await save(a.client, admin, {"title": "Stale", "uid": body["uid"], "version": 1}, folderUid=f["uid"])
    assert r.status_code == 412
    # a delete through A is seen through B
    assert (await a.client.delete(f"/api/dashboards/uid/{body['uid']}", headers=admin)).status_code == 200
    assert (await b.client.get(f"/api/dashboards/uid/{body['uid']}", headers=admin)).status_code == 404
