"""Service accounts of the current org and their tokens (org Admins).

A token's key is shown once, in the creation response; only its hash is stored. Deleting a token,
disabling or deleting its account, or lowering the account's role takes effect on this replica at
once and on the others within ``[auth] token_cache_seconds``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.auth.orgs import parse_role
from vigil.auth.serviceaccount_admin import ServiceAccount
from vigil.clock import iso
from vigil.errors import AppError
from vigil.http.identity import org_admin, services
from vigil.http.params import json_object, opt_bool, opt_int, opt_str, paging, query_text, req_str
from vigil.http.responses import json_response, message

router = APIRouter()


def sa_dto(a: ServiceAccount) -> dict[str, Any]:
    return {
        "id": a.id,
        "uid": a.uid,
        "name": a.name,
        "login": a.login,
        "orgId": a.org_id,
        "isDisabled": a.is_disabled,
        "isExternal": False,
        "role": a.role,
        "tokens": a.tokens,
        "avatarUrl": "",
    }


def token_dto(row: dict[str, Any], now_ms: int) -> dict[str, Any]:
    expires = row["expires"]
    return {
        "id": row["id"],
        "name": row["name"],
        "created": iso(row["created"] / 1000),
        "lastUsedAt": iso(row["last_used_at"] / 1000) if row["last_used_at"] else None,
        "expiration": iso(expires / 1000) if expires is not None else None,
        "secondsUntilExpiration": max((expires - now_ms) / 1000, 0) if expires is not None else 0,
        "hasExpired": expires is not None and expires <= now_ms,
        "isRevoked": bool(row["is_revoked"]),
    }


@router.post("/api/serviceaccounts")
async def create_service_account(request: Request, who: Identity = Depends(org_admin)) -> Response:
    s = services(request)
    body = await json_object(request)
    role = parse_role(body["role"]) if body.get("role") is not None else "Viewer"
    sa_id = await s.service_accounts.create(
        who.org_id, req_str(body, "name"), role=role, is_disabled=bool(opt_bool(body, "isDisabled"))
    )
    return json_response(sa_dto(await s.service_account_admin.get(who.org_id, sa_id)), 201)


@router.get("/api/serviceaccounts/search")
async def search_service_accounts(request: Request, who: Identity = Depends(org_admin)) -> Response:
    s = services(request)
    page = paging(request)
    raw_disabled = query_text(request, "disabled").lower()
    disabled = {"true": True, "false": False}.get(raw_disabled)
    total, found = await s.service_account_admin.search(
        who.org_id, query_text(request, "query"), page.offset, page.limit, disabled
    )
    return json_response(
        {
            "totalCount": total,
            "serviceAccounts": [sa_dto(a) for a in found],
            "page": page.page,
            "perPage": page.per_page,
        }
    )


@router.get("/api/serviceaccounts/{sa_id}")
async def get_service_account(sa_id: int, request: Request, who: Identity = Depends(org_admin)) -> Response:
    found = sa_dto(await services(request).service_account_admin.get(who.org_id, sa_id))
    if query_text(request, "accesscontrol").lower() == "true":
        found["accessControl"] = {
            "serviceaccounts:read": True,
            "serviceaccounts:write": True,
            "serviceaccounts:delete": True,
        }
    return json_response(found)


@router.patch("/api/serviceaccounts/{sa_id}")
async def update_service_account(
    sa_id: int, request: Request, who: Identity = Depends(org_admin)
) -> Response:
    s = services(request)
    body = await json_object(request)
    role = parse_role(body["role"]) if body.get("role") is not None else None
    updated = await s.service_account_admin.update(
        who.org_id, sa_id, name=opt_str(body, "name"), role=role, is_disabled=opt_bool(body, "isDisabled")
    )
    s.auth.forget()
    return message(
        "Service account updated", id=updated.id, name=updated.name, serviceaccount=sa_dto(updated)
    )


@router.delete("/api/serviceaccounts/{sa_id}")
async def delete_service_account(
    sa_id: int, request: Request, who: Identity = Depends(org_admin)
) -> Response:
    s = services(request)
    await s.service_account_admin.delete(who.org_id, sa_id)
    s.auth.forget()
    return message("Service account deleted")


@router.get("/api/serviceaccounts/{sa_id}/tokens")
async def list_tokens(sa_id: int, request: Request, who: Identity = Depends(org_admin)) -> Response:
    s = services(request)
    await s.service_account_admin.get(who.org_id, sa_id)
    now = s.identities.now()
    return json_response([token_dto(t, now) for t in await s.service_accounts.tokens(who.org_id, sa_id)])


@router.post("/api/serviceaccounts/{sa_id}/tokens")
async def create_token(sa_id: int, request: Request, who: Identity = Depends(org_admin)) -> Response:
    s = services(request)
    body = await json_object(request)
    seconds = opt_int(body, "secondsToLive")
    if seconds is not None and seconds < 0:
        raise AppError.bad_request("secondsToLive must be 0 (no expiry) or a positive number of seconds")
    token = await s.service_accounts.add_token(who.org_id, sa_id, req_str(body, "name"), seconds)
    return json_response({"id": token.id, "name": token.name, "key": token.key})


@router.delete("/api/serviceaccounts/{sa_id}/tokens/{token_id}")
async def delete_token(
    sa_id: int, token_id: int, request: Request, who: Identity = Depends(org_admin)
) -> Response:
    s = services(request)
    await s.service_account_admin.get(who.org_id, sa_id)
    await s.service_accounts.delete_token(who.org_id, sa_id, token_id)
    s.auth.forget()
    return message("Service account token deleted")
