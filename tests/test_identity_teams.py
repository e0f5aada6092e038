"""/api/teams: create, search with paging, read, update, delete, members; org and team admins."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_AUTH, Replica
from tests.identity_helpers import as_user, new_org, new_team, new_user

TEAM_KEYS = {"id", "uid", "orgId", "name", "email", "avatarUrl", "memberCount", "permission"}
MEMBER_KEYS = {
    "orgId",
    "teamId",
    "teamUID",
    "userId",
    "userUID",
    "email",
    "name",
    "login",
    "avatarUrl",
    "labels",
    "permission",
    "auth_module",
}


async def test_team_names_are_unique_per_org(replica: Replica) -> None:
    c = replica.client
    r = await c.post("/api/teams", json={"name": "core", "email": "core@example.com"}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["message"] == "Team created" and isinstance(body["teamId"], int) and body["uid"]
    r = await c.post("/api/teams", json={"name": "core"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "Team name taken"}
    other = await new_team(c, "edge")
    r = await c.put(f"/api/teams/{other}", json={"name": "core"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "Team name taken"}
    # the same name in another org is fine
    org2 = await new_org(c, "Second")
    r = await c.post(
        "/api/teams", json={"name": "core"}, headers={**ADMIN_AUTH, "X-Grafana-Org-Id": str(org2)}
    )
    assert r.status_code == 200
    # and each org sees only its own
    names = [t["name"] for t in (await c.get("/api/teams/search", headers=ADMIN_AUTH)).json()["teams"]]
    assert names == ["core", "edge"]
    second = (await c.get("/api/teams/search", headers={**ADMIN_AUTH, "X-Grafana-Org-Id": str(org2)})).json()
    assert [(t["name"], t["orgId"]) for t in second["teams"]] == [("core", org2)]
    assert (await c.get(f"/api/teams/{second['teams'][0]['id']}", headers=ADMIN_AUTH)).status_code == 404


async def test_team_search_pages_by_the_real_per_page(replica: Replica) -> None:
    c = replica.client
    for name in ("t-a", "t-b", "t-c", "other"):
        await new_team(c, name)
    seen = []
    page = 1
    while True:  # grafana-client's loop: stop when a page is shorter than perPage
        body = (
            await c.get("/api/teams/search", params={"perpage": 2, "page": page}, headers=ADMIN_AUTH)
        ).json()
        assert body["perPage"] == 2 and body["page"] == page and body["totalCount"] == 4
        seen += [t["name"] for t in body["teams"]]
        if len(body["teams"]) < body["perPage"]:
            break
        page += 1
    assert seen == ["other", "t-a", "t-b", "t-c"] and page == 3
    body = (await c.get("/api/teams/search", params={"perPage": 3, "page": 2}, headers=ADMIN_AUTH)).json()
    assert [t["name"] for t in body["teams"]] == ["t-c"] and body["perPage"] == 3
    body = (await c.get("/api/teams/search", params={"query": "T-"}, headers=ADMIN_AUTH)).json()
    assert body["totalCount"] == 3 and body["perPage"] == 1000
    body = (await c.get("/api/teams/search", params={"name": "t-b"}, headers=ADMIN_AUTH)).json()
    assert [t["name"] for t in body["teams"]] == ["t-b"]
    assert (await c.get("/api/teams/search?name=t-", headers=ADMIN_AUTH)).json()["teams"] == []


async def test_team_routes_have_the_documented_shapes_and_errors(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    ann = await new_user(c, "ann")
    team_id = await new_team(c, "alpha")
    team = (await c.get(f"/api/teams/{team_id}", headers=ADMIN_AUTH)).json()
    assert set(team) == TEAM_KEYS
    assert team["id"] == team_id and team["orgId"] == 1 and team["memberCount"] == 0 and team["email"] == ""
    r = await c.put(
        f"/api/teams/{team_id}", json={"name": "alpha2", "email": "a@example.com"}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200 and r.json() == {"message": "Team updated"}
    team = (await c.get(f"/api/teams/{team_id}", headers=ADMIN_AUTH)).json()
    assert (team["name"], team["email"]) == ("alpha2", "a@example.com")

    r = await c.post(f"/api/teams/{team_id}/members", json={"userId": ann}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Member added to Team"}
    members = (await c.get(f"/api/teams/{team_id}/members", headers=ADMIN_AUTH)).json()
    assert len(members) == 1 and set(members[0]) == MEMBER_KEYS
    m = members[0]
    assert (m["orgId"], m["teamId"], m["teamUID"], m["userId"], m["login"], m["email"], m["permission"]) == (
        1,
        team_id,
        team["uid"],
        ann,
        "ann",
        "ann@example.com",
        0,
    )
    assert (await c.get(f"/api/teams/{team_id}", headers=ADMIN_AUTH)).json()["memberCount"] == 1
    r = await c.post(f"/api/teams/{team_id}/members", json={"userId": ann}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json() == {"message": "User is already added to this team"}
    r = await c.post(f"/api/teams/{team_id}/members", json={"userId": 999}, headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == {"message": "User not found"}
    r = await c.post(f"/api/teams/{team_id}/members", json={}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and "userId" in r.json()["message"]
    r = await c.delete(f"/api/teams/{team_id}/members/{ann}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Team Member removed"}
    r = await c.delete(f"/api/teams/{team_id}/members/{ann}", headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == {"message": "Team member not found"}

    for method, path in (
        ("GET", "/api/teams/999"),
        ("PUT", "/api/teams/999"),
        ("DELETE", "/api/teams/999"),
        ("GET", "/api/teams/999/members"),
        ("POST", "/api/teams/999/members"),
    ):
        r = await c.request(method, path, json={"name": "x", "userId": ann}, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == {"message": "Team not found"}, (method, path)
    r = await c.delete(f"/api/teams/{team_id}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Team deleted"}
    assert (await c.get(f"/api/teams/{team_id}", headers=ADMIN_AUTH)).status_code == 404
    r = await c.post("/api/teams", json={"email": "x@example.com"}, headers=ADMIN_AUTH)
    assert r.status_code == 400 and "name" in r.json()["message"]


async def test_only_org_members_can_join_a_team(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    bob = await new_user(c, "bob")
    org2 = await new_org(c, "Second")
    in_org2 = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(org2)}
    team_id = (await c.post("/api/teams", json={"name": "x"}, headers=in_org2)).json()["teamId"]
    r = await c.post(f"/api/teams/{team_id}/members", json={"userId": bob}, headers=in_org2)
    assert r.status_code == 400 and r.json() == {"message": "User is not a member of this organization"}


@pytest.mark.parametrize("role", ["Viewer", "Editor"])
async def test_viewers_and_editors_cannot_manage_teams(sqlite_replica: Replica, role: str) -> None:
    c = sqlite_replica.client
    me_id = await new_user(c, "cat", role=role)
    team_id = await new_team(c, "locked")
    me = as_user("cat")
    r = await c.post("/api/teams", json={"name": "mine"}, headers=me)
    assert r.status_code == 403 and r.json()["message"].startswith("Access denied")
    # not a member: the team does not exist as far as they can tell
    for method, path in (
        ("GET", f"/api/teams/{team_id}"),
        ("PUT", f"/api/teams/{team_id}"),
        ("DELETE", f"/api/teams/{team_id}"),
        ("GET", f"/api/teams/{team_id}/members"),
        ("POST", f"/api/teams/{team_id}/members"),
    ):
        r = await c.request(method, path, json={"name": "x", "userId": me_id}, headers=me)
        assert r.status_code == 404, (method, path)
    assert (await c.get("/api/teams/search", headers=me)).json()["teams"] == []
    # a plain member reads the team but cannot change it
    await c.post(f"/api/teams/{team_id}/members", json={"userId": me_id}, headers=ADMIN_AUTH)
    r = await c.get(f"/api/teams/{team_id}", headers=me)
    assert r.status_code == 200 and r.json()["permission"] == 0
    search = (await c.get("/api/teams/search", headers=me)).json()
    assert [t["id"] for t in search["teams"]] == [team_id] and search["totalCount"] == 1
    for method, path in (
        ("PUT", f"/api/teams/{team_id}"),
        ("DELETE", f"/api/teams/{team_id}"),
        ("GET", f"/api/teams/{team_id}/members"),
        ("POST", f"/api/teams/{team_id}/members"),
        ("DELETE", f"/api/teams/{team_id}/members/{me_id}"),
    ):
        r = await c.request(method, path, json={"name": "x", "userId": me_id}, headers=me)
        assert r.status_code == 403 and r.json()["message"].startswith("Access denied"), (method, path)
    assert (await c.get(f"/api/teams/{team_id}", headers=ADMIN_AUTH)).json()["name"] == "locked"


async def test_a_team_admin_manages_their_own_team_only(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    dan = await new_user(c, "dan")
    eve = await new_user(c, "eve")
    mine = await new_team(c, "mine")
    theirs = await new_team(c, "theirs")
    r = await c.post(f"/api/teams/{mine}/members", json={"userId": dan, "permission": 4}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    me = as_user("dan")
    assert (await c.get(f"/api/teams/{mine}", headers=me)).json()["permission"] == 4
    assert (await c.post(f"/api/teams/{mine}/members", json={"userId": eve}, headers=me)).status_code == 200
    r = await c.put(f"/api/teams/{mine}/members/{eve}", json={"permission": 4}, headers=me)
    assert r.status_code == 200 and r.json() == {"message": "Team member updated"}
    perms = {
        m["login"]: m["permission"] for m in (await c.get(f"/api/teams/{mine}/members", headers=me)).json()
    }
    assert perms == {"dan": 4, "eve": 4}
    r = await c.put(f"/api/teams/{mine}/members/{eve}", json={"permission": 2}, headers=me)
    assert r.status_code == 400
    assert (await c.put(f"/api/teams/{mine}", json={"name": "ours"}, headers=me)).status_code == 200
    assert (await c.post(f"/api/teams/{theirs}/members", json={"userId": dan}, headers=me)).status_code == 404
    assert (await c.delete(f"/api/teams/{mine}/members/{eve}", headers=me)).status_code == 200
    assert (await c.delete(f"/api/teams/{mine}", headers=me)).status_code == 200
    assert (await c.get(f"/api/teams/{theirs}", headers=ADMIN_AUTH)).status_code == 200


async def test_deleting_a_team_removes_its_memberships(replica: Replica) -> None:
    c = replica.client
    fay = await new_user(c, "fay")
    team_id = await new_team(c, "short-lived")
    await c.post(f"/api/teams/{team_id}/members", json={"userId": fay}, headers=ADMIN_AUTH)
    assert [t["id"] for t in (await c.get("/api/user/teams", headers=as_user("fay"))).json()] == [team_id]
    assert (await c.delete(f"/api/teams/{team_id}", headers=ADMIN_AUTH)).status_code == 200
    assert (await c.get("/api/user/teams", headers=as_user("fay"))).json() == []
    assert await replica.services.teams.permissions_of(1, fay) == {}
    # a new team with the same name starts empty
    again = await new_team(c, "short-lived")
    assert (await c.get(f"/api/teams/{again}", headers=ADMIN_AUTH)).json()["memberCount"] == 0
