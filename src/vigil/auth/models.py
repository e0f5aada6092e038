"""Value types of the identity feature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("Viewer", "Editor", "Admin")
ROLE_RANK = {"None": 0, "Viewer": 1, "Editor": 2, "Admin": 3}


def normalise_role(value: Any) -> str | None:
    """Accept 'viewer', 'Viewer', 'EDITOR'...; None when it is not a role."""
    if not isinstance(value, str):
        return None
    for role in ROLES:
        if value.strip().lower() == role.lower():
            return role
    return None


@dataclass(frozen=True)
class User:
    id: int
    uid: str
    login: str
    email: str
    name: str
    theme: str
    org_id: int
    is_admin: bool
    is_disabled: bool
    is_service_account: bool
    is_external: bool
    created: int
    updated: int
    last_seen_at: int
    password_hash: str = ""

    @classmethod
    def from_row(cls, row: Any) -> User:
        m = row._mapping
        return cls(
            id=m["id"],
            uid=m["uid"],
            login=m["login"],
            email=m["email"],
            name=m["name"],
            theme=m["theme"],
            org_id=m["org_id"],
            is_admin=bool(m["is_admin"]),
            is_disabled=bool(m["is_disabled"]),
            is_service_account=bool(m["is_service_account"]),
            is_external=bool(m["is_external"]),
            created=m["created"],
            updated=m["updated"],
            last_seen_at=m["last_seen_at"],
            password_hash=m.get("password_hash", "") or "",
        )


@dataclass(frozen=True)
class Identity:
    """Who is calling, and in which org with which role. One per request."""

    user: User
    org_id: int
    org_role: str
    auth_method: str  # basic, token, session, proxy
    session_id: str | None = None

    @property
    def user_id(self) -> int:
        return self.user.id

    @property
    def is_server_admin(self) -> bool:
        return self.user.is_admin

    def has_role(self, role: str) -> bool:
        return ROLE_RANK.get(self.org_role, 0) >= ROLE_RANK[role]
