"""Teams of the current org and their members.

Org Admins manage every team; a team admin (member with permission 4) manages their own team;
other members may read their teams. The search lists every team for an org Admin and the caller's
own teams for anyone else.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.auth.teams import ADMIN, MEMBER, Team, TeamMember, parse_permission
from vigil.errors import AppError
from vigil.http.identity import org_admin, services, viewer
from vigil.http.params import json_object, opt_int, opt_str, paging, query_text, req_str
from vigil.http.responses import json_response, message

router = APIRouter()


def team_dto(t: Team, permission: int) -> dict[str, Any]:
    return {
        "id": t.id,
        "uid": t.uid,
        "orgId": t.org_id,
        "name": t.name,
        "email": t.email,
        "avatarUrl": "",
        "memberCount": t.member_count,
        "permission": permission,
    }


def member_dto(m: TeamMember) -> dict[str, Any]:
    return {
        "orgId": m.org_id,
        "teamId": m.team_id,
        "teamUID": m.team_uid,
        "userId": m.user_id,
        "userUID": m.user_uid,
        "email": m.email,
        "name": m.name,
        "login": m.login,
        "avatarUrl": "",
        "labels": [],
        "permission": m.permission,
        "auth_module": "",
    }


async def _require(request: Request, who: Identity, team_id: int, need: int) -> None:
    """Org Admins pass; otherwise the caller's team permission must reach ``need`` (MEMBER or ADMIN).
    A non-member gets the same 404 as a missing team, so team names do not leak."""
    if who.has_role("Admin"):
        return
    s = services(request)
    await s.teams.get(who.org_id, team_id)
    perm = await s.teams.permission_of(team_id, who.user_id)
    if perm is None:
        raise AppError.not_found("Team not found")
    if perm < need:
        raise AppError.forbidden("Access denied: requires org Admin or team admin")


@router.get("/api/teams/search")
async def search_teams(request: Request, who: Identity = Depends(viewer)) -> Response:
    s = services(request)
    page = paging(request)
    is_admin = who.has_role("Admin")
    total, found = await s.teams.search(
        who.org_id,
        query=query_text(request, "query"),
        name=query_text(request, "name"),
        offset=page.offset,
        limit=page.limit,
        member_id=None if is_admin else who.user_id,
    )
    perms = await s.teams.permissions_of(who.org_id, who.user_id)
    return json_response(
        {
            "totalCount": total,
            "teams": [team_dto(t, ADMIN if is_admin else perms.get(t.id, MEMBER)) for t in found],
            "page": page.page,
            "perPage": page.per_page,
        }
    )


@router.post("/api/teams")
async def create_team(request: Request, who: Identity = Depends(org_admin)) -> Response:
    body = await json_object(request)
    created = await services(request).teams.create(
        who.org_id, req_str(body, "name"), opt_str(body, "email") or ""
    )
    return message("Team created", teamId=created.id, uid=created.uid)


@router.get("/api/teams/{team_id}")
async def get_team(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _require(request, who, team_id, MEMBER)
    s = services(request)
    found = await s.teams.get(who.org_id, team_id)
    perm = ADMIN if who.has_role("Admin") else await s.teams.permission_of(team_id, who.user_id)
    return json_response(team_dto(found, perm or MEMBER))


@router.put("/api/teams/{team_id}")
async def update_team(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _require(request, who, team_id, ADMIN)
    body = await json_object(request)
    await services(request).teams.update(who.org_id, team_id, opt_str(body, "name"), opt_str(body, "email"))
    return message("Team updated")


@router.delete("/api/teams/{team_id}")
async def delete_team(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _require(request, who, team_id, ADMIN)
    await services(request).teams.delete(who.org_id, team_id)
    return message("Team deleted")


@router.get("/api/teams/{team_id}/members")
async def team_members(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _require(request, who, team_id, ADMIN)
    found = await services(request).teams.members(who.org_id, team_id)
    return json_response([member_dto(m) for m in found])


@router.post("/api/teams/{team_id}/members")
async def add_team_member(team_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _require(request, who, team_id, ADMIN)
    body = await json_object(request)
    user_id = opt_int(body, "userId")
    if user_id is None:
        raise AppError.bad_request("bad request data: userId is required")
    permission = MEMBER if body.get("permission") is None else parse_permission(body.get("permission"))
    await services(request).teams.add_member(who.org_id, team_id, user_id, permission)
    return message("Member added to Team")


@router.put("/api/teams/{team_id}/members/{user_id}")
async def update_team_member(
    team_id: int, user_id: int, request: Request, who: Identity = Depends(viewer)
) -> Response:
    await _require(request, who, team_id, ADMIN)
    body = await json_object(request)
    await services(request).teams.set_member_permission(
        who.org_id, team_id, user_id, parse_permission(body.get("permission"))
    )
    return message("Team member updated")


@router.delete("/api/teams/{team_id}/members/{user_id}")
async def remove_team_member(
    team_id: int, user_id: int, request: Request, who: Identity = Depends(viewer)
) -> Response:
    await _require(request, who, team_id, ADMIN)
    await services(request).teams.remove_member(who.org_id, team_id, user_id)
    return message("Team Member removed")
