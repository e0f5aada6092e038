"""Preferences of a user, a team or an org, and a user's starred dashboards.

Every function takes a connection, so it runs inside the caller's ``db.read()``/``db.write()``.
Preferences are layered org < teams < user: ``effective`` gives the merged view (what the home
dashboard and the UI use); the ``/preferences`` routes show and change one layer only.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.dashboards.tables import dashboard
from vigil.errors import AppError
from vigil.preferences.tables import preferences, star

THEMES = ("", "light", "dark", "system")
WEEK_STARTS = ("", "saturday", "sunday", "monday")
# open-ended parts kept as JSON, returned only when set
JSON_FIELDS = ("navbar", "queryHistory", "cookiePreferences")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass
class Prefs:
    theme: str = ""
    timezone: str = ""
    week_start: str = ""
    locale: str = ""
    language: str = ""
    home_dashboard_uid: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> Prefs:
        m = row._mapping
        try:
            extra = orjson.loads(m["json_data"] or "{}")
        except orjson.JSONDecodeError:
            extra = {}
        return cls(
            theme=m["theme"],
            timezone=m["timezone"],
            week_start=m["week_start"],
            locale=m["locale"],
            language=m["language"],
            home_dashboard_uid=m["home_dashboard_uid"],
            extra=extra if isinstance(extra, dict) else {},
        )

    def overlay(self, other: Prefs) -> Prefs:
        """``other``'s non-empty values over this one's."""
        return Prefs(
            theme=other.theme or self.theme,
            timezone=other.timezone or self.timezone,
            week_start=other.week_start or self.week_start,
            locale=other.locale or self.locale,
            language=other.language or self.language,
            home_dashboard_uid=other.home_dashboard_uid or self.home_dashboard_uid,
            extra={**self.extra, **other.extra},
        )


def _scope(org_id: int, user_id: int, team_id: int) -> Any:
    return and_(
        preferences.c.org_id == org_id, preferences.c.user_id == user_id, preferences.c.team_id == team_id
    )


async def get(conn: AsyncConnection, org_id: int, user_id: int = 0, team_id: int = 0) -> Prefs:
    """One layer's preferences (all empty when never set)."""
    row = (await conn.execute(select(preferences).where(_scope(org_id, user_id, team_id)))).first()
    return Prefs.from_row(row) if row else Prefs()


async def effective(conn: AsyncConnection, org_id: int, user_id: int, team_ids: list[int]) -> Prefs:
    """The merged preferences of a user: org, then the user's teams (by id), then the user."""
    rows = (
        await conn.execute(
            select(preferences).where(
                and_(
                    preferences.c.org_id == org_id,
                    (
                        (preferences.c.user_id == 0) & (preferences.c.team_id == 0)
                        | (preferences.c.user_id == user_id) & (preferences.c.team_id == 0)
                        | (preferences.c.user_id == 0) & preferences.c.team_id.in_(team_ids or [-1])
                    ),
                )
            )
        )
    ).all()

    def rank(r: Any) -> tuple[int, int]:
        m = r._mapping
        if m["user_id"]:
            return (2, 0)
        if m["team_id"]:
            return (1, int(m["team_id"]))
        return (0, 0)

    out = Prefs()
    for r in sorted(rows, key=rank):
        out = out.overlay(Prefs.from_row(r))
    return out


async def home_dashboard_id(conn: AsyncConnection, org_id: int, uid: str) -> int:
    if not uid:
        return 0
    row = (
        await conn.execute(
            select(dashboard.c.id).where(and_(dashboard.c.org_id == org_id, dashboard.c.uid == uid))
        )
    ).first()
    return int(row[0]) if row else 0


async def to_json(conn: AsyncConnection, org_id: int, p: Prefs) -> dict[str, Any]:
    out: dict[str, Any] = {
        "theme": p.theme,
        "homeDashboardId": await home_dashboard_id(conn, org_id, p.home_dashboard_uid),
        "homeDashboardUID": p.home_dashboard_uid,
        "timezone": p.timezone,
        "weekStart": p.week_start,
        "locale": p.locale,
        "language": p.language,
    }
    for key in JSON_FIELDS:
        if key in p.extra:
            out[key] = p.extra[key]
    return out


def _text(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AppError.bad_request(f"bad request data: {key} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise AppError.bad_request(f"bad request data: {key} is longer than {limit} characters")
    return value


async def _home_uid(conn: AsyncConnection, org_id: int, body: dict[str, Any]) -> str | None:
    """The home dashboard a body asks for: None = not given, "" = none; 404 for an unknown one."""
    uid = _text(body, "homeDashboardUID", 40)
    raw_id = body.get("homeDashboardId")
    if uid:
        cond = dashboard.c.uid == uid
    elif raw_id not in (None, 0, "0", ""):
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or not str(raw_id).isdigit():
            raise AppError.bad_request("bad request data: homeDashboardId must be an integer")
        cond = dashboard.c.id == int(raw_id)
    elif uid == "" or raw_id is not None:
        return ""
    else:
        return None
    row = (
        await conn.execute(select(dashboard.c.uid).where(and_(dashboard.c.org_id == org_id, cond)))
    ).first()
    if row is None:
        raise AppError.not_found("Dashboard not found")
    return str(row[0])


async def change(
    conn: AsyncConnection,
    org_id: int,
    body: dict[str, Any],
    *,
    user_id: int = 0,
    team_id: int = 0,
    replace: bool,
    now: int,
) -> None:
    """PUT (``replace``: absent fields become empty) or PATCH (absent or null fields unchanged)."""
    current = Prefs() if replace else await get(conn, org_id, user_id, team_id)
    theme = _text(body, "theme", 40)
    if theme is not None:
        if theme not in THEMES:
            raise AppError.bad_request("Invalid theme")
        current.theme = theme
    tz = _text(body, "timezone", 64)
    if tz is not None:
        if tz not in ("", "utc", "browser") and tz not in _zones():
            raise AppError.bad_request("Invalid timezone. Must be a valid IANA time zone")
        current.timezone = tz
    week = _text(body, "weekStart", 20)
    if week is not None:
        if week.lower() not in WEEK_STARTS:
            raise AppError.bad_request("Invalid weekStart: use saturday, sunday or monday")
        current.week_start = week.lower()
    for key, attr in (("locale", "locale"), ("language", "language")):
        value = _text(body, key, 40)
        if value is not None:
            setattr(current, attr, value)
    home = await _home_uid(conn, org_id, body)
    if home is not None:
        current.home_dashboard_uid = home
    for key in JSON_FIELDS:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise AppError.bad_request(f"bad request data: {key} must be an object")
        current.extra[key] = value
    values = {
        "theme": current.theme,
        "timezone": current.timezone,
        "week_start": current.week_start,
        "locale": current.locale,
        "language": current.language,
        "home_dashboard_uid": current.home_dashboard_uid,
        "json_data": orjson.dumps(current.extra).decode(),
        "updated": now,
    }
    done = await conn.execute(update(preferences).where(_scope(org_id, user_id, team_id)).values(**values))
    if done.rowcount == 0:
        await conn.execute(
            preferences.insert().values(
                org_id=org_id, user_id=user_id, team_id=team_id, created=now, **values
            )
        )


async def delete_scope(conn: AsyncConnection, org_id: int, user_id: int = 0, team_id: int = 0) -> None:
    await conn.execute(delete(preferences).where(_scope(org_id, user_id, team_id)))


# -- stars ------------------------------------------------------------------------------------------


async def starred_uids(conn: AsyncConnection, org_id: int, user_id: int) -> list[str]:
    """Uids of the user's starred dashboards that still exist, in starring order."""
    rows = await conn.execute(
        select(star.c.dashboard_uid)
        .select_from(
            star.join(
                dashboard, and_(dashboard.c.org_id == star.c.org_id, dashboard.c.uid == star.c.dashboard_uid)
            )
        )
        .where(and_(star.c.org_id == org_id, star.c.user_id == user_id))
        .order_by(star.c.id)
    )
    return [str(r[0]) for r in rows]


def starred_clause(org_id: int, user_id: int, uid_column: Any) -> ColumnElement[bool]:
    """SQL condition: the user starred the dashboard whose uid is ``uid_column``."""
    return exists().where(
        and_(star.c.org_id == org_id, star.c.user_id == user_id, star.c.dashboard_uid == uid_column)
    )


async def starred_ids(conn: AsyncConnection, org_id: int, user_id: int) -> set[int]:
    rows = await conn.execute(
        select(dashboard.c.id)
        .select_from(
            star.join(
                dashboard, and_(dashboard.c.org_id == star.c.org_id, dashboard.c.uid == star.c.dashboard_uid)
            )
        )
        .where(and_(star.c.org_id == org_id, star.c.user_id == user_id))
    )
    return {int(r[0]) for r in rows}


async def add_star(
    conn: AsyncConnection, org_id: int, user_id: int, dashboard_id: int, dashboard_uid: str, now: int
) -> None:
    """Idempotent: starring a starred dashboard changes nothing."""
    exists = (
        await conn.execute(
            select(star.c.id).where(
                and_(
                    star.c.org_id == org_id, star.c.user_id == user_id, star.c.dashboard_uid == dashboard_uid
                )
            )
        )
    ).first()
    if exists is None:
        await conn.execute(
            star.insert().values(
                org_id=org_id,
                user_id=user_id,
                dashboard_id=dashboard_id,
                dashboard_uid=dashboard_uid,
                created=now,
            )
        )


async def remove_star(conn: AsyncConnection, org_id: int, user_id: int, dashboard_uid: str) -> None:
    await conn.execute(
        delete(star).where(
            and_(star.c.org_id == org_id, star.c.user_id == user_id, star.c.dashboard_uid == dashboard_uid)
        )
    )


async def forget_dashboard(
    conn: AsyncConnection, org_id: int, _dashboard_id: int, dashboard_uid: str
) -> None:
    """A deleted dashboard loses its stars."""
    await conn.execute(
        delete(star).where(and_(star.c.org_id == org_id, star.c.dashboard_uid == dashboard_uid))
    )
