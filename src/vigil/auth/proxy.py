"""Auth proxy: a reverse proxy authenticates the user and names them in a header (``[auth.proxy]``).

The header is trusted only from the ``whitelist`` addresses (when one is set). The user named by
the header is synced to the database (created when ``auto_sign_up`` allows, name, e-mail, role and
team membership updated from the optional ``headers``) at most once per ``sync_ttl``: the mapping
from header values to user id is kept in the session store, so every replica shares it and a
cluster of N replicas syncs a user once, not N times. With ``enable_login_token`` the first
proxy-authenticated request also gets a normal session cookie.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from vigil.auth.authenticate import Authenticator
from vigil.auth.models import Identity, User, normalise_role
from vigil.auth.service import IdentityService
from vigil.auth.tables import org_user, team, team_member, user
from vigil.config import Config
from vigil.errors import AppError, ConfigError
from vigil.sessions.base import SessionStore, SessionStoreUnavailable
from vigil.storage import now_ms

log = logging.getLogger("vigil.auth.proxy")
SECTION = "auth.proxy"
PROPERTIES = ("Name", "Email", "Role", "Groups")
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_sync_ttl(raw: str) -> float:
    """Seconds from ``sync_ttl``: a plain number is minutes (as in Grafana), or a duration with a unit."""
    m = _TTL.match(raw)
    if not m:
        raise ConfigError(
            f"invalid value {raw!r} for [{SECTION}] sync_ttl: accepted minutes (15) or a duration (30s, 1h)"
        )
    return float(m.group(1)) * _UNITS[m.group(2) or "m"]


def parse_whitelist(raw: str) -> list[Network]:
    out: list[Network] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"invalid address {item!r} in [{SECTION}] whitelist: accepted IP addresses and CIDR networks"
            ) from None
    return out


def parse_headers(raw: str) -> dict[str, str]:
    """``Name:X-WEBAUTH-NAME Email:X-WEBAUTH-EMAIL`` → {"Name": "X-WEBAUTH-NAME", ...}."""
    out: dict[str, str] = {}
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        prop, sep, header = item.partition(":")
        canonical = next((p for p in PROPERTIES if p.lower() == prop.strip().lower()), None)
        if not sep or not header.strip() or canonical is None:
            raise ConfigError(
                f"invalid entry {item!r} in [{SECTION}] headers: accepted Property:Header pairs with "
                f"Property among {', '.join(PROPERTIES)}"
            )
        out[canonical] = header.strip()
    return out


@dataclass(frozen=True)
class ProxySettings:
    enabled: bool
    header_name: str
    header_property: str
    auto_sign_up: bool
    sync_ttl: float
    whitelist: list[Network] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    enable_login_token: bool = False

    @classmethod
    def from_config(cls, config: Config) -> ProxySettings:
        return cls(
            enabled=config.get_bool(SECTION, "enabled"),
            header_name=config.get(SECTION, "header_name") or "X-WEBAUTH-USER",
            header_property=config.get_choice(SECTION, "header_property", ["username", "email"]),
            auto_sign_up=config.get_bool(SECTION, "auto_sign_up"),
            sync_ttl=parse_sync_ttl(config.get(SECTION, "sync_ttl")),
            whitelist=parse_whitelist(config.get(SECTION, "whitelist")),
            headers=parse_headers(config.get(SECTION, "headers")),
            enable_login_token=config.get_bool(SECTION, "enable_login_token"),
        )


@dataclass
class ProxyResult:
    identity: Identity
    new_session_token: str | None = None


class AuthProxy:
    def __init__(
        self,
        settings: ProxySettings,
        identities: IdentityService,
        sessions: SessionStore,
        auth: Authenticator,
        registry: CollectorRegistry,
    ) -> None:
        self.settings = settings
        self.identities = identities
        self.db = identities.db
        self.sessions = sessions
        self.auth = auth
        self.syncs = Counter(
            "vigil_auth_proxy_user_syncs_total",
            "Users synced from auth-proxy headers to the database by this replica",
            registry=registry,
        )

    def trusted(self, client_ip: str) -> bool:
        if not self.settings.whitelist:
            return True
        try:
            addr = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.settings.whitelist)

    def _extra(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for prop, header in self.settings.headers.items():
            value = headers.get(header)
            if value is not None and value.strip():
                out[prop] = value.strip()
        return out

    def cache_key(self, value: str, extra: dict[str, str]) -> str:
        material = "\x00".join(
            [self.settings.header_name, value, *(f"{k}={v}" for k, v in sorted(extra.items()))]
        )
        return "authproxy:" + hashlib.sha256(material.encode()).hexdigest()

    async def authenticate(
        self,
        value: str,
        headers: Mapping[str, str],
        client_ip: str,
        cookie: str | None,
        org_header: str | None,
    ) -> ProxyResult:
        value = value.strip()
        if not self.trusted(client_ip):
            log.warning("auth proxy header for %r from untrusted address %s refused", value, client_ip)
            raise AppError(
                407, f"Request for user {value!r} from {client_ip} is not from the authentication proxy"
            )
        requested_org: int | None = None
        if org_header:
            try:
                requested_org = int(org_header)
            except ValueError:
                raise AppError.bad_request("X-Grafana-Org-Id must be an integer") from None
        extra = self._extra(headers)
        key = self.cache_key(value, extra)
        local_key = f"p:{key}:{requested_org}"
        identity: Identity | None = self.auth.cache.get(local_key)
        if identity is None:
            # The shared cache saves work; it is not needed to authenticate: while the session store
            # is down, proxy users are synced against the database on every (uncached) request.
            store_up = True
            try:
                cached = await self.sessions.cache_get(key)
            except SessionStoreUnavailable:
                cached, store_up = None, False
            user_id = int(cached) if cached and cached.isdigit() else None
            if user_id is None:
                user_id = await self.sync(value, extra)
                self.syncs.inc()
                if store_up:
                    with contextlib.suppress(SessionStoreUnavailable):
                        await self.sessions.cache_set(key, str(user_id), self.settings.sync_ttl)
            identity = await self.auth.identity_for_user(user_id, "proxy", requested_org)
            self.auth.cache.put(local_key, identity)
        token = None
        if self.settings.enable_login_token:
            session = await self.sessions.lookup(cookie) if cookie else None
            if session is None or session.user_id != identity.user_id:
                token, _ = await self.sessions.create(
                    identity.user_id, client_ip, headers.get("user-agent", "")
                )
        return ProxyResult(identity, token)

    # -- user sync ----------------------------------------------------------------------------

    async def sync(self, value: str, extra: dict[str, str]) -> int:
        """Create or update the user the header names; the user id."""
        if not value:
            raise AppError.unauthorized("Empty auth proxy header")
        found = await self.identities.find_user(value)
        if found is None:
            if not self.settings.auto_sign_up:
                raise AppError.unauthorized(f"User {value!r} not found and auto_sign_up is off")
            found = await self._sign_up(value, extra)
        else:
            await self._update(found, extra)
        if "Groups" in extra:
            await self._sync_teams(found, [g.strip() for g in extra["Groups"].split(",") if g.strip()])
        return found.id

    async def _sign_up(self, value: str, extra: dict[str, str]) -> User:
        email = extra.get("Email") or (value if self.settings.header_property == "email" else "")
        try:
            created = await self.identities.create_user(
                login=value,
                password=secrets.token_urlsafe(32),  # never told to anyone: proxy users do not log in
                email=email,
                name=extra.get("Name", ""),
                role=normalise_role(extra.get("Role")) or "Viewer",
            )
        except AppError as exc:
            if exc.status_code != 412:
                raise
            again = await self.identities.find_user(value)  # another replica signed them up first
            if again is None:
                raise
            return again
        async with self.db.write() as conn:
            await conn.execute(update(user).where(user.c.id == created.id).values(is_external=True))
        log.info("auth proxy signed up user %r (id %d)", value, created.id)
        return created

    async def _update(self, found: User, extra: dict[str, str]) -> None:
        changes: dict[str, Any] = {}
        if extra.get("Name") and extra["Name"] != found.name:
            changes["name"] = extra["Name"]
        if extra.get("Email") and extra["Email"] != found.email:
            changes["email"] = extra["Email"]
        now = now_ms(self.identities.clock)
        async with self.db.write() as conn:
            if changes:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            update(user).where(user.c.id == found.id).values(**changes, updated=now)
                        )
                except IntegrityError:
                    log.warning(
                        "auth proxy: e-mail %r of %r belongs to another user",
                        changes.get("email"),
                        found.login,
                    )
            role = normalise_role(extra.get("Role"))
            if role is not None:
                result = await conn.execute(
                    update(org_user)
                    .where(and_(org_user.c.user_id == found.id, org_user.c.org_id == found.org_id))
                    .values(role=role, updated=now)
                )
                if result.rowcount == 0:
                    await conn.execute(
                        insert(org_user).values(
                            org_id=found.org_id, user_id=found.id, role=role, created=now, updated=now
                        )
                    )

    async def _sync_teams(self, found: User, groups: list[str]) -> None:
        """Membership of the teams of the user's org named like the groups; an external (proxy-made)
        user also leaves the teams of that org whose names are not among the groups."""
        now = now_ms(self.identities.clock)
        async with self.db.write() as conn:
            teams = {
                row.name: row.id
                for row in (
                    await conn.execute(select(team.c.id, team.c.name).where(team.c.org_id == found.org_id))
                ).all()
            }
            current = {
                row.team_id
                for row in (
                    await conn.execute(
                        select(team_member.c.team_id).where(
                            and_(team_member.c.user_id == found.id, team_member.c.org_id == found.org_id)
                        )
                    )
                ).all()
            }
            wanted = {teams[g] for g in groups if g in teams}
            for team_id in wanted - current:
                await conn.execute(
                    insert(team_member).values(
                        org_id=found.org_id,
                        team_id=team_id,
                        user_id=found.id,
                        permission=0,
                        created=now,
                        updated=now,
                    )
                )
            if found.is_external and current - wanted:
                await conn.execute(
                    delete(team_member).where(
                        and_(team_member.c.user_id == found.id, team_member.c.team_id.in_(current - wanted))
                    )
                )


def auth_proxy(app_state: Any) -> AuthProxy | None:
    """The AuthProxy of one app (built on first use), or None when ``[auth.proxy] enabled`` is off."""
    proxy: AuthProxy | bool | None = getattr(app_state, "vigil_auth_proxy", False)
    if proxy is False:
        s = app_state.vigil
        settings = ProxySettings.from_config(s.config)
        proxy = (
            AuthProxy(settings, s.identities, s.sessions, s.auth, s.metrics.registry)
            if settings.enabled
            else None
        )
        app_state.vigil_auth_proxy = proxy
    return proxy if isinstance(proxy, AuthProxy) else None
