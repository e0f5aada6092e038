"""Privilege: roles hold (a Viewer cannot save, an Editor cannot manage users), organizations are
walls (an org 1 admin reaches none of org 2's dashboards, folders, annotations or data sources by
uid, id, name, search or query), service-account tokens stay inside their role and org, and secrets
(``secureJsonData``, contact-point secrets) never leave the server. Each attempt is asserted refused
AND, for writes, to have changed nothing. SQLite: the checks are the same code on every database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ADMIN_AUTH, Replica
from tests.identity_helpers import as_user, bearer, new_org, new_user

SECRETS = {
    "password": "ds-password-s3cr3t",
    "basicAuthPassword": "basic-pw-s3cr3t",
    "httpHeaderValue1": "Bearer header-s3cr3t",
    "tlsClientKey": "-----BEGIN PRIVATE KEY-----key-s3cr3t",
}


@dataclass
class Org2:
    org_id: int
    dash_uid: str
    dash_id: int
    folder_uid: str
    folder_id: int
    annotation_id: int
    ds_uid: str
    ds_id: int
    ds_name: str


async def _ok(r: httpx.Response) -> Any:
    assert r.status_code in (200, 201), (r.request.method, r.request.url.path, r.status_code, r.text)
    return r.json()


async def _org2_content(c: httpx.AsyncClient) -> Org2:
    org_id = await new_org(c, "Other Org")
    h = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(org_id)}
    folder = await _ok(await c.post("/api/folders", json={"uid": "f2", "title": "Secret Folder"}, headers=h))
    dash = await _ok(
        await c.post(
            "/api/dashboards/db",
            json={
                "dashboard": {"uid": "d2", "title": "Secret Dashboard", "tags": ["org2tag"], "panels": []},
                "folderUid": "f2",
            },
            headers=h,
        )
    )
    ann = await _ok(
        await c.post(
            "/api/annotations",
            json={
                "dashboardUID": "d2",
                "time": 1_700_000_000_000,
                "text": "secret note",
                "tags": ["org2ann"],
            },
            headers=h,
        )
    )
    ds = await _ok(
        await c.post(
            "/api/datasources",
            json={
                "name": "secret-ds",
                "uid": "ds2",
                "type": "grafana-testdata-datasource",
                "access": "proxy",
            },
            headers=h,
        )
    )
    return Org2(
        org_id,
        "d2",
        int(dash["id"]),
        "f2",
        int(folder["id"]),
        int(ann["id"]),
        "ds2",
        int(ds["datasource"]["id"] if "datasource" in ds else ds["id"]),
        "secret-ds",
    )


async def _snapshot(c: httpx.AsyncClient, o: Org2) -> str:
    """Everything of org 2 that an attack could change, as the server admin sees it."""
    h = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(o.org_id)}
    parts = [
        (await c.get(f"/api/dashboards/uid/{o.dash_uid}", headers=h)).json()["dashboard"],
        (await c.get(f"/api/folders/{o.folder_uid}", headers=h)).json()["title"],
        (await c.get(f"/api/annotations/{o.annotation_id}", headers=h)).json(),
        (await c.get(f"/api/datasources/uid/{o.ds_uid}", headers=h)).json(),
        (await c.get(f"/api/dashboards/uid/{o.dash_uid}/permissions", headers=h)).json(),
    ]
    return json.dumps(parts, sort_keys=True)


def _refused(r: httpx.Response) -> None:
    what = f"{r.request.method} {r.request.url} -> {r.status_code} {r.text[:300]}"
    assert r.status_code in (400, 403, 404), what
    assert "message" in r.json(), what


def _mentions(r: httpx.Response, *needles: str) -> bool:
    return any(n in r.text for n in needles)


@pytest.fixture
async def orgs(sqlite_replica: Replica) -> tuple[Replica, Org2]:
    c = sqlite_replica.client
    await new_user(c, "mallory", role="Admin")  # org admin of org 1 only, not a server admin
    o = await _org2_content(c)
    r = await c.get("/api/user/orgs", headers=as_user("mallory"))
    assert [org["orgId"] for org in r.json()] == [1]
    return sqlite_replica, o


async def test_an_org_admin_reads_nothing_of_another_org_by_uid_id_name_or_search(
    orgs: tuple[Replica, Org2],
) -> None:
    rep, o = orgs
    c = rep.client
    h = as_user("mallory")
    secret = ("Secret Dashboard", "Secret Folder", "secret note", "secret-ds", "org2tag", "org2ann")
    for path in [
        f"/api/dashboards/uid/{o.dash_uid}",
        f"/api/dashboards/uid/{o.dash_uid}/versions",
        f"/api/dashboards/uid/{o.dash_uid}/versions/1",
        f"/api/dashboards/id/{o.dash_id}/versions",
        f"/api/dashboards/id/{o.dash_id}/versions/1",
        f"/api/dashboards/uid/{o.dash_uid}/permissions",
        f"/api/dashboards/id/{o.dash_id}/permissions",
        f"/api/access-control/dashboards/{o.dash_uid}",
        f"/api/folders/{o.folder_uid}",
        f"/api/folders/id/{o.folder_id}",
        f"/api/folders/{o.folder_uid}/permissions",
        f"/api/access-control/folders/{o.folder_uid}",
        f"/api/annotations/{o.annotation_id}",
        f"/api/datasources/uid/{o.ds_uid}",
        f"/api/datasources/{o.ds_id}",
        f"/api/datasources/name/{o.ds_name}",
        f"/api/datasources/id/{o.ds_name}",
        f"/api/datasources/uid/{o.ds_uid}/health",
        f"/api/datasources/{o.ds_id}/health",
        f"/api/datasources/proxy/uid/{o.ds_uid}/api/v1/query",
        f"/api/datasources/proxy/{o.ds_id}/api/v1/query",
        f"/api/access-control/datasources/{o.ds_uid}",
    ]:
        r = await c.get(path, headers=h)
        _refused(r)
        assert not _mentions(r, *secret), (path, r.text)
    for path in [
        "/api/search",
        "/api/search?query=Secret",
        f"/api/search?dashboardUIDs={o.dash_uid}",
        f"/api/search?dashboardIds={o.dash_id}",
        f"/api/search?folderUIDs={o.folder_uid}",
        f"/api/search?folderIds={o.folder_id}",
        "/api/search?tag=org2tag",
        "/api/search?type=dash-folder",
        "/api/dashboards/tags",
        "/api/folders",
        "/api/annotations",
        f"/api/annotations?dashboardUID={o.dash_uid}",
        f"/api/annotations?dashboardId={o.dash_id}",
        "/api/annotations?tags=org2ann",
        "/api/annotations/tags",
        "/api/datasources",
        "/api/frontend/settings",
        "/api/library-elements",
    ]:
        r = await c.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
        assert not _mentions(r, *secret), (path, r.text)
    # naming org 2 explicitly is refused: mallory is not a member
    for path in ("/api/search", f"/api/dashboards/uid/{o.dash_uid}", "/api/datasources"):
        r = await c.get(path, headers={**h, "X-Grafana-Org-Id": str(o.org_id)})
        assert r.status_code in (401, 403) and not _mentions(r, *secret), (path, r.text)
    r = await c.post(f"/api/user/using/{o.org_id}", headers=h)
    assert r.status_code == 401 and r.json()["message"] == "Not a valid organization"  # as Grafana
    assert [org["orgId"] for org in (await c.get("/api/user/orgs", headers=h)).json()] == [1]


async def test_queries_cannot_use_another_orgs_data_source(orgs: tuple[Replica, Org2]) -> None:
    rep, o = orgs
    c = rep.client
    h = as_user("mallory")
    for ref in ({"uid": o.ds_uid}, {"uid": o.ds_uid, "type": "grafana-testdata-datasource"}):
        body = {
            "from": "now-1h",
            "to": "now",
            "queries": [{"refId": "A", "datasource": ref, "scenarioId": "random_walk"}],
        }
        r = await c.post("/api/ds/query", json=body, headers=h)
        frames = r.json().get("results", {}).get("A", {}).get("frames") if r.status_code == 200 else None
        assert not frames, r.text
    body = {"from": "now-1h", "to": "now", "queries": [{"refId": "A", "datasourceId": o.ds_id}]}
    r = await c.post("/api/ds/query", json=body, headers=h)
    frames = r.json().get("results", {}).get("A", {}).get("frames") if r.status_code == 200 else None
    assert not frames, r.text
    r = await c.post(
        "/api/ds/variable-query",
        json={"datasource": {"uid": o.ds_uid}, "query": "*", "from": "now-1h", "to": "now"},
        headers=h,
    )
    assert r.status_code != 200 or not r.json(), r.text


async def test_an_org_admin_changes_nothing_of_another_org(orgs: tuple[Replica, Org2]) -> None:
    rep, o = orgs
    c = rep.client
    h = as_user("mallory")
    before = await _snapshot(c, o)
    attempts: list[tuple[str, str, Any]] = [
        ("DELETE", f"/api/dashboards/uid/{o.dash_uid}", None),
        ("POST", f"/api/dashboards/uid/{o.dash_uid}/restore", {"version": 1}),
        ("POST", f"/api/dashboards/id/{o.dash_id}/restore", {"version": 1}),
        ("POST", f"/api/dashboards/uid/{o.dash_uid}/permissions", {"items": []}),
        ("POST", f"/api/dashboards/id/{o.dash_id}/permissions", {"items": []}),
        ("POST", f"/api/access-control/dashboards/{o.dash_uid}/builtInRoles/Viewer", {"permission": "Admin"}),
        ("PUT", f"/api/folders/{o.folder_uid}", {"title": "pwned", "overwrite": True}),
        ("DELETE", f"/api/folders/{o.folder_uid}", None),
        ("POST", f"/api/folders/{o.folder_uid}/move", {"parentUid": ""}),
        ("POST", f"/api/folders/{o.folder_uid}/permissions", {"items": []}),
        ("PUT", f"/api/annotations/{o.annotation_id}", {"text": "pwned", "time": 1, "timeEnd": 1}),
        ("PATCH", f"/api/annotations/{o.annotation_id}", {"text": "pwned"}),
        ("DELETE", f"/api/annotations/{o.annotation_id}", None),
        (
            "PUT",
            f"/api/datasources/uid/{o.ds_uid}",
            {"name": "pwned", "type": "prometheus", "url": "http://x"},
        ),
        ("PUT", f"/api/datasources/{o.ds_id}", {"name": "pwned", "type": "prometheus", "url": "http://x"}),
        ("DELETE", f"/api/datasources/uid/{o.ds_uid}", None),
        ("DELETE", f"/api/datasources/{o.ds_id}", None),
        ("DELETE", f"/api/datasources/name/{o.ds_name}", None),
        ("POST", f"/api/user/stars/dashboard/uid/{o.dash_uid}", None),
    ]
    for method, path, body in attempts:
        r = await c.request(method, path, json=body, headers=h)
        _refused(r)
    # writes that name org 2's objects from inside org 1 neither reach them nor land in org 2
    for body in (
        {"dashboard": {"title": "x", "panels": []}, "folderUid": o.folder_uid},
        {"dashboard": {"title": "x", "panels": []}, "folderId": o.folder_id},
    ):
        _refused(await c.post("/api/dashboards/db", json=body, headers=h))
    r = await c.post(
        "/api/dashboards/db",
        json={"dashboard": {"id": o.dash_id, "title": "pwned", "panels": []}, "overwrite": True},
        headers=h,
    )
    assert r.status_code in (200, 400, 404, 412), r.text
    r = await c.post(
        "/api/dashboards/db",
        json={"dashboard": {"uid": o.dash_uid, "title": "pwned", "panels": []}, "overwrite": True},
        headers=h,
    )
    assert r.status_code in (200, 400, 404, 412), r.text
    r = await c.post(
        "/api/annotations/mass-delete", json={"dashboardUID": o.dash_uid}, headers=h
    )  # may answer 200 (nothing of org 1 matched)
    assert r.status_code in (200, 400, 404), r.text
    r = await c.post("/api/annotations/mass-delete", json={"annotationId": o.annotation_id}, headers=h)
    assert r.status_code in (200, 400, 404), r.text
    r = await c.post(
        "/api/annotations",
        json={"dashboardUID": o.dash_uid, "time": 1_700_000_000_000, "text": "planted"},
        headers=h,
    )
    assert r.status_code in (200, 400, 404), r.text
    assert await _snapshot(c, o) == before
    h2 = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(o.org_id)}
    notes = (await c.get(f"/api/annotations?dashboardUID={o.dash_uid}", headers=h2)).json()
    assert [n["text"] for n in notes] == ["secret note"]
    org2_dashboards = (await c.get("/api/search?type=dash-db", headers=h2)).json()
    assert [d["title"] for d in org2_dashboards] == ["Secret Dashboard"]


async def test_a_viewer_cannot_save_anything(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await new_user(c, "vic", role="Viewer")
    saved = await _ok(
        await c.post(
            "/api/dashboards/db",
            json={"dashboard": {"uid": "d1", "title": "D1", "panels": []}},
            headers=ADMIN_AUTH,
        )
    )
    await _ok(await c.post("/api/folders", json={"uid": "f1", "title": "F1"}, headers=ADMIN_AUTH))
    h = as_user("vic")
    attempts: list[tuple[str, str, Any]] = [
        ("POST", "/api/dashboards/db", {"dashboard": {"title": "by viewer", "panels": []}}),
        (
            "POST",
            "/api/dashboards/db",
            {"dashboard": {"uid": "d1", "title": "changed", "panels": []}, "overwrite": True},
        ),
        (
            "POST",
            "/api/dashboards/import",
            {"dashboard": {"title": "imported", "panels": []}, "overwrite": True},
        ),
        ("DELETE", "/api/dashboards/uid/d1", None),
        ("POST", "/api/dashboards/uid/d1/restore", {"version": 1}),
        ("POST", "/api/dashboards/uid/d1/permissions", {"items": []}),
        ("POST", "/api/folders", {"title": "by viewer"}),
        ("PUT", "/api/folders/f1", {"title": "changed", "overwrite": True}),
        ("DELETE", "/api/folders/f1", None),
        ("POST", "/api/datasources", {"name": "v", "type": "prometheus", "url": "http://127.0.0.1:9"}),
        ("POST", "/api/library-elements", {"name": "lib", "kind": 1, "model": {}}),
        ("POST", "/api/playlists", {"name": "p", "interval": "5m", "items": []}),
        (
            "POST",
            "/api/v1/provisioning/contact-points",
            {"name": "c", "type": "webhook", "settings": {"url": "http://127.0.0.1:9"}},
        ),
        ("PUT", "/api/org", {"name": "renamed"}),
        ("POST", "/api/serviceaccounts", {"name": "sa", "role": "Admin"}),
    ]
    for method, path, body in attempts:
        r = await c.request(method, path, json=body, headers=h)
        assert r.status_code in (401, 403), (method, path, r.status_code, r.text)
    dash = (await c.get("/api/dashboards/uid/d1", headers=ADMIN_AUTH)).json()
    assert dash["dashboard"]["title"] == "D1" and dash["dashboard"]["version"] == saved["version"]
    titles = [d["title"] for d in (await c.get("/api/search", headers=ADMIN_AUTH)).json()]
    assert sorted(titles) == ["D1", "F1"]
    assert (await c.get("/api/org", headers=ADMIN_AUTH)).json()["name"] != "renamed"


async def test_an_editor_cannot_manage_users_orgs_or_tokens(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    eddie = await new_user(c, "eddie", role="Editor")
    vic = await new_user(c, "vic", role="Viewer")
    h = as_user("eddie")
    attempts: list[tuple[str, str, Any]] = [
        ("POST", "/api/admin/users", {"login": "x", "password": "x-pw-12345", "email": "x@x.org"}),
        ("PUT", f"/api/admin/users/{vic}/password", {"password": "stolen-pw-1"}),
        ("PUT", f"/api/admin/users/{eddie}/permissions", {"isGrafanaAdmin": True}),
        ("DELETE", f"/api/admin/users/{vic}", None),
        ("POST", f"/api/admin/users/{vic}/disable", None),
        ("POST", f"/api/admin/users/{vic}/logout", None),
        ("GET", "/api/admin/settings", None),
        ("POST", "/api/org/users", {"loginOrEmail": "vic", "role": "Admin"}),
        ("PATCH", f"/api/org/users/{eddie}", {"role": "Admin"}),  # promote oneself
        ("PATCH", f"/api/org/users/{vic}", {"role": "Admin"}),
        ("DELETE", f"/api/org/users/{vic}", None),
        ("PUT", f"/api/users/{vic}", {"login": "vic", "email": "hijack@evil.example"}),
        ("POST", "/api/orgs", {"name": "mine"}),
        ("PUT", "/api/org", {"name": "renamed"}),
        ("POST", "/api/serviceaccounts", {"name": "sa", "role": "Admin"}),
        ("POST", "/api/teams", {"name": "team"}),
    ]
    for method, path, body in attempts:
        r = await c.request(method, path, json=body, headers=h)
        assert r.status_code in (401, 403), (method, path, r.status_code, r.text)
    users = {u["login"]: u for u in (await c.get("/api/org/users", headers=ADMIN_AUTH)).json()}
    assert users["eddie"]["role"] == "Editor" and users["vic"]["role"] == "Viewer"
    assert (await c.get("/api/user", headers=as_user("vic"))).json()["email"] == "vic@example.com"
    assert not (await c.get(f"/api/users/{eddie}", headers=ADMIN_AUTH)).json()["isGrafanaAdmin"]


async def test_service_account_tokens_stay_inside_their_role_and_org(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    other = await new_org(c, "Other")
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for role in ("Viewer", "Editor", "Admin"):
        sa_ = await _ok(
            await c.post(
                "/api/serviceaccounts", json={"name": f"sa-{role}", "role": role}, headers=ADMIN_AUTH
            )
        )
        ids[role] = int(sa_["id"])
        tok = await _ok(
            await c.post(f"/api/serviceaccounts/{sa_['id']}/tokens", json={"name": "t"}, headers=ADMIN_AUTH)
        )
        tokens[role] = tok["key"]
    dash = {"dashboard": {"title": "by token", "panels": []}, "overwrite": True}
    # Viewer: reads, never writes
    v = bearer(tokens["Viewer"])
    assert (await c.get("/api/search", headers=v)).status_code == 200
    assert (await c.post("/api/dashboards/db", json=dash, headers=v)).status_code == 403
    # Editor: saves dashboards, but manages nothing
    e = bearer(tokens["Editor"])
    assert (await c.post("/api/dashboards/db", json=dash, headers=e)).status_code == 200
    for method, path, body in [
        ("POST", "/api/serviceaccounts", {"name": "more", "role": "Admin"}),
        ("POST", f"/api/serviceaccounts/{ids['Editor']}/tokens", {"name": "more"}),
        ("PATCH", f"/api/serviceaccounts/{ids['Editor']}", {"role": "Admin"}),
        ("POST", "/api/org/users", {"loginOrEmail": "admin", "role": "Viewer"}),
        ("POST", "/api/admin/users", {"login": "x", "password": "x-pw-12345"}),
    ]:
        r = await c.request(method, path, json=body, headers=e)
        assert r.status_code in (401, 403), (method, path, r.text)
    # Admin of org 1: an org admin, never a server admin, never inside another org
    a = bearer(tokens["Admin"])
    assert (await c.get("/api/org/users", headers=a)).status_code == 200
    for method, path in [
        ("GET", "/api/orgs"),
        ("GET", "/api/admin/settings"),
        ("POST", "/api/admin/users"),
        ("DELETE", f"/api/orgs/{other}"),
        ("GET", "/api/users"),
    ]:
        r = await c.request(method, path, json={"login": "x", "password": "x-pw-12345"}, headers=a)
        assert r.status_code in (401, 403), (method, path, r.text)
    for tok in tokens.values():
        r = await c.get("/api/search", headers={**bearer(tok), "X-Grafana-Org-Id": str(other)})
        assert r.status_code in (401, 403), r.text
        assert (await c.post("/login", json={"user": "sa-Admin", "password": tok})).status_code == 401
    roles = {
        s["name"]: s["role"]
        for s in (await c.get("/api/serviceaccounts/search", headers=ADMIN_AUTH)).json()["serviceAccounts"]
    }
    assert roles == {"sa-Viewer": "Viewer", "sa-Editor": "Editor", "sa-Admin": "Admin"}


async def test_data_source_and_contact_point_secrets_never_leave_the_server(sqlite_replica: Replica) -> None:
    rep = sqlite_replica
    c = rep.client
    body = {
        "name": "with-secrets",
        "uid": "sec",
        "type": "prometheus",
        "url": "http://127.0.0.1:9",
        "basicAuth": True,
        "basicAuthUser": "svc",
        "jsonData": {"httpHeaderName1": "Authorization", "tlsAuth": True},
        "secureJsonData": SECRETS,
    }
    answers = [await c.post("/api/datasources", json=body, headers=ADMIN_AUTH)]
    ds_id = (await c.get("/api/datasources/uid/sec", headers=ADMIN_AUTH)).json()["id"]
    answers.append(
        await c.put("/api/datasources/uid/sec", json={**body, "secureJsonData": SECRETS}, headers=ADMIN_AUTH)
    )
    cp = {
        "name": "hook",
        "type": "webhook",
        "settings": {"url": "http://127.0.0.1:9/hook", "username": "u", "password": "cp-password-s3cr3t"},
    }
    answers.append(await c.post("/api/v1/provisioning/contact-points", json=cp, headers=ADMIN_AUTH))
    await new_user(c, "vic", role="Viewer")
    for headers in (ADMIN_AUTH, as_user("vic")):
        for path in (
            "/api/datasources",
            "/api/datasources/uid/sec",
            f"/api/datasources/{ds_id}",
            "/api/datasources/name/with-secrets",
            "/api/datasources/id/with-secrets",
            "/api/frontend/settings",
            "/api/v1/provisioning/contact-points",
            "/api/v1/provisioning/contact-points?name=hook",
            "/api/alertmanager/grafana/config/api/v1/alerts",
            "/api/admin/settings",
        ):
            answers.append(await c.get(path, headers=headers))
    secret_values = [*SECRETS.values(), "cp-password-s3cr3t"]
    for r in answers:
        for value in secret_values:
            assert value not in r.text, (r.request.url.path, value)
    fields = (await c.get("/api/datasources/uid/sec", headers=ADMIN_AUTH)).json()
    assert "secureJsonData" not in fields
    assert fields["secureJsonFields"] == {k: True for k in SECRETS}
    # and not in the database either: encrypted at rest
    async with rep.services.db.read() as conn:
        tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        dump = []
        for table in tables:
            rows = (await conn.execute(sa.text(f'SELECT * FROM "{table}"'))).all()
            dump.append(repr(rows))
    everything = "\n".join(dump)
    for value in secret_values:
        assert value not in everything, value
