"""Saving and deleting dashboards: Grafana's validate-before-save, then one conditional write.

The algorithm (reference/grafana-api.md §4):
1. title and uid rules (400);
2. ``id`` given but unknown (404); ``id`` and ``uid`` naming two rows (400);
3. version check against the stored row (412 ``version-mismatch`` unless ``overwrite``);
4. plugin-owned dashboards need ``overwrite`` (412 ``plugin-dashboard``);
5. title check in the target folder (412 ``name-exists`` unless ``overwrite``, which takes over
   that row's id, uid and version);
6. write: a new row or ``UPDATE … WHERE id = :id AND version = :read_version`` plus a version row
   under a unique ``(dashboard_id, version)``. Two saves at the same version: exactly one commits,
   the other finds no row to update (or hits the unique key) and gets 412, on every database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth import passwords
from vigil.auth.models import Identity
from vigil.dashboards import hooks
from vigil.dashboards.access import (
    DASHBOARD,
    Access,
    can_edit_folder,
    dashboard_permission,
    load_access,
)
from vigil.dashboards.models import (
    ADMIN,
    EDIT,
    UID_RE,
    VIEW,
    Dashboard,
    check_text,
    id_in_range,
    plausible_uid,
    title_key,
)
from vigil.dashboards.tables import (
    dashboard,
    dashboard_acl,
    dashboard_provisioning,
    dashboard_tag,
    dashboard_version,
    folder,
)
from vigil.errors import AppError
from vigil.storage.db import Database

log = logging.getLogger("vigil.dashboards")
MAX_UID = 40
MAX_TAG = 190
MAX_TITLE = 255
T = TypeVar("T")


def version_mismatch() -> AppError:
    return AppError(412, "The dashboard has been changed by someone else", status="version-mismatch")


def name_exists() -> AppError:
    return AppError(412, "A dashboard with the same name in the folder already exists", status="name-exists")


def dashboard_not_found() -> AppError:
    return AppError(404, "Dashboard not found")


class _Retry(Exception):
    """A concurrent writer got there first: run the whole save again in a new transaction."""


def check_uid(uid: Any) -> str:
    """'' for absent/empty; 400 for a uid Grafana would refuse."""
    if uid is None:
        return ""
    if not isinstance(uid, str) or not UID_RE.match(uid):
        raise AppError.bad_request("uid contains illegal characters")
    if len(uid) > MAX_UID:
        raise AppError.bad_request("uid too long, max 40 characters")
    return uid


def refuse_v2(body: dict[str, Any]) -> None:
    """Grafana's v2 resource format is a different model: say so instead of storing it."""
    api_version = body.get("apiVersion")
    if isinstance(api_version, str) and api_version.startswith("dashboard.grafana.app/v2"):
        raise AppError.bad_request(
            f"dashboard in the v2 resource format (apiVersion {api_version}) is not supported: "
            "send the v1 dashboard JSON model (schemaVersion ≤ 42)"
        )
    spec = body.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("elements"), dict) and "layout" in spec:
        raise AppError.bad_request(
            "dashboard in the v2 resource format (spec.elements/spec.layout) is not supported: "
            "send the v1 dashboard JSON model (schemaVersion ≤ 42)"
        )


def unwrap_resource(dash: dict[str, Any]) -> dict[str, Any]:
    """A v0/v1 Kubernetes-style resource ``{apiVersion, kind, metadata, spec}`` carries the v1
    JSON model in ``spec`` and the uid in ``metadata.name``."""
    refuse_v2(dash)
    api_version = dash.get("apiVersion")
    spec = dash.get("spec")
    if (
        isinstance(api_version, str)
        and api_version.startswith("dashboard.grafana.app/")
        and isinstance(spec, dict)
    ):
        out = dict(spec)
        meta = dash.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("name"), str) and not out.get("uid"):
            out["uid"] = meta["name"]
        return out
    return dash


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise AppError.bad_request(f"bad request data: {what} must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise AppError.bad_request(f"bad request data: {what} must be a number")


def tags_of(data: dict[str, Any]) -> list[str]:
    raw = data.get("tags")
    if not isinstance(raw, list):
        return []
    out: list[str] = []
    for t in raw:
        if isinstance(t, str) and t.strip() and len(t) <= MAX_TAG and "\x00" not in t and t not in out:
            out.append(t)
    return out


@dataclass(frozen=True)
class SaveRequest:
    dashboard: dict[str, Any]
    folder_uid: str = ""
    overwrite: bool = False
    message: str = ""
    restored_from: int = 0
    plugin_id: str = ""
    # provisioning saves its own dashboards; everyone else is refused on a provisioned one
    allow_provisioned: bool = False
    # the provisioner, migrations, tests: skip the caller's permission checks
    check_permissions: bool = True


async def resolve_folder_uid(conn: AsyncConnection, org_id: int, folder_uid: Any, folder_id: Any) -> str:
    """Target folder of a save: ``folderUid`` wins over ``folderId``; missing/0/""/null is General."""
    if isinstance(folder_uid, str) and folder_uid.strip():
        uid = folder_uid.strip()
        if uid == "general":
            return ""
        if not plausible_uid(uid):
            raise AppError.bad_request("folder not found")
        row = (
            await conn.execute(
                select(folder.c.uid).where(and_(folder.c.org_id == org_id, folder.c.uid == uid))
            )
        ).first()
        if row is None:
            raise AppError.bad_request("folder not found")
        return uid
    if folder_uid is not None and not isinstance(folder_uid, str):
        raise AppError.bad_request("bad request data: folderUid must be a string")
    fid = _int_or_none(folder_id, "folderId")
    if not fid:
        return ""
    if not id_in_range(fid):
        raise AppError.bad_request("folder not found")
    row = (
        await conn.execute(select(folder.c.uid).where(and_(folder.c.org_id == org_id, folder.c.id == fid)))
    ).first()
    if row is None:
        raise AppError.bad_request("folder not found")
    return str(row[0])


async def _row(conn: AsyncConnection, org_id: int, **where: Any) -> Dashboard | None:
    if isinstance(where.get("uid"), str) and not plausible_uid(where["uid"]):
        return None
    conds = [dashboard.c.org_id == org_id] + [dashboard.c[k] == v for k, v in where.items()]
    row = (await conn.execute(select(dashboard).where(and_(*conds)))).first()
    return Dashboard.from_row(row) if row else None


async def _provisioning(conn: AsyncConnection, dashboard_id: int) -> Any:
    return (
        await conn.execute(
            select(dashboard_provisioning).where(dashboard_provisioning.c.dashboard_id == dashboard_id)
        )
    ).first()


async def save_in(
    conn: AsyncConnection,
    org_id: int,
    who: Identity | None,
    access: Access | None,
    req: SaveRequest,
    now: int,
) -> Dashboard:
    """One attempt of the save algorithm inside a write transaction."""
    data = dict(req.dashboard)
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise AppError.bad_request("Dashboard title cannot be empty")
    title = check_text(title.strip(), "title")
    check_text(req.plugin_id, "pluginId")
    if len(title) > MAX_TITLE:
        raise AppError.bad_request(f"Dashboard title too long, max {MAX_TITLE} characters")
    if len(req.plugin_id) > 190:
        raise AppError.bad_request("pluginId too long, max 190 characters")
    if req.folder_uid:
        # The target folder must exist in this transaction and stay until it commits: a shared row
        # lock (SQLite: the write lock) makes a racing folder delete wait for this save, or, if the
        # delete went first, this read finds no folder. Never a dashboard left in a deleted folder.
        held = (
            await conn.execute(
                select(folder.c.uid)
                .where(and_(folder.c.org_id == org_id, folder.c.uid == req.folder_uid))
                .with_for_update(read=True)
            )
        ).first()
        if held is None:
            raise AppError.bad_request("folder not found")
    uid = check_uid(data.get("uid"))
    dash_id = _int_or_none(data.get("id"), "dashboard.id") or 0
    if not id_in_range(dash_id):
        raise dashboard_not_found()
    incoming_version = _int_or_none(data.get("version"), "dashboard.version")

    existing: Dashboard | None = None
    if dash_id > 0:
        existing = await _row(conn, org_id, id=dash_id)
        if existing is None:
            raise dashboard_not_found()
        if uid and uid != existing.uid:
            other = await _row(conn, org_id, uid=uid)
            if other is not None:
                raise AppError.bad_request("A dashboard with the same uid already exists")
        if not uid:
            uid = existing.uid
    elif uid:
        existing = await _row(conn, org_id, uid=uid)

    if req.check_permissions:
        if access is None:
            raise AppError.forbidden()
        if existing is not None:
            if await dashboard_permission(conn, access, existing) < EDIT:
                raise AppError.forbidden("Access denied: you cannot save this dashboard")
            if existing.folder_uid != req.folder_uid and not await can_edit_folder(
                conn, access, req.folder_uid
            ):
                raise AppError.forbidden("Access denied: you cannot save dashboards in the target folder")
        elif not await can_edit_folder(conn, access, req.folder_uid):
            raise AppError.forbidden("Access denied: you cannot create dashboards in this folder")

    if existing is not None:
        if not req.overwrite and incoming_version != existing.version:
            raise version_mismatch()
        if existing.plugin_id and not req.overwrite:
            raise AppError(
                412, f"The dashboard belongs to plugin {existing.plugin_id}.", status="plugin-dashboard"
            )
        if not req.allow_provisioned:
            prov = await _provisioning(conn, existing.id)
            if prov is not None and not prov.allow_ui_updates:
                raise AppError.bad_request("Cannot save provisioned dashboard")

    same_name = (
        await conn.execute(
            select(dashboard).where(
                and_(
                    dashboard.c.org_id == org_id,
                    dashboard.c.folder_uid == req.folder_uid,
                    dashboard.c.title_key == title_key(title),
                )
            )
        )
    ).first()
    if same_name is not None and (existing is None or int(same_name.id) != existing.id):
        if not req.overwrite:
            raise name_exists()
        taken = Dashboard.from_row(same_name)
        if (
            req.check_permissions
            and access is not None
            and await dashboard_permission(conn, access, taken) < EDIT
        ):
            raise AppError.forbidden("Access denied: you cannot overwrite this dashboard")
        existing = taken
        uid = taken.uid

    if existing is None:
        return await _insert(conn, org_id, who, data, title, uid, req, now)
    return await _update(conn, org_id, who, existing, data, title, uid, req, now)


def _stamp(data: dict[str, Any], id_: int, uid: str, version: int) -> str:
    data["id"] = id_
    data["uid"] = uid
    data["version"] = version
    return orjson.dumps(data).decode()


async def _insert(
    conn: AsyncConnection,
    org_id: int,
    who: Identity | None,
    data: dict[str, Any],
    title: str,
    uid: str,
    req: SaveRequest,
    now: int,
) -> Dashboard:
    uid = uid or passwords.new_uid()
    user_id = who.user_id if who else 0
    try:
        result = await conn.execute(
            insert(dashboard).values(
                uid=uid,
                org_id=org_id,
                title=title,
                title_key=title_key(title),
                folder_uid=req.folder_uid,
                version=1,
                data="{}",
                plugin_id=req.plugin_id,
                created=now,
                updated=now,
                created_by=user_id,
                updated_by=user_id,
            )
        )
    except IntegrityError:
        raise _Retry() from None
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    raw = _stamp(data, new_id, uid, 1)
    await conn.execute(update(dashboard).where(dashboard.c.id == new_id).values(data=raw))
    await _version_row(conn, new_id, 1, 0, req, raw, user_id, now)
    await _write_tags(conn, org_id, new_id, data)
    await default_dashboard_permissions(conn, org_id, uid, req.folder_uid, who, now)
    found = await _row(conn, org_id, id=new_id)
    assert found is not None
    return found


async def _update(
    conn: AsyncConnection,
    org_id: int,
    who: Identity | None,
    existing: Dashboard,
    data: dict[str, Any],
    title: str,
    uid: str,
    req: SaveRequest,
    now: int,
) -> Dashboard:
    version = existing.version + 1
    raw = _stamp(data, existing.id, existing.uid, version)
    user_id = who.user_id if who else 0
    try:
        result = await conn.execute(
            update(dashboard)
            .where(and_(dashboard.c.id == existing.id, dashboard.c.version == existing.version))
            .values(
                title=title,
                title_key=title_key(title),
                folder_uid=req.folder_uid,
                version=version,
                data=raw,
                plugin_id=req.plugin_id or existing.plugin_id,
                updated=now,
                updated_by=user_id,
            )
        )
    except IntegrityError:
        raise _Retry() from None
    if result.rowcount != 1:
        raise _Retry()
    await _version_row(conn, existing.id, version, existing.version, req, raw, user_id, now)
    await _write_tags(conn, org_id, existing.id, data)
    found = await _row(conn, org_id, id=existing.id)
    assert found is not None
    return found


async def _version_row(
    conn: AsyncConnection,
    dashboard_id: int,
    version: int,
    parent: int,
    req: SaveRequest,
    raw: str,
    user_id: int,
    now: int,
) -> None:
    try:
        await conn.execute(
            insert(dashboard_version).values(
                dashboard_id=dashboard_id,
                parent_version=parent,
                restored_from=req.restored_from,
                version=version,
                created=now,
                created_by=user_id,
                message=req.message.replace("\x00", ""),
                data=raw,
            )
        )
    except IntegrityError:
        raise _Retry() from None


async def _write_tags(conn: AsyncConnection, org_id: int, dashboard_id: int, data: dict[str, Any]) -> None:
    await conn.execute(delete(dashboard_tag).where(dashboard_tag.c.dashboard_id == dashboard_id))
    tags = tags_of(data)
    if tags:
        await conn.execute(
            insert(dashboard_tag), [{"org_id": org_id, "dashboard_id": dashboard_id, "term": t} for t in tags]
        )


async def default_dashboard_permissions(
    conn: AsyncConnection, org_id: int, uid: str, folder_uid: str, who: Identity | None, now: int
) -> None:
    """Grafana's defaults for a new dashboard: its creator gets Admin; in General (no folder to
    inherit from) the Editor role gets Edit and the Viewer role View. Without a creator (the
    provisioner) only the role defaults apply."""
    items: list[dict[str, Any]] = []
    if who is not None:
        items.append({"user_id": who.user_id, "permission": ADMIN})
    if not folder_uid:
        items.append({"role": "Editor", "permission": EDIT})
        items.append({"role": "Viewer", "permission": VIEW})
    await _insert_acl(conn, org_id, DASHBOARD, uid, items, now)


async def _insert_acl(
    conn: AsyncConnection, org_id: int, kind: str, uid: str, items: list[dict[str, Any]], now: int
) -> None:
    if not items:
        return
    await conn.execute(
        insert(dashboard_acl),
        [
            {
                "org_id": org_id,
                "kind": kind,
                "resource_uid": uid,
                "user_id": it.get("user_id", 0),
                "team_id": it.get("team_id", 0),
                "role": it.get("role", ""),
                "permission": it["permission"],
                "created": now,
                "updated": now,
            }
            for it in items
        ],
    )


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, _Retry):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else ""
        # MySQL deadlock / lock wait; SQLite busy; PostgreSQL serialization failures
        return any(k in text for k in ("deadlock", "lock wait", "database is locked", "could not serialize"))
    return False


async def with_retries(
    db: Database, attempt: Callable[[AsyncConnection], Awaitable[T]], *, on_conflict: Callable[[], AppError]
) -> T:
    """Run ``attempt`` in a write transaction; when a concurrent writer won a race, run it again
    (it then sees the committed row and decides properly). Gives up with ``on_conflict()``."""
    for n in range(5):
        try:
            async with db.write() as conn:
                return await attempt(conn)
        except Exception as exc:
            if not _retryable(exc):
                raise
            await asyncio.sleep(0.005 * (n + 1))
    raise on_conflict()


async def save_dashboard(
    db: Database, org_id: int, who: Identity | None, req: SaveRequest, now: int
) -> Dashboard:
    """Validate and save; see the module docstring. Raises AppError with Grafana's bodies."""
    refuse_v2(req.dashboard)

    async def attempt(conn: AsyncConnection) -> Dashboard:
        access = await load_access(conn, who) if who is not None else None
        return await save_in(conn, org_id, who, access, req, now)

    return await with_retries(db, attempt, on_conflict=version_mismatch)


def save_response(d: Dashboard) -> dict[str, Any]:
    return {
        "id": d.id,
        "uid": d.uid,
        "url": d.url,
        "status": "success",
        "version": d.version,
        "slug": d.slug,
        "folderUid": d.folder_uid,
    }


async def delete_dashboard_rows(conn: AsyncConnection, org_id: int, d: Dashboard) -> None:
    """Remove a dashboard with its versions, tags, permission items and provisioning record, and
    let other features forget it (stars, annotations...) in the same transaction."""
    await conn.execute(delete(dashboard).where(dashboard.c.id == d.id))
    await conn.execute(delete(dashboard_version).where(dashboard_version.c.dashboard_id == d.id))
    await conn.execute(delete(dashboard_tag).where(dashboard_tag.c.dashboard_id == d.id))
    await conn.execute(
        delete(dashboard_acl).where(
            and_(
                dashboard_acl.c.org_id == org_id,
                dashboard_acl.c.kind == DASHBOARD,
                dashboard_acl.c.resource_uid == d.uid,
            )
        )
    )
    await conn.execute(delete(dashboard_provisioning).where(dashboard_provisioning.c.dashboard_id == d.id))
    for hook in hooks.dashboard_deleted:
        await hook(conn, org_id, d.id, d.uid)


async def delete_dashboard(
    db: Database, org_id: int, who: Identity | None, uid: str, *, allow_provisioned: bool = False
) -> Dashboard:
    async with db.write() as conn:
        d = await _row(conn, org_id, uid=uid)
        if d is None:
            raise dashboard_not_found()
        if who is not None:
            access = await load_access(conn, who)
            perm = await dashboard_permission(conn, access, d)
            if perm < EDIT:
                raise AppError.forbidden("Access denied: you cannot delete this dashboard")
        if not allow_provisioned and await _provisioning(conn, d.id) is not None:
            raise AppError.bad_request("Dashboard cannot be deleted because it was provisioned")
        await delete_dashboard_rows(conn, org_id, d)
    return d
