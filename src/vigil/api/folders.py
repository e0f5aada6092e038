"""Folders: list, read, create, update, move, delete, permissions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.dashboards.access import FOLDER, load_access
from vigil.dashboards.folders import (
    create_folder,
    delete_folder,
    folder_dto,
    folder_not_found,
    get_folder_row,
    list_folders,
    move_folder,
    require_folder,
    update_folder,
)
from vigil.dashboards.models import ADMIN, VIEW, id_in_range
from vigil.dashboards.permissions import folder_items, parse_items, replace_items
from vigil.errors import AppError
from vigil.http.identity import identity, services
from vigil.http.params import json_object
from vigil.http.responses import json_response, message
from vigil.storage.db import now_ms

router = APIRouter()


def _int_query(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise AppError.bad_request(f"{name} must be an integer") from None


@router.get("/api/folders")
async def folders(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    limit = _int_query(request, "limit", 1000)
    page = max(_int_query(request, "page", 1), 1)
    if limit < 1 or limit > 100_000:
        limit = 1000
    parent = (request.query_params.get("parentUid") or "").strip()
    if parent == "general":
        parent = ""
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        if parent:
            f = await get_folder_row(conn, who.org_id, uid=parent)
            await require_folder(conn, access, f, VIEW)
        return json_response(await list_folders(conn, access, parent, limit, page))


async def _dto(request: Request, who: Identity, *, uid: str | None = None, id: int | None = None) -> Response:
    s = services(request)
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        f = await get_folder_row(conn, who.org_id, uid=uid, id=id)
        await require_folder(conn, access, f, VIEW)
        return json_response(await folder_dto(conn, access, f))


@router.get("/api/folders/id/{folder_id}")
async def folder_by_id(folder_id: str, request: Request, who: Identity = Depends(identity)) -> Response:
    try:
        ident = int(folder_id)
    except ValueError:
        raise AppError.bad_request("id is invalid") from None
    if not id_in_range(ident):
        raise folder_not_found()
    return await _dto(request, who, id=ident)


@router.get("/api/folders/{uid}")
async def folder_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _dto(request, who, uid=uid)


@router.post("/api/folders")
async def create(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    body = await json_object(request)
    f = await create_folder(s.db, who, body, now_ms(s.clock))
    return await _dto(request, who, id=f.id)


@router.put("/api/folders/{uid}")
async def update(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    body = await json_object(request)
    f = await update_folder(s.db, who, uid, body, now_ms(s.clock))
    return await _dto(request, who, id=f.id)


@router.post("/api/folders/{uid}/move")
async def move(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    body = await json_object(request, optional=True)
    f = await move_folder(s.db, who, uid, body, now_ms(s.clock))
    return await _dto(request, who, id=f.id)


@router.delete("/api/folders/{uid}")
async def delete(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    force = (request.query_params.get("forceDeleteRules") or "").lower() == "true"
    f = await delete_folder(s.db, who, uid, force_delete_rules=force)
    return json_response({"id": f.id, "uid": f.uid, "title": f.title, "message": f"Folder {f.title} deleted"})


@router.get("/api/folders/{uid}/permissions")
async def permissions(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        f = await get_folder_row(conn, who.org_id, uid=uid)
        await require_folder(conn, access, f, ADMIN)
        return json_response(await folder_items(conn, f))


@router.post("/api/folders/{uid}/permissions")
async def set_permissions(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    body = await json_object(request)
    async with s.db.write() as conn:
        access = await load_access(conn, who)
        f = await get_folder_row(conn, who.org_id, uid=uid)
        await require_folder(conn, access, f, ADMIN)
        items = await parse_items(conn, who.org_id, body)
        await replace_items(conn, who.org_id, FOLDER, f.uid, items, now_ms(s.clock))
    return message("Folder permissions updated")
