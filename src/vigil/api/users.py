"""Users as seen by a server admin (/api/users...) and the signed-in user's teams and profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.api.teams import team_dto
from vigil.api.user import user_profile
from vigil.auth.models import Identity, User
from vigil.clock import iso
from vigil.errors import AppError
from vigil.http.identity import identity, server_admin, services
from vigil.http.params import json_object, opt_str, paging, query_text
from vigil.http.responses import json_response, message

router = APIRouter()


def age(then_ms: int, now_ms: int) -> str:
    """How long ago, compactly: ``< 1m``, ``5m``, ``3h``, ``2d``, ``4M``, ``1y``; ``never`` for 0."""
    if then_ms <= 0:
        return "never"
    minutes = max(now_ms - then_ms, 0) // 60_000
    for size, unit in ((525_600, "y"), (43_200, "M"), (1_440, "d"), (60, "h"), (1, "m")):
        if minutes >= size:
            return f"{minutes // size}{unit}"
    return "< 1m"


def last_seen(then_ms: int, now_ms: int) -> dict[str, str]:
    return {"lastSeenAt": iso(max(then_ms, 0) / 1000), "lastSeenAtAge": age(then_ms, now_ms)}


def user_list_item(u: User, now_ms: int) -> dict[str, Any]:
    return {
        "id": u.id,
        "uid": u.uid,
        "name": u.name,
        "login": u.login,
        "email": u.email,
        "avatarUrl": "",
        "isAdmin": u.is_admin,
        "isDisabled": u.is_disabled,
        "isExternal": u.is_external,
        **last_seen(u.last_seen_at, now_ms),
        "authLabels": [],
    }


async def _profile_update(request: Request, user_id: int) -> None:
    body = await json_object(request)
    await services(request).users.update_profile(
        user_id,
        login=opt_str(body, "login"),
        email=opt_str(body, "email"),
        name=opt_str(body, "name"),
        theme=opt_str(body, "theme"),
    )
    services(request).auth.forget()


@router.get("/api/users")
async def list_users(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    """A plain array, ``[]`` past the last page (grafana-client loops until it gets one)."""
    s = services(request)
    page = paging(request)
    found = await s.users.search(query_text(request, "query"), page.offset, page.limit)
    now = s.identities.now()
    return json_response([user_list_item(u, now) for u in found.users])


@router.get("/api/users/search")
async def search_users(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    page = paging(request)
    found = await s.users.search(query_text(request, "query"), page.offset, page.limit)
    now = s.identities.now()
    return json_response(
        {
            "totalCount": found.total,
            "users": [user_list_item(u, now) for u in found.users],
            "page": page.page,
            "perPage": page.per_page,
        }
    )


@router.get("/api/users/lookup")
async def lookup_user(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    key = query_text(request, "loginOrEmail")
    if not key:
        raise AppError.bad_request("loginOrEmail is required")
    found = await services(request).users.lookup(key)
    return json_response(user_profile(found, found.org_id))


@router.get("/api/users/{user_id}")
async def get_user(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    found = await services(request).users.get(user_id)
    return json_response(user_profile(found, found.org_id))


@router.put("/api/users/{user_id}")
async def update_user(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    await _profile_update(request, user_id)
    return message("User updated")


@router.get("/api/users/{user_id}/orgs")
async def user_orgs(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    await s.users.get(user_id)
    return json_response(await s.identities.user_orgs(user_id))


@router.get("/api/users/{user_id}/teams")
async def user_teams(user_id: int, request: Request, who: Identity = Depends(server_admin)) -> Response:
    """The user's teams in the caller's current org."""
    s = services(request)
    await s.users.get(user_id)
    teams = await s.teams.of_user(who.org_id, user_id)
    perms = await s.teams.permissions_of(who.org_id, user_id)
    return json_response([team_dto(t, perms.get(t.id, 0)) for t in teams])


@router.post("/api/users/{user_id}/using/{org_id}")
async def switch_user_org(
    user_id: int, org_id: int, request: Request, _who: Identity = Depends(server_admin)
) -> Response:
    s = services(request)
    await s.users.get(user_id)
    await s.identities.switch_org(user_id, org_id)
    s.auth.forget()
    return message("Active organization changed")


@router.get("/api/user/teams")
async def my_teams(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    teams = await s.teams.of_user(who.org_id, who.user_id)
    perms = await s.teams.permissions_of(who.org_id, who.user_id)
    return json_response([team_dto(t, perms.get(t.id, 0)) for t in teams])


@router.put("/api/user")
async def update_me(request: Request, who: Identity = Depends(identity)) -> Response:
    if who.user.is_service_account:
        raise AppError.forbidden("Service accounts have no profile to update")
    await _profile_update(request, who.user_id)
    return message("User updated")
