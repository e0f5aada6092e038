"""Annotations: shapes, filters (time, dashboard, panel, type, tags), updates, permissions, isolation."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_AUTH, Replica
from tests.content_support import add_dashboard, add_org, add_user, join_org
from vigil.dashboards import hooks
from vigil.dashboards.tables import dashboard_acl
from vigil.storage.db import now_ms

T0 = 1_700_000_000_000
ITEM_KEYS = set(
    [
        "id",
        "alertId",
        "alertName",
        "dashboardId",
        "dashboardUID",
        "panelId",
        "userId",
        "userUID",
        "newState",
        "prevState",
        "created",
        "updated",
        "time",
        "timeEnd",
        "text",
        "tags",
        "login",
        "email",
        "avatarUrl",
        "data",
    ]
)


async def _add(r: Replica, headers: dict[str, str] = ADMIN_AUTH, **body: Any) -> int:
    resp = await r.client.post("/api/annotations", headers=headers, json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["message"] == "Annotation added"
    return int(resp.json()["id"])


async def _ids(r: Replica, query: str, headers: dict[str, str] = ADMIN_AUTH) -> list[int]:
    resp = await r.client.get(f"/api/annotations{query}", headers=headers)
    assert resp.status_code == 200, resp.text
    return [a["id"] for a in resp.json()]


async def test_annotation_item_has_the_grafana_shape(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    dash_id = await add_dashboard(r, "d1", "D1")
    a = await _add(
        r, dashboardUID="d1", panelId=3, time=T0, timeEnd=T0 + 5000, text="deploy", tags=["v1"], data={"k": 1}
    )
    org = await _add(r, time=T0 + 1, text="org wide")
    items = (await r.client.get("/api/annotations", headers=ADMIN_AUTH)).json()
    assert [i["id"] for i in items] == [org, a]
    item = items[1]
    assert set(item) == ITEM_KEYS
    assert (item["dashboardId"], item["dashboardUID"], item["panelId"]) == (dash_id, "d1", 3)
    assert (item["time"], item["timeEnd"], item["text"], item["tags"], item["data"]) == (
        T0,
        T0 + 5000,
        "deploy",
        ["v1"],
        {"k": 1},
    )
    assert (item["login"], item["userId"], item["alertId"]) == ("admin", 1, 0)
    assert (items[0]["dashboardId"], items[0]["dashboardUID"], items[0]["timeEnd"]) == (0, None, T0 + 1)
    one = await r.client.get(f"/api/annotations/{a}", headers=ADMIN_AUTH)
    assert one.json() == item
    assert (await r.client.get("/api/annotations/99999", headers=ADMIN_AUTH)).status_code == 404


async def test_annotation_filters_on_every_database(replica: Replica) -> None:
    r = replica
    d1 = await add_dashboard(r, "d1", "D1")
    await add_dashboard(r, "d2", "D2")
    point = await _add(r, dashboardUID="d1", panelId=1, time=T0, text="p", tags=["env:prod", "deploy"])
    region = await _add(
        r, dashboardUID="d1", panelId=2, time=T0 + 10_000, timeEnd=T0 + 50_000, text="r", tags=["env:dev"]
    )
    other = await _add(r, dashboardUID="d2", time=T0 + 100_000, text="o", tags=["deploy"])
    org = await _add(r, time=T0 + 200_000, text="g", tags=["outage"])
    assert await _ids(r, "") == [org, other, region, point]
    # time window: overlap, so a region reaching into the window counts
    assert await _ids(r, f"?from={T0 + 40_000}&to={T0 + 150_000}") == [other, region]
    assert await _ids(r, f"?from={T0 + 1}&to={T0 + 9_999}") == []
    assert await _ids(r, "?dashboardUID=d1") == [region, point]
    assert await _ids(r, f"?dashboardId={d1}&panelId=2") == [region]
    assert await _ids(r, "?dashboardId=424242") == []
    # tags: all must match by default, any with matchAny; a bare key matches key:value tags
    assert await _ids(r, "?tags=deploy") == [other, point]
    assert await _ids(r, "?tags=deploy&tags=env:prod") == [point]
    assert await _ids(r, "?tags=env") == [region, point]
    assert await _ids(r, "?tags=env:dev&tags=outage&matchAny=true") == [org, region]
    assert await _ids(r, "?tags=env:dev&tags=outage") == []
    assert await _ids(r, "?type=annotation&limit=2") == [org, other]
    assert await _ids(r, "?type=alert") == []
    assert await _ids(r, "?userId=1&limit=1") == [org]
    tags = (await r.client.get("/api/annotations/tags", headers=ADMIN_AUTH)).json()
    assert tags == {
        "result": {
            "tags": [
                {"tag": "deploy", "count": 2},
                {"tag": "env:dev", "count": 1},
                {"tag": "env:prod", "count": 1},
                {"tag": "outage", "count": 1},
            ]
        }
    }
    tags = (await r.client.get("/api/annotations/tags?tag=env", headers=ADMIN_AUTH)).json()
    assert [t["tag"] for t in tags["result"]["tags"]] == ["env:dev", "env:prod"]


async def test_bad_annotation_queries_and_bodies_are_400(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    assert (await c.get("/api/annotations?from=yesterday", headers=ADMIN_AUTH)).status_code == 400
    assert (await c.get("/api/annotations?type=bogus", headers=ADMIN_AUTH)).status_code == 400
    for body in (
        {"time": T0},
        {"text": "x", "time": T0, "timeEnd": T0 - 1},
        {"text": "x", "tags": "a,b"},
        {"text": "x", "tags": [1]},
        {"text": "x", "data": "str"},
        {"text": "x", "time": "now"},
    ):
        r = await c.post("/api/annotations", headers=ADMIN_AUTH, json=body)
        assert r.status_code == 400, body
    r = await c.post("/api/annotations", headers=ADMIN_AUTH, json={"text": "x", "dashboardUID": "missing"})
    assert r.status_code == 404


async def test_put_replaces_and_patch_ignores_nulls(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    a = await _add(r, time=T0, timeEnd=T0 + 1000, text="first", tags=["a", "b"], data={"x": 1})
    # grafana-client sends time, timeEnd and text as null in PATCH
    resp = await r.client.patch(
        f"/api/annotations/{a}",
        headers=ADMIN_AUTH,
        json={"time": None, "timeEnd": None, "text": None, "tags": ["c"]},
    )
    assert (resp.status_code, resp.json()) == (200, {"message": "Annotation patched"})
    got = (await r.client.get(f"/api/annotations/{a}", headers=ADMIN_AUTH)).json()
    assert (got["time"], got["timeEnd"], got["text"], got["tags"], got["data"]) == (
        T0,
        T0 + 1000,
        "first",
        ["c"],
        {"x": 1},
    )
    resp = await r.client.put(
        f"/api/annotations/{a}", headers=ADMIN_AUTH, json={"text": "second", "time": T0 + 5}
    )
    assert (resp.status_code, resp.json()) == (200, {"message": "Annotation updated"})
    got = (await r.client.get(f"/api/annotations/{a}", headers=ADMIN_AUTH)).json()
    assert (got["time"], got["timeEnd"], got["text"], got["tags"]) == (T0 + 5, T0 + 1000, "second", [])
    resp = await r.client.patch(f"/api/annotations/{a}", headers=ADMIN_AUTH, json={"timeEnd": T0})
    assert resp.status_code == 400
    resp = await r.client.delete(f"/api/annotations/{a}", headers=ADMIN_AUTH)
    assert (resp.status_code, resp.json()) == (200, {"message": "Annotation deleted"})
    assert (await r.client.delete(f"/api/annotations/{a}", headers=ADMIN_AUTH)).status_code == 404
    assert (
        await r.client.put(f"/api/annotations/{a}", headers=ADMIN_AUTH, json={"text": "x"})
    ).status_code == 404


async def test_graphite_annotations_take_seconds_and_string_tags(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    r = await c.post(
        "/api/annotations/graphite",
        headers=ADMIN_AUTH,
        json={"what": "deploy", "tags": "web prod", "when": 1_700_000_000, "data": "build 7"},
    )
    assert r.status_code == 200
    assert r.json()["message"] == "Graphite annotation added"
    got = (await c.get(f"/api/annotations/{r.json()['id']}", headers=ADMIN_AUTH)).json()
    assert (got["time"], got["text"], got["tags"]) == (1_700_000_000_000, "deploy\nbuild 7", ["web", "prod"])
    r = await c.post("/api/annotations/graphite", headers=ADMIN_AUTH, json={"what": "x", "tags": ["a", "b"]})
    assert r.status_code == 200
    assert (
        await c.post("/api/annotations/graphite", headers=ADMIN_AUTH, json={"tags": []})
    ).status_code == 400


async def test_mass_delete_by_dashboard_panel_or_id(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    await add_dashboard(r, "d1", "D1")
    a1 = await _add(r, dashboardUID="d1", panelId=1, text="a")
    await _add(r, dashboardUID="d1", panelId=2, text="b")
    g = await _add(r, text="g")
    resp = await r.client.post(
        "/api/annotations/mass-delete", headers=ADMIN_AUTH, json={"dashboardUID": "d1", "panelId": 2}
    )
    assert resp.status_code == 200
    assert sorted(await _ids(r, "")) == sorted([a1, g])
    resp = await r.client.post("/api/annotations/mass-delete", headers=ADMIN_AUTH, json={"annotationId": g})
    assert resp.status_code == 200
    assert await _ids(r, "") == [a1]
    assert (
        await r.client.post("/api/annotations/mass-delete", headers=ADMIN_AUTH, json={})
    ).status_code == 400


async def test_viewers_read_but_cannot_write_annotations(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    c = r.client
    _, viewer = await add_user(r, "vi", "Viewer")
    _, editor = await add_user(r, "ed", "Editor")
    await add_dashboard(r, "d1", "D1")
    org_a = await _add(r, text="org")
    dash_a = await _add(r, dashboardUID="d1", text="dash")
    assert sorted(await _ids(r, "", viewer)) == sorted([org_a, dash_a])
    for body in ({"text": "x"}, {"text": "x", "dashboardUID": "d1"}):
        assert (await c.post("/api/annotations", headers=viewer, json=body)).status_code == 403
        assert (await c.post("/api/annotations", headers=editor, json=body)).status_code == 200
    assert (await c.post("/api/annotations/graphite", headers=viewer, json={"what": "x"})).status_code == 403
    assert (await c.patch(f"/api/annotations/{org_a}", headers=viewer, json={"text": "y"})).status_code == 403
    assert (await c.put(f"/api/annotations/{dash_a}", headers=viewer, json={"text": "y"})).status_code == 403
    assert (await c.delete(f"/api/annotations/{dash_a}", headers=viewer)).status_code == 403
    r2 = await c.post("/api/annotations/mass-delete", headers=viewer, json={"annotationId": org_a})
    assert r2.status_code == 403
    assert (await c.delete(f"/api/annotations/{dash_a}", headers=editor)).status_code == 200
    assert (await c.get("/api/annotations")).status_code == 401


async def test_dashboard_permissions_decide_who_reads_and_writes_its_annotations(
    sqlite_replica: Replica,
) -> None:
    r = sqlite_replica
    c = r.client
    viewer_id, viewer = await add_user(r, "vi", "Viewer")
    _, editor = await add_user(r, "ed", "Editor")
    await add_dashboard(r, "hidden", "Hidden", acl=False)  # no items: only admins see it
    await add_dashboard(r, "shared", "Shared", acl=False)
    now = now_ms(r.services.clock)
    item = {"org_id": 1, "kind": "dashboard", "resource_uid": "shared", "created": now, "updated": now}
    async with r.services.db.write() as conn:  # the viewer may edit "shared", the editor only view it
        await conn.execute(
            dashboard_acl.insert(),
            [
                {**item, "user_id": viewer_id, "role": "", "permission": 2},
                {**item, "user_id": 0, "role": "Editor", "permission": 1},
            ],
        )
    hidden = await _add(r, dashboardUID="hidden", text="h")
    for i in range(3):
        await _add(r, text=f"org {i}")
    assert hidden not in await _ids(r, "", viewer)
    assert len(await _ids(r, "?limit=3", viewer)) == 3
    assert hidden in await _ids(r, "")
    assert (await c.get(f"/api/annotations/{hidden}", headers=viewer)).status_code == 404
    assert (await c.delete(f"/api/annotations/{hidden}", headers=editor)).status_code == 404
    assert (
        await c.post("/api/annotations", headers=editor, json={"text": "x", "dashboardUID": "hidden"})
    ).status_code == 403
    assert (
        await c.post("/api/annotations", headers=viewer, json={"text": "x", "dashboardUID": "shared"})
    ).status_code == 200
    assert (
        await c.post("/api/annotations", headers=editor, json={"text": "x", "dashboardUID": "shared"})
    ).status_code == 403


async def test_annotations_are_isolated_per_org(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    c = r.client
    mine = await _add(r, text="main org")
    other = await add_org(r, "Other")
    await join_org(r, 1, other, "Admin")
    in_other = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(other)}
    assert await _ids(r, "", in_other) == []
    assert (await c.get(f"/api/annotations/{mine}", headers=in_other)).status_code == 404
    assert (await c.delete(f"/api/annotations/{mine}", headers=in_other)).status_code == 404
    theirs = await _add(r, in_other, text="other org")
    assert await _ids(r, "", in_other) == [theirs]
    assert await _ids(r, "") == [mine]
    assert (await c.get("/api/annotations/tags", headers=in_other)).json() == {"result": {"tags": []}}


async def test_deleting_a_dashboard_removes_its_annotations(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    dash_id = await add_dashboard(r, "d1", "D1")
    await _add(r, dashboardUID="d1", text="gone soon", tags=["x"])
    keep = await _add(r, text="stays")
    async with r.services.db.write() as conn:
        for hook in hooks.dashboard_deleted:
            await hook(conn, 1, dash_id, "d1")
    assert await _ids(r, "") == [keep]
    assert (await r.client.get("/api/annotations/tags", headers=ADMIN_AUTH)).json() == {
        "result": {"tags": []}
    }
