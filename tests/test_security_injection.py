"""SQL injection through search and lookup parameters, on SQLite, PostgreSQL and MariaDB.

Every payload is data: a search for ``' OR '1'='1`` finds nothing, ``%`` and ``_`` match only titles
that contain them literally (no LIKE wildcards), a quote or backslash matches the title holding it,
and no payload produces a 500 or touches a table. Template-variable injection into PromQL and SQL is
proven by the data source tests against a real Prometheus and the three databases
(test_datasources_prometheus.py::test_injection_through_variables_never_becomes_promql,
test_datasources_sql.py::test_variables_cannot_inject_sql, and the property tests of
test_datasources_variables.py); here the search side.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.conftest import ADMIN, ADMIN_AUTH, Replica
from tests.identity_helpers import new_user

TITLES = [
    "Alpha board",
    "100% CPU",
    "under_score",
    "back\\slash",
    "quote ' title",
    'dq " title',
    "Beta board",
]

PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "' OR 1=1 #",
    '" OR ""="',
    "'; DROP TABLE dashboard; --",
    "'); DELETE FROM dashboard; --",
    "%' OR title LIKE '%",
    "\\' OR 1=1 -- ",
    "1) OR (1=1",
    "admin'--",
    "' UNION SELECT login, password, 1, 1 FROM user --",
    "' AND SLEEP(5) --",
    "'; SELECT pg_sleep(5); --",
    "%",
    "_",
    "%%",
    "\\",
    "\\%",
    "'",
    "''",
    "`",
    "a\x00b",
    "\u202e\ufeff",
    "\U0001d518\u00e9\u4e2d",
    "x" * 5000,
]

SEARCH_PARAMS = ["query", "tag", "dashboardUIDs", "folderUIDs", "type", "sort", "starred", "dashboardIds",
                 "folderIds", "limit", "page", "permission"]  # fmt: skip


def _json(r: httpx.Response, what: str) -> Any:
    assert r.status_code < 500, f"{what} -> {r.status_code} {r.text[:300]}"
    body = r.json()
    if r.status_code >= 400:
        assert isinstance(body, dict) and body.get("message"), f"{what} -> {r.status_code} {r.text[:300]}"
    return body


async def _seed(c: httpx.AsyncClient) -> None:
    for i, title in enumerate(TITLES):
        r = await c.post(
            "/api/dashboards/db",
            json={"dashboard": {"uid": f"inj{i}", "title": title, "tags": [f"tag{i}"], "panels": []}},
            headers=ADMIN_AUTH,
        )
        assert r.status_code == 200, r.text
    await new_user(c, "carol", role="Viewer")


async def test_search_parameters_are_data_never_sql(replica: Replica) -> None:
    c = replica.client
    await _seed(c)
    for payload in PAYLOADS:
        r = await c.get("/api/search", params={"query": payload, "type": "dash-db"}, headers=ADMIN_AUTH)
        hits = _json(r, f"search query={payload!r}")
        if r.status_code == 200:
            expected = sorted(t for t in TITLES if payload.lower() in t.lower())
            assert sorted(h["title"] for h in hits) == expected, (payload, hits)
        for param in SEARCH_PARAMS:
            r = await c.get("/api/search", params={param: payload}, headers=ADMIN_AUTH)
            hits = _json(r, f"search {param}={payload!r}")
            if r.status_code == 200 and param in ("tag", "dashboardUIDs", "folderUIDs", "dashboardIds"):
                assert hits == [], (param, payload, hits)
    # the literal characters do match what holds them
    for needle, title in [
        ("%", "100% CPU"),
        ("_", "under_score"),
        ("\\", "back\\slash"),
        ("'", "quote ' title"),
    ]:
        hits = (await c.get("/api/search", params={"query": needle}, headers=ADMIN_AUTH)).json()
        assert [h["title"] for h in hits] == [title], (needle, hits)
    await _intact(c)


async def test_lookup_and_listing_parameters_are_data_never_sql(replica: Replica) -> None:
    c = replica.client
    await _seed(c)
    user_lists = [
        ("/api/users/search", "query"),
        ("/api/org/users/search", "query"),
        ("/api/org/users/lookup", "query"),
        ("/api/users", "query"),
        ("/api/teams/search", "query"),
        ("/api/teams/search", "name"),
        ("/api/serviceaccounts/search", "query"),
        ("/api/library-elements", "searchString"),
        ("/api/playlists", "query"),
        ("/api/annotations", "tags"),
        ("/api/annotations", "type"),
        ("/api/annotations", "dashboardUID"),
        ("/api/annotations", "matchAny"),
        ("/api/annotations/tags", "tag"),
        ("/api/dashboards/tags", "query"),
        ("/api/folders", "parentUid"),
        ("/api/datasources", "type"),
        ("/api/v2/silences", "filter"),
        ("/api/alertmanager/grafana/api/v2/alerts", "filter"),
    ]
    for path, param in user_lists:
        for payload in PAYLOADS:
            r = await c.get(path, params={param: payload}, headers=ADMIN_AUTH)
            body = _json(r, f"{path}?{param}={payload!r}")
            if r.status_code != 200 or param not in ("query", "searchString"):
                continue
            text = str(body)
            # nothing matched the payload, so nobody and nothing is listed
            assert "carol" not in text and "Alpha board" not in text, (path, payload, text[:300])
    for template in (
        "/api/dashboards/uid/{}",
        "/api/folders/{}",
        "/api/datasources/name/{}",
        "/api/datasources/uid/{}",
        "/api/orgs/name/{}",
        "/api/users/lookup?loginOrEmail={}",
        "/api/library-elements/name/{}",
        "/api/playlists/{}",
        "/api/snapshots/{}",
        "/api/v1/provisioning/alert-rules/{}",
        "/api/v1/provisioning/mute-timings/{}",
    ):
        for payload in PAYLOADS:
            ref = quote(payload, safe="")
            r = await c.get(template.format(ref), headers=ADMIN_AUTH)
            _json(r, f"{template} with {payload!r}")
            assert r.status_code in (400, 404), (template, payload, r.status_code, r.text[:200])
    await _intact(c)


async def _intact(c: httpx.AsyncClient) -> None:
    hits = (await c.get("/api/search", params={"type": "dash-db", "limit": 100}, headers=ADMIN_AUTH)).json()
    assert sorted(h["title"] for h in hits) == sorted(TITLES)
    r = await c.post("/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200
    users = (await c.get("/api/org/users", headers=ADMIN_AUTH)).json()
    assert sorted(u["login"] for u in users) == ["admin", "carol"]
