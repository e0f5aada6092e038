"""Deleting an org removes its content in every feature that registered a clean-up."""

from __future__ import annotations

from tests.conftest import ADMIN_AUTH, Replica
from vigil.dashboards.service import get_dashboard, get_folder


async def test_deleting_an_org_removes_its_folders_and_dashboards(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    org_id = (await c.post("/api/orgs", json={"name": "Doomed"}, headers=ADMIN_AUTH)).json()["orgId"]
    in_org = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(org_id)}
    folder = (await c.post("/api/folders", json={"title": "F"}, headers=in_org)).json()
    saved = await c.post(
        "/api/dashboards/db",
        json={"dashboard": {"title": "D", "panels": []}, "folderUid": folder["uid"]},
        headers=in_org,
    )
    assert saved.status_code == 200, saved.text
    kept = await c.post("/api/dashboards/db", json={"dashboard": {"title": "Kept"}}, headers=ADMIN_AUTH)
    assert kept.status_code == 200
    r = await c.delete(f"/api/orgs/{org_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    # a new org reusing nothing: the old content is gone, org 1's content stays
    new_id = (await c.post("/api/orgs", json={"name": "Fresh"}, headers=ADMIN_AUTH)).json()["orgId"]
    assert new_id != org_id
    async with sqlite_replica.services.db.read() as conn:
        assert await get_dashboard(conn, org_id, uid=saved.json()["uid"]) is None
        assert await get_folder(conn, org_id, uid=folder["uid"]) is None
    hits = (await c.get("/api/search", headers=ADMIN_AUTH)).json()
    assert [h["title"] for h in hits if h["type"] == "dash-db"] == ["Kept"]
