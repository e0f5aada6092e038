"""Server administration: /api/admin/users..., /api/admin/settings, /api/admin/stats (server admins).

Every change that takes access away (password reset, disable, delete, admin flag) revokes the
user's sessions where it should and clears this replica's credential cache at once; other replicas
drop theirs within ``[auth] token_cache_seconds``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.config import mask
from vigil.errors import AppError
from vigil.http.identity import server_admin, services
from vigil.http.params import json_object, opt_bool, opt_int, opt_str
from vigil.http.responses import json_response, message

router = APIRouter()
MIN_PASSWORD = 4


@router.post("/api/admin/users")
async def create_user(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    body = await json_object(request)
    login = (opt_str(body, "login") or "").strip()
    email = (opt_str(body, "email") or "").strip()
    name = (opt_str(body, "name") or "").strip()
    password = opt_str(body, "password") or ""
    org_id = opt_int(body, "orgId")
    if not login and not email:
        raise AppError.bad_request("Validation error, need to specify either username or email")
    if len(password) < MIN_PASSWORD:
        raise AppError.bad_request("Password is missing or too short")
    await s.users.assert_creatable(login or email, email or login)
    created = await s.identities.create_user(
        login=login or email, email=email, name=name, password=password, org_id=org_id or None
    )
    return message("User created", id=created.id, uid=created.uid)


@router.put("/api/admin/users/{user_id}/password")
async def set_password(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    body = await json_object(request)
    password = opt_str(body, "password") or ""
    if len(password) < MIN_PASSWORD:
        raise AppError.bad_request("New password too short")
    await s.users.get(user_id)
    await s.identities.set_password(user_id, password)
    await s.sessions.revoke_user(user_id)
    s.auth.forget()
    return message("User password updated")


@router.put("/api/admin/users/{user_id}/permissions")
async def set_permissions(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    body = await json_object(request)
    is_admin = opt_bool(body, "isGrafanaAdmin")
    if is_admin is None:
        raise AppError.bad_request("bad request data: isGrafanaAdmin is required")
    await s.users.set_server_admin(user_id, is_admin)
    s.auth.forget()
    return message("User permissions updated")


@router.delete("/api/admin/users/{user_id}")
async def delete_user(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    await s.users.delete(user_id)
    await s.sessions.revoke_user(user_id)
    s.auth.forget()
    return message("User deleted")


@router.post("/api/admin/users/{user_id}/disable")
async def disable_user(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    await s.users.set_disabled(user_id, True)
    await s.sessions.revoke_user(user_id)
    s.auth.forget()
    return message("User disabled")


@router.post("/api/admin/users/{user_id}/enable")
async def enable_user(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    await s.users.set_disabled(user_id, False)
    s.auth.forget()
    return message("User enabled")


@router.post("/api/admin/users/{user_id}/logout")
async def logout_user(user_id: int, request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    await s.users.get(user_id)
    await s.sessions.revoke_user(user_id)
    s.auth.forget()
    return message("User logged out")


@router.get("/api/admin/settings")
async def settings(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    """The effective configuration as ``{section: {key: value}}``, secrets masked."""
    values = services(request).config.values
    return json_response(
        {section: {key: mask(key, value) for key, value in kv.items()} for section, kv in values.items()}
    )


@router.get("/api/admin/stats")
async def stats(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    out = await s.users.stats()
    out["activeSessions"] = await s.sessions.active_count()
    return json_response(out)
