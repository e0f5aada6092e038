"""Annotations: points and regions on one dashboard (``dashboard_uid``) or on the whole org.

Every function takes a connection, so it runs inside the caller's ``db.read()``/``db.write()``.
Other features (alerting state history) call ``insert`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.annotations.tables import annotation, annotation_tag
from vigil.auth.tables import user
from vigil.dashboards.tables import dashboard
from vigil.errors import AppError

MAX_TAG = 190
DEFAULT_LIMIT = 100
MAX_LIMIT = 20_000


def split_tag(term: str) -> tuple[str, str]:
    """``"env:prod"`` → ``("env", "prod")``; ``"env"`` → ``("env", "")``."""
    key, _, value = term.partition(":")
    return key.strip(), value.strip()


def clean_tags(raw: Any, field_name: str = "tags") -> list[str]:
    """A list of distinct non-empty tags, in the given order."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise AppError.bad_request(f"bad request data: {field_name} must be a list of strings")
    out: list[str] = []
    for t in raw:
        if not isinstance(t, str):
            raise AppError.bad_request(f"bad request data: {field_name} must be a list of strings")
        t = t.strip()
        if not t:
            continue
        if len(t) > MAX_TAG:
            raise AppError.bad_request(f"bad request data: a tag is longer than {MAX_TAG} characters")
        if t not in out:
            out.append(t)
    return out


def _epoch(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AppError.bad_request(f"bad request data: {key} must be epoch milliseconds")
    if value < 0:
        raise AppError.bad_request(f"bad request data: {key} must not be negative")
    return int(value)


def _data(body: dict[str, Any]) -> str | None:
    value = body.get("data")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AppError.bad_request("bad request data: data must be a JSON object")
    return orjson.dumps(value).decode()


def _text(body: dict[str, Any]) -> str | None:
    value = body.get("text")
    if value is None:
        return None
    if not isinstance(value, str):
        raise AppError.bad_request("bad request data: text must be a string")
    return value


@dataclass
class NewAnnotation:
    time: int
    time_end: int
    text: str
    tags: list[str] = field(default_factory=list)
    data: str = "{}"
    dashboard_uid: str = ""
    dashboard_id: int = 0
    panel_id: int = 0
    alert_id: int = 0
    alert_name: str = ""
    prev_state: str = ""
    new_state: str = ""


def parse_new(body: dict[str, Any], now: int) -> NewAnnotation:
    """The body of ``POST /api/annotations`` (the dashboard is resolved by the caller)."""
    text = _text(body)
    if not text or not text.strip():
        raise AppError.bad_request("text field should not be empty")
    start = _epoch(body, "time") or now
    end = _epoch(body, "timeEnd") or start
    if end < start:
        raise AppError.bad_request("bad request data: timeEnd must not be before time")
    panel = body.get("panelId") or 0
    if isinstance(panel, bool) or not isinstance(panel, int):
        raise AppError.bad_request("bad request data: panelId must be an integer")
    return NewAnnotation(
        time=start,
        time_end=end,
        text=text,
        tags=clean_tags(body.get("tags")),
        data=_data(body) or "{}",
        panel_id=panel,
    )


def parse_graphite(body: dict[str, Any], now: int) -> NewAnnotation:
    """``{what, tags, when (epoch seconds), data}``: tags as a list or a space-separated string."""
    what = body.get("what")
    if not isinstance(what, str) or not what.strip():
        raise AppError.bad_request("what field should not be empty")
    when = body.get("when") or 0
    if isinstance(when, bool) or not isinstance(when, int | float) or when < 0:
        raise AppError.bad_request("bad request data: when must be epoch seconds")
    raw_tags = body.get("tags")
    if isinstance(raw_tags, str):
        raw_tags = raw_tags.split()
    tags = clean_tags(raw_tags)
    data = body.get("data")
    if data is not None and not isinstance(data, str):
        raise AppError.bad_request("bad request data: data must be a string")
    text = what if not data else f"{what}\n{data}"
    at = int(when * 1000) if when else now
    return NewAnnotation(time=at, time_end=at, text=text, tags=tags)


async def _write_tags(conn: AsyncConnection, org_id: int, annotation_id: int, tags: list[str]) -> None:
    await conn.execute(delete(annotation_tag).where(annotation_tag.c.annotation_id == annotation_id))
    if tags:
        rows = []
        for t in tags:
            key, value = split_tag(t)
            rows.append(
                {
                    "annotation_id": annotation_id,
                    "org_id": org_id,
                    "term": t,
                    "tag_key": key,
                    "tag_value": value,
                }
            )
        await conn.execute(annotation_tag.insert(), rows)


async def insert(conn: AsyncConnection, org_id: int, user_id: int, a: NewAnnotation, now: int) -> int:
    result = await conn.execute(
        annotation.insert().values(
            org_id=org_id,
            dashboard_uid=a.dashboard_uid,
            dashboard_id=a.dashboard_id,
            panel_id=a.panel_id,
            user_id=user_id,
            alert_id=a.alert_id,
            alert_name=a.alert_name,
            prev_state=a.prev_state,
            new_state=a.new_state,
            text=a.text,
            data=a.data,
            epoch=a.time,
            epoch_end=a.time_end,
            created=now,
            updated=now,
        )
    )
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    await _write_tags(conn, org_id, new_id, a.tags)
    return new_id


@dataclass(frozen=True)
class Stored:
    id: int
    org_id: int
    dashboard_uid: str
    panel_id: int
    epoch: int
    epoch_end: int


async def get_stored(conn: AsyncConnection, org_id: int, annotation_id: int) -> Stored:
    row = (
        await conn.execute(
            select(
                annotation.c.id,
                annotation.c.org_id,
                annotation.c.dashboard_uid,
                annotation.c.panel_id,
                annotation.c.epoch,
                annotation.c.epoch_end,
            ).where(and_(annotation.c.org_id == org_id, annotation.c.id == annotation_id))
        )
    ).first()
    if row is None:
        raise AppError.not_found("Annotation not found")
    return Stored(*(row[i] for i in range(6)))


async def change(
    conn: AsyncConnection, current: Stored, body: dict[str, Any], *, replace: bool, now: int
) -> None:
    """PUT (``replace``: text and tags are replaced, absent means empty) or PATCH (absent or null
    fields unchanged). ``time``/``timeEnd``/``data`` change only when given in both."""
    values: dict[str, Any] = {"updated": now}
    text = _text(body)
    if text is not None or replace:
        values["text"] = text or ""
    start = _epoch(body, "time") or current.epoch
    end = _epoch(body, "timeEnd")
    if end is None or end == 0:
        was_point = current.epoch == current.epoch_end
        end = start if was_point or current.epoch_end < start else current.epoch_end
    if end < start:
        raise AppError.bad_request("bad request data: timeEnd must not be before time")
    values["epoch"], values["epoch_end"] = start, end
    data = _data(body)
    if data is not None:
        values["data"] = data
    await conn.execute(update(annotation).where(annotation.c.id == current.id).values(**values))
    if replace or body.get("tags") is not None:
        await _write_tags(conn, current.org_id, current.id, clean_tags(body.get("tags")))


async def remove(conn: AsyncConnection, annotation_ids: Iterable[int]) -> None:
    ids = list(annotation_ids)
    if not ids:
        return
    await conn.execute(delete(annotation_tag).where(annotation_tag.c.annotation_id.in_(ids)))
    await conn.execute(delete(annotation).where(annotation.c.id.in_(ids)))


async def ids_on(conn: AsyncConnection, org_id: int, dashboard_uid: str, panel_id: int | None) -> list[int]:
    stmt = select(annotation.c.id).where(
        and_(annotation.c.org_id == org_id, annotation.c.dashboard_uid == dashboard_uid)
    )
    if panel_id is not None:
        stmt = stmt.where(annotation.c.panel_id == panel_id)
    return [int(r[0]) for r in await conn.execute(stmt)]


async def forget_dashboard(
    conn: AsyncConnection, org_id: int, _dashboard_id: int, dashboard_uid: str
) -> None:
    """A deleted dashboard takes its annotations with it."""
    if dashboard_uid:
        await remove(conn, await ids_on(conn, org_id, dashboard_uid, None))


# -- queries ----------------------------------------------------------------------------------------


@dataclass
class Query:
    org_id: int
    start: int | None = None
    end: int | None = None
    dashboard_uid: str | None = None
    panel_id: int | None = None
    user_id: int | None = None
    alert_id: int | None = None
    kind: str | None = None  # annotation, alert
    tags: list[str] = field(default_factory=list)
    match_any: bool = False
    annotation_id: int | None = None
    limit: int = DEFAULT_LIMIT


def _tag_match(term: str) -> ColumnElement[bool]:
    key, value = split_tag(term)
    cond = annotation_tag.c.tag_key == key
    if value:
        cond = and_(cond, annotation_tag.c.tag_value == value)
    return cond


def _where(q: Query) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [annotation.c.org_id == q.org_id]
    if q.annotation_id is not None:
        conds.append(annotation.c.id == q.annotation_id)
    if q.start is not None:
        conds.append(annotation.c.epoch_end >= q.start)
    if q.end is not None:
        conds.append(annotation.c.epoch <= q.end)
    if q.dashboard_uid is not None:
        conds.append(annotation.c.dashboard_uid == q.dashboard_uid)
    if q.panel_id is not None:
        conds.append(annotation.c.panel_id == q.panel_id)
    if q.user_id is not None:
        conds.append(annotation.c.user_id == q.user_id)
    if q.alert_id is not None:
        conds.append(annotation.c.alert_id == q.alert_id)
    if q.kind == "annotation":
        conds.append(annotation.c.alert_id == 0)
    elif q.kind == "alert":
        conds.append(annotation.c.alert_id > 0)
    if q.tags:

        def has(match: ColumnElement[bool]) -> ColumnElement[bool]:
            return exists().where(and_(annotation_tag.c.annotation_id == annotation.c.id, match))

        if q.match_any:
            conds.append(has(or_(*(_tag_match(t) for t in q.tags))))
        else:
            conds.extend(has(_tag_match(t)) for t in q.tags)
    return conds


async def find(conn: AsyncConnection, q: Query, offset: int = 0) -> list[dict[str, Any]]:
    """Matching annotations, newest first, as API items."""
    stmt = (
        select(
            annotation,
            dashboard.c.id.label("current_dashboard_id"),
            user.c.uid.label("user_uid"),
            user.c.login,
            user.c.email,
        )
        .select_from(
            annotation.outerjoin(
                dashboard,
                and_(
                    dashboard.c.org_id == annotation.c.org_id, dashboard.c.uid == annotation.c.dashboard_uid
                ),
            ).outerjoin(user, user.c.id == annotation.c.user_id)
        )
        .where(and_(*_where(q)))
        .order_by(annotation.c.epoch.desc(), annotation.c.epoch_end.desc(), annotation.c.id.desc())
        .limit(q.limit)
        .offset(offset)
    )
    rows = (await conn.execute(stmt)).all()
    tags: dict[int, list[str]] = {}
    ids = [int(r._mapping["id"]) for r in rows]
    if ids:
        for aid, term in await conn.execute(
            select(annotation_tag.c.annotation_id, annotation_tag.c.term)
            .where(annotation_tag.c.annotation_id.in_(ids))
            .order_by(annotation_tag.c.id)
        ):
            tags.setdefault(int(aid), []).append(term)
    return [_item(r, tags.get(int(r._mapping["id"]), [])) for r in rows]


def _item(row: Any, tags: list[str]) -> dict[str, Any]:
    m = row._mapping
    try:
        data = orjson.loads(m["data"] or "{}")
    except orjson.JSONDecodeError:
        data = {}
    dash_uid = m["dashboard_uid"] or None
    return {
        "id": m["id"],
        "alertId": m["alert_id"],
        "alertName": m["alert_name"],
        "dashboardId": (m["current_dashboard_id"] or m["dashboard_id"]) if dash_uid else 0,
        "dashboardUID": dash_uid,
        "panelId": m["panel_id"],
        "userId": m["user_id"],
        "userUID": m["user_uid"] or "",
        "newState": m["new_state"],
        "prevState": m["prev_state"],
        "created": m["created"],
        "updated": m["updated"],
        "time": m["epoch"],
        "timeEnd": m["epoch_end"],
        "text": m["text"],
        "tags": tags,
        "login": m["login"] or "",
        "email": m["email"] or "",
        "avatarUrl": "",
        "data": data,
    }


async def tag_counts(conn: AsyncConnection, org_id: int, prefix: str, limit: int) -> list[dict[str, Any]]:
    count = func.count(annotation_tag.c.id)
    stmt = select(annotation_tag.c.term, count).where(annotation_tag.c.org_id == org_id)
    if prefix:
        stmt = stmt.where(annotation_tag.c.term.startswith(prefix, autoescape=True))
    rows = await conn.execute(
        stmt.group_by(annotation_tag.c.term).order_by(annotation_tag.c.term).limit(limit)
    )
    return [{"tag": term, "count": int(n)} for term, n in rows]


async def dashboard_ref(
    conn: AsyncConnection, org_id: int, *, uid: str | None = None, id: int | None = None
) -> tuple[int, str, str] | None:
    """(id, uid, folder_uid) of a dashboard of the org, without loading its JSON."""
    cond = dashboard.c.uid == uid if uid is not None else dashboard.c.id == id
    row = (
        await conn.execute(
            select(dashboard.c.id, dashboard.c.uid, dashboard.c.folder_uid).where(
                and_(dashboard.c.org_id == org_id, cond)
            )
        )
    ).first()
    return (int(row[0]), str(row[1]), str(row[2] or "")) if row else None
