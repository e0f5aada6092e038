"""Request plumbing shared by every route: the services, the caller's identity, role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import Depends, Request

from vigil.auth.authenticate import parse_credentials
from vigil.auth.models import Identity
from vigil.auth.proxy import auth_proxy
from vigil.errors import AppError

if TYPE_CHECKING:
    from vigil.app import Services


def services(request: Request) -> Services:
    return request.app.state.vigil  # type: ignore[no-any-return]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def set_cookie_header(request: Request, value: str) -> None:
    """Ask the outer app to add a Set-Cookie header to whatever response this request gets."""
    request.state.set_cookie = value


def session_cookie(s: Services, token: str, clear: bool = False) -> str:
    c = s.cookie
    parts = [f"{c.name}={'' if clear else token}", "Path=/", "HttpOnly"]
    parts.append("Max-Age=0" if clear else f"Max-Age={c.max_age}")
    if c.samesite != "disabled":
        parts.append(f"SameSite={c.samesite.capitalize()}")
    if c.secure or c.samesite == "none":
        parts.append("Secure")
    return "; ".join(parts)


async def optional_identity(request: Request) -> Identity | None:
    cached = getattr(request.state, "identity", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    s = services(request)
    proxy = None if "authorization" in request.headers else auth_proxy(request.app.state)
    proxy_user = request.headers.get(proxy.settings.header_name) if proxy is not None else None
    if proxy is not None and proxy_user:
        # the proxy adds its header to every request the browser makes, cross-site ones too: an
        # ambient credential like the cookie, so writes get the same origin check
        s.security.check_origin(request)
        found = await proxy.authenticate(
            proxy_user,
            request.headers,
            client_ip(request),
            request.cookies.get(s.cookie.name),
            request.headers.get("x-grafana-org-id"),
        )
        if found.new_session_token:
            set_cookie_header(request, session_cookie(s, found.new_session_token))
        request.state.identity = found.identity
        return found.identity
    creds = parse_credentials(request.headers.get("authorization"), request.cookies.get(s.cookie.name))
    if creds is None:
        return None
    if creds.kind == "session":
        s.security.check_origin(request)  # CSRF: cookie-authenticated writes from our own origin only
    result = await s.auth.resolve(creds, request.headers.get("x-grafana-org-id"), client_ip(request))
    if result.new_session_token:
        set_cookie_header(request, session_cookie(s, result.new_session_token))
    request.state.identity = result.identity
    return result.identity


async def identity(request: Request) -> Identity:
    found = await optional_identity(request)
    if found is None:
        raise AppError.unauthorized()
    return found


def _role_dependency(role: str) -> Callable[..., Awaitable[Identity]]:
    async def check(who: Identity = Depends(identity)) -> Identity:
        if not who.has_role(role) and not (role == "Viewer" and who.is_server_admin):
            raise AppError.forbidden(f"Access denied: requires the {role} role in this organization")
        return who

    return check


async def server_admin(who: Identity = Depends(identity)) -> Identity:
    if not who.is_server_admin:
        raise AppError.forbidden("Access denied: requires server admin")
    return who


viewer = _role_dependency("Viewer")
editor = _role_dependency("Editor")
org_admin = _role_dependency("Admin")
