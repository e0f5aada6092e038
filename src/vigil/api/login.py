"""POST /login, GET /logout: session cookies."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from vigil.errors import AppError
from vigil.http.identity import client_ip, services, session_cookie, set_cookie_header
from vigil.http.responses import message
from vigil.http.security import safe_redirect

router = APIRouter()


async def _login_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    ctype = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in ctype:
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise AppError.bad_request("bad request data: body is not valid JSON") from None
    if not isinstance(body, dict):
        raise AppError.bad_request("bad request data: expected an object with user and password")
    return body


@router.post("/login")
async def login(request: Request) -> Response:
    s = services(request)
    s.security.check_origin(request)  # no login forced on a visitor by another site (login CSRF)
    body = await _login_body(request)
    login_name = body.get("user") or body.get("username") or body.get("login")
    password = body.get("password")
    if not isinstance(login_name, str) or not isinstance(password, str) or not login_name or not password:
        raise AppError.bad_request("user and password are required")
    ip = client_ip(request)
    await s.bruteforce.check(login_name, ip)
    user = await s.identities.authenticate(login_name, password)
    if user is None or user.is_disabled or user.is_service_account:
        await s.bruteforce.failed(login_name, ip)
        raise AppError.unauthorized("Invalid username or password")
    await s.bruteforce.succeeded(login_name, ip)
    # session fixation: always a new, server-generated token; a token the request brought is never adopted
    token, _session = await s.sessions.create(user.id, ip, request.headers.get("user-agent", ""))
    await s.identities.touch_seen(user.id)
    set_cookie_header(request, session_cookie(s, token))
    target = body.get("redirectTo") or request.query_params.get("redirectTo")
    return message("Logged in", redirectUrl=safe_redirect(target))


@router.get("/logout", response_class=RedirectResponse, status_code=302)
async def logout(request: Request) -> Response:
    s = services(request)
    token = request.cookies.get(s.cookie.name)
    if token:
        session = await s.sessions.lookup(token)
        if session is not None:
            await s.sessions.revoke(session)
        s.auth.forget()
    set_cookie_header(request, session_cookie(s, "", clear=True))
    return RedirectResponse("/login", status_code=302)
