"""Library elements API (``/api/library-elements``): folder permissions decide who reads and writes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.clock import iso
from vigil.dashboards import hooks
from vigil.dashboards.access import visible_folder_uids
from vigil.dashboards.save import resolve_folder_uid
from vigil.dashboards.service import Access, can_edit_folder, can_view_folder, load_access
from vigil.dashboards.tables import folder
from vigil.errors import AppError
from vigil.http.identity import services, viewer
from vigil.http.params import json_object
from vigil.http.responses import json_response, message
from vigil.library import service as library
from vigil.storage.db import now_ms

router = APIRouter()
hooks.on_folder_deleted(library.forget_folder)
MAX_PER_PAGE = 5000


def _int(request: Request, name: str, default: int) -> int:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise AppError.bad_request(f"{name} must be an integer, got {raw!r}") from None


def _csv(request: Request, name: str) -> list[str] | None:
    values = [v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",") if v.strip()]
    return values or None


async def _folder_filter(conn: AsyncConnection, request: Request, org_id: int) -> list[str] | None:
    uids = _csv(request, "folderFilterUIDs")
    ids = _csv(request, "folderFilter")
    out: list[str] = []
    if uids:
        out += ["" if u.lower() == "general" else u for u in uids]
    if ids:
        numeric: list[int] = []
        for raw in ids:
            if raw.lower() == "general":
                out.append("")
                continue
            try:
                numeric.append(int(raw))
            except ValueError:
                raise AppError.bad_request(f"folderFilter must hold folder ids, got {raw!r}") from None
        if 0 in numeric:
            out.append("")
        rows = await conn.execute(
            select(folder.c.uid).where(and_(folder.c.org_id == org_id, folder.c.id.in_(numeric)))
        )
        out += [r[0] for r in rows]
    return out if (uids or ids) else None


async def _readable(
    conn: AsyncConnection, access: Access, element: library.Element | None
) -> library.Element:
    if element is None or not await can_view_folder(conn, access, element.folder_uid):
        raise library.not_found()
    return element


@router.get("/api/library-elements")
async def search_elements(request: Request, who: Identity = Depends(viewer)) -> Response:
    kind = _int(request, "kind", 0)
    direction = (request.query_params.get("sortDirection") or "alpha-asc").strip().lower()
    if direction not in ("alpha-asc", "alpha-desc"):
        raise AppError.bad_request("sortDirection must be alpha-asc or alpha-desc")
    page = max(1, _int(request, "page", 1))
    per_page = _int(request, "perPage", 0) or _int(request, "perpage", 100)
    per_page = 100 if per_page < 1 else min(per_page, MAX_PER_PAGE)
    async with services(request).db.read() as conn:
        access = await load_access(conn, who)
        q = library.Search(
            text=(request.query_params.get("searchString") or "").strip(),
            kind=kind or None,
            descending=direction == "alpha-desc",
            types=_csv(request, "typeFilter"),
            exclude_uid=(request.query_params.get("excludeUid") or "").strip(),
            folder_uids=await _folder_filter(conn, request, who.org_id),
            page=page,
            per_page=per_page,
        )
        visible = None if access.is_org_admin else list(await visible_folder_uids(conn, access))
        total, found = await library.search(conn, who.org_id, q, visible)
        elements = await library.render(conn, found)
    return json_response(
        {"result": {"totalCount": total, "page": page, "perPage": per_page, "elements": elements}}
    )


@router.get("/api/library-elements/name/{name}")
async def elements_by_name(name: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.read() as conn:
        access = await load_access(conn, who)
        found = [
            e
            for e in await library.by_name(conn, who.org_id, name)
            if await can_view_folder(conn, access, e.folder_uid)
        ]
        if not found:
            raise library.not_found()
        return json_response({"result": await library.render(conn, found)})


@router.get("/api/library-elements/{uid}")
async def get_element(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.read() as conn:
        access = await load_access(conn, who)
        element = await _readable(conn, access, await library.get(conn, who.org_id, uid))
        return json_response({"result": (await library.render(conn, [element]))[0]})


@router.get("/api/library-elements/{uid}/connections")
async def element_connections(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.read() as conn:
        access = await load_access(conn, who)
        element = await _readable(conn, access, await library.get(conn, who.org_id, uid))
        used = (await library.connections(conn, who.org_id, [element.uid])).get(element.uid, [])
        result: list[dict[str, Any]] = [
            {
                "id": d.id,
                "kind": 1,
                "elementId": element.id,
                "connectionId": d.id,
                "connectionUid": d.uid,
                "created": iso(d.updated / 1000),
                "createdBy": {"id": d.updated_by, "name": "", "avatarUrl": ""},
            }
            for d in used
        ]
    return json_response({"result": result})


async def _target_folder(conn: AsyncConnection, org_id: int, body: dict[str, Any], default: str) -> str:
    if body.get("folderUid") is None and body.get("folderId") is None:
        return default
    return await resolve_folder_uid(conn, org_id, body.get("folderUid"), body.get("folderId"))


async def _require_edit(conn: AsyncConnection, access: Access, folder_uid: str) -> None:
    if not await can_edit_folder(conn, access, folder_uid):
        raise AppError.forbidden("Access denied: you cannot change library elements in this folder")


@router.post("/api/library-elements")
async def create_element(request: Request, who: Identity = Depends(viewer)) -> Response:
    s = services(request)
    body = await json_object(request)
    fields = library.parse(body, create=True)
    async with s.db.write() as conn:
        access = await load_access(conn, who)
        folder_uid = await _target_folder(conn, who.org_id, body, "")
        await _require_edit(conn, access, folder_uid)
        element = await library.create(conn, who.org_id, who.user_id, folder_uid, fields, now_ms(s.clock))
        return json_response({"result": (await library.render(conn, [element]))[0]})


@router.patch("/api/library-elements/{uid}")
async def patch_element(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    s = services(request)
    body = await json_object(request)
    fields = library.parse(body, create=False)
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise AppError.bad_request("bad request data: version must be an integer")
    async with s.db.write() as conn:
        access = await load_access(conn, who)
        current = await _readable(conn, access, await library.get(conn, who.org_id, uid))
        await _require_edit(conn, access, current.folder_uid)
        folder_uid = await _target_folder(conn, who.org_id, body, current.folder_uid)
        if folder_uid != current.folder_uid:
            await _require_edit(conn, access, folder_uid)
        element = await library.change(
            conn, current, who.user_id, folder_uid, fields, version, now_ms(s.clock)
        )
        return json_response({"result": (await library.render(conn, [element]))[0]})


@router.delete("/api/library-elements/{uid}")
async def delete_element(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.write() as conn:
        access = await load_access(conn, who)
        element = await _readable(conn, access, await library.get(conn, who.org_id, uid))
        await _require_edit(conn, access, element.folder_uid)
        if (await library.connections(conn, who.org_id, [element.uid])).get(element.uid):
            raise AppError.forbidden("the library element has connections")
        await library.remove(conn, element)
    return message("Library element deleted", id=element.id)
