"""What the fuzzers found, pinned on every database: ids beyond 64 bits, NUL characters and numbers no
column can hold answer 404 or 400 with a message, never 500 (they used to: SQLite's driver raised
OverflowError, PostgreSQL refused the parameter)."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_AUTH, Replica

HUGE = "6801335224292795744256"
JUST_OVER = str(2**63)

PATH_IDS = [
    ("POST", "/api/admin/users/{}/enable"),
    ("POST", "/api/admin/users/{}/logout"),
    ("GET", "/api/users/{}"),
    ("PUT", "/api/teams/{}/preferences"),
    ("PATCH", "/api/teams/{}/preferences"),
    ("GET", "/api/teams/{}"),
    ("POST", "/api/user/stars/dashboard/{}"),
    ("DELETE", "/api/user/stars/dashboard/{}"),
    ("GET", "/api/annotations/{}"),
    ("GET", "/api/datasources/{}"),
    ("GET", "/api/orgs/{}"),
    ("GET", "/api/serviceaccounts/{}"),
    ("GET", "/api/dashboards/id/{}/versions"),
    ("GET", "/api/folders/id/{}"),
]


@pytest.mark.parametrize("number", [HUGE, JUST_OVER, "-" + JUST_OVER + "1"])
async def test_ids_beyond_64_bits_in_the_path_are_not_found(replica: Replica, number: str) -> None:
    for method, template in PATH_IDS:
        r = await replica.client.request(method, template.format(number), json={}, headers=ADMIN_AUTH)
        assert r.status_code in (400, 404), (method, template, r.status_code, r.text)  # data sources: 400
        assert r.json().get("message"), r.text


async def test_numbers_and_nul_characters_no_column_holds_are_refused_with_a_message(
    replica: Replica,
) -> None:
    c = replica.client
    for path in (
        f"/api/annotations?dashboardId={JUST_OVER}",
        f"/api/annotations?from={HUGE}",
        f"/api/search?dashboardIds={JUST_OVER}",
        "/api/users/search?query=a%00b",
        "/api/teams/search?query=a%00b",
        "/api/org/users/search?query=a%00b",
    ):
        r = await c.get(path, headers=ADMIN_AUTH)
        assert r.status_code in (200, 400, 404), (path, r.status_code, r.text)
        if r.status_code != 200:
            assert r.json()["message"], r.text
    r = await c.post("/api/teams", json={"name": "nul\x00team"}, headers=ADMIN_AUTH)
    assert r.status_code in (200, 400), r.text
