"""The session-store protocol and the rules every backend shares.

A session token is 32 random bytes (256 bits), given to the browser once and stored only as an
HMAC keyed with ``[security] secret_key``. Tokens rotate every ``token_rotation_interval_minutes``;
the previous token stays valid for ``token_rotation_grace_seconds`` so that requests already in
flight with the old cookie, on any replica, still pass. Exactly one of several concurrent rotations
wins (a compare-and-set on the current token); the losers are served without a new cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from vigil.auth.passwords import keyed_hash
from vigil.errors import AppError


class SessionStoreUnavailable(AppError):
    """The store cannot be reached; cookie requests answer 503, never a logout.

    It is an ``AppError(503, "session store unavailable")`` so that wherever it escapes (login,
    logout, auth proxy) the client gets the same JSON answer; ``detail`` (logs, startup) says why.
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__(503, "session store unavailable")
        self.detail = detail

    def __str__(self) -> str:
        return f"session store unavailable: {self.detail}" if self.detail else self.message


@dataclass(frozen=True)
class SessionPolicy:
    inactive_ms: int
    absolute_ms: int
    rotation_ms: int
    grace_ms: int


@dataclass(frozen=True)
class Session:
    id: str
    user_id: int
    token_hash: str
    created_at: int
    rotated_at: int
    seen_at: int
    matched_previous: bool = False
    client_ip: str = ""
    user_agent: str = ""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(secret_key: str, token: str) -> str:
    return keyed_hash(secret_key, token)


def is_valid(s: Session, now: int, policy: SessionPolicy) -> bool:
    """The lifetime and grace rules, identical for every backend."""
    if now - s.created_at > policy.absolute_ms:
        return False
    if now - s.seen_at > policy.inactive_ms:
        return False
    return not (s.matched_previous and now - s.rotated_at > policy.grace_ms)


def needs_rotation(s: Session, now: int, policy: SessionPolicy) -> bool:
    """Due every rotation interval, or sooner when the inactive lifetime is short: a rotation is what
    records use (``seen_at``), so it must happen at least twice per inactive lifetime, or a session
    used more often than its inactive lifetime would still expire."""
    interval = min(policy.rotation_ms, policy.inactive_ms // 2)
    return not s.matched_previous and now - s.rotated_at >= interval


def expires_at(created_at: int, seen_at: int, policy: SessionPolicy) -> int:
    """When a session dies if nothing happens (epoch ms): the earlier of its two lifetimes."""
    return min(created_at + policy.absolute_ms, seen_at + policy.inactive_ms)


def new_session_id() -> str:
    """Identifier of a session in the key-value and file stores (not a secret: never a credential)."""
    return secrets.token_hex(12)


def new_record(user_id: int, token_hash: str, client_ip: str, user_agent: str, now: int) -> dict[str, Any]:
    """A new session as the file and memcached stores keep it: one compact JSON record (current and
    previous token hash, created, rotated and seen times in epoch ms)."""
    return {
        "id": new_session_id(),
        "u": user_id,
        "c": token_hash,
        "p": token_hash,
        "ca": now,
        "ra": now,
        "sa": now,
        "ip": client_ip[:64],
        "ua": user_agent[:255],
    }


def session_from_record(rec: dict[str, Any], matched_previous: bool) -> Session:
    return Session(
        id=rec["id"],
        user_id=int(rec["u"]),
        token_hash=rec["c"],
        created_at=int(rec["ca"]),
        rotated_at=int(rec["ra"]),
        seen_at=int(rec["sa"]),
        matched_previous=matched_previous,
        client_ip=rec.get("ip", ""),
        user_agent=rec.get("ua", ""),
    )


def record_is_valid(rec: dict[str, Any], now: int, policy: SessionPolicy) -> bool:
    return is_valid(session_from_record(rec, False), now, policy)


class SessionStore(Protocol):
    name: str
    policy: SessionPolicy

    async def create(self, user_id: int, client_ip: str, user_agent: str) -> tuple[str, Session]:
        """A new session and its token (the only time the token exists in clear)."""
        ...

    async def lookup(self, token: str) -> Session | None:
        """The live session this token (current, or previous within grace) belongs to."""
        ...

    async def rotate(self, session: Session) -> str | None:
        """Rotate if due; the new token when this call won the rotation, else None."""
        ...

    async def revoke(self, session: Session) -> None: ...

    async def revoke_user(self, user_id: int) -> int:
        """Revoke every session of a user (password change, disable, delete)."""
        ...

    async def active_count(self) -> int: ...

    async def cleanup(self) -> int:
        """Delete expired sessions where the store has no native expiry."""
        ...

    async def ping(self) -> None:
        """Raise SessionStoreUnavailable when the store cannot be reached."""
        ...

    async def cache_get(self, key: str) -> str | None:
        """A small shared value (auth-proxy user sync), None when absent or expired."""
        ...

    async def cache_set(self, key: str, value: str, ttl_seconds: float) -> None:
        """Store a small shared value that expires after ``ttl_seconds``."""
        ...

    async def close(self) -> None: ...
