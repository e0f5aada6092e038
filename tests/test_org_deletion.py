"""Deleting an org removes its content in every feature that registered a clean-up."""

from __future__ import annotations

import asyncio

from tests.conftest import ADMIN_AUTH, AppFactory, Replica
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


async def test_deleting_an_org_leaves_no_row_of_it_in_any_table(
    make_replica: AppFactory, db_url: str
) -> None:
    """Every table with an ``org_id`` (but users, who move to another org) is empty of the deleted
    org: data sources, alerting (rules, states, contact points, policies, templates, silences,
    groups, the notification log) and content. A feature that adds an org table without a clean-up
    fails here."""
    import importlib
    import pkgutil

    from sqlalchemy import func, select

    import vigil
    from tests.alerting_support import FAST, ok, pulse_rule, put_group, set_policy, setup_basics
    from vigil.alerting.tables import alert_group_member
    from vigil.storage.schema import metadata

    replica = await make_replica(db_url, **FAST)
    c = replica.client
    org_id = (await c.post("/api/orgs", json={"name": "Doomed"}, headers=ADMIN_AUTH)).json()["orgId"]
    in_org = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(org_id)}

    scoped = replica.client  # the alerting helpers' requests go to the doomed org meanwhile
    scoped.headers.update({"X-Grafana-Org-Id": str(org_id)})
    try:
        await setup_basics(scoped)
        body = {"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/hook"}}
        await ok(await c.post("/api/v1/provisioning/contact-points", json=body, headers=in_org), 202)
        await set_policy(scoped, "hook")
        await ok(await c.put("/api/v1/provisioning/templates/t", json={"template": "x"}, headers=in_org), 202)
        silence = {"matchers": [{"name": "a", "value": "b", "isRegex": False, "isEqual": True}]}
        silence |= {"startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z"}
        silence |= {"createdBy": "t", "comment": "c"}
        await ok(
            await c.post("/api/alertmanager/grafana/api/v2/silences", json=silence, headers=in_org), 200, 202
        )
        await put_group(scoped, "g", [pulse_rule("Fires", on=1, off=0)])
        await c.post("/api/annotations", json={"text": "note"}, headers=in_org)
    finally:
        scoped.headers.pop("X-Grafana-Org-Id", None)

    for module in pkgutil.walk_packages(vigil.__path__, "vigil."):
        if module.name.endswith(".tables"):
            importlib.import_module(module.name)
    org_tables = [
        t for name, t in sorted(metadata.tables.items()) if "org_id" in t.c and name != "user_account"
    ]
    db = replica.services.db

    async def rows_of(org: int) -> dict[str, int]:
        async with db.read() as conn:
            counts = {
                t.name: int(
                    (
                        await conn.execute(select(func.count()).select_from(t).where(t.c.org_id == org))
                    ).scalar()
                    or 0
                )
                for t in org_tables
            }
            counts["alert_group_member"] = int(
                (await conn.execute(select(func.count()).select_from(alert_group_member))).scalar() or 0
            )
        return counts

    required = (
        "data_source",
        "folder",
        "alert_rule",
        "alert_contact_point",
        "alert_policy",
        "alert_instance",
    )
    required += ("alert_group", "alert_group_member", "alert_notification", "annotation")
    for _ in range(300):  # the rule fires and its notification is attempted (nothing listens there)
        before = await rows_of(org_id)
        if all(before[t] for t in required):
            break
        await asyncio.sleep(0.1)
    assert all(before[t] for t in required), [t for t in required if not before[t]]
    assert before["alert_notification_template"] == 1 and before["alert_silence"] == 1
    r = await c.delete(f"/api/orgs/{org_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    after = await rows_of(org_id)
    assert {t: n for t, n in after.items() if n} == {}, after
