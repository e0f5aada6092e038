"""[auth.proxy] in process, on SQLite: sign-up, header sync, whitelist, shared sync cache, login token."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from tests.conftest import ADMIN_AUTH, AppFactory, Replica
from vigil.auth.proxy import parse_headers, parse_sync_ttl, parse_whitelist
from vigil.auth.tables import team, team_member, user
from vigil.clock import FakeClock
from vigil.errors import ConfigError

PROXY = {
    "auth.proxy__enabled": "true",
    "auth.proxy__whitelist": "127.0.0.0/24, ::1",
    "auth.proxy__headers": (
        "Name:X-WEBAUTH-NAME Email:X-WEBAUTH-EMAIL Role:X-WEBAUTH-ROLE Groups:X-WEBAUTH-GROUPS"
    ),
    "auth.proxy__sync_ttl": "15",
}


def syncs(rep: Replica) -> float:
    value = rep.services.metrics.registry.get_sample_value("vigil_auth_proxy_user_syncs_total")
    return float(value or 0)


async def make(
    make_replica: AppFactory, url: str, clock: FakeClock | None = None, extra: dict[str, str] | None = None
) -> Replica:
    return await make_replica(url, clock, **{**PROXY, **(extra or {})})


async def test_first_request_signs_the_user_up_from_the_headers(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    rep = await make(make_replica, sqlite_url)
    headers = {
        "X-WEBAUTH-USER": "carol",
        "X-WEBAUTH-NAME": "Carol Doe",
        "X-WEBAUTH-EMAIL": "carol@example.com",
        "X-WEBAUTH-ROLE": "editor",
    }
    r = await rep.client.get("/api/user", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["login"], body["name"], body["email"], body["isExternal"]) == (
        "carol",
        "Carol Doe",
        "carol@example.com",
        True,
    )
    orgs = (await rep.client.get("/api/user/orgs", headers=headers)).json()
    assert orgs[0]["role"] == "Editor"
    for _ in range(5):
        assert (await rep.client.get("/api/user", headers=headers)).status_code == 200
    assert syncs(rep) == 1
    assert "set-cookie" not in r.headers  # enable_login_token is off


async def test_header_from_an_address_outside_the_whitelist_is_refused(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    rep = await make(make_replica, sqlite_url, extra={"auth.proxy__whitelist": "10.1.2.3, 192.168.0.0/16"})
    r = await rep.client.get("/api/user", headers={"X-WEBAUTH-USER": "mallory"})
    assert r.status_code == 407
    assert "not from the authentication proxy" in r.json()["message"]
    assert syncs(rep) == 0
    # Basic auth from the same address is unaffected by the proxy settings
    assert (await rep.client.get("/api/user", headers=ADMIN_AUTH)).status_code == 200


async def test_without_auto_sign_up_an_unknown_user_is_401(make_replica: AppFactory, sqlite_url: str) -> None:
    rep = await make(make_replica, sqlite_url, extra={"auth.proxy__auto_sign_up": "false"})
    r = await rep.client.get("/api/user", headers={"X-WEBAUTH-USER": "nobody"})
    assert r.status_code == 401 and "auto_sign_up" in r.json()["message"]
    r = await rep.client.get("/api/user", headers={"X-WEBAUTH-USER": "admin"})
    assert r.status_code == 200 and r.json()["login"] == "admin"


async def test_the_sync_cache_is_shared_by_replicas_and_expires_after_sync_ttl(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    clock = FakeClock()
    a = await make(make_replica, sqlite_url, clock)
    b = await make(make_replica, sqlite_url, clock)
    h = {"X-WEBAUTH-USER": "dave", "X-WEBAUTH-ROLE": "Viewer"}
    for _ in range(3):
        assert (await a.client.get("/api/user", headers=h)).status_code == 200
        assert (await b.client.get("/api/user", headers=h)).status_code == 200
    assert syncs(a) + syncs(b) == 1
    clock.advance(14 * 60)
    assert (await b.client.get("/api/user", headers=h)).status_code == 200
    assert syncs(a) + syncs(b) == 1
    clock.advance(2 * 60)  # past 15 minutes: the next request syncs again, once
    assert (await b.client.get("/api/user", headers=h)).status_code == 200
    assert (await a.client.get("/api/user", headers=h)).status_code == 200
    assert syncs(a) + syncs(b) == 2
    # a changed header is a different sync key: the role change applies at once
    h2 = {**h, "X-WEBAUTH-ROLE": "Admin"}
    assert (await a.client.get("/api/user/orgs", headers=h2)).json()[0]["role"] == "Admin"
    assert syncs(a) + syncs(b) == 3


async def test_login_token_issues_a_session_cookie_once(make_replica: AppFactory, sqlite_url: str) -> None:
    rep = await make(make_replica, sqlite_url, extra={"auth.proxy__enable_login_token": "true"})
    h = {"X-WEBAUTH-USER": "erin"}
    r = await rep.client.get("/api/user", headers=h)
    assert r.status_code == 200
    token = r.cookies.get("vigil_session")
    assert token
    r2 = await rep.client.get("/api/user", headers=h, cookies={"vigil_session": token})
    assert r2.status_code == 200 and "set-cookie" not in r2.headers
    # the cookie alone (no proxy header) is a normal session
    r3 = await rep.client.get("/api/user", cookies={"vigil_session": token})
    assert r3.status_code == 200 and r3.json()["login"] == "erin"


async def test_groups_header_syncs_membership_of_teams_with_those_names(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    rep = await make(make_replica, sqlite_url)
    db = rep.services.db
    async with db.write() as conn:
        for name in ("ops", "dev", "qa"):
            await conn.execute(
                insert(team).values(uid=f"t-{name}", org_id=1, name=name, created=0, updated=0)
            )

    async def teams_of(login: str) -> set[str]:
        async with db.read() as conn:
            rows = await conn.execute(
                select(team.c.name)
                .join(team_member, team_member.c.team_id == team.c.id)
                .join(user, user.c.id == team_member.c.user_id)
                .where(user.c.login == login)
            )
            return {r.name for r in rows}

    r = await rep.client.get(
        "/api/user", headers={"X-WEBAUTH-USER": "gus", "X-WEBAUTH-GROUPS": "ops, dev, ghosts"}
    )
    assert r.status_code == 200
    assert await teams_of("gus") == {"ops", "dev"}
    r = await rep.client.get("/api/user", headers={"X-WEBAUTH-USER": "gus", "X-WEBAUTH-GROUPS": "qa"})
    assert r.status_code == 200
    assert await teams_of("gus") == {"qa"}


async def test_disabled_proxy_ignores_the_header(sqlite_replica: Replica) -> None:
    r = await sqlite_replica.client.get("/api/user", headers={"X-WEBAUTH-USER": "admin"})
    assert r.status_code == 401


def test_setting_parsers() -> None:
    assert parse_sync_ttl("15") == 900 and parse_sync_ttl("30s") == 30 and parse_sync_ttl("1h") == 3600
    assert [str(n) for n in parse_whitelist("10.0.0.1, 192.168.0.0/16 ::1")] == [
        "10.0.0.1/32",
        "192.168.0.0/16",
        "::1/128",
    ]
    assert parse_headers("name:X-N Email:X-E") == {"Name": "X-N", "Email": "X-E"}
    for bad in (
        lambda: parse_sync_ttl("soon"),
        lambda: parse_whitelist("10.0.0.300"),
        lambda: parse_headers("Age:X"),
    ):
        with pytest.raises(ConfigError):
            bad()


async def test_proxy_users_are_served_while_the_session_store_is_down(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    from tests.sessions_support import memcached_daemon, running

    with running(memcached_daemon()) as mc:
        rep = await make(
            make_replica,
            sqlite_url,
            extra={"session__provider": "memcached", "session__provider_config": f"127.0.0.1:{mc.port}"},
        )
        h = {"X-WEBAUTH-USER": "ivy"}
        assert (await rep.client.get("/api/user", headers=h)).status_code == 200
        mc.stop()
        rep.services.auth.forget()
        r = await rep.client.get("/api/user", headers=h)
        assert r.status_code == 200 and r.json()["login"] == "ivy"  # synced from the database instead
        r = await rep.client.post("/login", json={"user": "admin", "password": "admin-pw"})
        assert r.status_code == 503 and r.json() == {"message": "session store unavailable"}
        mc.start()
