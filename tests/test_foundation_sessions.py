"""Login sessions in the shared database, driven by a fake clock: rotation with a grace window,
inactive and absolute lifetimes, revocation, and the rotation race across three replicas.

Every replica caches a resolved cookie for ``[auth] token_cache_seconds`` (1 s) on its monotonic
clock; advancing the fake clock by more than that empties the cache, so each step below after an
``advance`` asks the session store again.
"""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ADMIN, SECRET, AppFactory, Replica
from vigil.clock import FakeClock
from vigil.sessions.base import hash_token
from vigil.sessions.tables import user_auth_token

COOKIE = "vigil_session"
MINUTE = 60.0


def new_cookie(r: httpx.Response) -> str | None:
    """The session token a response sets, if it sets one."""
    for header in r.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if COOKIE in jar and jar[COOKIE].value:
            return jar[COOKIE].value
    return None


async def login(rep: Replica, user: str = ADMIN[0], password: str = ADMIN[1]) -> str:
    r = await rep.client.post("/login", json={"user": user, "password": password})
    assert r.status_code == 200, r.text
    token = new_cookie(r)
    assert token
    return token


async def me(rep: Replica, token: str) -> httpx.Response:
    return await rep.client.get("/api/user", cookies={COOKIE: token})


async def session_rows(rep: Replica) -> list[dict[str, object]]:
    async with rep.services.db.read() as conn:
        rows = (await conn.execute(select(user_auth_token).order_by(user_auth_token.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def test_the_token_rotates_after_the_interval_and_the_old_one_works_only_within_grace(
    make_replica: AppFactory, db_url: str
) -> None:
    clock = FakeClock()
    rep = await make_replica(
        db_url, clock, auth__token_rotation_interval_minutes="10", auth__token_rotation_grace_seconds="60"
    )
    old = await login(rep)
    r = await me(rep, old)
    assert r.status_code == 200 and new_cookie(r) is None
    clock.advance(9 * MINUTE)
    r = await me(rep, old)
    assert r.status_code == 200 and new_cookie(r) is None  # not due yet

    clock.advance(1 * MINUTE)
    r = await me(rep, old)
    assert r.status_code == 200 and r.json()["login"] == ADMIN[0]
    new = new_cookie(r)
    assert new and new != old and len(new) >= 32
    header = r.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    [row] = await session_rows(rep)
    assert row["auth_token"] == hash_token(SECRET, new) and row["prev_auth_token"] == hash_token(SECRET, old)
    assert old not in str(row) and new not in str(row)  # only keyed hashes are stored

    r = await me(rep, new)
    assert r.status_code == 200 and new_cookie(r) is None
    clock.advance(59)
    r = await me(rep, old)  # within grace: served, and it does not rotate again
    assert r.status_code == 200 and new_cookie(r) is None
    clock.advance(2)
    assert (await me(rep, old)).status_code == 401  # grace is over
    r = await me(rep, new)
    assert r.status_code == 200 and new_cookie(r) is None
    [row] = await session_rows(rep)
    assert row["auth_token"] == hash_token(SECRET, new)


async def test_a_session_unused_for_the_inactive_lifetime_expires_while_a_used_one_lives_on(
    make_replica: AppFactory, db_url: str
) -> None:
    clock = FakeClock()
    rep = await make_replica(
        db_url,
        clock,
        auth__login_maximum_inactive_lifetime_duration="30m",
        auth__login_maximum_lifetime_duration="30d",
        auth__token_rotation_interval_minutes="10",
    )
    token = await login(rep)
    for _ in range(12):  # two hours of use, a request every 10 minutes
        clock.advance(10 * MINUTE)
        r = await me(rep, token)
        assert r.status_code == 200
        token = new_cookie(r) or token
    clock.advance(29 * MINUTE)
    r = await me(rep, token)
    assert r.status_code == 200
    token = new_cookie(r) or token
    clock.advance(30 * MINUTE + 2)
    assert (await me(rep, token)).status_code == 401


async def test_the_inactive_lifetime_counts_use_even_when_shorter_than_the_rotation_interval(
    make_replica: AppFactory, db_url: str
) -> None:
    clock = FakeClock()
    rep = await make_replica(
        db_url,
        clock,
        auth__login_maximum_inactive_lifetime_duration="5m",
        auth__token_rotation_interval_minutes="60",
    )
    token = await login(rep)
    for _ in range(10):  # 40 minutes of a request every 4 minutes
        clock.advance(4 * MINUTE)
        r = await me(rep, token)
        assert r.status_code == 200, f"logged out after use every 4 minutes: {r.text}"
        token = new_cookie(r) or token
    clock.advance(5 * MINUTE + 2)
    assert (await me(rep, token)).status_code == 401


async def test_a_session_expires_after_the_absolute_lifetime_however_active(
    make_replica: AppFactory, db_url: str
) -> None:
    clock = FakeClock()
    rep = await make_replica(
        db_url,
        clock,
        auth__login_maximum_inactive_lifetime_duration="7d",
        auth__login_maximum_lifetime_duration="1h",
        auth__token_rotation_interval_minutes="10",
    )
    token = await login(rep)
    for _ in range(5):
        clock.advance(11 * MINUTE)
        r = await me(rep, token)
        assert r.status_code == 200
        token = new_cookie(r) or token
    clock.advance(5 * MINUTE)  # 60 minutes since login
    assert (await me(rep, token)).status_code == 200
    clock.advance(2)  # past the absolute lifetime and the one-second token cache
    assert (await me(rep, token)).status_code == 401
    assert (await rep.services.sessions.active_count()) == 0


async def test_logout_and_password_change_revoke_sessions_on_every_replica(
    make_replica: AppFactory, db_url: str
) -> None:
    clock = FakeClock()
    a = await make_replica(db_url, clock)
    b = await make_replica(db_url, clock)
    token = await login(a)
    assert (await me(a, token)).status_code == 200 and (await me(b, token)).status_code == 200
    r = await a.client.get("/logout", cookies={COOKIE: token})
    assert r.status_code == 302
    assert (await me(a, token)).status_code == 401
    clock.advance(1.5)  # past replica b's one-second token cache
    assert (await me(b, token)).status_code == 401

    await a.services.identities.create_user(login="rita", password="rita-pw-1", email="rita@example.com")
    t1 = await login(a, "rita", "rita-pw-1")
    t2 = await login(b, "rita", "rita-pw-1")
    admin_token = await login(a)
    assert (await me(a, t1)).status_code == 200 and (await me(a, t2)).status_code == 200
    r = await b.client.put(
        "/api/user/password",
        json={"oldPassword": "rita-pw-1", "newPassword": "rita-pw-2", "confirmNew": "rita-pw-2"},
        cookies={COOKIE: t2},
    )
    assert r.status_code == 200, r.text
    clock.advance(1.5)
    for rep in (a, b):
        for t in (t1, t2):
            assert (await me(rep, t)).status_code == 401
        assert (await me(rep, admin_token)).status_code == 200  # other users keep theirs
    assert await b.services.sessions.active_count() == 1


@pytest.mark.parametrize("cache_seconds", ["1", "0"])
async def test_rotation_race_twenty_concurrent_requests_over_three_replicas_get_no_401(
    make_replica: AppFactory, db_url: str, cache_seconds: str
) -> None:
    clock = FakeClock()
    settings = {
        "auth__token_rotation_interval_minutes": "10",
        "auth__token_rotation_grace_seconds": "60",
        "auth__token_cache_seconds": cache_seconds,
    }
    replicas = [await make_replica(db_url, clock, **settings) for _ in range(3)]
    token = await login(replicas[0])
    for rep in replicas:  # warm every replica's cache with the cookie
        assert (await me(rep, token)).status_code == 200

    for _round in range(3):
        previous = token
        clock.advance(10 * MINUTE + 1)  # rotation is due; every token cache has expired
        responses = await asyncio.gather(*(me(replicas[i % 3], token) for i in range(20)))
        statuses = [r.status_code for r in responses]
        assert statuses == [200] * 20, statuses
        issued = [t for t in (new_cookie(r) for r in responses) if t]
        assert len(issued) == 1, f"{len(issued)} rotations"
        token = issued[0]
        rows = await session_rows(replicas[0])
        assert len(rows) == 1
        assert rows[0]["auth_token"] == hash_token(SECRET, token)
        assert rows[0]["prev_auth_token"] == hash_token(SECRET, previous)
        clock.advance(30)  # within grace both cookies pass everywhere, and nothing rotates again
        for rep in replicas:
            for t in (previous, token):
                r = await me(rep, t)
                assert r.status_code == 200 and new_cookie(r) is None
    clock.advance(31)
    for rep in replicas:
        assert (await me(rep, previous)).status_code == 401
        assert (await me(rep, token)).status_code == 200
