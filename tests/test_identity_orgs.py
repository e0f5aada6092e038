"""/api/org and /api/orgs: shapes, name conflicts, members and roles, org switching, cascading delete."""

from __future__ import annotations

from tests.conftest import ADMIN_AUTH, Replica
from tests.identity_helpers import as_user, bearer, new_org, new_team, new_user

ORG_USER_KEYS = {
    "orgId",
    "userId",
    "uid",
    "email",
    "name",
    "login",
    "avatarUrl",
    "role",
    "lastSeenAt",
    "lastSeenAtAge",
    "isDisabled",
    "authLabels",
}
EMPTY_ADDRESS = {"address1": "", "address2": "", "city": "", "zipCode": "", "state": "", "country": ""}


async def test_current_org_is_readable_by_viewers_and_changed_by_admins(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await new_user(c, "vera")
    await new_user(c, "ed", role="Editor")
    r = await c.get("/api/org", headers=as_user("vera"))
    assert r.status_code == 200 and r.json() == {"id": 1, "name": "Main Org.", "address": EMPTY_ADDRESS}
    for who in ("vera", "ed"):
        r = await c.put("/api/org", json={"name": "Mine"}, headers=as_user(who))
        assert r.status_code == 403 and r.json()["message"].startswith("Access denied")
        assert (await c.get("/api/org/users", headers=as_user(who))).status_code == 403
        r = await c.post("/api/org/users", json={"loginOrEmail": who, "role": "Admin"}, headers=as_user(who))
        assert r.status_code == 403
    r = await c.put("/api/org", json={"name": "ACME"}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Organization updated"}
    r = await c.put(
        "/api/org/address",
        json={"address1": "1 Main St", "city": "Oslo", "zipCode": "0150"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json() == {"message": "Address updated"}
    body = (await c.get("/api/org", headers=as_user("vera"))).json()
    assert body["name"] == "ACME"
    assert body["address"] == {**EMPTY_ADDRESS, "address1": "1 Main St", "city": "Oslo", "zipCode": "0150"}
    r = await c.put("/api/org", json={"name": "  "}, headers=ADMIN_AUTH)
    assert r.status_code == 400


async def test_org_names_are_unique_and_missing_orgs_are_404(replica: Replica) -> None:
    c = replica.client
    r = await c.post("/api/orgs", json={"name": "Blue"}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["message"] == "Organization created" and isinstance(body["orgId"], int) and body["orgId"] > 1
    blue = body["orgId"]
    r = await c.post("/api/orgs", json={"name": "Blue"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "Organization name taken"}
    green = await new_org(c, "Green")
    r = await c.put(f"/api/orgs/{green}", json={"name": "Blue"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "Organization name taken"}
    r = await c.put("/api/org", json={"name": "Green"}, headers=ADMIN_AUTH)
    assert r.status_code == 409
    r = await c.put(f"/api/orgs/{green}", json={"name": "Teal"}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Organization updated"}

    assert (await c.get(f"/api/orgs/{blue}", headers=ADMIN_AUTH)).json() == {
        "id": blue,
        "name": "Blue",
        "address": EMPTY_ADDRESS,
    }
    assert (await c.get("/api/orgs/name/Teal", headers=ADMIN_AUTH)).json()["id"] == green
    assert (await c.get("/api/orgs/name/Main%20Org.", headers=ADMIN_AUTH)).json()["id"] == 1
    for path in ("/api/orgs/999", "/api/orgs/name/Nope", "/api/orgs/999/users"):
        r = await c.get(path, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == {"message": "Organization not found"}, path
    for method, path in (("PUT", "/api/orgs/999"), ("DELETE", "/api/orgs/999")):
        r = await c.request(method, path, json={"name": "x"}, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == {"message": "Organization not found"}
    # the creator is Admin of the new org
    assert {"orgId": blue, "name": "Blue", "role": "Admin"} in (
        await c.get("/api/user/orgs", headers=ADMIN_AUTH)
    ).json()


async def test_org_list_pages_end_with_an_empty_array(replica: Replica) -> None:
    c = replica.client
    for name in ("Alpha", "Beta", "Gamma"):
        await new_org(c, name)
    everything = (await c.get("/api/orgs", headers=ADMIN_AUTH)).json()
    assert [o["name"] for o in everything] == ["Alpha", "Beta", "Gamma", "Main Org."]
    assert set(everything[0]) == {"id", "name"}
    pages = [
        (await c.get("/api/orgs", params={"perpage": 3, "page": p}, headers=ADMIN_AUTH)).json()
        for p in (1, 2, 3)
    ]
    assert [len(p) for p in pages] == [3, 1, 0]
    assert (await c.get("/api/orgs", params={"query": "ET"}, headers=ADMIN_AUTH)).json()[0]["name"] == "Beta"
    assert [o["name"] for o in (await c.get("/api/orgs?name=Gamma", headers=ADMIN_AUTH)).json()] == ["Gamma"]
    await new_user(c, "olga", role="Admin")
    assert (await c.get("/api/orgs", headers=as_user("olga"))).status_code == 403
    assert (await c.post("/api/orgs", json={"name": "Mine"}, headers=as_user("olga"))).status_code == 403


async def test_org_members_can_be_added_changed_and_removed(replica: Replica) -> None:
    c = replica.client
    wes = await new_user(c, "wes")
    xia = await new_user(c, "xia")
    org2 = await new_org(c, "Second")
    r = await c.post(
        f"/api/orgs/{org2}/users",
        json={"loginOrEmail": "wes@example.com", "role": "Editor"},
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200 and r.json() == {"message": "User added to organization", "userId": wes}
    r = await c.post(
        f"/api/orgs/{org2}/users", json={"loginOrEmail": "wes", "role": "Viewer"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 409 and r.json() == {"message": "User is already member of this organization"}
    r = await c.post(
        f"/api/orgs/{org2}/users", json={"loginOrEmail": "nobody", "role": "Viewer"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 404 and r.json() == {"message": "User not found"}
    r = await c.post(
        f"/api/orgs/{org2}/users", json={"loginOrEmail": "xia", "role": "Owner"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 400 and "invalid role" in r.json()["message"]
    r = await c.post(
        f"/api/orgs/{org2}/users", json={"loginOrEmail": "xia", "role": "viewer"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200

    members = (await c.get(f"/api/orgs/{org2}/users", headers=ADMIN_AUTH)).json()
    assert [(m["login"], m["role"]) for m in members] == [
        ("admin", "Admin"),
        ("wes", "Editor"),
        ("xia", "Viewer"),
    ]
    assert all(set(m) == ORG_USER_KEYS and m["orgId"] == org2 for m in members)
    search = (
        await c.get(f"/api/orgs/{org2}/users/search", params={"perpage": 2, "page": 2}, headers=ADMIN_AUTH)
    ).json()
    assert search["totalCount"] == 3 and search["perPage"] == 2 and search["page"] == 2
    assert [m["login"] for m in search["orgUsers"]] == ["xia"]
    search = (await c.get(f"/api/orgs/{org2}/users/search?perpage=2&page=3", headers=ADMIN_AUTH)).json()
    assert search["orgUsers"] == []

    # by numeric id or by uid
    xia_uid = next(m["uid"] for m in members if m["login"] == "xia")
    r = await c.patch(f"/api/orgs/{org2}/users/{xia_uid}", json={"role": "Admin"}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Organization user updated"}
    r = await c.patch(f"/api/orgs/{org2}/users/{wes}", json={"role": "Admin"}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    roles = {
        m["login"]: m["role"] for m in (await c.get(f"/api/orgs/{org2}/users", headers=ADMIN_AUTH)).json()
    }
    assert roles == {"admin": "Admin", "wes": "Admin", "xia": "Admin"}
    r = await c.delete(f"/api/orgs/{org2}/users/{xia}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "User removed from organization"}
    r = await c.delete(f"/api/orgs/{org2}/users/{xia}", headers=ADMIN_AUTH)
    assert r.status_code == 404 and "not found" in r.json()["message"]
    r = await c.patch(f"/api/orgs/{org2}/users/{xia}", json={"role": "Viewer"}, headers=ADMIN_AUTH)
    assert r.status_code == 404
    assert [o["orgId"] for o in (await c.get(f"/api/users/{xia}/orgs", headers=ADMIN_AUTH)).json()] == [1]


async def test_an_org_keeps_its_last_admin(replica: Replica) -> None:
    c = replica.client
    yan = await new_user(c, "yan")
    org2 = await new_org(c, "Solo")
    admin_id = (await c.get("/api/user", headers=ADMIN_AUTH)).json()["id"]
    await c.post(
        f"/api/orgs/{org2}/users", json={"loginOrEmail": "yan", "role": "Viewer"}, headers=ADMIN_AUTH
    )
    r = await c.patch(f"/api/orgs/{org2}/users/{admin_id}", json={"role": "Editor"}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json() == {
        "message": "Cannot change role so that there is no organization admin left"
    }
    r = await c.delete(f"/api/orgs/{org2}/users/{admin_id}", headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json() == {"message": "Cannot remove last organization admin"}
    await c.patch(f"/api/orgs/{org2}/users/{yan}", json={"role": "Admin"}, headers=ADMIN_AUTH)
    r = await c.delete(f"/api/orgs/{org2}/users/{admin_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200


async def test_current_org_users_routes_and_lookup(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    zoe = await new_user(c, "zoe")
    await sqlite_replica.services.service_accounts.create(1, "robot")
    members = (await c.get("/api/org/users", headers=ADMIN_AUTH)).json()
    assert [m["login"] for m in members] == ["admin", "zoe"]  # service accounts are not org users
    assert (await c.get("/api/org/users?query=zo", headers=ADMIN_AUTH)).json()[0]["userId"] == zoe
    assert len((await c.get("/api/org/users?limit=1", headers=ADMIN_AUTH)).json()) == 1
    look = (await c.get("/api/org/users/lookup?query=zoe", headers=ADMIN_AUTH)).json()
    assert look == [{"userId": zoe, "uid": members[1]["uid"], "login": "zoe", "avatarUrl": ""}]
    body = (await c.get("/api/org/users/search?perPage=1", headers=ADMIN_AUTH)).json()
    assert body["totalCount"] == 2 and body["perPage"] == 1 and len(body["orgUsers"]) == 1
    r = await c.patch(f"/api/org/users/{zoe}", json={"role": "Editor"}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert (await c.get("/api/user/orgs", headers=as_user("zoe"))).json() == [
        {"orgId": 1, "name": "Main Org.", "role": "Editor"}
    ]
    r = await c.patch(f"/api/org/users/{zoe}", json={}, headers=ADMIN_AUTH)
    assert r.status_code == 400
    r = await c.delete(f"/api/org/users/{zoe}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "User removed from organization"}
    # a user with no org left keeps their account but has no role anywhere
    assert (await c.get("/api/org", headers=as_user("zoe"))).status_code == 403
    r = await c.post(
        "/api/org/users", json={"loginOrEmail": "zoe@example.com", "role": "Viewer"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200 and r.json()["userId"] == zoe
    assert (await c.get("/api/org", headers=as_user("zoe"))).status_code == 200


async def test_switching_orgs_by_route_and_by_header(replica: Replica) -> None:
    c = replica.client
    amy = await new_user(c, "amy")
    org2 = await new_org(c, "Second")
    r = await c.post(
        f"/api/orgs/{org2}/users", json={"loginOrEmail": "amy", "role": "Editor"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200
    me = as_user("amy")
    assert (await c.get("/api/user", headers=me)).json()["orgId"] == 1
    assert (await c.get("/api/org", headers=me)).json()["name"] == "Main Org."
    # X-Grafana-Org-Id picks the org for one request; the role follows it
    r = await c.get("/api/org", headers=as_user("amy", org_id=org2))
    assert r.status_code == 200 and r.json() == {"id": org2, "name": "Second", "address": EMPTY_ADDRESS}
    assert (await c.get("/api/user", headers=as_user("amy", org_id=org2))).json()["orgId"] == org2
    third = await new_org(c, "Third")
    r = await c.get("/api/org", headers=as_user("amy", org_id=third))
    assert r.status_code == 403 and "not a member" in r.json()["message"]
    # the switch is stored
    r = await c.post(f"/api/user/using/{org2}", headers=me)
    assert r.status_code == 200 and r.json() == {"message": "Active organization changed"}
    assert (await c.get("/api/org", headers=me)).json()["id"] == org2
    r = await c.post(f"/api/user/using/{third}", headers=me)
    assert r.status_code == 401 and "message" in r.json()
    # a server admin switches someone else
    r = await c.post(f"/api/users/{amy}/using/1", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Active organization changed"}
    assert (await c.get("/api/user", headers=me)).json()["orgId"] == 1
    r = await c.post(f"/api/users/{amy}/using/{third}", headers=ADMIN_AUTH)
    assert r.status_code == 401
    # removed from the org they are using: another org of theirs becomes current
    await c.post(f"/api/users/{amy}/using/{org2}", headers=ADMIN_AUTH)
    assert (await c.delete(f"/api/orgs/{org2}/users/{amy}", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.get("/api/user", headers=me)).json()["orgId"] == 1
    assert (await c.get("/api/org", headers=me)).status_code == 200


async def test_deleting_an_org_removes_its_members_teams_and_service_accounts(replica: Replica) -> None:
    c = replica.client
    s = replica.services
    bea = await new_user(c, "bea")
    org2 = await new_org(c, "Doomed")
    await c.post(f"/api/orgs/{org2}/users", json={"loginOrEmail": "bea", "role": "Admin"}, headers=ADMIN_AUTH)
    await c.post(f"/api/users/{bea}/using/{org2}", headers=ADMIN_AUTH)
    team_id = await new_team(c, "squad", headers=as_user("bea"))
    await c.post(f"/api/teams/{team_id}/members", json={"userId": bea}, headers=as_user("bea"))
    r = await c.post(
        "/api/serviceaccounts", json={"name": "deployer", "role": "Admin"}, headers=as_user("bea")
    )
    sa_id = r.json()["id"]
    key = (
        await c.post(f"/api/serviceaccounts/{sa_id}/tokens", json={"name": "k"}, headers=as_user("bea"))
    ).json()["key"]
    assert (await c.get("/api/org", headers=bearer(key))).json()["id"] == org2
    # the caller's own current org cannot be deleted, nor can org 1
    await c.post(f"/api/user/using/{org2}", headers=ADMIN_AUTH)
    r = await c.delete(f"/api/orgs/{org2}", headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json() == {"message": "Can not delete org for current user"}
    await c.post("/api/user/using/1", headers=ADMIN_AUTH)
    r = await c.delete("/api/orgs/1", headers=ADMIN_AUTH, params={})
    assert r.status_code == 400

    r = await c.delete(f"/api/orgs/{org2}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Organization deleted"}
    assert (await c.get(f"/api/orgs/{org2}", headers=ADMIN_AUTH)).status_code == 404
    assert (await c.get("/api/org", headers=bearer(key))).status_code == 401
    me = (await c.get("/api/user", headers=as_user("bea"))).json()
    assert me["orgId"] == 1
    assert (await c.get("/api/user/orgs", headers=as_user("bea"))).json() == [
        {"orgId": 1, "name": "Main Org.", "role": "Viewer"}
    ]
    assert await s.teams.permissions_of(org2, bea) == {}
    stats = (await c.get("/api/admin/stats", headers=ADMIN_AUTH)).json()
    assert stats["teams"] == 0 and stats["serviceAccounts"] == 0 and stats["serviceAccountTokens"] == 0
    # the name can be used again
    assert await new_org(c, "Doomed") > 0
