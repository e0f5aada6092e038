"""Library elements: a panel (kind 1) or variable (kind 2) model kept once and used by dashboards.

An element lives in a folder ("" = General) and is readable by whoever may view that folder and
writable by whoever may edit it. A dashboard is connected to an element when one of its panels
(nested row panels included) carries ``libraryPanel.uid``; connections are found in the dashboards'
JSON, so imports, provisioning and restores never leave them stale.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.tables import user
from vigil.clock import iso
from vigil.dashboards.access import descendants, folder_tree
from vigil.dashboards.models import GENERAL_TITLE
from vigil.dashboards.tables import dashboard, folder
from vigil.errors import AppError
from vigil.library.tables import library_element

PANEL, VARIABLE = 1, 2
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_ALPHABET = string.ascii_letters + string.digits
NOT_FOUND = "library element could not be found"
EXISTS = "library element with that name or uid already exists"


def new_uid() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(14))


def not_found() -> AppError:
    return AppError.not_found(NOT_FOUND)


@dataclass(frozen=True)
class Element:
    id: int
    org_id: int
    folder_uid: str
    uid: str
    name: str
    kind: int
    type: str
    description: str
    model_raw: str
    version: int
    created: int
    created_by: int
    updated: int
    updated_by: int

    @classmethod
    def from_row(cls, row: Any) -> Element:
        m = row._mapping
        return cls(
            id=int(m["id"]),
            org_id=int(m["org_id"]),
            folder_uid=m["folder_uid"] or "",
            uid=m["uid"],
            name=m["name"],
            kind=int(m["kind"]),
            type=m["type"],
            description=m["description"],
            model_raw=m["model"],
            version=int(m["version"]),
            created=int(m["created"]),
            created_by=int(m["created_by"]),
            updated=int(m["updated"]),
            updated_by=int(m["updated_by"]),
        )


# -- reading -----------------------------------------------------------------------------------------


def _panels(data: Any) -> list[dict[str, Any]]:
    """Every panel of a dashboard JSON: top-level, inside collapsed rows, inside legacy rows."""
    out: list[dict[str, Any]] = []
    if not isinstance(data, dict):
        return out
    stack: list[Any] = [*(data.get("panels") or [])]
    for row in data.get("rows") or []:
        if isinstance(row, dict):
            stack.extend(row.get("panels") or [])
    while stack:
        p = stack.pop()
        if isinstance(p, dict):
            out.append(p)
            nested = p.get("panels")
            if isinstance(nested, list):
                stack.extend(nested)
    return out


def library_uids(data: Any) -> set[str]:
    uids: set[str] = set()
    for p in _panels(data):
        ref = p.get("libraryPanel")
        if isinstance(ref, dict) and isinstance(ref.get("uid"), str) and ref["uid"]:
            uids.add(ref["uid"])
    return uids


async def connections(conn: AsyncConnection, org_id: int, uids: list[str] | None) -> dict[str, list[Any]]:
    """element uid → rows (id, uid, folder_uid, updated, updated_by) of the dashboards using it;
    ``uids=None`` for every element."""
    if uids is not None and not uids:
        return {}
    stmt = select(
        dashboard.c.id,
        dashboard.c.uid,
        dashboard.c.folder_uid,
        dashboard.c.data,
        dashboard.c.updated,
        dashboard.c.updated_by,
    )
    cond = dashboard.c.data.contains("libraryPanel")
    if uids is not None and len(uids) == 1:
        cond = and_(cond, dashboard.c.data.contains(uids[0], autoescape=True))
    out: dict[str, list[Any]] = {}
    wanted = set(uids) if uids is not None else None
    for row in await conn.execute(
        stmt.where(and_(dashboard.c.org_id == org_id, cond)).order_by(dashboard.c.id)
    ):
        try:
            data = orjson.loads(row.data)
        except orjson.JSONDecodeError:
            continue
        for uid in library_uids(data):
            if wanted is None or uid in wanted:
                out.setdefault(uid, []).append(row)
    return out


async def _folders(conn: AsyncConnection, org_id: int, uids: set[str]) -> dict[str, tuple[int, str]]:
    uids.discard("")
    if not uids:
        return {}
    rows = await conn.execute(
        select(folder.c.uid, folder.c.id, folder.c.title).where(
            and_(folder.c.org_id == org_id, folder.c.uid.in_(uids))
        )
    )
    return {r.uid: (int(r.id), r.title) for r in rows}


async def _users(conn: AsyncConnection, ids: set[int]) -> dict[int, tuple[str, str]]:
    ids.discard(0)
    if not ids:
        return {}
    rows = await conn.execute(select(user.c.id, user.c.login, user.c.name).where(user.c.id.in_(ids)))
    return {int(r.id): (r.login, r.name or r.login) for r in rows}


async def render(conn: AsyncConnection, elements: list[Element]) -> list[dict[str, Any]]:
    """API objects for ``elements`` (of one org), with folder names, users and connection counts."""
    if not elements:
        return []
    org_id = elements[0].org_id
    folders = await _folders(conn, org_id, {e.folder_uid for e in elements})
    users = await _users(conn, {e.created_by for e in elements} | {e.updated_by for e in elements})
    used = await connections(conn, org_id, [e.uid for e in elements])

    def who(user_id: int) -> dict[str, Any]:
        found = users.get(user_id)
        return {"id": user_id, "name": found[1] if found else "", "avatarUrl": ""}

    out = []
    for e in elements:
        folder_id, folder_title = folders.get(e.folder_uid, (0, GENERAL_TITLE))
        out.append(
            {
                "id": e.id,
                "orgId": e.org_id,
                "folderId": folder_id,
                "folderUid": e.folder_uid,
                "uid": e.uid,
                "name": e.name,
                "kind": e.kind,
                "type": e.type,
                "description": e.description,
                "model": orjson.loads(e.model_raw),
                "version": e.version,
                "schemaVersion": 0,
                "meta": {
                    "folderName": folder_title,
                    "folderUid": e.folder_uid,
                    "connectedDashboards": len(used.get(e.uid, [])),
                    "created": iso(e.created / 1000),
                    "updated": iso(e.updated / 1000),
                    "createdBy": who(e.created_by),
                    "updatedBy": who(e.updated_by),
                },
            }
        )
    return out


async def get(conn: AsyncConnection, org_id: int, uid: str) -> Element | None:
    row = (
        await conn.execute(
            select(library_element).where(
                and_(library_element.c.org_id == org_id, library_element.c.uid == uid)
            )
        )
    ).first()
    return Element.from_row(row) if row else None


async def by_name(conn: AsyncConnection, org_id: int, name: str) -> list[Element]:
    rows = await conn.execute(
        select(library_element)
        .where(and_(library_element.c.org_id == org_id, library_element.c.name == name))
        .order_by(library_element.c.id)
    )
    return [Element.from_row(r) for r in rows]


@dataclass
class Search:
    text: str = ""
    kind: int | None = None
    descending: bool = False
    types: list[str] | None = None
    exclude_uid: str = ""
    folder_uids: list[str] | None = None  # None: any folder
    page: int = 1
    per_page: int = 100


async def search(
    conn: AsyncConnection, org_id: int, q: Search, visible_folders: list[str] | None
) -> tuple[int, list[Element]]:
    """(total, page of elements); ``visible_folders`` None means every folder."""
    conds = [library_element.c.org_id == org_id]
    if q.text:
        needle = q.text.lower()
        conds.append(
            or_(
                func.lower(library_element.c.name).contains(needle, autoescape=True),
                func.lower(library_element.c.description).contains(needle, autoescape=True),
            )
        )
    if q.kind is not None:
        conds.append(library_element.c.kind == q.kind)
    if q.types:
        conds.append(library_element.c.type.in_(q.types))
    if q.exclude_uid:
        conds.append(library_element.c.uid != q.exclude_uid)
    if q.folder_uids is not None:
        conds.append(library_element.c.folder_uid.in_(q.folder_uids))
    if visible_folders is not None:
        conds.append(library_element.c.folder_uid.in_(["", *visible_folders]))
    where = and_(*conds)
    total = int(
        (await conn.execute(select(func.count()).select_from(library_element).where(where))).scalar_one()
    )
    order = func.lower(library_element.c.name)
    rows = await conn.execute(
        select(library_element)
        .where(where)
        .order_by(order.desc() if q.descending else order, library_element.c.id)
        .limit(q.per_page)
        .offset((q.page - 1) * q.per_page)
    )
    return total, [Element.from_row(r) for r in rows]


# -- writing -----------------------------------------------------------------------------------------


@dataclass
class Fields:
    name: str | None = None
    kind: int | None = None
    model: dict[str, Any] | None = None
    uid: str | None = None


def parse(body: dict[str, Any], *, create: bool) -> Fields:
    f = Fields()
    name = body.get("name")
    model_in = body.get("model")
    if name is None and create and isinstance(model_in, dict):
        # grafana-client sends a bare panel or variable without a name: its title (panel) or
        # name (variable) names the element.
        fallback = model_in.get("name" if body.get("kind") == VARIABLE else "title")
        if isinstance(fallback, str) and fallback.strip():
            name = fallback
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise AppError.bad_request("bad request data: name must be a non-empty string")
        if len(name.strip()) > 190:
            raise AppError.bad_request("bad request data: name is longer than 190 characters")
        f.name = name.strip()
    elif create:
        raise AppError.bad_request("bad request data: name is required")
    kind = body.get("kind")
    if kind is not None:
        if kind not in (PANEL, VARIABLE) or isinstance(kind, bool):
            raise AppError.bad_request("bad request data: kind must be 1 (panel) or 2 (variable)")
        f.kind = int(kind)
    elif create:
        f.kind = PANEL
    model = body.get("model")
    if isinstance(model, str):
        try:
            model = orjson.loads(model)
        except orjson.JSONDecodeError:
            raise AppError.bad_request("bad request data: model is not valid JSON") from None
    if model is not None:
        if not isinstance(model, dict):
            raise AppError.bad_request("bad request data: model must be a JSON object")
        f.model = model
    elif create:
        raise AppError.bad_request("bad request data: model is required")
    uid = body.get("uid")
    if uid not in (None, ""):
        if not isinstance(uid, str) or not UID_RE.match(uid):
            raise AppError.bad_request("bad request data: uid may hold up to 40 letters, digits, '-' and '_'")
        f.uid = uid
    return f


def _type_and_description(model: dict[str, Any]) -> tuple[str, str]:
    kind = model.get("type")
    desc = model.get("description")
    return (kind if isinstance(kind, str) else "")[:100], desc if isinstance(desc, str) else ""


async def _taken(
    conn: AsyncConnection, org_id: int, folder_uid: str, name: str, kind: int, uid: str, except_id: int = 0
) -> bool:
    row = (
        await conn.execute(
            select(library_element.c.id).where(
                and_(
                    library_element.c.org_id == org_id,
                    library_element.c.id != except_id,
                    or_(
                        library_element.c.uid == uid,
                        and_(
                            library_element.c.folder_uid == folder_uid,
                            library_element.c.name == name,
                            library_element.c.kind == kind,
                        ),
                    ),
                )
            )
        )
    ).first()
    return row is not None


async def create(
    conn: AsyncConnection, org_id: int, user_id: int, folder_uid: str, f: Fields, now: int
) -> Element:
    assert f.name is not None and f.kind is not None and f.model is not None
    uid = f.uid or new_uid()
    if await _taken(conn, org_id, folder_uid, f.name, f.kind, uid):
        raise AppError.bad_request(EXISTS)
    kind_type, desc = _type_and_description(f.model)
    await conn.execute(
        library_element.insert().values(
            org_id=org_id,
            folder_uid=folder_uid,
            uid=uid,
            name=f.name,
            kind=f.kind,
            type=kind_type,
            description=desc,
            model=orjson.dumps(f.model).decode(),
            version=1,
            created=now,
            created_by=user_id,
            updated=now,
            updated_by=user_id,
        )
    )
    found = await get(conn, org_id, uid)
    if found is None:
        raise AppError.conflict(EXISTS)
    return found


async def change(
    conn: AsyncConnection,
    current: Element,
    user_id: int,
    folder_uid: str,
    f: Fields,
    version: int | None,
    now: int,
) -> Element:
    if version != current.version:
        raise AppError(412, "the library element has been changed by someone else", status="version-mismatch")
    name = f.name or current.name
    kind = f.kind or current.kind
    uid = f.uid or current.uid
    if await _taken(conn, current.org_id, folder_uid, name, kind, uid, except_id=current.id):
        raise AppError.bad_request(EXISTS)
    values: dict[str, Any] = {
        "folder_uid": folder_uid,
        "uid": uid,
        "name": name,
        "kind": kind,
        "version": current.version + 1,
        "updated": now,
        "updated_by": user_id,
    }
    if f.model is not None:
        values["type"], values["description"] = _type_and_description(f.model)
        values["model"] = orjson.dumps(f.model).decode()
    result = await conn.execute(
        update(library_element)
        .where(and_(library_element.c.id == current.id, library_element.c.version == current.version))
        .values(**values)
    )
    if result.rowcount != 1:
        raise AppError(412, "the library element has been changed by someone else", status="version-mismatch")
    found = await get(conn, current.org_id, uid)
    assert found is not None
    return found


async def remove(conn: AsyncConnection, element: Element) -> None:
    await conn.execute(delete(library_element).where(library_element.c.id == element.id))


async def forget_folder(conn: AsyncConnection, org_id: int, folder_uid: str, _force: bool) -> None:
    """A deleted folder takes its library elements with it, unless a dashboard outside the folder
    (and its subfolders, deleted with it) still uses one of them."""
    rows = await conn.execute(
        select(library_element.c.uid, library_element.c.name).where(
            and_(library_element.c.org_id == org_id, library_element.c.folder_uid == folder_uid)
        )
    )
    names = {r.uid: r.name for r in rows}
    if not names:
        return
    doomed = {folder_uid, *descendants(await folder_tree(conn, org_id), folder_uid)}
    for uid, users_of in (await connections(conn, org_id, list(names))).items():
        if any((d.folder_uid or "") not in doomed for d in users_of):
            raise AppError.bad_request(
                f"Folder could not be deleted because it contains library elements in use ({names[uid]})"
            )
    await conn.execute(
        delete(library_element).where(
            and_(library_element.c.org_id == org_id, library_element.c.folder_uid == folder_uid)
        )
    )
