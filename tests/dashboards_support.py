"""Helpers shared by the tests/test_dashboards_*.py files: callers with a role, saves, folders."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Replica

Headers = dict[str, str]


async def caller(replica: Replica, name: str, role: str = "Viewer", org_id: int = 1) -> tuple[int, Headers]:
    """A service account (a user row with an org role) and its Bearer header: fast to authenticate."""
    sa = replica.services.service_accounts
    user_id = await sa.create(org_id, name, role=role)
    tok = await sa.add_token(org_id, user_id, "t")
    return user_id, {"Authorization": f"Bearer {tok.key}"}


async def team_with(replica: Replica, name: str, *user_ids: int, org_id: int = 1) -> int:
    t = await replica.services.teams.create(org_id, name)
    for uid in user_ids:
        await replica.services.teams.add_member(org_id, t.id, uid)
    return int(t.id)


async def save(
    client: httpx.AsyncClient, headers: Headers, dashboard: dict[str, Any], **body: Any
) -> httpx.Response:
    return await client.post("/api/dashboards/db", json={"dashboard": dashboard, **body}, headers=headers)


async def save_ok(client: httpx.AsyncClient, headers: Headers, dashboard: dict[str, Any], **body: Any) -> Any:
    r = await save(client, headers, dashboard, **body)
    assert r.status_code == 200, r.text
    return r.json()


async def folder_ok(client: httpx.AsyncClient, headers: Headers, title: str, **body: Any) -> Any:
    r = await client.post("/api/folders", json={"title": title, **body}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def without_server_fields(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("id", "uid", "version")}
