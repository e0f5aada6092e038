"""Preferences of the user, the org and teams; the user's starred dashboards."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.auth.tables import team, team_member
from vigil.dashboards import hooks
from vigil.dashboards.models import Dashboard
from vigil.dashboards.service import can_view_dashboard, get_dashboard
from vigil.errors import AppError
from vigil.http.identity import identity, org_admin, services, viewer
from vigil.http.params import json_object
from vigil.http.responses import json_response, message
from vigil.preferences import service as prefs
from vigil.storage.db import now_ms

router = APIRouter()


async def _home_uid(conn: AsyncConnection, org_id: int, user_id: int, team_ids: list[int]) -> str:
    return (await prefs.effective(conn, org_id, user_id, team_ids)).home_dashboard_uid


hooks.register_starred_lookup(prefs.starred_ids)
hooks.register_starred_clause(prefs.starred_clause)
hooks.register_home_lookup(_home_uid)
hooks.on_dashboard_deleted(prefs.forget_dashboard)

TEAM_ADMIN = 4


async def _show(request: Request, org_id: int, user_id: int = 0, team_id: int = 0) -> Response:
    async with services(request).db.read() as conn:
        p = await prefs.get(conn, org_id, user_id, team_id)
        return json_response(await prefs.to_json(conn, org_id, p))


async def _change(
    request: Request, org_id: int, *, user_id: int = 0, team_id: int = 0, replace: bool
) -> Response:
    s = services(request)
    body = await json_object(request)
    async with s.db.write() as conn:
        await prefs.change(
            conn, org_id, body, user_id=user_id, team_id=team_id, replace=replace, now=now_ms(s.clock)
        )
    return message("Preferences updated")


# -- user -------------------------------------------------------------------------------------------


@router.get("/api/user/preferences")
async def user_preferences(request: Request, who: Identity = Depends(identity)) -> Response:
    return await _show(request, who.org_id, user_id=who.user_id)


@router.put("/api/user/preferences")
async def put_user_preferences(request: Request, who: Identity = Depends(identity)) -> Response:
    return await _change(request, who.org_id, user_id=who.user_id, replace=True)


@router.patch("/api/user/preferences")
async def patch_user_preferences(request: Request, who: Identity = Depends(identity)) -> Response:
    return await _change(request, who.org_id, user_id=who.user_id, replace=False)


# -- org --------------------------------------------------------------------------------------------


@router.get("/api/org/preferences")
async def org_preferences(request: Request, who: Identity = Depends(viewer)) -> Response:
    return await _show(request, who.org_id)


@router.put("/api/org/preferences")
async def put_org_preferences(request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _change(request, who.org_id, replace=True)


@router.patch("/api/org/preferences")
async def patch_org_preferences(request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _change(request, who.org_id, replace=False)


# -- teams ------------------------------------------------------------------------------------------


async def _team_access(request: Request, who: Identity, team_id: int, write: bool) -> None:
    """Org Admins read and change every team's preferences; members read them; team admins change
    them. Anyone else (and any team of another org) gets 404."""
    async with services(request).db.read() as conn:
        row = (
            await conn.execute(
                select(team.c.id).where(and_(team.c.id == team_id, team.c.org_id == who.org_id))
            )
        ).first()
        if row is None:
            raise AppError.not_found("Team not found")
        if who.has_role("Admin"):
            return
        member = (
            await conn.execute(
                select(team_member.c.permission).where(
                    and_(team_member.c.team_id == team_id, team_member.c.user_id == who.user_id)
                )
            )
        ).first()
    if member is None:
        raise AppError.not_found("Team not found")
    if write and int(member[0]) < TEAM_ADMIN:
        raise AppError.forbidden("Access denied: requires org Admin or team admin")


@router.get("/api/teams/{team_id}/preferences")
async def team_preferences(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _team_access(request, who, team_id, write=False)
    return await _show(request, who.org_id, team_id=team_id)


@router.put("/api/teams/{team_id}/preferences")
async def put_team_preferences(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _team_access(request, who, team_id, write=True)
    return await _change(request, who.org_id, team_id=team_id, replace=True)


@router.patch("/api/teams/{team_id}/preferences")
async def patch_team_preferences(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _team_access(request, who, team_id, write=True)
    return await _change(request, who.org_id, team_id=team_id, replace=False)


# -- stars ------------------------------------------------------------------------------------------


@router.get("/api/user/stars")
async def user_stars(request: Request, who: Identity = Depends(identity)) -> Response:
    async with services(request).db.read() as conn:
        return json_response(await prefs.starred_uids(conn, who.org_id, who.user_id))


async def _visible(
    conn: AsyncConnection, who: Identity, *, uid: str | None = None, id: int | None = None
) -> Dashboard:
    dash = await get_dashboard(conn, who.org_id, uid=uid, id=id)
    if dash is None:
        raise AppError.not_found("Dashboard not found")
    if not await can_view_dashboard(conn, who, dash):
        raise AppError.forbidden("Access denied to this dashboard")
    return dash


async def _star(
    request: Request, who: Identity, *, uid: str | None = None, id: int | None = None
) -> Response:
    s = services(request)
    try:
        async with s.db.write() as conn:
            dash = await _visible(conn, who, uid=uid, id=id)
            await prefs.add_star(conn, who.org_id, who.user_id, dash.id, dash.uid, now_ms(s.clock))
    except IntegrityError:
        pass  # starred at the same instant by another request of the same user: starred either way
    return message("Dashboard starred!")


async def _unstar(
    request: Request, who: Identity, *, uid: str | None = None, id: int | None = None
) -> Response:
    async with services(request).db.write() as conn:
        dash = await _visible(conn, who, uid=uid, id=id)
        await prefs.remove_star(conn, who.org_id, who.user_id, dash.uid)
    return message("Dashboard unstarred")


@router.post("/api/user/stars/dashboard/uid/{uid}")
async def star_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _star(request, who, uid=uid)


@router.delete("/api/user/stars/dashboard/uid/{uid}")
async def unstar_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _unstar(request, who, uid=uid)


@router.post("/api/user/stars/dashboard/{dashboard_id}")
async def star_by_id(dashboard_id: int, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _star(request, who, id=dashboard_id)


@router.delete("/api/user/stars/dashboard/{dashboard_id}")
async def unstar_by_id(dashboard_id: int, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _unstar(request, who, id=dashboard_id)
