"""Playlists: Viewers read, Editors write."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.http.identity import editor, services, viewer
from vigil.http.params import json_object, query_limit, query_text
from vigil.http.responses import json_response, message
from vigil.playlists import service as playlists
from vigil.storage.db import now_ms

router = APIRouter()


@router.get("/api/playlists")
async def search_playlists(request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.read() as conn:
        found = await playlists.search(
            conn, who.org_id, query_text(request, "query", "name"), query_limit(request)
        )
    return json_response(found)


@router.get("/api/playlists/{uid}")
async def get_playlist(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.read() as conn:
        return json_response(await playlists.full(conn, await playlists.find(conn, who.org_id, uid)))


@router.get("/api/playlists/{uid}/items")
async def get_playlist_items(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.read() as conn:
        row = await playlists.find(conn, who.org_id, uid)
        return json_response(await playlists.items_of(conn, int(row._mapping["id"])))


@router.post("/api/playlists")
async def create_playlist(request: Request, who: Identity = Depends(editor)) -> Response:
    s = services(request)
    spec = playlists.parse(await json_object(request))
    async with s.db.write() as conn:
        row = await playlists.create(conn, who.org_id, spec, now_ms(s.clock))
        return json_response(await playlists.full(conn, row))


@router.put("/api/playlists/{uid}")
async def update_playlist(uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    s = services(request)
    spec = playlists.parse(await json_object(request))
    async with s.db.write() as conn:
        row = await playlists.replace(conn, who.org_id, uid, spec, now_ms(s.clock))
        return json_response(await playlists.full(conn, row))


@router.delete("/api/playlists/{uid}")
async def delete_playlist(uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    async with services(request).db.write() as conn:
        await playlists.remove(conn, who.org_id, uid)
    return message("Playlist deleted")
