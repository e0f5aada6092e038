"""Resolve a request's credentials to one Identity: Basic, Bearer token or session cookie.

One database round trip per request at most: the user, the token and the org role come back in one
query, and a resolved credential is cached for ``[auth] token_cache_seconds`` (default 1 s, the
cross-replica staleness budget of DESIGN §1) so hot clients pay for it once a second.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, literal, select, update
from sqlalchemy.sql import Select

from vigil.auth import passwords
from vigil.auth.bruteforce import BruteForceGuard
from vigil.auth.models import Identity, User
from vigil.auth.service import IdentityService
from vigil.auth.tables import api_token, org_user, user
from vigil.clock import Clock
from vigil.errors import AppError
from vigil.sessions.base import Session, SessionStore, SessionStoreUnavailable, needs_rotation
from vigil.storage import Database, now_ms

LAST_USED_PRECISION_MS = 60_000


@dataclass(frozen=True)
class Credentials:
    kind: str  # basic, token, session
    secret: str
    login: str = ""


@dataclass
class AuthResult:
    identity: Identity
    new_session_token: str | None = None


def parse_credentials(authorization: str | None, cookie: str | None) -> Credentials | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer" and value:
            return Credentials("token", value)
        if scheme == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise AppError.unauthorized("Invalid Basic Auth Header") from None
            login, sep, password = decoded.partition(":")
            if not sep:
                raise AppError.unauthorized("Invalid Basic Auth Header")
            if login == "api_key":
                return Credentials("token", password)
            return Credentials("basic", password, login)
        raise AppError.unauthorized("Unsupported authorization scheme")
    if cookie:
        return Credentials("session", cookie)
    return None


class _TTLCache:
    def __init__(self, clock: Clock, ttl: float, max_items: int = 10_000) -> None:
        self.clock = clock
        self.ttl = ttl
        self.max_items = max_items
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        if self.ttl <= 0:
            return None
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] < self.clock.monotonic():
            self._items.pop(key, None)
            return None
        return item[1]

    def put(self, key: str, value: Any) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self.max_items:
            self._items.clear()
        self._items[key] = (self.clock.monotonic() + self.ttl, value)

    def drop(self, key: str) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


def _user_with_role(org_id: int | None) -> Select[Any]:
    org_expr = user.c.org_id if org_id is None else literal(org_id)
    return select(user, org_user.c.role.label("org_role"), org_expr.label("active_org")).outerjoin(
        org_user, and_(org_user.c.user_id == user.c.id, org_user.c.org_id == org_expr)
    )


class Authenticator:
    def __init__(
        self,
        db: Database,
        identities: IdentityService,
        sessions: SessionStore,
        clock: Clock,
        secret_key: str,
        cache_seconds: float,
    ) -> None:
        self.db = db
        self.identities = identities
        self.sessions = sessions
        self.clock = clock
        self.secret_key = secret_key
        self.cache = _TTLCache(clock, cache_seconds)
        self._inflight: dict[str, asyncio.Future[Identity]] = {}
        # counts Basic auth failures like failed logins (set by the app; None: no lock-out)
        self.bruteforce: BruteForceGuard | None = None

    def _identity(self, row: Any, method: str, requested_org: int | None, session_id: str | None) -> Identity:
        u = User.from_row(row)
        if u.is_disabled:
            raise AppError.unauthorized("User is disabled")
        role = row._mapping["org_role"]
        org_id = int(row._mapping["active_org"])
        if role is None and requested_org is not None:
            raise AppError(403, f"Access denied to organization {requested_org}: not a member")
        return Identity(u, org_id, role or "None", method, session_id)

    async def resolve(self, creds: Credentials, org_header: str | None, client_ip: str = "") -> AuthResult:
        requested_org: int | None = None
        if org_header:
            try:
                requested_org = int(org_header)
            except ValueError:
                raise AppError.bad_request("X-Grafana-Org-Id must be an integer") from None
        if creds.kind == "token":
            return AuthResult(await self._by_token(creds.secret, requested_org))
        if creds.kind == "basic":
            return AuthResult(await self._by_password(creds.login, creds.secret, requested_org, client_ip))
        return await self._by_session(creds.secret, requested_org)

    async def _by_token(self, token: str, requested_org: int | None) -> Identity:
        h = passwords.token_hash(token)
        key = f"t:{h}:{requested_org}"
        cached = self.cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        # Single flight: when the cached entry expires under load, the concurrent requests with the
        # same token wait for one lookup instead of each asking the database.
        pending = self._inflight.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or task is None or task.cancelling():
                    raise
                # the request doing the lookup went away before it finished: do it here
        future: asyncio.Future[Identity] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            identity = await self._lookup_token(h, key, requested_org)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        except BaseException:
            future.cancel()
            raise
        else:
            future.set_result(identity)
            return identity
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    async def _lookup_token(self, h: str, key: str, requested_org: int | None) -> Identity:
        now = now_ms(self.clock)
        q = (
            _user_with_role(requested_org)
            .add_columns(
                api_token.c.id.label("token_id"),
                api_token.c.expires,
                api_token.c.is_revoked,
                api_token.c.last_used_at,
            )
            .join(api_token, api_token.c.service_account_id == user.c.id)
            .where(api_token.c.key_hash == h)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(q)).first()
        if row is None:
            raise AppError.unauthorized("Invalid API key")
        m = row._mapping
        if m["is_revoked"]:
            raise AppError.unauthorized("Invalid API key")
        if m["expires"] is not None and m["expires"] <= now:
            raise AppError.unauthorized("API key has expired")
        identity = self._identity(row, "token", requested_org, None)
        if (m["last_used_at"] or 0) < now - LAST_USED_PRECISION_MS:
            async with self.db.write() as conn:
                await conn.execute(
                    update(api_token).where(api_token.c.id == m["token_id"]).values(last_used_at=now)
                )
        self.cache.put(key, identity)
        return identity

    async def _by_password(
        self, login: str, password: str, requested_org: int | None, client_ip: str = ""
    ) -> Identity:
        key = "b:" + passwords.keyed_hash(self.secret_key, f"{login}\x00{password}\x00{requested_org}")
        cached = self.cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        guard = self.bruteforce
        if guard is not None:  # Basic auth is a login too: the same lock-out as POST /login
            await guard.check(login, client_ip)
        found = await self.identities.authenticate(login, password)
        if found is None or found.is_service_account:
            if guard is not None:
                await guard.failed(login, client_ip)
            raise AppError.unauthorized("Invalid username or password")
        if guard is not None:
            await guard.succeeded(login, client_ip)
        identity = await self.identity_for_user(found.id, "basic", requested_org)
        self.cache.put(key, identity)
        return identity

    async def identity_for_user(
        self, user_id: int, method: str, requested_org: int | None, session_id: str | None = None
    ) -> Identity:
        async with self.db.read() as conn:
            row = (await conn.execute(_user_with_role(requested_org).where(user.c.id == user_id))).first()
        if row is None:
            raise AppError.unauthorized()
        return self._identity(row, method, requested_org, session_id)

    async def _by_session(self, token: str, requested_org: int | None) -> AuthResult:
        key = "s:" + passwords.keyed_hash(self.secret_key, f"{token}\x00{requested_org}")
        cached: tuple[Session, Identity] | None = self.cache.get(key)
        try:
            if cached is None:
                session = await self.sessions.lookup(token)
                if session is None:
                    raise AppError.unauthorized()
                identity = await self.identity_for_user(session.user_id, "session", requested_org, session.id)
            else:
                session, identity = cached
            new_token = None
            if needs_rotation(session, now_ms(self.clock), self.sessions.policy):
                new_token = await self.sessions.rotate(session)
                self.cache.drop(key)
            elif cached is None:
                self.cache.put(key, (session, identity))
        except SessionStoreUnavailable:
            raise AppError.unavailable("session store unavailable") from None
        return AuthResult(identity, new_token)

    def forget(self) -> None:
        """Drop every cached credential of this replica (logout, password change, disable)."""
        self.cache.clear()
