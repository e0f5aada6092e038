"""Silences (Alertmanager v2 shape): matchers plus a time window; an active silence that matches
an alert's labels keeps it out of notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting.labels import Matcher
from vigil.alerting.payload import rfc3339
from vigil.alerting.rules import new_uid
from vigil.alerting.sqlutil import dumps, loads
from vigil.alerting.tables import alert_silence as t
from vigil.clock import Clock
from vigil.errors import AppError
from vigil.storage.db import Database, now_ms


@dataclass(frozen=True)
class Silence:
    uid: str
    matchers: list[Matcher]
    starts_at: int
    ends_at: int

    def active(self, now: int) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


def parse_time(raw: Any, what: str) -> int:
    if not isinstance(raw, str) or not raw:
        raise AppError.bad_request(f"invalid silence: {what} must be an RFC 3339 time")
    try:
        return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise AppError.bad_request(f"invalid silence: {what} {raw!r} is not an RFC 3339 time") from None


def parse_matchers(raw: Any) -> list[Matcher]:
    if not isinstance(raw, list) or not raw:
        raise AppError.bad_request("invalid silence: at least one matcher is required")
    out = []
    for m in raw:
        if (
            not isinstance(m, dict)
            or not isinstance(m.get("name"), str)
            or not isinstance(m.get("value"), str)
        ):
            raise AppError.bad_request("invalid silence: matchers need a name and a value")
        regex = bool(m.get("isRegex", False))
        equal = bool(m.get("isEqual", True))
        op = ("=~" if regex else "=") if equal else ("!~" if regex else "!=")
        out.append(Matcher(m["name"], op, m["value"]))
    if all(m.matches({}) for m in out):
        raise AppError.bad_request(
            "invalid silence: the matchers would match every alert (even one without labels)"
        )
    return out


def _matchers_json(ms: list[Matcher]) -> list[dict[str, Any]]:
    return [
        {"name": m.name, "value": m.value, "isRegex": m.op in ("=~", "!~"), "isEqual": m.op in ("=", "=~")}
        for m in ms
    ]


class Silences:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    @staticmethod
    def from_row(m: Any) -> Silence:
        return Silence(
            uid=m["uid"],
            matchers=[
                Matcher(
                    x["name"],
                    ("=~" if x["isRegex"] else "=") if x["isEqual"] else ("!~" if x["isRegex"] else "!="),
                    x["value"],
                )
                for x in loads(m["matchers"], [])
            ],
            starts_at=m["starts_at"],
            ends_at=m["ends_at"],
        )

    def export(self, m: Any) -> dict[str, Any]:
        now = now_ms(self.clock)
        state = "expired" if m["ends_at"] <= now else ("pending" if m["starts_at"] > now else "active")
        return {
            "id": m["uid"],
            "status": {"state": state},
            "updatedAt": rfc3339(m["updated"]),
            "comment": m["comment"],
            "createdBy": m["created_by"],
            "startsAt": rfc3339(m["starts_at"]),
            "endsAt": rfc3339(m["ends_at"]),
            "matchers": loads(m["matchers"], []),
        }

    async def active(self, conn: AsyncConnection, org_id: int, now: int) -> list[Silence]:
        rows = await conn.execute(
            select(t).where(t.c.org_id == org_id, t.c.starts_at <= now, t.c.ends_at > now)
        )
        return [self.from_row(r._mapping) for r in rows]

    async def list(self, org_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = (await conn.execute(select(t).where(t.c.org_id == org_id).order_by(t.c.id))).all()
        order = {"active": 0, "pending": 1, "expired": 2}
        out = [self.export(r._mapping) for r in rows]
        return sorted(out, key=lambda s: (order[s["status"]["state"]], s["endsAt"]))

    async def get(self, org_id: int, uid: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (await conn.execute(select(t).where(t.c.org_id == org_id, t.c.uid == uid))).first()
        if row is None:
            raise AppError.not_found("silence not found")
        return self.export(row._mapping)

    async def put(self, org_id: int, body: Any, created_by: str) -> str:
        if not isinstance(body, dict):
            raise AppError.bad_request("invalid silence: expected a JSON object")
        matchers = parse_matchers(body.get("matchers"))
        now = now_ms(self.clock)
        starts = parse_time(body.get("startsAt"), "startsAt") if body.get("startsAt") else now
        ends = parse_time(body.get("endsAt"), "endsAt")
        if ends <= starts:
            raise AppError.bad_request("invalid silence: endsAt must be after startsAt")
        if ends <= now:
            raise AppError.bad_request("invalid silence: endsAt is in the past")
        values = {
            "matchers": dumps(_matchers_json(matchers)),
            "starts_at": max(starts, now) if body.get("id") else starts,
            "ends_at": ends,
            "created_by": str(body.get("createdBy") or created_by)[:190],
            "comment": str(body.get("comment") or ""),
            "updated": now,
        }
        uid = body.get("id") or ""
        async with self.db.write() as conn:
            if uid:
                result = await conn.execute(
                    update(t).where(t.c.org_id == org_id, t.c.uid == uid).values(**values)
                )
                if result.rowcount == 0:
                    raise AppError.not_found("silence not found")
                return str(uid)
            uid = new_uid()
            await conn.execute(t.insert().values(uid=uid, org_id=org_id, **values))
        return str(uid)

    async def expire(self, org_id: int, uid: str) -> None:
        now = now_ms(self.clock)
        async with self.db.write() as conn:
            row = (await conn.execute(select(t).where(t.c.org_id == org_id, t.c.uid == uid))).first()
            if row is None:
                raise AppError.not_found("silence not found")
            if row._mapping["ends_at"] <= now:
                raise AppError.bad_request("silence already expired")
            await conn.execute(
                update(t)
                .where(t.c.id == row._mapping["id"])
                .values(ends_at=now, starts_at=min(row._mapping["starts_at"], now), updated=now)
            )
