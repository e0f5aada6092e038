"""Library elements: shapes, search, versioned PATCH, connections, folder permissions, isolation."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_AUTH, Replica
from tests.content_support import add_org, add_user, join_org

PANEL = {"type": "timeseries", "title": "CPU", "description": "cpu use", "targets": [{"refId": "A"}]}
E_KEYS = {
    "id", "orgId", "folderId", "folderUid", "uid", "name", "kind", "type", "description", "model", "version",
    "schemaVersion", "meta",
}  # fmt: skip
META_KEYS = {"folderName", "folderUid", "connectedDashboards", "created", "updated", "createdBy", "updatedBy"}


async def _create(r: Replica, headers: dict[str, str] = ADMIN_AUTH, **body: Any) -> dict[str, Any]:
    resp = await r.client.post(
        "/api/library-elements", headers=headers, json={"kind": 1, "model": PANEL, **body}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["result"])


async def _folder(r: Replica, title: str, uid: str) -> dict[str, Any]:
    resp = await r.client.post("/api/folders", headers=ADMIN_AUTH, json={"title": title, "uid": uid})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_library_element_has_the_grafana_shape(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    f = await _folder(r, "Team A", "team-a")
    e = await _create(r, name="CPU panel", folderUid="team-a", uid="lib-cpu")
    assert set(e) == E_KEYS
    assert set(e["meta"]) == META_KEYS
    assert (e["uid"], e["name"], e["kind"], e["type"], e["description"], e["version"]) == (
        "lib-cpu", "CPU panel", 1, "timeseries", "cpu use", 1
    )  # fmt: skip
    assert (e["folderUid"], e["folderId"], e["meta"]["folderName"]) == ("team-a", f["id"], "Team A")
    assert e["model"] == PANEL
    assert e["meta"]["createdBy"]["id"] == 1
    assert e["meta"]["connectedDashboards"] == 0
    got = await r.client.get("/api/library-elements/lib-cpu", headers=ADMIN_AUTH)
    assert got.json() == {"result": e}
    by_name = await r.client.get("/api/library-elements/name/CPU panel", headers=ADMIN_AUTH)
    assert by_name.json() == {"result": [e]}
    root = await _create(r, name="Root var", kind=2, model={"type": "query", "name": "job"})
    assert (root["folderUid"], root["folderId"], root["meta"]["folderName"], root["kind"]) == (
        "",
        0,
        "General",
        2,
    )
    missing = await r.client.get("/api/library-elements/nope", headers=ADMIN_AUTH)
    assert (missing.status_code, missing.json()) == (404, {"message": "library element could not be found"})
    assert (await r.client.get("/api/library-elements/name/nope", headers=ADMIN_AUTH)).status_code == 404


async def test_library_search_filters_sorts_and_pages(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    f = await _folder(r, "F", "f1")
    await _create(r, name="alpha", folderUid="f1")
    await _create(r, name="Beta", model={**PANEL, "type": "stat", "description": "the beta one"})
    await _create(r, name="gamma", kind=2, model={"type": "query"})

    async def names(query: str) -> list[str]:
        resp = await r.client.get(f"/api/library-elements{query}", headers=ADMIN_AUTH)
        assert resp.status_code == 200, resp.text
        return [e["name"] for e in resp.json()["result"]["elements"]]

    assert await names("") == ["alpha", "Beta", "gamma"]
    assert await names("?sortDirection=alpha-desc") == ["gamma", "Beta", "alpha"]
    assert await names("?searchString=BETA") == ["Beta"]
    assert await names("?searchString=one") == ["Beta"]  # description matches too
    assert await names("?kind=2") == ["gamma"]
    assert await names("?typeFilter=stat,query") == ["Beta", "gamma"]
    assert await names(f"?folderFilter={f['id']}") == ["alpha"]
    assert await names("?folderFilter=0") == ["Beta", "gamma"]
    assert await names("?folderFilterUIDs=f1") == ["alpha"]
    page = (await r.client.get("/api/library-elements?perPage=2&page=2", headers=ADMIN_AUTH)).json()["result"]
    assert (page["totalCount"], page["page"], page["perPage"], [e["name"] for e in page["elements"]]) == (
        3, 2, 2, ["gamma"]
    )  # fmt: skip
    past = (await r.client.get("/api/library-elements?perPage=2&page=3", headers=ADMIN_AUTH)).json()["result"]
    assert past["elements"] == []
    beta_uid = (await r.client.get("/api/library-elements?searchString=beta", headers=ADMIN_AUTH)).json()
    uid = beta_uid["result"]["elements"][0]["uid"]
    assert await names(f"?excludeUid={uid}") == ["alpha", "gamma"]
    assert (
        await r.client.get("/api/library-elements?sortDirection=up", headers=ADMIN_AUTH)
    ).status_code == 400


async def test_patch_needs_the_current_version(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    await _folder(r, "F", "f1")
    e = await _create(r, name="p", uid="p1")
    resp = await r.client.patch(
        "/api/library-elements/p1",
        headers=ADMIN_AUTH,
        json={"name": "p renamed", "model": {**PANEL, "title": "new"}, "version": 1, "folderUid": "f1"},
    )
    assert resp.status_code == 200, resp.text
    changed = resp.json()["result"]
    assert (changed["name"], changed["version"], changed["model"]["title"], changed["folderUid"]) == (
        "p renamed", 2, "new", "f1"
    )  # fmt: skip
    assert changed["id"] == e["id"]
    stale = await r.client.patch(
        "/api/library-elements/p1", headers=ADMIN_AUTH, json={"name": "x", "version": 1}
    )
    assert stale.status_code == 412
    assert "changed by someone else" in stale.json()["message"]


async def test_library_element_validation_and_duplicates(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    c = r.client
    for body in (
        {"model": {"type": "text"}},  # no name, and no title to take it from
        {"name": "x"},
        {"name": "x", "model": [1]},
        {"name": "x", "model": PANEL, "kind": 3},
        {"name": "x", "model": PANEL, "uid": "no spaces"},
        {"name": "x", "model": PANEL, "folderUid": "missing"},
    ):
        resp = await c.post("/api/library-elements", headers=ADMIN_AUTH, json=body)
        assert resp.status_code == 400, body
    await _create(r, name="dup", uid="u1")
    assert (
        await c.post("/api/library-elements", headers=ADMIN_AUTH, json={"name": "dup", "model": PANEL})
    ).status_code == 400
    resp = await c.post(
        "/api/library-elements", headers=ADMIN_AUTH, json={"name": "other", "model": PANEL, "uid": "u1"}
    )
    assert resp.status_code == 400
    # same name as a variable is fine: names are unique per folder and kind
    assert (
        await c.post(
            "/api/library-elements", headers=ADMIN_AUTH, json={"name": "dup", "kind": 2, "model": {}}
        )
    ).status_code == 200


async def test_connections_come_from_dashboards_using_the_element(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    c = r.client
    await _create(r, name="shared", uid="lib-1")
    inner = {"id": 2, "libraryPanel": {"uid": "lib-1", "name": "shared"}}
    dash = {"title": "Uses lib", "panels": [{"id": 1, "type": "row", "collapsed": True, "panels": [inner]}]}
    saved = await c.post("/api/dashboards/db", headers=ADMIN_AUTH, json={"dashboard": dash})
    assert saved.status_code == 200, saved.text
    conns = (await c.get("/api/library-elements/lib-1/connections", headers=ADMIN_AUTH)).json()["result"]
    assert [(x["connectionUid"], x["connectionId"], x["kind"]) for x in conns] == [
        (saved.json()["uid"], saved.json()["id"], 1)
    ]
    e = (await c.get("/api/library-elements/lib-1", headers=ADMIN_AUTH)).json()["result"]
    assert e["meta"]["connectedDashboards"] == 1
    resp = await c.delete("/api/library-elements/lib-1", headers=ADMIN_AUTH)
    assert resp.status_code == 403
    assert (
        await c.delete(f"/api/dashboards/uid/{saved.json()['uid']}", headers=ADMIN_AUTH)
    ).status_code == 200
    resp = await c.delete("/api/library-elements/lib-1", headers=ADMIN_AUTH)
    assert (resp.status_code, resp.json()) == (200, {"message": "Library element deleted", "id": e["id"]})
    assert (await c.get("/api/library-elements/lib-1", headers=ADMIN_AUTH)).status_code == 404


async def test_folder_permissions_govern_library_elements(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    c = r.client
    _, viewer = await add_user(r, "vi", "Viewer")
    _, editor = await add_user(r, "ed", "Editor")
    await _folder(r, "Open", "open")
    await _folder(r, "Locked", "locked")
    # only admins on "locked"
    resp = await c.post("/api/folders/locked/permissions", headers=ADMIN_AUTH, json={"items": []})
    assert resp.status_code == 200, resp.text
    await _create(r, name="in open", folderUid="open", uid="e-open")
    await _create(r, name="in locked", folderUid="locked", uid="e-locked")
    listed = (await c.get("/api/library-elements", headers=viewer)).json()["result"]
    assert [e["name"] for e in listed["elements"]] == ["in open"]
    assert listed["totalCount"] == 1
    assert (await c.get("/api/library-elements/e-locked", headers=viewer)).status_code == 404
    assert (await c.get("/api/library-elements/e-open", headers=viewer)).status_code == 200
    body = {"name": "v", "model": PANEL, "folderUid": "open"}
    assert (await c.post("/api/library-elements", headers=viewer, json=body)).status_code == 403
    assert (await c.post("/api/library-elements", headers=editor, json=body)).status_code == 200
    assert (
        await c.patch("/api/library-elements/e-open", headers=viewer, json={"name": "z", "version": 1})
    ).status_code == 403
    assert (await c.delete("/api/library-elements/e-open", headers=viewer)).status_code == 403
    assert (await c.delete("/api/library-elements/e-locked", headers=editor)).status_code == 404
    moved = await c.patch(
        "/api/library-elements/e-open", headers=editor, json={"folderUid": "locked", "version": 1}
    )
    assert moved.status_code in (403, 404)
    assert (await c.delete("/api/library-elements/e-open", headers=editor)).status_code == 200


async def test_library_elements_are_isolated_per_org(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    c = r.client
    await _create(r, name="main", uid="m1")
    other = await add_org(r, "Other")
    await join_org(r, 1, other, "Admin")
    in_other = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(other)}
    assert (await c.get("/api/library-elements", headers=in_other)).json()["result"]["elements"] == []
    assert (await c.get("/api/library-elements/m1", headers=in_other)).status_code == 404
    assert (await c.delete("/api/library-elements/m1", headers=in_other)).status_code == 404
    # the same uid and name may exist in another org
    assert (await _create(r, in_other, name="main", uid="m1"))["orgId"] == other


async def test_deleting_a_folder_deletes_its_unused_elements_and_refuses_used_ones(
    sqlite_replica: Replica,
) -> None:
    r = sqlite_replica
    c = r.client
    await _folder(r, "Gone", "gone")
    await _folder(r, "Busy", "busy")
    await _create(r, name="unused", folderUid="gone", uid="e1")
    await _create(r, name="used", folderUid="busy", uid="e2")
    dash = {"title": "User", "panels": [{"id": 1, "libraryPanel": {"uid": "e2", "name": "used"}}]}
    assert (
        await c.post("/api/dashboards/db", headers=ADMIN_AUTH, json={"dashboard": dash})
    ).status_code == 200
    assert (await c.delete("/api/folders/gone", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.get("/api/library-elements/e1", headers=ADMIN_AUTH)).status_code == 404
    resp = await c.delete("/api/folders/busy", headers=ADMIN_AUTH)
    assert resp.status_code == 400
    assert "library elements in use" in resp.json()["message"]
    assert (await c.get("/api/library-elements/e2", headers=ADMIN_AUTH)).status_code == 200


async def test_an_element_created_without_a_name_is_named_after_its_model(sqlite_replica: Replica) -> None:
    r = sqlite_replica
    panel = await _create(r, uid="lib-unnamed")  # grafana-client's create_library_element(panel)
    assert panel["name"] == "CPU"
    var = await _create(r, kind=2, model={"type": "custom", "name": "env", "query": "a,b"})
    assert var["name"] == "env"
    bare = await r.client.post(
        "/api/library-elements", headers=ADMIN_AUTH, json={"kind": 1, "model": {"type": "stat"}}
    )
    assert (bare.status_code, bare.json()) == (400, {"message": "bad request data: name is required"})
