"""Folders: create, rename, move (nested, with ``parentUid``), delete with their contents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth import passwords
from vigil.auth.models import Identity
from vigil.auth.tables import user
from vigil.clock import iso
from vigil.dashboards import hooks
from vigil.dashboards.access import (
    FOLDER,
    Access,
    ancestors,
    can_edit_folder,
    descendants,
    folder_permission,
    folder_tree,
    load_access,
    tree_of,
)
from vigil.dashboards.models import ADMIN, EDIT, VIEW, Dashboard, Folder, check_text, plausible_uid
from vigil.dashboards.save import _insert_acl, _Retry, check_uid, delete_dashboard_rows, with_retries
from vigil.dashboards.tables import dashboard, dashboard_acl, folder
from vigil.errors import AppError
from vigil.storage.db import Database

# Grafana's limit on nesting: a folder may have at most this many ancestors plus itself.
MAX_DEPTH = 4


def folder_not_found() -> AppError:
    return AppError(404, "folder not found", status="not-found")


def folder_version_mismatch() -> AppError:
    return AppError(412, "The folder has been changed by someone else", status="version-mismatch")


async def logins(conn: AsyncConnection, ids: set[int]) -> dict[int, str]:
    """Login of each user id (for createdBy/updatedBy); unknown ids are absent."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await conn.execute(select(user.c.id, user.c.login).where(user.c.id.in_(wanted)))
    return {int(r.id): str(r.login) for r in rows}


async def get_folder_row(
    conn: AsyncConnection, org_id: int, *, uid: str | None = None, id: int | None = None
) -> Folder:
    if uid is not None and not plausible_uid(uid):
        raise folder_not_found()
    cond = folder.c.uid == uid if uid is not None else folder.c.id == id
    row = (await conn.execute(select(folder).where(and_(folder.c.org_id == org_id, cond)))).first()
    if row is None:
        raise folder_not_found()
    return Folder.from_row(row)


async def folder_dto(conn: AsyncConnection, access: Access, f: Folder) -> dict[str, Any]:
    perm = await folder_permission(conn, access, f.uid)
    names = await logins(conn, {f.created_by, f.updated_by})
    out: dict[str, Any] = {
        "id": f.id,
        "uid": f.uid,
        "orgId": f.org_id,
        "title": f.title,
        "url": f.url,
        "hasAcl": False,
        "canSave": perm >= EDIT,
        "canEdit": perm >= EDIT,
        "canAdmin": perm >= ADMIN,
        "canDelete": perm >= EDIT,
        "createdBy": names.get(f.created_by, "Anonymous"),
        "created": iso(f.created / 1000),
        "updatedBy": names.get(f.updated_by, "Anonymous"),
        "updated": iso(f.updated / 1000),
        "version": f.version,
    }
    if f.description:
        out["description"] = f.description
    if f.parent_uid:
        out["parentUid"] = f.parent_uid
        tree = await tree_of(conn, access)
        out["parents"] = [
            {"id": p.id, "uid": p.uid, "orgId": p.org_id, "title": p.title, "url": p.url}
            | ({"parentUid": p.parent_uid} if p.parent_uid else {})
            for p in ancestors(tree, f.uid)
        ]
    return out


async def require_folder(conn: AsyncConnection, access: Access, f: Folder, needed: int) -> None:
    perm = await folder_permission(conn, access, f.uid)
    if perm < needed:
        raise AppError.forbidden("Access denied")


def _title(body: dict[str, Any], required: bool) -> str | None:
    value = body.get("title")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise AppError.bad_request("folder title cannot be empty")
    check_text(value, "title")
    if len(value.strip()) > 255:
        raise AppError.bad_request("folder title too long, max 255 characters")
    return value.strip()


def _parent_uid(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AppError.bad_request("bad request data: parentUid must be a string")
    value = value.strip()
    if value and not plausible_uid(value):
        raise folder_not_found()
    return "" if value == "general" else value


async def _check_sibling_title(
    conn: AsyncConnection, org_id: int, parent_uid: str, title: str, except_uid: str = ""
) -> None:
    row = (
        await conn.execute(
            select(folder.c.uid).where(
                and_(
                    folder.c.org_id == org_id,
                    folder.c.parent_uid == parent_uid,
                    func.lower(folder.c.title) == title.lower(),
                    folder.c.uid != except_uid,
                )
            )
        )
    ).first()
    if row is not None:
        raise AppError.conflict("a folder with the same name already exists in the parent folder")


def _depth(tree: dict[str, Folder], uid: str) -> int:
    """Levels from the root down to ``uid`` inclusive ('' = 0)."""
    return 0 if not uid else len(ancestors(tree, uid)) + 1


def _height(tree: dict[str, Folder], uid: str) -> int:
    """Levels of the subtree under ``uid``, itself included."""
    children: dict[str, list[str]] = {}
    for f in tree.values():
        children.setdefault(f.parent_uid, []).append(f.uid)

    def h(u: str, seen: frozenset[str]) -> int:
        kids = [k for k in children.get(u, []) if k not in seen]
        return 1 + max((h(k, seen | {k}) for k in kids), default=0)

    return h(uid, frozenset({uid}))


def _check_new_folder(body: dict[str, Any]) -> tuple[str, str, str, str]:
    title = _title(body, required=True)
    assert title is not None
    uid = check_uid(body.get("uid"))
    if uid == "general":
        raise AppError.bad_request("invalid uid for folder provided")
    description = body.get("description")
    description = check_text(description, "description") if isinstance(description, str) else ""
    return title, uid, _parent_uid(body.get("parentUid")), description


async def create_folder_in(
    conn: AsyncConnection,
    org_id: int,
    body: dict[str, Any],
    now: int,
    creator: Identity | None = None,
    access: Access | None = None,
) -> Folder:
    """Create a folder inside the caller's transaction: ``body`` as POST /api/folders takes it.
    With ``access`` the caller's permissions are checked; without (the provisioner) they are not.
    Defaults as Grafana: the creator gets Admin; a top-level folder gives the Editor role Edit and
    the Viewer role View (subfolders inherit from their parent)."""
    title, uid, parent_uid, description = _check_new_folder(body)
    tree = await tree_of(conn, access) if access is not None else await folder_tree(conn, org_id)
    if parent_uid:
        if parent_uid not in tree:
            raise folder_not_found()
        if _depth(tree, parent_uid) >= MAX_DEPTH:
            raise AppError.bad_request(f"Maximum nested folder depth reached ({MAX_DEPTH} levels)")
    if access is not None and not await can_edit_folder(conn, access, parent_uid):
        raise AppError.forbidden("Access denied: you cannot create folders here")
    if uid and uid in tree:
        raise AppError.conflict("A folder/dashboard with the same uid already exists")
    await _check_sibling_title(conn, org_id, parent_uid, title)
    new_uid = uid or passwords.new_uid()
    user_id = creator.user_id if creator is not None else 0
    try:
        result = await conn.execute(
            insert(folder).values(
                uid=new_uid,
                org_id=org_id,
                title=title,
                description=description,
                parent_uid=parent_uid,
                version=1,
                created=now,
                updated=now,
                created_by=user_id,
                updated_by=user_id,
            )
        )
    except IntegrityError:
        raise _Retry() from None
    items: list[dict[str, Any]] = [{"user_id": user_id, "permission": ADMIN}] if user_id else []
    if not parent_uid:
        items += [{"role": "Editor", "permission": EDIT}, {"role": "Viewer", "permission": VIEW}]
    await _insert_acl(conn, org_id, FOLDER, new_uid, items, now)
    return await get_folder_row(conn, org_id, id=int(result.inserted_primary_key[0]))  # type: ignore[index]


async def create_folder(db: Database, who: Identity, body: dict[str, Any], now: int) -> Folder:
    _check_new_folder(body)  # 400s before touching the database

    async def attempt(conn: AsyncConnection) -> Folder:
        access = await load_access(conn, who)
        return await create_folder_in(conn, who.org_id, body, now, creator=who, access=access)

    return await with_retries(
        db,
        attempt,
        on_conflict=lambda: AppError.conflict("A folder/dashboard with the same uid already exists"),
    )


async def update_folder(db: Database, who: Identity, uid: str, body: dict[str, Any], now: int) -> Folder:
    title = _title(body, required=False)
    overwrite = body.get("overwrite") is True
    version = body.get("version")
    description = body.get("description")

    new_uid = body.get("uid")
    if isinstance(new_uid, str) and new_uid.strip() and new_uid.strip() != uid:
        raise AppError.bad_request("changing the uid of a folder is not supported")

    async def attempt(conn: AsyncConnection) -> Folder:
        access = await load_access(conn, who)
        f = await get_folder_row(conn, who.org_id, uid=uid)
        await require_folder(conn, access, f, EDIT)
        if not overwrite and version != f.version:
            raise folder_version_mismatch()
        new_title = title if title is not None else f.title
        if new_title.lower() != f.title.lower():
            await _check_sibling_title(conn, who.org_id, f.parent_uid, new_title, except_uid=f.uid)
        values: dict[str, Any] = {
            "title": new_title,
            "version": f.version + 1,
            "updated": now,
            "updated_by": who.user_id,
        }
        if isinstance(description, str):
            values["description"] = check_text(description, "description")
        result = await conn.execute(
            update(folder).where(and_(folder.c.id == f.id, folder.c.version == f.version)).values(**values)
        )
        if result.rowcount != 1:
            raise _Retry()
        return await get_folder_row(conn, who.org_id, id=f.id)

    return await with_retries(db, attempt, on_conflict=folder_version_mismatch)


async def move_folder(db: Database, who: Identity, uid: str, body: dict[str, Any], now: int) -> Folder:
    parent_uid = _parent_uid(body.get("parentUid"))

    async def attempt(conn: AsyncConnection) -> Folder:
        access = await load_access(conn, who)
        f = await get_folder_row(conn, who.org_id, uid=uid)
        await require_folder(conn, access, f, EDIT)
        tree = await tree_of(conn, access)
        if parent_uid:
            if parent_uid not in tree:
                raise folder_not_found()
            if parent_uid == f.uid or parent_uid in descendants(tree, f.uid):
                raise AppError.bad_request("cannot move a folder under itself or one of its subfolders")
            if _depth(tree, parent_uid) + _height(tree, f.uid) > MAX_DEPTH:
                raise AppError.bad_request(f"Maximum nested folder depth reached ({MAX_DEPTH} levels)")
        if not await can_edit_folder(conn, access, parent_uid):
            raise AppError.forbidden("Access denied: you cannot move folders into the target folder")
        if parent_uid != f.parent_uid:
            await _check_sibling_title(conn, who.org_id, parent_uid, f.title, except_uid=f.uid)
        result = await conn.execute(
            update(folder)
            .where(and_(folder.c.id == f.id, folder.c.version == f.version))
            .values(parent_uid=parent_uid, version=f.version + 1, updated=now, updated_by=who.user_id)
        )
        if result.rowcount != 1:
            raise _Retry()
        return await get_folder_row(conn, who.org_id, id=f.id)

    return await with_retries(db, attempt, on_conflict=folder_version_mismatch)


async def delete_folder(db: Database, who: Identity, uid: str, force_delete_rules: bool = False) -> Folder:
    """Delete the folder, its subfolders and every dashboard in them (one transaction)."""
    async with db.write() as conn:
        access = await load_access(conn, who)
        f = await get_folder_row(conn, who.org_id, uid=uid)
        await require_folder(conn, access, f, EDIT)
        tree = await tree_of(conn, access)
        doomed = [*descendants(tree, f.uid), f.uid]
        # lock the folders first: saves into them that hold a shared lock finish before this
        # delete goes on, later ones wait and then find no folder (vigil.dashboards.save.save_in)
        await conn.execute(
            select(folder.c.uid)
            .where(and_(folder.c.org_id == who.org_id, folder.c.uid.in_(doomed)))
            .with_for_update()
        )
        for fu in doomed:
            for hook in hooks.folder_deleted:
                await hook(conn, who.org_id, fu, force_delete_rules)
        rows = await conn.execute(
            select(dashboard)
            .where(and_(dashboard.c.org_id == who.org_id, dashboard.c.folder_uid.in_(doomed)))
            .with_for_update()  # a locking read sees what the saves that went first committed (MySQL)
        )
        for d in [Dashboard.from_row(r) for r in rows]:
            await delete_dashboard_rows(conn, who.org_id, d)
        await conn.execute(
            delete(dashboard_acl).where(
                and_(
                    dashboard_acl.c.org_id == who.org_id,
                    dashboard_acl.c.kind == FOLDER,
                    dashboard_acl.c.resource_uid.in_(doomed),
                )
            )
        )
        await conn.execute(
            delete(folder).where(and_(folder.c.org_id == who.org_id, folder.c.uid.in_(doomed)))
        )
    return f


async def list_folders(
    conn: AsyncConnection, access: Access, parent_uid: str, limit: int, page: int, needed: int = VIEW
) -> list[dict[str, Any]]:
    """Folders directly under ``parent_uid`` the caller may see, by title, one page."""
    tree = await tree_of(conn, access)
    if access.is_org_admin:
        visible = list(tree.values())
    else:
        from vigil.dashboards.access import folder_permissions

        perms = await folder_permissions(conn, access)
        visible = [f for f in tree.values() if perms.get(f.uid, 0) >= needed]
    chosen = sorted((f for f in visible if f.parent_uid == parent_uid), key=lambda f: (f.title.lower(), f.id))
    start = (page - 1) * limit
    out = []
    for f in chosen[start : start + limit]:
        item: dict[str, Any] = {"id": f.id, "uid": f.uid, "title": f.title}
        if f.parent_uid:
            item["parentUid"] = f.parent_uid
        out.append(item)
    return out
