"""Dashboard snapshots.

Reading by key needs a signed-in member of the snapshot's org, unless ``[snapshots] public_mode``
is on (then the key alone is enough). Deleting by delete key needs nothing but the key: that is what
the delete key is for. Editors create; the creator, Editors and Admins delete by key.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.errors import AppError
from vigil.http.identity import editor, optional_identity, services, viewer
from vigil.http.params import json_object, query_limit, query_text
from vigil.http.responses import json_response, message
from vigil.snapshots import service as snapshots
from vigil.storage.db import now_ms

router = APIRouter()
NOT_FOUND = "Dashboard snapshot not found"


@router.post("/api/snapshots")
async def create_snapshot(request: Request, who: Identity = Depends(editor)) -> Response:
    s = services(request)
    spec = snapshots.parse(await json_object(request))
    async with s.db.write() as conn:
        snap = await snapshots.create(conn, who.org_id, who.user_id, spec, now_ms(s.clock))
    root = s.root_url.rstrip("/")
    return json_response(
        {
            "key": snap.key,
            "deleteKey": snap.delete_key,
            "url": f"{root}/dashboard/snapshot/{snap.key}",
            "deleteUrl": f"{root}/api/snapshots-delete/{snap.delete_key}",
            "id": snap.id,
        }
    )


@router.get("/api/snapshot/shared-options")
async def shared_options(_who: Identity = Depends(viewer)) -> Response:
    return json_response({"externalSnapshotURL": "", "externalSnapshotName": "", "externalEnabled": False})


@router.get("/api/snapshots/{key}")
async def get_snapshot(key: str, request: Request) -> Response:
    s = services(request)
    public = s.config.get_bool("snapshots", "public_mode")
    who = None if public else await optional_identity(request)
    if not public and who is None:
        raise AppError.unauthorized()
    async with s.db.read() as conn:
        snap = await snapshots.by_key(conn, key, now_ms(s.clock))
    if snap is None or (who is not None and snap.org_id != who.org_id):
        raise AppError.not_found(NOT_FOUND)
    return json_response(snap.document())


@router.delete("/api/snapshots/{key}")
async def delete_snapshot(key: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    s = services(request)
    async with s.db.write() as conn:
        snap = await snapshots.by_key(conn, key, now_ms(s.clock))
        if snap is None or snap.org_id != who.org_id:
            raise AppError.not_found(NOT_FOUND)
        if snap.user_id != who.user_id and not who.has_role("Editor"):
            raise AppError.forbidden("Access denied to this snapshot")
        await snapshots.remove(conn, snap.id)
    return message(snapshots.DELETED, id=snap.id)


@router.get("/api/snapshots-delete/{delete_key}")
async def delete_snapshot_by_delete_key(delete_key: str, request: Request) -> Response:
    async with services(request).db.write() as conn:
        snap = await snapshots.by_delete_key(conn, delete_key)
        if snap is None:
            raise AppError.not_found(NOT_FOUND)
        await snapshots.remove(conn, snap.id)
    return message(snapshots.DELETED, id=snap.id)


@router.get("/api/dashboard/snapshots")
async def search_snapshots(request: Request, who: Identity = Depends(viewer)) -> Response:
    """Org Admins see every snapshot of the org, others their own."""
    s = services(request)
    async with s.db.read() as conn:
        found = await snapshots.search(
            conn,
            who.org_id,
            None if who.has_role("Admin") else who.user_id,
            query_text(request, "query"),
            query_limit(request),
            now_ms(s.clock),
        )
    return json_response([snap.listing() for snap in found])
