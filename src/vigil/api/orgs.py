"""The current org (/api/org: any member reads it, Admins change it) and every org (/api/orgs: server
admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.api.users import last_seen
from vigil.auth.models import Identity
from vigil.auth.orgs import OrgMember, parse_role
from vigil.errors import AppError
from vigil.http.identity import org_admin, server_admin, services, viewer
from vigil.http.params import json_object, paging, query_text, req_str
from vigil.http.responses import json_response, message

router = APIRouter()


def org_member_dto(m: OrgMember, now_ms: int) -> dict[str, Any]:
    return {
        "orgId": m.org_id,
        "userId": m.user_id,
        "uid": m.uid,
        "email": m.email,
        "name": m.name,
        "login": m.login,
        "avatarUrl": "",
        "role": m.role,
        **last_seen(m.last_seen_at, now_ms),
        "isDisabled": m.is_disabled,
        "authLabels": [],
    }


# -- shared handlers (current org and /api/orgs/:id) ---------------------------------------------


async def _members(request: Request, org_id: int) -> Response:
    """The plain member array; ``limit`` caps it, ``query`` filters it."""
    s = services(request)
    raw_limit = query_text(request, "limit")
    if raw_limit and not raw_limit.isdigit():
        raise AppError.bad_request(f"limit must be an integer, got {raw_limit!r}")
    limit = int(raw_limit) if raw_limit and int(raw_limit) > 0 else None
    _total, found = await s.orgs.members(org_id, query_text(request, "query"), 0, limit)
    now = s.identities.now()
    return json_response([org_member_dto(m, now) for m in found])


async def _members_search(request: Request, org_id: int) -> Response:
    s = services(request)
    page = paging(request)
    total, found = await s.orgs.members(org_id, query_text(request, "query"), page.offset, page.limit)
    now = s.identities.now()
    return json_response(
        {
            "totalCount": total,
            "orgUsers": [org_member_dto(m, now) for m in found],
            "page": page.page,
            "perPage": page.per_page,
        }
    )


async def _add_member(request: Request, org_id: int) -> Response:
    s = services(request)
    body = await json_object(request)
    login_or_email = req_str(body, "loginOrEmail")
    role = parse_role(body.get("role", "Viewer"))
    user_id = await s.orgs.add_member(org_id, login_or_email, role)
    s.auth.forget()
    return message("User added to organization", userId=user_id)


async def _set_role(request: Request, org_id: int, user_ref: str) -> Response:
    s = services(request)
    body = await json_object(request)
    role = parse_role(body.get("role"))
    user_id = await s.orgs.resolve_member(org_id, user_ref)
    await s.orgs.set_role(org_id, user_id, role)
    s.auth.forget()
    return message("Organization user updated")


async def _remove_member(request: Request, org_id: int, user_ref: str) -> Response:
    s = services(request)
    user_id = await s.orgs.resolve_member(org_id, user_ref)
    await s.orgs.remove_member(org_id, user_id)
    s.auth.forget()
    return message("User removed from organization")


async def _rename(request: Request, org_id: int) -> Response:
    body = await json_object(request)
    await services(request).orgs.rename(org_id, req_str(body, "name"))
    return message("Organization updated")


async def _address(request: Request, org_id: int) -> Response:
    body = await json_object(request)
    address = body.get("address", body)
    if not isinstance(address, dict):
        raise AppError.bad_request("bad request data: address must be an object")
    await services(request).orgs.update_address(org_id, address)
    return message("Address updated")


# -- /api/org: the caller's current org ----------------------------------------------------------


@router.get("/api/org")
async def current_org(request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await services(request).orgs.get(who.org_id))


@router.put("/api/org")
async def update_current_org(request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _rename(request, who.org_id)


@router.put("/api/org/address")
async def update_current_org_address(request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _address(request, who.org_id)


@router.get("/api/org/users")
async def current_org_users(request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _members(request, who.org_id)


@router.get("/api/org/users/search")
async def current_org_users_search(request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _members_search(request, who.org_id)


@router.get("/api/org/users/lookup")
async def current_org_users_lookup(request: Request, who: Identity = Depends(org_admin)) -> Response:
    """A light list for pickers: ``[{userId, uid, login, avatarUrl}]``."""
    s = services(request)
    raw_limit = query_text(request, "limit")
    limit = int(raw_limit) if raw_limit.isdigit() and int(raw_limit) > 0 else None
    _total, found = await s.orgs.members(who.org_id, query_text(request, "query"), 0, limit)
    return json_response(
        [{"userId": m.user_id, "uid": m.uid, "login": m.login, "avatarUrl": ""} for m in found]
    )


@router.post("/api/org/users")
async def add_current_org_user(request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _add_member(request, who.org_id)


@router.patch("/api/org/users/{user_ref}")
async def update_current_org_user(
    user_ref: str, request: Request, who: Identity = Depends(org_admin)
) -> Response:
    return await _set_role(request, who.org_id, user_ref)


@router.delete("/api/org/users/{user_ref}")
async def remove_current_org_user(
    user_ref: str, request: Request, who: Identity = Depends(org_admin)
) -> Response:
    return await _remove_member(request, who.org_id, user_ref)


# -- /api/orgs: every org, server admins -------------------------------------------------------


@router.get("/api/orgs")
async def list_orgs(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    page = paging(request)
    found = await services(request).orgs.search(
        query_text(request, "query"), query_text(request, "name"), page.offset, page.limit
    )
    return json_response(found)


@router.post("/api/orgs")
async def create_org(request: Request, who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    body = await json_object(request)
    org_id = await s.orgs.create(req_str(body, "name"), None if who.user.is_service_account else who.user_id)
    s.auth.forget()
    return message("Organization created", orgId=org_id)


@router.get("/api/orgs/name/{name}")
async def org_by_name(name: str, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return json_response(await services(request).orgs.by_name(name))


@router.get("/api/orgs/{org_id}")
async def get_org(org_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return json_response(await services(request).orgs.get(org_id))


@router.put("/api/orgs/{org_id}")
async def update_org(org_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return await _rename(request, org_id)


@router.put("/api/orgs/{org_id}/address")
async def update_org_address(
    org_id: int, request: Request, _who: Identity = Depends(server_admin)
) -> Response:
    return await _address(request, org_id)


@router.delete("/api/orgs/{org_id}")
async def delete_org(org_id: int, request: Request, who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    if org_id == who.org_id:
        raise AppError.bad_request("Can not delete org for current user")
    await s.orgs.delete(org_id)
    s.auth.forget()
    return message("Organization deleted")


@router.get("/api/orgs/{org_id}/users")
async def org_users(org_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return await _members(request, org_id)


@router.get("/api/orgs/{org_id}/users/search")
async def org_users_search(org_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return await _members_search(request, org_id)


@router.post("/api/orgs/{org_id}/users")
async def add_org_user(org_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return await _add_member(request, org_id)


@router.patch("/api/orgs/{org_id}/users/{user_ref}")
async def update_org_user(
    org_id: int, user_ref: str, request: Request, _who: Identity = Depends(server_admin)
) -> Response:
    return await _set_role(request, org_id, user_ref)


@router.delete("/api/orgs/{org_id}/users/{user_ref}")
async def remove_org_user(
    org_id: int, user_ref: str, request: Request, _who: Identity = Depends(server_admin)
) -> Response:
    return await _remove_member(request, org_id, user_ref)
