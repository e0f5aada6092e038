"""Small helpers shared by the identity route tests: make users through the API, act as them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN_AUTH, basic


def pw(login: str) -> str:
    return f"{login}-pw-1"


def as_user(login: str, org_id: int | None = None) -> dict[str, str]:
    headers = basic(login, pw(login))
    if org_id is not None:
        headers["X-Grafana-Org-Id"] = str(org_id)
    return headers


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def new_user(client: httpx.AsyncClient, login: str, role: str | None = None, **extra: Any) -> int:
    """Create ``login`` (password ``pw(login)``, email ``login@example.com``) as the server admin;
    set their role in org 1 when ``role`` is given."""
    r = await client.post(
        "/api/admin/users",
        json={
            "login": login,
            "email": f"{login}@example.com",
            "name": login.title(),
            "password": pw(login),
            **extra,
        },
        headers=ADMIN_AUTH,
    )
    assert r.status_code == 200, r.text
    user_id = int(r.json()["id"])
    if role is not None:
        r = await client.patch(f"/api/org/users/{user_id}", json={"role": role}, headers=ADMIN_AUTH)
        assert r.status_code == 200, r.text
    return user_id


async def new_org(client: httpx.AsyncClient, name: str) -> int:
    r = await client.post("/api/orgs", json={"name": name}, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    return int(r.json()["orgId"])


async def new_team(client: httpx.AsyncClient, name: str, headers: dict[str, str] = ADMIN_AUTH) -> int:
    r = await client.post("/api/teams", json={"name": name}, headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["teamId"])
