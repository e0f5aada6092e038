"""RBAC-style resource permissions for folders and dashboards (grafana-client's
``update_folder_permissions_for_user``): one user, team or basic role at a time."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from vigil.auth.models import Identity, normalise_role
from vigil.dashboards.access import DASHBOARD, FOLDER, load_access
from vigil.dashboards.folders import get_folder_row, require_folder
from vigil.dashboards.models import ADMIN, PERMISSION_BY_NAME
from vigil.dashboards.permissions import check_grantee, resource_permission_list, set_one
from vigil.dashboards.save import dashboard_not_found
from vigil.dashboards.service import get_dashboard
from vigil.dashboards.views import require_dashboard
from vigil.errors import AppError
from vigil.http.identity import identity, services
from vigil.http.params import json_object
from vigil.http.responses import json_response, message
from vigil.storage.db import now_ms

router = APIRouter()
KINDS = {"folders": FOLDER, "dashboards": DASHBOARD}


async def _resource(conn: AsyncConnection, who: Identity, kind: str, uid: str) -> str:
    """Check the caller administers the resource; its kind for the permission table."""
    if kind not in KINDS:
        raise AppError.not_found("Not found")
    access = await load_access(conn, who)
    if KINDS[kind] == FOLDER:
        f = await get_folder_row(conn, who.org_id, uid=uid)
        await require_folder(conn, access, f, ADMIN)
    else:
        d = await get_dashboard(conn, who.org_id, uid=uid)
        if d is None:
            raise dashboard_not_found()
        await require_dashboard(conn, access, d, ADMIN)
    return KINDS[kind]


def _permission(body: dict[str, Any]) -> int | None:
    items = body.get("items")
    inner: dict[str, Any] = items if isinstance(items, dict) else body
    value = inner.get("permission")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.strip().lower() not in PERMISSION_BY_NAME:
        raise AppError.bad_request('invalid permission: use "View", "Edit", "Admin" or "" to remove')
    return PERMISSION_BY_NAME[value.strip().lower()]


@router.get("/api/access-control/{kind}/{uid}")
async def list_permissions(
    kind: str, uid: str, request: Request, who: Identity = Depends(identity)
) -> Response:
    s = services(request)
    async with s.db.read() as conn:
        table_kind = await _resource(conn, who, kind, uid)
        return json_response(await resource_permission_list(conn, who.org_id, table_kind, uid))


async def _set(request: Request, who: Identity, kind: str, uid: str, **grantee: Any) -> Response:
    s = services(request)
    permission = _permission(await json_object(request, optional=True))
    async with s.db.write() as conn:
        table_kind = await _resource(conn, who, kind, uid)
        if grantee.get("user_id") or grantee.get("team_id"):
            await check_grantee(
                conn, who.org_id, user_id=grantee.get("user_id", 0), team_id=grantee.get("team_id", 0)
            )
        await set_one(
            conn, who.org_id, table_kind, uid, permission=permission, now=now_ms(s.clock), **grantee
        )
    return message("Permission updated")


def _id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise AppError.bad_request("id is invalid") from None
    if value <= 0:
        raise AppError.bad_request("id is invalid")
    return value


@router.post("/api/access-control/{kind}/{uid}/users/{user_id}")
async def set_user(
    kind: str, uid: str, user_id: str, request: Request, who: Identity = Depends(identity)
) -> Response:
    return await _set(request, who, kind, uid, user_id=_id(user_id))


@router.post("/api/access-control/{kind}/{uid}/teams/{team_id}")
async def set_team(
    kind: str, uid: str, team_id: str, request: Request, who: Identity = Depends(identity)
) -> Response:
    return await _set(request, who, kind, uid, team_id=_id(team_id))


@router.post("/api/access-control/{kind}/{uid}/builtInRoles/{role}")
async def set_role(
    kind: str, uid: str, role: str, request: Request, who: Identity = Depends(identity)
) -> Response:
    found = normalise_role(role)
    if found is None:
        raise AppError.bad_request(f"invalid role {role!r}: use Viewer, Editor or Admin")
    return await _set(request, who, kind, uid, role=found)
