"""Deleting an org removes the content features' rows of that org, and only of that org."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import ADMIN_AUTH, Replica
from tests.content_support import add_dashboard, add_org, join_org
from vigil.annotations.tables import annotation, annotation_tag
from vigil.content_cleanup import delete_content_of_org
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
