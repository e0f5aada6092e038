"""Helpers for the content tests: users with roles, extra orgs, teams and bare dashboard rows.

Dashboards are inserted as rows (the dashboards feature owns their API); everything the content
features do with them goes through the HTTP API under test.
"""

from __future__ import annotations

import orjson

from tests.conftest import Replica, basic
from vigil.auth.tables import org, org_user, team, team_member
from vigil.dashboards.models import title_key
from vigil.dashboards.tables import dashboard, dashboard_acl, folder
from vigil.storage.db import now_ms

PASSWORD = "pw-123456"


async def add_user(
    r: Replica, login: str, role: str = "Viewer", org_id: int = 1
) -> tuple[int, dict[str, str]]:
    """A user with ``role`` in ``org_id``; returns (id, Basic auth headers)."""
    u = await r.services.identities.create_user(
        login=login, password=PASSWORD, email=f"{login}@example.com", org_id=org_id, role=role
    )
    return u.id, basic(login, PASSWORD)


async def add_org(r: Replica, name: str) -> int:
    now = now_ms(r.services.clock)
    async with r.services.db.write() as conn:
        res = await conn.execute(org.insert().values(name=name, created=now, updated=now))
        return int(res.inserted_primary_key[0])


async def join_org(r: Replica, user_id: int, org_id: int, role: str) -> None:
    now = now_ms(r.services.clock)
    async with r.services.db.write() as conn:
        await conn.execute(
            org_user.insert().values(org_id=org_id, user_id=user_id, role=role, created=now, updated=now)
        )


async def add_team(r: Replica, name: str, members: dict[int, int], org_id: int = 1) -> int:
    """A team with ``members`` {user_id: permission (0 member, 4 admin)}."""
    now = now_ms(r.services.clock)
    async with r.services.db.write() as conn:
        res = await conn.execute(
            team.insert().values(uid=f"t-{name}", org_id=org_id, name=name, created=now, updated=now)
        )
        team_id = int(res.inserted_primary_key[0])
        for user_id, perm in members.items():
            await conn.execute(
                team_member.insert().values(
                    org_id=org_id, team_id=team_id, user_id=user_id, permission=perm, created=now, updated=now
                )
            )
    return team_id


async def add_folder(r: Replica, uid: str, title: str, org_id: int = 1) -> int:
    now = now_ms(r.services.clock)
    async with r.services.db.write() as conn:
        res = await conn.execute(
            folder.insert().values(uid=uid, org_id=org_id, title=title, created=now, updated=now)
        )
        return int(res.inserted_primary_key[0])


async def add_dashboard(
    r: Replica,
    uid: str,
    title: str,
    org_id: int = 1,
    folder_uid: str = "",
    tags: list[str] | None = None,
    acl: bool = True,
) -> int:
    now = now_ms(r.services.clock)
    data = {"uid": uid, "title": title, "tags": tags or [], "version": 1, "panels": []}
    async with r.services.db.write() as conn:
        res = await conn.execute(
            dashboard.insert().values(
                uid=uid,
                org_id=org_id,
                title=title,
                title_key=title_key(title),
                folder_uid=folder_uid,
                version=1,
                data=orjson.dumps(data).decode(),
                created=now,
                updated=now,
            )
        )
        if acl:
            # Grafana's defaults for a new dashboard: Viewers view, Editors edit
            for role, perm in (("Viewer", 1), ("Editor", 2)):
                await conn.execute(
                    dashboard_acl.insert().values(
                        org_id=org_id,
                        kind="dashboard",
                        resource_uid=uid,
                        role=role,
                        permission=perm,
                        created=now,
                        updated=now,
                    )
                )
        return int(res.inserted_primary_key[0])
