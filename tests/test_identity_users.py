"""/api/users*, /api/admin/*, PUT /api/user, GET /api/user/teams: shapes, paging, errors, cascades.

Uniqueness, paging and cascades run on SQLite, PostgreSQL and MariaDB (``replica``); pure shapes and
permission checks on SQLite.
"""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, ADMIN_AUTH, Replica, basic
from tests.identity_helpers import as_user, new_team, new_user, pw

USER_LIST_KEYS = {
    "id",
    "uid",
    "name",
    "login",
    "email",
    "avatarUrl",
    "isAdmin",
    "isDisabled",
    "lastSeenAt",
    "lastSeenAtAge",
    "authLabels",
}
PROFILE_KEYS = {
    "id",
    "uid",
    "email",
    "name",
    "login",
    "theme",
    "orgId",
    "isGrafanaAdmin",
    "isDisabled",
    "isExternal",
    "authLabels",
    "updatedAt",
    "createdAt",
    "avatarUrl",
}


async def test_users_list_pages_end_with_an_empty_array_and_search_echoes_the_real_page_size(
    replica: Replica,
) -> None:
    c = replica.client
    for login in ("carol", "dave", "erin"):
        await new_user(c, login)
    await replica.services.service_accounts.create(1, "robot")  # never listed as a user
    r = await c.get("/api/users", params={"perpage": 2, "page": 1}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert [u["login"] for u in r.json()] == ["admin", "carol"]
    r = await c.get("/api/users", params={"perpage": 2, "page": 2}, headers=ADMIN_AUTH)
    assert [u["login"] for u in r.json()] == ["dave", "erin"]
    r = await c.get("/api/users", params={"perpage": 2, "page": 3}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == []
    # default page size 1000: everything on page 1, nothing on page 2
    assert len((await c.get("/api/users", headers=ADMIN_AUTH)).json()) == 4
    assert (await c.get("/api/users?page=2", headers=ADMIN_AUTH)).json() == []

    r = await c.get("/api/users/search", params={"perPage": 3, "page": 2}, headers=ADMIN_AUTH)
    body = r.json()
    assert body["totalCount"] == 4 and body["page"] == 2 and body["perPage"] == 3
    assert [u["login"] for u in body["users"]] == ["erin"]
    body = (await c.get("/api/users/search", params={"perpage": 3, "page": 9}, headers=ADMIN_AUTH)).json()
    assert body["users"] == [] and body["totalCount"] == 4 and body["perPage"] == 3
    body = (await c.get("/api/users/search", headers=ADMIN_AUTH)).json()
    assert body["perPage"] == 1000 and body["page"] == 1 and len(body["users"]) == 4
    # query matches login, email or name, case-insensitively; LIKE wildcards are literal
    body = (await c.get("/api/users/search", params={"query": "DAV"}, headers=ADMIN_AUTH)).json()
    assert [u["login"] for u in body["users"]] == ["dave"] and body["totalCount"] == 1
    assert (await c.get("/api/users", params={"query": "%"}, headers=ADMIN_AUTH)).json() == []


async def test_user_list_items_and_profiles_have_the_documented_fields(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    uid = await new_user(c, "frank")
    items = (await c.get("/api/users", headers=ADMIN_AUTH)).json()
    frank = next(u for u in items if u["login"] == "frank")
    assert set(frank) >= USER_LIST_KEYS
    assert frank["id"] == uid and frank["email"] == "frank@example.com" and frank["name"] == "Frank"
    assert frank["isAdmin"] is False and frank["isDisabled"] is False and frank["authLabels"] == []
    assert frank["lastSeenAtAge"] == "never"
    await c.post("/login", json={"user": "frank", "password": pw("frank")})
    items = (await c.get("/api/users", params={"query": "frank"}, headers=ADMIN_AUTH)).json()
    assert items[0]["lastSeenAtAge"] == "< 1m" and items[0]["lastSeenAt"].startswith("20")

    for path in (
        f"/api/users/{uid}",
        "/api/users/lookup?loginOrEmail=frank",
        "/api/users/lookup?loginOrEmail=frank@example.com",
    ):
        r = await c.get(path, headers=ADMIN_AUTH)
        assert r.status_code == 200, path
        assert set(r.json()) >= PROFILE_KEYS and r.json()["id"] == uid and r.json()["orgId"] == 1
    assert (await c.get(f"/api/users/{uid}/orgs", headers=ADMIN_AUTH)).json() == [
        {"orgId": 1, "name": "Main Org.", "role": "Viewer"}
    ]


async def test_missing_users_are_404_with_the_grafana_message(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    sa_id = await sqlite_replica.services.service_accounts.create(1, "robot")
    for path in (
        "/api/users/999",
        f"/api/users/{sa_id}",
        "/api/users/lookup?loginOrEmail=nobody",
        "/api/users/999/orgs",
        "/api/users/999/teams",
    ):
        r = await c.get(path, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == {"message": "user not found"}, path
    for method, path in (
        ("PUT", "/api/users/999"),
        ("PUT", "/api/admin/users/999/password"),
        ("PUT", "/api/admin/users/999/permissions"),
        ("DELETE", "/api/admin/users/999"),
        ("POST", "/api/admin/users/999/disable"),
        ("POST", "/api/admin/users/999/enable"),
    ):
        body = {"password": "long-enough", "isGrafanaAdmin": True, "name": "x"}
        r = await c.request(method, path, json=body, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == {"message": "user not found"}, path
    r = await c.get("/api/users/lookup", headers=ADMIN_AUTH)
    assert r.status_code == 400 and "loginOrEmail" in r.json()["message"]
    r = await c.get("/api/users", params={"perpage": "many"}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and "perpage" in r.json()["message"]


async def test_creating_an_existing_user_is_412_and_profile_clashes_are_409(replica: Replica) -> None:
    c = replica.client
    r = await c.post(
        "/api/admin/users",
        json={"name": "Gina", "email": "gina@example.com", "login": "gina", "password": "gina-pw"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["message"] == "User created" and isinstance(body["id"], int) and body["uid"]
    for clash in (
        {"login": "gina", "email": "other@example.com"},
        {"login": "other", "email": "gina@example.com"},
        {"login": "gina@example.com", "email": "x@example.com"},  # a login equal to someone's email
    ):
        r = await c.post("/api/admin/users", json={**clash, "password": "secret-pw"}, headers=ADMIN_AUTH)
        assert r.status_code == 412 and "already exists" in r.json()["message"], clash
    hank = await new_user(c, "hank")
    r = await c.put(f"/api/users/{hank}", json={"login": "gina"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and "already exists" in r.json()["message"]
    r = await c.put(f"/api/users/{hank}", json={"email": "gina@example.com"}, headers=ADMIN_AUTH)
    assert r.status_code == 409
    r = await c.put(
        f"/api/users/{hank}",
        json={"login": "henry", "email": "henry@example.com", "name": "Henry", "theme": "dark"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json() == {"message": "User updated"}
    prof = (await c.get(f"/api/users/{hank}", headers=ADMIN_AUTH)).json()
    assert (prof["login"], prof["email"], prof["name"], prof["theme"]) == (
        "henry",
        "henry@example.com",
        "Henry",
        "dark",
    )
    # the new login works for Basic auth, with the same password
    assert (await c.get("/api/user", headers=basic("henry", pw("hank")))).status_code == 200


async def test_admin_user_creation_validates_its_input(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    cases = [
        ({"password": "long-pw"}, "need to specify either username or email"),
        ({"login": "ivy", "password": "no"}, "too short"),
        ({"login": "ivy", "password": 12345}, "password must be a string"),
    ]
    for body, text in cases:
        r = await c.post("/api/admin/users", json=body, headers=ADMIN_AUTH)
        assert r.status_code == 400 and text in r.json()["message"], body
    r = await c.post("/api/admin/users", content=b"{not json", headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json()["message"].startswith("bad request data")
    r = await c.post(
        "/api/admin/users", json={"login": "ivy", "password": "ivy-pw-1", "orgId": 77}, headers=ADMIN_AUTH
    )
    assert r.status_code == 404 and "organization" in r.json()["message"].lower()
    # only the email: it becomes the login; unknown fields of a re-posted profile are ignored
    r = await c.post(
        "/api/admin/users",
        json={"email": "jo@example.com", "password": "jo-pw-1", "id": 555, "isGrafanaAdmin": True},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200
    prof = (await c.get(f"/api/users/{r.json()['id']}", headers=ADMIN_AUTH)).json()
    assert prof["login"] == "jo@example.com" and prof["isGrafanaAdmin"] is False and prof["id"] != 555


async def test_password_reset_disable_and_delete_revoke_every_session(replica: Replica) -> None:
    c = replica.client
    ids = {login: await new_user(c, login) for login in ("kim", "lee", "max")}
    cookies = {}
    for login in ids:
        r = await c.post("/login", json={"user": login, "password": pw(login)})
        cookies[login] = {"vigil_session": r.cookies["vigil_session"]}
        assert (await c.get("/api/user", cookies=cookies[login])).status_code == 200

    r = await c.put(
        f"/api/admin/users/{ids['kim']}/password", json={"password": "new-kim-pw"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200 and r.json() == {"message": "User password updated"}
    assert (await c.get("/api/user", cookies=cookies["kim"])).status_code == 401
    assert (await c.get("/api/user", headers=as_user("kim"))).status_code == 401
    assert (await c.get("/api/user", headers=basic("kim", "new-kim-pw"))).status_code == 200
    r = await c.put(f"/api/admin/users/{ids['kim']}/password", json={"password": "abc"}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and "too short" in r.json()["message"]

    r = await c.post(f"/api/admin/users/{ids['lee']}/disable", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "User disabled"}
    assert (await c.get("/api/user", cookies=cookies["lee"])).status_code == 401
    assert (await c.get("/api/user", headers=as_user("lee"))).status_code == 401
    listed = (await c.get("/api/users", params={"query": "lee"}, headers=ADMIN_AUTH)).json()
    assert listed[0]["isDisabled"] is True
    r = await c.post(f"/api/admin/users/{ids['lee']}/enable", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "User enabled"}
    assert (await c.get("/api/user", headers=as_user("lee"))).status_code == 200
    # the old session stays revoked after enabling
    assert (await c.get("/api/user", cookies=cookies["lee"])).status_code == 401

    r = await c.delete(f"/api/admin/users/{ids['max']}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "User deleted"}
    assert (await c.get("/api/user", cookies=cookies["max"])).status_code == 401
    assert (await c.get("/api/user", headers=as_user("max"))).status_code == 401
    assert (await c.get(f"/api/users/{ids['max']}", headers=ADMIN_AUTH)).status_code == 404


async def test_deleting_a_user_removes_org_and_team_memberships(replica: Replica) -> None:
    c = replica.client
    nina = await new_user(c, "nina", role="Editor")
    team_id = await new_team(c, "ops")
    assert (
        await c.post(f"/api/teams/{team_id}/members", json={"userId": nina}, headers=ADMIN_AUTH)
    ).status_code == 200
    r = await c.post("/api/orgs", json={"name": "Second"}, headers=ADMIN_AUTH)
    org2 = r.json()["orgId"]
    r = await c.post(
        f"/api/orgs/{org2}/users", json={"loginOrEmail": "nina", "role": "Admin"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200
    assert (await c.delete(f"/api/admin/users/{nina}", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.get(f"/api/teams/{team_id}/members", headers=ADMIN_AUTH)).json() == []
    assert (await c.get(f"/api/teams/{team_id}", headers=ADMIN_AUTH)).json()["memberCount"] == 0
    for org_id in (1, org2):
        members = (await c.get(f"/api/orgs/{org_id}/users", headers=ADMIN_AUTH)).json()
        assert nina not in [m["userId"] for m in members]
    # the login and email are free again
    again = await new_user(c, "nina")
    assert (await c.get(f"/api/users/{again}/orgs", headers=ADMIN_AUTH)).json() == [
        {"orgId": 1, "name": "Main Org.", "role": "Viewer"}
    ]


async def test_server_admin_flag_can_be_granted_and_the_last_admin_is_kept(replica: Replica) -> None:
    c = replica.client
    oscar = await new_user(c, "oscar")
    assert (await c.get("/api/users", headers=as_user("oscar"))).status_code == 403
    r = await c.put(
        f"/api/admin/users/{oscar}/permissions", json={"isGrafanaAdmin": True}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200 and r.json() == {"message": "User permissions updated"}
    assert (await c.get("/api/users", headers=as_user("oscar"))).status_code == 200
    r = await c.put(
        f"/api/admin/users/{oscar}/permissions", json={"isGrafanaAdmin": False}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200
    assert (await c.get("/api/users", headers=as_user("oscar"))).status_code == 403
    admin_id = (await c.get("/api/user", headers=ADMIN_AUTH)).json()["id"]
    r = await c.put(
        f"/api/admin/users/{admin_id}/permissions", json={"isGrafanaAdmin": False}, headers=ADMIN_AUTH
    )
    assert r.status_code == 400 and r.json() == {"message": "cannot remove last grafana admin"}
    for method, path in (
        ("DELETE", f"/api/admin/users/{admin_id}"),
        ("POST", f"/api/admin/users/{admin_id}/disable"),
    ):
        r = await c.request(method, path, headers=ADMIN_AUTH)
        assert r.status_code == 400 and "last grafana admin" in r.json()["message"]
    assert (await c.get("/api/user", headers=ADMIN_AUTH)).status_code == 200
    r = await c.put(
        f"/api/admin/users/{oscar}/permissions", json={"isGrafanaAdmin": "yes"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 400


@pytest.mark.parametrize("role", ["Viewer", "Editor", "Admin"])
async def test_org_roles_cannot_use_server_admin_routes(sqlite_replica: Replica, role: str) -> None:
    c = sqlite_replica.client
    uid = await new_user(c, "pam", role=role)
    other = await new_user(c, "quinn")
    me = as_user("pam")
    routes = [
        ("GET", "/api/users", None),
        ("GET", "/api/users/search", None),
        ("GET", "/api/users/lookup?loginOrEmail=quinn", None),
        ("GET", f"/api/users/{other}", None),
        ("PUT", f"/api/users/{other}", {"name": "x"}),
        ("GET", f"/api/users/{other}/orgs", None),
        ("GET", f"/api/users/{other}/teams", None),
        ("POST", f"/api/users/{other}/using/1", None),
        ("POST", "/api/admin/users", {"login": "zed", "password": "zed-pw-1"}),
        ("PUT", f"/api/admin/users/{other}/password", {"password": "hacked-pw"}),
        ("PUT", f"/api/admin/users/{uid}/permissions", {"isGrafanaAdmin": True}),
        ("DELETE", f"/api/admin/users/{other}", None),
        ("POST", f"/api/admin/users/{other}/disable", None),
        ("POST", f"/api/admin/users/{other}/enable", None),
        ("GET", "/api/admin/settings", None),
        ("GET", "/api/admin/stats", None),
    ]
    for method, path, body in routes:
        r = await c.request(method, path, json=body, headers=me)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["message"].startswith("Access denied")
    # nothing changed
    assert (await c.get("/api/user", headers=as_user("quinn"))).status_code == 200
    assert (await c.get(f"/api/users/{uid}", headers=ADMIN_AUTH)).json()["isGrafanaAdmin"] is False
    # and no credentials at all is 401
    assert (await c.get("/api/users")).status_code == 401


async def test_admin_settings_are_masked_and_stats_count_identities(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    settings = (await c.get("/api/admin/settings", headers=ADMIN_AUTH)).json()
    assert settings["security"]["admin_user"] == ADMIN[0]
    assert settings["security"]["admin_password"] == "*****"
    assert settings["security"]["secret_key"] == "*****"
    assert ADMIN[1] not in str(settings)
    assert settings["database"]["url"].startswith("sqlite:///")
    assert all(isinstance(v, str) for kv in settings.values() for v in kv.values())

    await new_user(c, "rita", role="Editor")
    await new_user(c, "sam")
    await c.post(f"/api/admin/users/{await new_user(c, 'tess')}/disable", headers=ADMIN_AUTH)
    await sqlite_replica.services.service_accounts.create(1, "robot")
    await new_team(c, "blue")
    await c.post("/login", json={"user": "sam", "password": pw("sam")})
    stats = (await c.get("/api/admin/stats", headers=ADMIN_AUTH)).json()
    assert stats["users"] == 4 and stats["orgs"] == 1 and stats["grafanaAdmins"] == 1
    assert (stats["admins"], stats["editors"], stats["viewers"]) == (1, 1, 2)
    assert stats["disabledUsers"] == 1 and stats["serviceAccounts"] == 1 and stats["teams"] == 1
    assert stats["activeUsers"] == 1 and stats["activeSessions"] == 1


async def test_signed_in_user_updates_their_profile_and_lists_their_teams(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    uma = await new_user(c, "uma")
    await new_user(c, "vic")
    r = await c.put("/api/user", json={"name": "Uma Thurman", "theme": "light"}, headers=as_user("uma"))
    assert r.status_code == 200 and r.json() == {"message": "User updated"}
    me = (await c.get("/api/user", headers=as_user("uma"))).json()
    assert me["name"] == "Uma Thurman" and me["theme"] == "light" and me["login"] == "uma"
    r = await c.put("/api/user", json={"email": "vic@example.com"}, headers=as_user("uma"))
    assert r.status_code == 409

    assert (await c.get("/api/user/teams", headers=as_user("uma"))).json() == []
    red = await new_team(c, "red")
    await new_team(c, "green")
    await c.post(f"/api/teams/{red}/members", json={"userId": uma}, headers=ADMIN_AUTH)
    teams = (await c.get("/api/user/teams", headers=as_user("uma"))).json()
    assert [t["name"] for t in teams] == ["red"]
    assert teams[0]["memberCount"] == 1 and teams[0]["orgId"] == 1 and teams[0]["permission"] == 0
    by_admin = (await c.get(f"/api/users/{uma}/teams", headers=ADMIN_AUTH)).json()
    assert by_admin == teams

    sa_key = await _sa_token(sqlite_replica)
    r = await c.put("/api/user", json={"name": "robot"}, headers={"Authorization": f"Bearer {sa_key}"})
    assert r.status_code == 403


async def _sa_token(rep: Replica) -> str:
    sa_id = await rep.services.service_accounts.create(1, "bot", role="Admin")
    return str((await rep.services.service_accounts.add_token(1, sa_id, "t")).key)
