"""Dashboard snapshots: a frozen dashboard JSON readable by its key, deletable by its delete key.

A snapshot that never expires is stored with an expiry 50 years ahead (as Grafana does), so every
read can use one rule: expired snapshots do not exist. Expired rows are purged when snapshots are
created.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.clock import iso
from vigil.errors import AppError
from vigil.snapshots.tables import dashboard_snapshot

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,190}$")
NEVER_MS = 50 * 365 * 24 * 3600 * 1000
MAX_EXPIRES_S = NEVER_MS // 1000
_ALPHABET = string.ascii_letters + string.digits
DELETED = "Snapshot deleted. It might take an hour before it's cleared from any CDN caches."


def new_key() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(32))


@dataclass(frozen=True)
class Snapshot:
    id: int
    org_id: int
    user_id: int
    name: str
    key: str
    delete_key: str
    dashboard_raw: str
    external: bool
    external_url: str
    expires: int
    created: int
    updated: int

    @classmethod
    def from_row(cls, row: Any) -> Snapshot:
        m = row._mapping
        return cls(
            id=int(m["id"]),
            org_id=int(m["org_id"]),
            user_id=int(m["user_id"]),
            name=m["name"],
            key=m["key"],
            delete_key=m["delete_key"],
            dashboard_raw=m["dashboard"],
            external=bool(m["external"]),
            external_url=m["external_url"],
            expires=int(m["expires"]),
            created=int(m["created"]),
            updated=int(m["updated"]),
        )

    def listing(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "key": self.key,
            "orgId": self.org_id,
            "userId": self.user_id,
            "external": self.external,
            "externalUrl": self.external_url,
            "expires": iso(self.expires / 1000),
            "created": iso(self.created / 1000),
            "updated": iso(self.updated / 1000),
        }

    def document(self) -> dict[str, Any]:
        dash = orjson.loads(self.dashboard_raw)
        title = dash.get("title") if isinstance(dash, dict) else None
        return {
            "dashboard": dash,
            "meta": {
                "isSnapshot": True,
                "type": "snapshot",
                "canSave": False,
                "canEdit": False,
                "canStar": False,
                "canShare": False,
                "canDelete": False,
                "slug": _slug(title if isinstance(title, str) else self.name),
                "created": iso(self.created / 1000),
                "updated": iso(self.updated / 1000),
                "expires": iso(self.expires / 1000),
            },
        }


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@dataclass(frozen=True)
class Spec:
    dashboard_raw: str
    name: str
    expires_s: int
    key: str | None
    delete_key: str | None


def parse(body: dict[str, Any]) -> Spec:
    dash = body.get("dashboard")
    if not isinstance(dash, dict):
        raise AppError.bad_request("bad request data: dashboard must be a JSON object")
    if body.get("external") is True:
        raise AppError.forbidden("External dashboard creation is disabled")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise AppError.bad_request("bad request data: name must be a string")
    if not name or not name.strip():
        title = dash.get("title")
        name = title if isinstance(title, str) and title.strip() else "Unnamed snapshot"
    expires = body.get("expires", 0)
    if expires is None:
        expires = 0
    if isinstance(expires, bool) or not isinstance(expires, int) or expires < 0:
        raise AppError.bad_request("bad request data: expires must be a number of seconds (0 = never)")
    keys: dict[str, str | None] = {}
    for field in ("key", "deleteKey"):
        value = body.get(field)
        if value in (None, ""):
            keys[field] = None
        elif not isinstance(value, str) or not KEY_RE.match(value):
            raise AppError.bad_request(
                f"bad request data: {field} may hold up to 190 letters, digits, '-' and '_'"
            )
        else:
            keys[field] = value
    return Spec(
        dashboard_raw=orjson.dumps(dash).decode(),
        name=name.strip()[:255],
        expires_s=min(expires, MAX_EXPIRES_S),
        key=keys["key"],
        delete_key=keys["deleteKey"],
    )


async def create(conn: AsyncConnection, org_id: int, user_id: int, spec: Spec, now: int) -> Snapshot:
    await conn.execute(delete(dashboard_snapshot).where(dashboard_snapshot.c.expires <= now))
    key = spec.key or new_key()
    delete_key = spec.delete_key or new_key()
    taken = (
        await conn.execute(
            select(dashboard_snapshot.c.id).where(
                or_(
                    dashboard_snapshot.c.key.in_([key, delete_key]),
                    dashboard_snapshot.c.delete_key.in_([key, delete_key]),
                )
            )
        )
    ).first()
    if taken is not None or key == delete_key:
        raise AppError.conflict("A snapshot with the same key or delete key already exists")
    expires = now + (spec.expires_s * 1000 if spec.expires_s else NEVER_MS)
    result = await conn.execute(
        dashboard_snapshot.insert().values(
            org_id=org_id,
            user_id=user_id,
            name=spec.name,
            key=key,
            delete_key=delete_key,
            dashboard=spec.dashboard_raw,
            external=False,
            expires=expires,
            created=now,
            updated=now,
        )
    )
    return Snapshot(
        id=int(result.inserted_primary_key[0]),  # type: ignore[index]
        org_id=org_id,
        user_id=user_id,
        name=spec.name,
        key=key,
        delete_key=delete_key,
        dashboard_raw=spec.dashboard_raw,
        external=False,
        external_url="",
        expires=expires,
        created=now,
        updated=now,
    )


async def by_key(conn: AsyncConnection, key: str, now: int) -> Snapshot | None:
    row = (
        await conn.execute(
            select(dashboard_snapshot).where(
                and_(dashboard_snapshot.c.key == key, dashboard_snapshot.c.expires > now)
            )
        )
    ).first()
    return Snapshot.from_row(row) if row else None


async def by_delete_key(conn: AsyncConnection, delete_key: str) -> Snapshot | None:
    row = (
        await conn.execute(select(dashboard_snapshot).where(dashboard_snapshot.c.delete_key == delete_key))
    ).first()
    return Snapshot.from_row(row) if row else None


async def remove(conn: AsyncConnection, snapshot_id: int) -> None:
    await conn.execute(delete(dashboard_snapshot).where(dashboard_snapshot.c.id == snapshot_id))


async def search(
    conn: AsyncConnection, org_id: int, user_id: int | None, query: str, limit: int, now: int
) -> list[Snapshot]:
    """The org's live snapshots (only ``user_id``'s own when given), by name."""
    stmt = select(dashboard_snapshot).where(
        and_(dashboard_snapshot.c.org_id == org_id, dashboard_snapshot.c.expires > now)
    )
    if user_id is not None:
        stmt = stmt.where(dashboard_snapshot.c.user_id == user_id)
    if query:
        stmt = stmt.where(func.lower(dashboard_snapshot.c.name).contains(query.lower(), autoescape=True))
    rows = await conn.execute(
        stmt.order_by(func.lower(dashboard_snapshot.c.name), dashboard_snapshot.c.id).limit(limit)
    )
    return [Snapshot.from_row(r) for r in rows]
