"""Browser-facing attacks over HTTP: security headers, cookie flags, CSRF, open redirect, session
fixation and password guessing (login form and Basic auth). SQLite: none of it depends on the database."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN, ADMIN_AUTH, AppFactory, Replica, basic
from vigil.clock import FakeClock
from vigil.http.security import safe_redirect

OWN = "http://vigil.test"  # the host the in-process client sends requests to
EVIL = "https://evil.example"


async def _login(rep: Replica, user: str = ADMIN[0], password: str = ADMIN[1]) -> str:
    r = await rep.client.post("/login", json={"user": user, "password": password})
    assert r.status_code == 200, r.text
    token = r.cookies["vigil_session"]
    rep.client.cookies.clear()
    return str(token)


def _dash(title: str) -> dict[str, Any]:
    return {"dashboard": {"title": title, "panels": []}, "overwrite": False}


# -- headers ------------------------------------------------------------------------------------


async def test_every_kind_of_response_carries_nosniff_deny_framing_and_a_strict_policy(
    sqlite_replica: Replica,
) -> None:
    c = sqlite_replica.client
    answers = [
        await c.get("/api/health"),
        await c.get("/metrics"),
        await c.get("/api/user"),  # 401
        await c.get("/api/search", headers=ADMIN_AUTH),
        await c.get("/api/dashboards/uid/nope", headers=ADMIN_AUTH),  # 404
        await c.get("/public/../defaults.ini"),
        await c.get("/login"),  # the page (or the not-built page)
        await c.post("/login", content=b"{"),  # 400
    ]
    for r in answers:
        where = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
        assert r.headers.get("x-content-type-options") == "nosniff", where
        assert r.headers.get("x-frame-options") == "DENY", where
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, where
        script = csp.split("script-src")[1].split(";")[0]
        assert "'self'" in script and "unsafe-inline" not in script and "unsafe-eval" not in script, where
        assert "object-src 'none'" in csp and "base-uri 'self'" in csp, where
        assert len(r.headers.get_list("x-frame-options")) == 1, where
        assert len(r.headers.get_list("content-security-policy")) == 1, where
    assert "strict-transport-security" not in answers[0].headers


async def test_the_api_documentation_page_alone_may_load_its_cdn_script(sqlite_replica: Replica) -> None:
    r = await sqlite_replica.client.get("/api/docs")
    assert r.status_code == 200 and "swagger-ui" in r.text
    csp = r.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
    for path in ("/api/docs/x", "/api/health", "/login"):
        assert (
            "cdn.jsdelivr.net"
            not in (await sqlite_replica.client.get(path)).headers["content-security-policy"]
        )


@pytest.mark.parametrize(
    ("settings", "frame", "ancestors"),
    [
        ({"security__x_frame_options": "sameorigin"}, "SAMEORIGIN", "frame-ancestors 'self'"),
        ({"security__allow_embedding": "true"}, None, None),
    ],
)
async def test_frame_options_follow_the_security_keys(
    make_replica: AppFactory,
    sqlite_url: str,
    settings: dict[str, str],
    frame: str | None,
    ancestors: str | None,
) -> None:
    rep = await make_replica(sqlite_url, **settings)
    for path in ("/login", "/api/health", "/api/user"):
        r = await rep.client.get(path)
        assert r.headers.get("x-frame-options") == frame, path
        csp = r.headers["content-security-policy"]
        if ancestors is None:
            assert "frame-ancestors" not in csp, path
        else:
            assert ancestors in csp, path


async def test_policy_template_hsts_and_switching_headers_off(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    rep = await make_replica(
        sqlite_url,
        security__content_security_policy_template="default-src 'self'; frame-ancestors 'none'",
        security__strict_transport_security="true",
        security__strict_transport_security_max_age_seconds="600",
    )
    r = await rep.client.get("/api/health")
    assert r.headers["content-security-policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert r.headers["strict-transport-security"] == "max-age=600"
    off = await make_replica(
        sqlite_url, security__content_security_policy="false", security__x_content_type_options="false"
    )
    r = await off.client.get("/api/health")
    assert "content-security-policy" not in r.headers and "x-content-type-options" not in r.headers
    assert r.headers["x-frame-options"] == "DENY"


# -- cookie flags -------------------------------------------------------------------------------


def _cookie_attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")]
    out = {"value": parts[0].split("=", 1)[1]}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        out[k.lower()] = v
    return out


@pytest.mark.parametrize(
    ("settings", "secure", "samesite"),
    [
        ({}, False, "Lax"),
        ({"security__cookie_secure": "true"}, True, "Lax"),
        ({"server__root_url": "https://vigil.example.org/"}, True, "Lax"),
        ({"security__cookie_samesite": "strict"}, False, "Strict"),
        ({"security__cookie_samesite": "none"}, True, "None"),  # browsers drop SameSite=None without Secure
        ({"security__cookie_samesite": "disabled"}, False, None),
    ],
)
async def test_session_cookie_is_httponly_with_the_configured_samesite_and_secure_flags(
    make_replica: AppFactory, sqlite_url: str, settings: dict[str, str], secure: bool, samesite: str | None
) -> None:
    rep = await make_replica(sqlite_url, **settings)
    r = await rep.client.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200
    cookie = _cookie_attributes(r.headers["set-cookie"])
    assert len(cookie["value"]) >= 32
    assert "httponly" in cookie and cookie["path"] == "/"
    assert ("secure" in cookie) is secure
    assert cookie.get("samesite") == samesite
    out = await rep.client.get("/logout", cookies={"vigil_session": cookie["value"]})
    cleared = _cookie_attributes(out.headers["set-cookie"])
    assert cleared["value"] == "" and cleared["max-age"] == "0" and "httponly" in cleared


# -- CSRF ---------------------------------------------------------------------------------------


async def test_cross_site_writes_with_the_session_cookie_are_refused_and_change_nothing(
    sqlite_replica: Replica,
) -> None:
    rep = sqlite_replica
    c = rep.client
    jar = {"vigil_session": await _login(rep)}
    refused_headers: list[dict[str, str]] = [
        {"Origin": EVIL},
        {"Origin": "null"},  # sandboxed frames, data: URLs
        {"Origin": "http://vigil.test.evil.example"},
        {"Origin": "http://evil.example", "Referer": OWN + "/dashboards"},  # Origin wins
        {"Referer": EVIL + "/page"},
        {"Sec-Fetch-Site": "cross-site"},
    ]
    for i, headers in enumerate(refused_headers):
        r = await c.post("/api/dashboards/db", json=_dash(f"csrf {i}"), cookies=jar, headers=headers)
        assert r.status_code == 403, headers
        assert "origin not allowed" in r.json()["message"]
    r = await c.post("/api/folders", json={"title": "csrf"}, cookies=jar, headers={"Origin": EVIL})
    assert r.status_code == 403
    r = await c.put("/api/user/preferences", json={"theme": "light"}, cookies=jar, headers={"Origin": EVIL})
    assert r.status_code == 403
    search = (await c.get("/api/search", headers=ADMIN_AUTH)).json()
    assert not [hit for hit in search if hit["title"].startswith("csrf")]
    # reads are not writes: a cross-site GET is answered (the browser keeps the answer from the page)
    r = await c.get("/api/search", cookies=jar, headers={"Origin": EVIL})
    assert r.status_code == 200


async def test_same_origin_and_non_browser_writes_with_the_cookie_pass(sqlite_replica: Replica) -> None:
    rep = sqlite_replica
    c = rep.client
    jar = {"vigil_session": await _login(rep)}
    for i, headers in enumerate(
        [
            {"Origin": OWN},
            {"Origin": "HTTP://VIGIL.TEST"},
            {"Referer": OWN + "/dashboard/new"},
            {"Sec-Fetch-Site": "same-origin", "Origin": OWN},
            {},  # curl or a script: no Origin at all, not a cross-site browser request
        ]
    ):
        r = await c.post("/api/dashboards/db", json=_dash(f"own {i}"), cookies=jar, headers=headers)
        assert r.status_code == 200, (headers, r.text)


async def test_bearer_and_basic_requests_are_exempt_from_the_origin_check(sqlite_replica: Replica) -> None:
    rep = sqlite_replica
    sa = rep.services.service_accounts
    sa_id = await sa.create(1, "csrf bot", role="Editor")
    token = (await sa.add_token(1, sa_id, "t")).key
    c = rep.client
    r = await c.post(
        "/api/dashboards/db",
        json=_dash("bearer"),
        headers={"Authorization": f"Bearer {token}", "Origin": EVIL},
    )
    assert r.status_code == 200, r.text
    r = await c.post("/api/dashboards/db", json=_dash("basic"), headers={**ADMIN_AUTH, "Origin": EVIL})
    assert r.status_code == 200, r.text


async def test_trusted_origins_and_root_url_may_write(make_replica: AppFactory, sqlite_url: str) -> None:
    rep = await make_replica(
        sqlite_url,
        security__csrf_trusted_origins="https://ops.example.org, grafana.internal:8443",
        server__root_url="https://vigil.example.org/",
    )
    jar = {"vigil_session": await _login(rep)}
    for i, origin in enumerate(
        ["https://ops.example.org", "https://grafana.internal:8443", "https://vigil.example.org"]
    ):
        r = await rep.client.post(
            "/api/dashboards/db", json=_dash(f"t{i}"), cookies=jar, headers={"Origin": origin}
        )
        assert r.status_code == 200, (origin, r.text)
    r = await rep.client.post(
        "/api/dashboards/db", json=_dash("x"), cookies=jar, headers={"Origin": "https://ops.example.org:444"}
    )
    assert r.status_code == 403


async def test_auth_proxy_writes_get_the_same_origin_check(make_replica: AppFactory, sqlite_url: str) -> None:
    """The proxy adds its header to cross-site requests too: an ambient credential, like the cookie."""
    rep = await make_replica(
        sqlite_url,
        **{
            "auth.proxy__enabled": "true",
            "auth.proxy__whitelist": "127.0.0.0/24",
            "auth.proxy__headers": "Role:X-WEBAUTH-ROLE",
        },
    )
    proxied = {"X-WEBAUTH-USER": "pat", "X-WEBAUTH-ROLE": "Editor"}
    r = await rep.client.post("/api/dashboards/db", json=_dash("evil"), headers={**proxied, "Origin": EVIL})
    assert r.status_code == 403 and "origin not allowed" in r.json()["message"]
    r = await rep.client.post("/api/dashboards/db", json=_dash("own"), headers={**proxied, "Origin": OWN})
    assert r.status_code == 200, r.text
    assert (await rep.client.get("/api/search", headers={**proxied, "Origin": EVIL})).status_code == 200


async def test_a_login_posted_from_another_site_is_refused(sqlite_replica: Replica) -> None:
    r = await sqlite_replica.client.post(
        "/login", json={"user": ADMIN[0], "password": ADMIN[1]}, headers={"Origin": EVIL}
    )
    assert r.status_code == 403 and "set-cookie" not in r.headers


# -- open redirect ------------------------------------------------------------------------------

EVIL_TARGETS = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http:evil.example",
    "evil.example",
    " //evil.example",
    "",
]


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_redirect_targets_off_this_server_become_the_home_page(target: str) -> None:
    assert safe_redirect(target) == "/"


async def test_login_answers_only_same_server_redirects(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for target in EVIL_TARGETS:
        for how in ("query", "body"):
            body: dict[str, Any] = {"user": ADMIN[0], "password": ADMIN[1]}
            params = {}
            if how == "query":
                params["redirectTo"] = target
            else:
                body["redirectTo"] = target
            r = await c.post("/login", json=body, params=params)
            assert r.status_code == 200
            assert r.json()["redirectUrl"] == "/", (how, target)
    r = await c.post(
        "/login?redirectTo=%2Fd%2Fabc%2Fx%3ForgId%3D1", json={"user": ADMIN[0], "password": ADMIN[1]}
    )
    assert r.json()["redirectUrl"] == "/d/abc/x?orgId=1"


# -- session fixation ---------------------------------------------------------------------------


async def test_login_never_adopts_a_token_the_client_brought(sqlite_replica: Replica) -> None:
    rep = sqlite_replica
    c = rep.client
    await rep.services.identities.create_user(login="victim", password="victim-pw-1", email="v@example.com")
    fixed = "attacker-chosen-0123456789abcdef0123456789abcdef"
    r = await c.post(
        "/login", json={"user": "victim", "password": "victim-pw-1"}, cookies={"vigil_session": fixed}
    )
    assert r.status_code == 200
    issued = r.cookies["vigil_session"]
    assert issued != fixed
    c.cookies.clear()
    assert (await c.get("/api/user", cookies={"vigil_session": fixed})).status_code == 401
    # an attacker's own valid session planted in the victim's browser stays the attacker's
    attacker = await _login(rep)
    r = await c.post(
        "/login", json={"user": "victim", "password": "victim-pw-1"}, cookies={"vigil_session": attacker}
    )
    victim = r.cookies["vigil_session"]
    c.cookies.clear()
    assert victim not in (attacker, issued)
    assert (await c.get("/api/user", cookies={"vigil_session": victim})).json()["login"] == "victim"
    assert (await c.get("/api/user", cookies={"vigil_session": attacker})).json()["login"] == ADMIN[0]


# -- password guessing --------------------------------------------------------------------------


async def test_guessing_through_basic_auth_locks_the_login_out_like_the_form(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    await sqlite_replica.services.identities.create_user(login="bob", password="bob-pw-123", email="b@x.org")
    for _ in range(5):
        assert (await c.get("/api/user", headers=basic("bob", "guess"))).status_code == 401
    r = await c.get("/api/user", headers=basic("bob", "bob-pw-123"))
    assert r.status_code == 429 and "temporarily blocked" in r.json()["message"]
    r = await c.post("/login", json={"user": "bob", "password": "bob-pw-123"})
    assert r.status_code == 429
    # another login is not affected by bob's lock-out
    assert (await c.get("/api/user", headers=ADMIN_AUTH)).status_code == 200


async def test_the_lock_out_is_shared_by_replicas_and_lifts_after_the_window(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    clock = FakeClock()
    a = await make_replica(sqlite_url, clock, security__brute_force_window="60")
    b = await make_replica(sqlite_url, clock, security__brute_force_window="60")
    for i in range(5):
        rep = (a, b)[i % 2]
        assert (await rep.client.post("/login", json={"user": ADMIN[0], "password": "x"})).status_code == 401
    for rep in (a, b):
        r = await rep.client.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
        assert r.status_code == 429
    clock.advance(61)
    r = await b.client.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200


async def test_one_address_spraying_many_logins_is_blocked(sqlite_replica: Replica) -> None:
    c = sqlite_replica.client
    for i in range(20):  # 4 x brute_force_max_attempts from one address, each login only once
        assert (await c.post("/login", json={"user": f"user{i}", "password": "x"})).status_code == 401
    r = await c.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 429
