"""/api/serviceaccounts: create (201, trailing slash too), search with paging, read, update, delete,
tokens (shown once, usable as Bearer, expiring, revocable) and what a token's role allows."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_AUTH, AppFactory, Replica
from tests.identity_helpers import as_user, bearer, new_org, new_user
from vigil.clock import FakeClock

SA_KEYS = {"id", "uid", "name", "login", "orgId", "isDisabled", "role", "tokens", "avatarUrl"}
TOKEN_KEYS = {
    "id",
    "name",
    "created",
    "lastUsedAt",
    "expiration",
    "secondsUntilExpiration",
    "hasExpired",
    "isRevoked",
}


async def _sa(c, name: str, role: str = "Viewer", headers: dict[str, str] = ADMIN_AUTH) -> int:  # type: ignore[no-untyped-def]
    r = await c.post("/api/serviceaccounts", json={"name": name, "role": role}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _token(c, sa_id: int, name: str = "t", **extra: object) -> str:  # type: ignore[no-untyped-def]
    r = await c.post(f"/api/serviceaccounts/{sa_id}/tokens", json={"name": name, **extra}, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    return str(r.json()["key"])


@pytest.mark.parametrize("path", ["/api/serviceaccounts", "/api/serviceaccounts/"])
async def test_creating_a_service_account_answers_201_with_its_shape(
    sqlite_replica: Replica, path: str
) -> None:
    r = await sqlite_replica.client.post(
        path, json={"name": "Build Bot", "role": "Editor", "isDisabled": False}, headers=ADMIN_AUTH
    )
    assert r.status_code == 201
    body = r.json()
    assert set(body) >= SA_KEYS
    assert body["name"] == "Build Bot" and body["login"] == "sa-build-bot" and body["orgId"] == 1
    assert body["role"] == "Editor" and body["isDisabled"] is False and body["tokens"] == 0
    assert isinstance(body["id"], int) and body["uid"]


async def test_service_account_names_are_unique_per_org(replica: Replica) -> None:
    c = replica.client
    await _sa(c, "deployer")
    r = await c.post("/api/serviceaccounts/", json={"name": "deployer", "role": "Viewer"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "service account already exists"}
    other = await _sa(c, "other")
    r = await c.patch(f"/api/serviceaccounts/{other}", json={"name": "deployer"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "service account already exists"}
    org2 = await new_org(c, "Second")
    in_org2 = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(org2)}
    r = await c.post("/api/serviceaccounts", json={"name": "deployer"}, headers=in_org2)
    assert r.status_code == 201 and r.json()["orgId"] == org2 and r.json()["role"] == "Viewer"
    assert r.json()["login"] == f"sa-{org2}-deployer"
    # each org sees its own
    assert (await c.get("/api/serviceaccounts/search", headers=in_org2)).json()["totalCount"] == 1
    assert (await c.get(f"/api/serviceaccounts/{other}", headers=in_org2)).status_code == 404


async def test_service_account_search_ends_with_an_empty_page(replica: Replica) -> None:
    c = replica.client
    for name in ("sa-c", "sa-a", "sa-b"):
        await _sa(c, name)
    pages = []
    page = 1
    while True:  # grafana-client's loop: until serviceAccounts is empty
        body = (await c.get(f"/api/serviceaccounts/search?perpage=2&page={page}", headers=ADMIN_AUTH)).json()
        assert body["totalCount"] == 3 and body["perPage"] == 2 and body["page"] == page
        if not body["serviceAccounts"]:
            break
        pages.append([a["name"] for a in body["serviceAccounts"]])
        page += 1
    assert pages == [["sa-a", "sa-b"], ["sa-c"]]
    body = (await c.get("/api/serviceaccounts/search", params={"query": "SA-B"}, headers=ADMIN_AUTH)).json()
    assert [a["name"] for a in body["serviceAccounts"]] == ["sa-b"] and body["perPage"] == 1000
    assert all(set(a) >= SA_KEYS for a in body["serviceAccounts"])


async def test_get_update_and_delete_a_service_account(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    sa_id = await _sa(c, "reporter")
    r = await c.get(f"/api/serviceaccounts/{sa_id}?accesscontrol=true", headers=ADMIN_AUTH)
    assert r.status_code == 200 and set(r.json()) >= SA_KEYS and r.json()["name"] == "reporter"
    r = await c.patch(
        f"/api/serviceaccounts/{sa_id}",
        json={"name": "reporter2", "role": "Admin", "isDisabled": True},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200
    body = r.json()
    assert (
        body["message"] == "Service account updated" and body["id"] == sa_id and body["name"] == "reporter2"
    )
    sa = body["serviceaccount"]
    assert (sa["name"], sa["role"], sa["isDisabled"]) == ("reporter2", "Admin", True)
    r = await c.patch(f"/api/serviceaccounts/{sa_id}", json={"role": "Owner"}, headers=ADMIN_AUTH)
    assert r.status_code == 400
    r = await c.delete(f"/api/serviceaccounts/{sa_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Service account deleted"}
    for method, path in (
        ("GET", f"/api/serviceaccounts/{sa_id}"),
        ("PATCH", f"/api/serviceaccounts/{sa_id}"),
        ("DELETE", f"/api/serviceaccounts/{sa_id}"),
        ("GET", f"/api/serviceaccounts/{sa_id}/tokens"),
        ("POST", f"/api/serviceaccounts/{sa_id}/tokens"),
        ("DELETE", f"/api/serviceaccounts/{sa_id}/tokens/1"),
    ):
        r = await c.request(method, path, json={"name": "x"}, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == {"message": "service account not found"}, (method, path)
    # a human user is not a service account
    uid = await new_user(c, "hal")
    assert (await c.get(f"/api/serviceaccounts/{uid}", headers=ADMIN_AUTH)).status_code == 404


async def test_tokens_are_shown_once_work_as_bearer_and_stop_when_deleted(replica: Replica) -> None:
    c = replica.client
    sa_id = await _sa(c, "ci", role="Editor")
    r = await c.post(f"/api/serviceaccounts/{sa_id}/tokens", json={"name": "main"}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    created = r.json()
    assert set(created) == {"id", "name", "key"} and created["name"] == "main"
    key = created["key"]
    assert key.startswith("glsa_")
    r = await c.post(f"/api/serviceaccounts/{sa_id}/tokens", json={"name": "main"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and "already exists" in r.json()["message"]

    me = (await c.get("/api/user", headers=bearer(key))).json()
    assert me["id"] == sa_id and me["login"] == "sa-ci" and me["orgId"] == 1
    tokens = (await c.get(f"/api/serviceaccounts/{sa_id}/tokens", headers=ADMIN_AUTH)).json()
    assert len(tokens) == 1 and set(tokens[0]) == TOKEN_KEYS
    t = tokens[0]
    assert t["id"] == created["id"] and t["name"] == "main" and key not in str(tokens)
    assert t["expiration"] is None and t["secondsUntilExpiration"] == 0 and t["hasExpired"] is False
    assert t["isRevoked"] is False and t["lastUsedAt"] is not None and t["created"].endswith("Z")
    assert (await c.get(f"/api/serviceaccounts/{sa_id}", headers=ADMIN_AUTH)).json()["tokens"] == 1

    r = await c.delete(f"/api/serviceaccounts/{sa_id}/tokens/{created['id']}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Service account token deleted"}
    r = await c.get("/api/user", headers=bearer(key))
    assert r.status_code == 401 and r.json() == {"message": "Invalid API key"}
    r = await c.delete(f"/api/serviceaccounts/{sa_id}/tokens/{created['id']}", headers=ADMIN_AUTH)
    assert r.status_code == 404
    assert (await c.get(f"/api/serviceaccounts/{sa_id}/tokens", headers=ADMIN_AUTH)).json() == []


async def test_deleting_or_disabling_the_account_stops_its_tokens(replica: Replica) -> None:
    c = replica.client
    sa_id = await _sa(c, "worker")
    key = await _token(c, sa_id)
    assert (await c.get("/api/org", headers=bearer(key))).status_code == 200
    await c.patch(f"/api/serviceaccounts/{sa_id}", json={"isDisabled": True}, headers=ADMIN_AUTH)
    assert (await c.get("/api/org", headers=bearer(key))).status_code == 401
    await c.patch(f"/api/serviceaccounts/{sa_id}", json={"isDisabled": False}, headers=ADMIN_AUTH)
    assert (await c.get("/api/org", headers=bearer(key))).status_code == 200
    assert (await c.delete(f"/api/serviceaccounts/{sa_id}", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.get("/api/org", headers=bearer(key))).status_code == 401
    stats = (await c.get("/api/admin/stats", headers=ADMIN_AUTH)).json()
    assert stats["serviceAccounts"] == 0 and stats["serviceAccountTokens"] == 0


async def test_token_expiry_is_reported_and_enforced(make_replica: AppFactory, sqlite_url: str) -> None:
    clock = FakeClock()
    rep = await make_replica(sqlite_url, clock=clock)
    c = rep.client
    sa_id = await _sa(c, "temp")
    key = await _token(c, sa_id, "day", secondsToLive=86_400)
    forever = await _token(c, sa_id, "forever", secondsToLive=0)
    t = {
        x["name"]: x for x in (await c.get(f"/api/serviceaccounts/{sa_id}/tokens", headers=ADMIN_AUTH)).json()
    }
    assert t["day"]["secondsUntilExpiration"] == 86_400 and t["day"]["hasExpired"] is False
    assert t["day"]["expiration"] is not None and t["forever"]["expiration"] is None
    assert (await c.get("/api/user", headers=bearer(key))).status_code == 200
    clock.advance(86_401)
    r = await c.get("/api/user", headers=bearer(key))
    assert r.status_code == 401 and "expired" in r.json()["message"]
    assert (await c.get("/api/user", headers=bearer(forever))).status_code == 200
    t = {
        x["name"]: x for x in (await c.get(f"/api/serviceaccounts/{sa_id}/tokens", headers=ADMIN_AUTH)).json()
    }
    assert t["day"]["hasExpired"] is True and t["day"]["secondsUntilExpiration"] == 0
    r = await c.post(
        f"/api/serviceaccounts/{sa_id}/tokens", json={"name": "bad", "secondsToLive": -5}, headers=ADMIN_AUTH
    )
    assert r.status_code == 400


async def test_a_tokens_role_limits_what_it_can_do(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    viewer = await _token(c, await _sa(c, "v", "Viewer"))
    editor = await _token(c, await _sa(c, "e", "Editor"))
    admin = await _token(c, await _sa(c, "a", "Admin"))
    for key in (viewer, editor):
        assert (await c.get("/api/org", headers=bearer(key))).status_code == 200
        for method, path, body in (
            ("GET", "/api/serviceaccounts/search", None),
            ("POST", "/api/serviceaccounts", {"name": "escalate", "role": "Admin"}),
            ("GET", "/api/org/users", None),
            ("POST", "/api/teams", {"name": "t"}),
            ("PUT", "/api/org", {"name": "taken over"}),
        ):
            r = await c.request(method, path, json=body, headers=bearer(key))
            assert r.status_code == 403 and r.json()["message"].startswith("Access denied"), (method, path)
    # an Admin token manages the org but is never a server admin
    assert (await c.get("/api/serviceaccounts/search", headers=bearer(admin))).json()["totalCount"] == 3
    assert (await c.post("/api/teams", json={"name": "by-token"}, headers=bearer(admin))).status_code == 200
    for path in ("/api/users", "/api/orgs", "/api/admin/stats"):
        assert (await c.get(path, headers=bearer(admin))).status_code == 403, path
    # lowering the role takes effect at once
    a_id = (await c.get("/api/user", headers=bearer(admin))).json()["id"]
    await c.patch(f"/api/serviceaccounts/{a_id}", json={"role": "Viewer"}, headers=ADMIN_AUTH)
    assert (await c.get("/api/serviceaccounts/search", headers=bearer(admin))).status_code == 403


@pytest.mark.parametrize("role", ["Viewer", "Editor"])
async def test_viewers_and_editors_cannot_manage_service_accounts(sqlite_replica: Replica, role: str) -> None:
    c = sqlite_replica.client
    await new_user(c, "ivan", role=role)
    sa_id = await _sa(c, "guarded")
    me = as_user("ivan")
    for method, path, body in (
        ("POST", "/api/serviceaccounts", {"name": "mine"}),
        ("GET", "/api/serviceaccounts/search", None),
        ("GET", f"/api/serviceaccounts/{sa_id}", None),
        ("PATCH", f"/api/serviceaccounts/{sa_id}", {"role": "Admin"}),
        ("DELETE", f"/api/serviceaccounts/{sa_id}", None),
        ("GET", f"/api/serviceaccounts/{sa_id}/tokens", None),
        ("POST", f"/api/serviceaccounts/{sa_id}/tokens", {"name": "steal"}),
        ("DELETE", f"/api/serviceaccounts/{sa_id}/tokens/1", None),
    ):
        r = await c.request(method, path, json=body, headers=me)
        assert r.status_code == 403, (method, path)
    assert (await c.get(f"/api/serviceaccounts/{sa_id}", headers=ADMIN_AUTH)).json()["role"] == "Viewer"
