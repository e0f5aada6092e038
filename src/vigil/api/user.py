"""The signed-in user: /api/user and friends."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity, User
from vigil.clock import iso
from vigil.errors import AppError
from vigil.http.identity import identity, services
from vigil.http.responses import dumps, json_response, message
from vigil.http.routing import json_read

router = APIRouter()


def user_profile(u: User, org_id: int) -> dict[str, Any]:
    return {
        "id": u.id,
        "uid": u.uid,
        "email": u.email,
        "name": u.name,
        "login": u.login,
        "theme": u.theme,
        "orgId": org_id,
        "isGrafanaAdmin": u.is_admin,
        "isDisabled": u.is_disabled,
        "isExternal": u.is_external,
        "isServiceAccount": u.is_service_account,
        "authLabels": [],
        "updatedAt": iso(u.updated / 1000),
        "createdAt": iso(u.created / 1000),
        "avatarUrl": "",
    }


@json_read(router, "/api/user")
async def current_user(request: Request) -> bytes:
    who = await identity(request)
    return dumps(user_profile(who.user, who.org_id))


@router.get("/api/user/orgs")
async def current_user_orgs(request: Request, who: Identity = Depends(identity)) -> Response:
    return json_response(await services(request).identities.user_orgs(who.user_id))


@router.post("/api/user/using/{org_id}")
async def switch_org(org_id: int, request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    await s.identities.switch_org(who.user_id, org_id)
    s.auth.forget()
    return message("Active organization changed")


@router.put("/api/user/password")
async def change_password(
    request: Request, body: dict[str, Any], who: Identity = Depends(identity)
) -> Response:
    s = services(request)
    old, new = body.get("oldPassword"), body.get("newPassword")
    confirm = body.get("confirmNew", new)
    if not isinstance(old, str) or not isinstance(new, str):
        raise AppError.bad_request("oldPassword and newPassword are required")
    if who.user.is_service_account:
        raise AppError.forbidden("Service accounts have no password")
    if confirm != new:
        raise AppError.bad_request("New password and its confirmation do not match")
    if await s.identities.authenticate(who.user.login, old) is None:
        raise AppError.unauthorized("Invalid old password")
    await s.identities.set_password(who.user_id, new)
    await s.sessions.revoke_user(who.user_id)
    s.auth.forget()
    return message("User password changed")


@router.get("/api/auth/keys")
async def legacy_api_keys(_who: Identity = Depends(identity)) -> Response:
    """Legacy API keys are migrated to service accounts: always an empty list (grafana-backup's check)."""
    return json_response([])
