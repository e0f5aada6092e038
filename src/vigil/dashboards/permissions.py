"""Reading and replacing the permission items of a folder or a dashboard (the legacy ACL API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import normalise_role
from vigil.auth.tables import org_user, team, user
from vigil.clock import iso
from vigil.dashboards.access import DASHBOARD, FOLDER, ancestors, folder_tree
from vigil.dashboards.models import PERMISSION_NAMES, Dashboard, Folder, id_in_range
from vigil.dashboards.save import _insert_acl
from vigil.dashboards.tables import dashboard_acl
from vigil.errors import AppError


async def _rows(conn: AsyncConnection, org_id: int, kind: str, uids: list[str]) -> list[Any]:
    if not uids:
        return []
    result = await conn.execute(
        select(
            dashboard_acl,
            user.c.login.label("user_login"),
            user.c.email.label("user_email"),
            team.c.name.label("team_name"),
            team.c.email.label("team_email"),
        )
        .select_from(
            dashboard_acl.outerjoin(user, user.c.id == dashboard_acl.c.user_id).outerjoin(
                team, team.c.id == dashboard_acl.c.team_id
            )
        )
        .where(
            and_(
                dashboard_acl.c.org_id == org_id,
                dashboard_acl.c.kind == kind,
                dashboard_acl.c.resource_uid.in_(uids),
            )
        )
        .order_by(dashboard_acl.c.id)
    )
    return list(result)


def _item(row: Any, inherited: bool, base: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": int(row.id),
        **base,
        "inherited": inherited,
        "created": iso(int(row.created) / 1000),
        "updated": iso(int(row.updated) / 1000),
        "userId": int(row.user_id),
        "userLogin": row.user_login or "",
        "userEmail": row.user_email or "",
        "userAvatarUrl": "",
        "teamId": int(row.team_id),
        "teamEmail": row.team_email or "",
        "teamAvatarUrl": "",
        "team": row.team_name or "",
        "permission": int(row.permission),
        "permissionName": PERMISSION_NAMES.get(int(row.permission), str(row.permission)),
    }
    if row.role:
        out["role"] = row.role
    return out


async def folder_items(conn: AsyncConnection, f: Folder) -> list[dict[str, Any]]:
    """The folder's own items, then those inherited from its ancestors (nearest first)."""
    base = {
        "folderId": f.id,
        "folderUid": f.uid,
        "dashboardId": f.id,
        "uid": f.uid,
        "title": f.title,
        "slug": f.slug,
        "url": f.url,
        "isFolder": True,
    }
    out = [_item(r, False, base) for r in await _rows(conn, f.org_id, FOLDER, [f.uid])]
    tree = await folder_tree(conn, f.org_id)
    for parent in reversed(ancestors(tree, f.uid)):
        out += [_item(r, True, base) for r in await _rows(conn, f.org_id, FOLDER, [parent.uid])]
    return out


async def dashboard_items(conn: AsyncConnection, d: Dashboard) -> list[dict[str, Any]]:
    """The dashboard's own items, then those inherited from its folder and the folder's ancestors."""
    tree = await folder_tree(conn, d.org_id)
    containing = tree.get(d.folder_uid)
    base = {
        "dashboardId": d.id,
        "folderId": containing.id if containing else 0,
        "folderUid": d.folder_uid,
        "uid": d.uid,
        "title": d.title,
        "slug": d.slug,
        "url": d.url,
        "isFolder": False,
    }
    out = [_item(r, False, base) for r in await _rows(conn, d.org_id, DASHBOARD, [d.uid])]
    if containing is not None:
        chain = [containing, *reversed(ancestors(tree, containing.uid))]
        for f in chain:
            out += [_item(r, True, base) for r in await _rows(conn, d.org_id, FOLDER, [f.uid])]
    return out


async def parse_items(conn: AsyncConnection, org_id: int, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate ``{"items": [...]}``: each item names one user, team or role and a permission."""
    raw = body.get("items")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise AppError.bad_request("bad request data: items must be a list")
    merged: dict[tuple[int, int, str], int] = {}
    for it in raw:
        if not isinstance(it, dict):
            raise AppError.bad_request("bad request data: each item must be an object")
        perm = it.get("permission")
        if isinstance(perm, bool) or perm not in PERMISSION_NAMES:
            raise AppError.bad_request("invalid permission: use 1 (View), 2 (Edit) or 4 (Admin)")
        user_id, team_id = it.get("userId") or 0, it.get("teamId") or 0
        role_raw = it.get("role") or ""
        if not isinstance(user_id, int) or not isinstance(team_id, int) or user_id < 0 or team_id < 0:
            raise AppError.bad_request("bad request data: userId and teamId must be numbers")
        if not id_in_range(user_id) or not id_in_range(team_id):
            raise AppError.bad_request("user or team not found")
        if user_id:
            member = (
                await conn.execute(
                    select(org_user.c.id).where(
                        and_(org_user.c.org_id == org_id, org_user.c.user_id == user_id)
                    )
                )
            ).first()
            if member is None:
                raise AppError.bad_request(f"user {user_id} not found in this organization")
            key = (user_id, 0, "")
        elif team_id:
            found = (
                await conn.execute(
                    select(team.c.id).where(and_(team.c.org_id == org_id, team.c.id == team_id))
                )
            ).first()
            if found is None:
                raise AppError.bad_request(f"team {team_id} not found")
            key = (0, team_id, "")
        elif role_raw:
            role = normalise_role(role_raw)
            if role is None:
                raise AppError.bad_request(f"invalid role {role_raw!r}: use Viewer, Editor or Admin")
            key = (0, 0, role)
        else:
            raise AppError.bad_request("each permission item needs a userId, a teamId or a role")
        merged[key] = max(merged.get(key, 0), int(perm))
    return [{"user_id": k[0], "team_id": k[1], "role": k[2], "permission": p} for k, p in merged.items()]


async def replace_items(
    conn: AsyncConnection, org_id: int, kind: str, uid: str, items: list[dict[str, Any]], now: int
) -> None:
    await conn.execute(
        delete(dashboard_acl).where(
            and_(
                dashboard_acl.c.org_id == org_id,
                dashboard_acl.c.kind == kind,
                dashboard_acl.c.resource_uid == uid,
            )
        )
    )
    await _insert_acl(conn, org_id, kind, uid, items, now)


async def set_one(
    conn: AsyncConnection,
    org_id: int,
    kind: str,
    uid: str,
    *,
    user_id: int = 0,
    team_id: int = 0,
    role: str = "",
    permission: int | None,
    now: int,
) -> None:
    """Set (or, with ``permission=None``, remove) the item of one user, team or basic role."""
    await conn.execute(
        delete(dashboard_acl).where(
            and_(
                dashboard_acl.c.org_id == org_id,
                dashboard_acl.c.kind == kind,
                dashboard_acl.c.resource_uid == uid,
                dashboard_acl.c.user_id == user_id,
                dashboard_acl.c.team_id == team_id,
                dashboard_acl.c.role == role,
            )
        )
    )
    if permission:
        await _insert_acl(
            conn,
            org_id,
            kind,
            uid,
            [{"user_id": user_id, "team_id": team_id, "role": role, "permission": permission}],
            now,
        )


async def resource_permission_list(
    conn: AsyncConnection, org_id: int, kind: str, uid: str
) -> list[dict[str, Any]]:
    """The RBAC resource-permission view (``/api/access-control/{folders|dashboards}/:uid``)."""
    out: list[dict[str, Any]] = []
    for r in await _rows(conn, org_id, kind, [uid]):
        name = PERMISSION_NAMES.get(int(r.permission), str(r.permission))
        out.append(
            {
                "id": int(r.id),
                "roleName": f"managed:{kind}s:{uid}:{name.lower()}",
                "isManaged": True,
                "isInherited": False,
                "isServiceAccount": False,
                "userId": int(r.user_id),
                "userLogin": r.user_login or "",
                "userAvatarUrl": "",
                "teamId": int(r.team_id),
                "team": r.team_name or "",
                "teamAvatarUrl": "",
                "builtInRole": r.role or "",
                "actions": [],
                "permission": name,
            }
        )
    return out


async def check_grantee(conn: AsyncConnection, org_id: int, *, user_id: int = 0, team_id: int = 0) -> None:
    await parse_items(
        conn,
        org_id,
        {"items": [{"userId": user_id, "teamId": team_id, "permission": 1}]},
    )
