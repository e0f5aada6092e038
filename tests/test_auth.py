"""Authentication by Basic, Bearer and cookie; login, logout, lock-out; org selection. All databases."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import ADMIN, ADMIN_AUTH, Replica, basic


async def test_basic_auth_as_the_configured_admin(replica: Replica) -> None:
    r = await replica.client.get("/api/user", headers=ADMIN_AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["login"] == ADMIN[0] and body["isGrafanaAdmin"] is True and body["orgId"] == 1
    assert r.headers["x-vigil-instance"] == "replica-1"


async def test_wrong_password_and_no_credentials_are_json_401(replica: Replica) -> None:
    r = await replica.client.get("/api/user", headers=basic(ADMIN[0], "nope"))
    assert r.status_code == 401 and r.json() == {"message": "Invalid username or password"}
    r = await replica.client.get("/api/user")
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}


async def test_login_sets_session_cookie_and_logout_revokes_it(replica: Replica) -> None:
    c = replica.client
    r = await c.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200 and r.json()["message"] == "Logged in"
    cookie = r.headers["set-cookie"]
    assert "vigil_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    token = r.cookies["vigil_session"]
    assert len(token) >= 32
    r = await c.get("/api/user", cookies={"vigil_session": token})
    assert r.status_code == 200 and r.json()["login"] == ADMIN[0]
    r = await c.get("/logout", cookies={"vigil_session": token})
    assert r.status_code == 302 and "Max-Age=0" in r.headers["set-cookie"]
    replica.services.auth.forget()
    r = await c.get("/api/user", cookies={"vigil_session": token})
    assert r.status_code == 401


async def test_wrong_login_is_401_json(replica: Replica) -> None:
    r = await replica.client.post("/login", json={"user": ADMIN[0], "password": "wrong"})
    assert r.status_code == 401 and r.json() == {"message": "Invalid username or password"}
    assert "set-cookie" not in r.headers


async def test_repeated_failures_lock_the_login_out(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for _ in range(5):
        assert (await c.post("/login", json={"user": ADMIN[0], "password": "bad"})).status_code == 401
    r = await c.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 429 and "temporarily blocked" in r.json()["message"]


async def test_brute_force_protection_can_be_disabled(make_replica, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    rep = await make_replica(sqlite_url, security__disable_brute_force_login_protection="true")
    for _ in range(7):
        await rep.client.post("/login", json={"user": ADMIN[0], "password": "bad"})
    r = await rep.client.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200


async def test_service_account_bearer_token(replica: Replica) -> None:
    sa = replica.services.service_accounts
    sa_id = await sa.create(1, "ci bot", role="Editor")
    tok = await sa.add_token(1, sa_id, "t1")
    assert tok.key.startswith("glsa_")
    r = await replica.client.get("/api/user", headers={"Authorization": f"Bearer {tok.key}"})
    assert r.status_code == 200 and r.json()["login"] == "sa-ci-bot"
    # Basic with user api_key carries a token too
    r = await replica.client.get("/api/user", headers=basic("api_key", tok.key))
    assert r.status_code == 200
    # only the hash is stored
    rows = await sa.tokens(1, sa_id)
    assert tok.key not in str(rows)
    r = await replica.client.get("/api/user", headers={"Authorization": "Bearer glsa_nope_00000000"})
    assert r.status_code == 401 and r.json() == {"message": "Invalid API key"}


async def test_expired_token_is_refused(sqlite_replica: Replica) -> None:
    sa = sqlite_replica.services.service_accounts
    sa_id = await sa.create(1, "short")
    tok = await sa.add_token(1, sa_id, "t", seconds_to_live=1)
    await asyncio.sleep(1.2)  # the real clock: wait past the expiry
    r = await sqlite_replica.client.get("/api/user", headers={"Authorization": f"Bearer {tok.key}"})
    assert r.status_code == 401 and "expired" in r.json()["message"]


async def test_org_header_selects_the_org_and_non_members_are_refused(replica: Replica) -> None:
    r = await replica.client.get("/api/user", headers={**ADMIN_AUTH, "X-Grafana-Org-Id": "1"})
    assert r.status_code == 200 and r.json()["orgId"] == 1
    r = await replica.client.get("/api/user", headers={**ADMIN_AUTH, "X-Grafana-Org-Id": "99"})
    assert r.status_code == 403 and "not a member" in r.json()["message"]
    r = await replica.client.get("/api/user", headers={**ADMIN_AUTH, "X-Grafana-Org-Id": "abc"})
    assert r.status_code == 400 and "message" in r.json()


async def test_disabled_user_cannot_authenticate_and_loses_sessions(replica: Replica) -> None:
    s = replica.services
    u = await s.identities.create_user(login="dora", password="dora-pw", email="dora@example.com")
    r = await replica.client.post("/login", json={"user": "dora", "password": "dora-pw"})
    token = r.cookies["vigil_session"]
    await s.identities.set_disabled(u.id, True)
    await s.sessions.revoke_user(u.id)
    s.auth.forget()
    assert (await replica.client.get("/api/user", cookies={"vigil_session": token})).status_code == 401
    assert (await replica.client.get("/api/user", headers=basic("dora", "dora-pw"))).status_code == 401


async def test_password_change_revokes_every_session_of_the_user(replica: Replica) -> None:
    c = replica.client
    s = replica.services
    await s.identities.create_user(login="pat", password="old-pw-1", email="pat@example.com")
    t1 = (await c.post("/login", json={"user": "pat", "password": "old-pw-1"})).cookies["vigil_session"]
    t2 = (await c.post("/login", json={"user": "pat", "password": "old-pw-1"})).cookies["vigil_session"]
    r = await c.put(
        "/api/user/password",
        json={"oldPassword": "old-pw-1", "newPassword": "new-pw-2", "confirmNew": "new-pw-2"},
        cookies={"vigil_session": t1},
    )
    assert r.status_code == 200 and r.json() == {"message": "User password changed"}
    for t in (t1, t2):
        assert (await c.get("/api/user", cookies={"vigil_session": t})).status_code == 401
    assert (await c.get("/api/user", headers=basic("pat", "new-pw-2"))).status_code == 200


@pytest.mark.parametrize("path", ["/api/auth/keys", "/api/auth/keys/"])
async def test_legacy_api_keys_list_is_empty(sqlite_replica: Replica, path: str) -> None:
    r = await sqlite_replica.client.get(path, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == []


async def test_basic_auth_verifies_a_password_once_until_the_hash_changes(sqlite_replica: Replica) -> None:
    s = sqlite_replica.services
    calls = 0
    real_verify = s.identities.hasher.verify

    def counting(stored: str, password: str) -> bool:
        nonlocal calls
        calls += 1
        return real_verify(stored, password)

    s.identities.hasher.verify = counting  # type: ignore[method-assign]  # count real argon2 verifications, not a mock of them
    for _ in range(3):
        s.auth.forget()
        assert (await sqlite_replica.client.get("/api/user", headers=ADMIN_AUTH)).status_code == 200
    assert calls == 1
    admin = await s.identities.find_user(ADMIN[0])
    assert admin is not None
    await s.identities.set_password(admin.id, "changed-pw")
    s.auth.forget()
    assert (await sqlite_replica.client.get("/api/user", headers=ADMIN_AUTH)).status_code == 401
    assert (
        await sqlite_replica.client.get("/api/user", headers=basic(ADMIN[0], "changed-pw"))
    ).status_code == 200
