"""Playlists: stored per org, identified by uid; items keep their order."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.errors import AppError
from vigil.playlists.tables import playlist, playlist_item

ITEM_TYPES = ("dashboard_by_uid", "dashboard_by_tag", "dashboard_by_id")
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_ITEMS = 1000
_ALPHABET = string.ascii_letters + string.digits


def new_uid() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(14))


@dataclass(frozen=True)
class Item:
    type: str
    value: str
    title: str


@dataclass(frozen=True)
class Spec:
    name: str
    interval: str
    items: list[Item]
    uid: str | None


def parse(body: dict[str, Any]) -> Spec:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AppError.bad_request("bad request data: name is required")
    if len(name.strip()) > 190:
        raise AppError.bad_request("bad request data: name is longer than 190 characters")
    interval = body.get("interval")
    if interval is None or interval == "":
        interval = "5m"
    if not isinstance(interval, str) or len(interval) > 40:
        raise AppError.bad_request("bad request data: interval must be a duration such as 5m")
    uid = body.get("uid")
    if uid in (None, ""):
        uid = None
    elif not isinstance(uid, str) or not UID_RE.match(uid):
        raise AppError.bad_request("bad request data: uid may hold up to 40 letters, digits, '-' and '_'")
    raw_items = body.get("items")
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        raise AppError.bad_request("bad request data: items must be a list")
    if len(raw_items) > MAX_ITEMS:
        raise AppError.bad_request(f"bad request data: at most {MAX_ITEMS} items")
    items: list[Item] = []
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise AppError.bad_request(f"bad request data: items[{i}] must be an object")
        kind = raw.get("type")
        if kind not in ITEM_TYPES:
            raise AppError.bad_request(
                f"bad request data: items[{i}].type must be one of {', '.join(ITEM_TYPES)}"
            )
        value = raw.get("value")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise AppError.bad_request(f"bad request data: items[{i}].value is required")
        if kind == "dashboard_by_id" and not value.strip().isdigit():
            raise AppError.bad_request(f"bad request data: items[{i}].value must be a dashboard id")
        title = raw.get("title")
        items.append(Item(kind, value.strip(), title if isinstance(title, str) else ""))
    return Spec(name.strip(), interval.strip(), items, uid)


def summary(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {"id": m["id"], "uid": m["uid"], "name": m["name"], "interval": m["interval"]}


async def items_of(conn: AsyncConnection, playlist_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(playlist_item)
        .where(playlist_item.c.playlist_id == playlist_id)
        .order_by(playlist_item.c.position, playlist_item.c.id)
    )
    out = []
    for r in rows:
        m = r._mapping
        item: dict[str, Any] = {"type": m["type"], "value": m["value"], "order": m["position"]}
        if m["title"]:
            item["title"] = m["title"]
        out.append(item)
    return out


async def find(conn: AsyncConnection, org_id: int, uid: str) -> Any:
    row = (
        await conn.execute(select(playlist).where(and_(playlist.c.org_id == org_id, playlist.c.uid == uid)))
    ).first()
    if row is None:
        raise AppError.not_found("Playlist not found")
    return row


async def full(conn: AsyncConnection, row: Any) -> dict[str, Any]:
    return {**summary(row), "items": await items_of(conn, int(row._mapping["id"]))}


async def search(conn: AsyncConnection, org_id: int, query: str, limit: int) -> list[dict[str, Any]]:
    stmt = select(playlist).where(playlist.c.org_id == org_id)
    if query:
        stmt = stmt.where(func.lower(playlist.c.name).contains(query.lower(), autoescape=True))
    rows = await conn.execute(stmt.order_by(func.lower(playlist.c.name), playlist.c.id).limit(limit))
    return [summary(r) for r in rows]


async def _write_items(conn: AsyncConnection, playlist_id: int, items: list[Item]) -> None:
    await conn.execute(delete(playlist_item).where(playlist_item.c.playlist_id == playlist_id))
    if items:
        await conn.execute(
            playlist_item.insert(),
            [
                {
                    "playlist_id": playlist_id,
                    "type": it.type,
                    "value": it.value,
                    "title": it.title,
                    "position": n,
                }
                for n, it in enumerate(items, start=1)
            ],
        )


async def create(conn: AsyncConnection, org_id: int, spec: Spec, now: int) -> Any:
    uid = spec.uid or new_uid()
    taken = (
        await conn.execute(
            select(playlist.c.id).where(and_(playlist.c.org_id == org_id, playlist.c.uid == uid))
        )
    ).first()
    if taken is not None:
        raise AppError.conflict("A playlist with the same uid already exists")
    result = await conn.execute(
        playlist.insert().values(
            org_id=org_id, uid=uid, name=spec.name, interval=spec.interval, created=now, updated=now
        )
    )
    playlist_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    await _write_items(conn, playlist_id, spec.items)
    return await find(conn, org_id, uid)


async def replace(conn: AsyncConnection, org_id: int, uid: str, spec: Spec, now: int) -> Any:
    row = await find(conn, org_id, uid)
    playlist_id = int(row._mapping["id"])
    await conn.execute(
        update(playlist)
        .where(playlist.c.id == playlist_id)
        .values(name=spec.name, interval=spec.interval, updated=now)
    )
    await _write_items(conn, playlist_id, spec.items)
    return await find(conn, org_id, uid)


async def remove(conn: AsyncConnection, org_id: int, uid: str) -> None:
    row = await find(conn, org_id, uid)
    playlist_id = int(row._mapping["id"])
    await conn.execute(delete(playlist_item).where(playlist_item.c.playlist_id == playlist_id))
    await conn.execute(delete(playlist).where(playlist.c.id == playlist_id))
