"""Annotations API.

Reading: any member; dashboard annotations only for dashboards the caller may view.
Writing: organisation annotations need the Editor role; dashboard annotations need Edit permission
on the dashboard (so a Viewer with Edit on one dashboard may annotate it, an Editor with only View
may not).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from vigil.annotations import service as annots
from vigil.auth.models import Identity
from vigil.dashboards import hooks
from vigil.dashboards.models import EDIT, VIEW, Dashboard
from vigil.dashboards.service import Access, dashboard_permission, load_access
from vigil.errors import AppError
from vigil.http.identity import services, viewer
from vigil.http.params import json_object
from vigil.http.responses import json_response, message
from vigil.storage.db import now_ms

router = APIRouter()
hooks.on_dashboard_deleted(annots.forget_dashboard)

MAX_SCAN_ROUNDS = 20


class DashboardAccess:
    """The caller's permission on dashboards, looked up once per dashboard per request."""

    def __init__(self, conn: AsyncConnection, who: Identity) -> None:
        self.conn = conn
        self.who = who
        self._access: Access | None = None
        self._levels: dict[str, int] = {}

    @property
    def is_admin(self) -> bool:
        return self.who.has_role("Admin")

    async def level(self, uid: str) -> int:
        """0 for a dashboard that does not exist."""
        if uid in self._levels:
            return self._levels[uid]
        ref = await annots.dashboard_ref(self.conn, self.who.org_id, uid=uid)
        if ref is None:
            value = 0
        else:
            if self._access is None:
                self._access = await load_access(self.conn, self.who)
            dash = Dashboard(
                id=ref[0],
                uid=ref[1],
                org_id=self.who.org_id,
                title="",
                folder_uid=ref[2],
                version=0,
                data_raw="{}",
                plugin_id="",
                created=0,
                updated=0,
                created_by=0,
                updated_by=0,
            )
            value = await dashboard_permission(self.conn, self._access, dash)
        self._levels[uid] = value
        return value

    async def can_read(self, dashboard_uid: str | None) -> bool:
        if not dashboard_uid or self.is_admin:
            return True
        return await self.level(dashboard_uid) >= VIEW

    async def require_write(self, dashboard_uid: str) -> None:
        if not dashboard_uid:
            if not self.who.has_role("Editor"):
                raise AppError.forbidden("Access denied: organization annotations need the Editor role")
            return
        if await self.level(dashboard_uid) < EDIT:
            raise AppError.forbidden("Access denied: annotating this dashboard needs Edit permission on it")


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise AppError.bad_request(f"{name} must be an integer, got {raw!r}") from None


def _query(request: Request, org_id: int) -> annots.Query:
    p = request.query_params
    kind = (p.get("type") or "").strip() or None
    if kind not in (None, "annotation", "alert"):
        raise AppError.bad_request("type must be annotation or alert")
    limit = _int(request, "limit") or annots.DEFAULT_LIMIT
    tags = [t.strip() for t in p.getlist("tags") + p.getlist("tag") if t.strip()]
    start, end = _int(request, "from"), _int(request, "to")
    return annots.Query(
        org_id=org_id,
        start=start if start else None,
        end=end if end else None,
        dashboard_uid=(p.get("dashboardUID") or p.get("dashboardUid") or "").strip() or None,
        panel_id=_int(request, "panelId"),
        user_id=_int(request, "userId"),
        alert_id=_int(request, "alertId"),
        kind=kind,
        tags=tags,
        match_any=(p.get("matchAny") or "").strip().lower() in ("true", "1"),
        limit=max(1, min(limit, annots.MAX_LIMIT)),
    )


async def _visible(conn: AsyncConnection, who: Identity, q: annots.Query) -> list[dict[str, Any]]:
    """Up to ``q.limit`` matching annotations the caller may read."""
    access = DashboardAccess(conn, who)
    if access.is_admin:
        return await annots.find(conn, q)
    out: list[dict[str, Any]] = []
    offset = 0
    for _ in range(MAX_SCAN_ROUNDS):
        batch = await annots.find(conn, q, offset)
        for item in batch:
            if await access.can_read(item["dashboardUID"]):
                out.append(item)
                if len(out) == q.limit:
                    return out
        if len(batch) < q.limit:
            break
        offset += len(batch)
    return out


@router.get("/api/annotations")
async def find_annotations(request: Request, who: Identity = Depends(viewer)) -> Response:
    q = _query(request, who.org_id)
    async with services(request).db.read() as conn:
        dash_id = _int(request, "dashboardId")
        if q.dashboard_uid is None and dash_id:
            ref = await annots.dashboard_ref(conn, who.org_id, id=dash_id)
            if ref is None:
                return json_response([])
            q.dashboard_uid = ref[1]
        return json_response(await _visible(conn, who, q))


@router.get("/api/annotations/tags")
async def annotation_tags(request: Request, who: Identity = Depends(viewer)) -> Response:
    limit = _int(request, "limit") or 100
    prefix = (request.query_params.get("tag") or "").strip()
    async with services(request).db.read() as conn:
        tags = await annots.tag_counts(conn, who.org_id, prefix, max(1, min(limit, 10_000)))
    return json_response({"result": {"tags": tags}})


async def _target(conn: AsyncConnection, who: Identity, body: dict[str, Any]) -> tuple[int, str]:
    """(dashboard id, uid) a new annotation goes on; (0, "") for an organisation annotation."""
    uid = body.get("dashboardUID") or body.get("dashboardUid")
    raw_id = body.get("dashboardId")
    if uid:
        if not isinstance(uid, str):
            raise AppError.bad_request("bad request data: dashboardUID must be a string")
        ref = await annots.dashboard_ref(conn, who.org_id, uid=uid)
    elif raw_id:
        if isinstance(raw_id, bool) or not isinstance(raw_id, int):
            raise AppError.bad_request("bad request data: dashboardId must be an integer")
        ref = await annots.dashboard_ref(conn, who.org_id, id=raw_id)
    else:
        return 0, ""
    if ref is None:
        raise AppError.not_found("Dashboard not found")
    return ref[0], ref[1]


@router.post("/api/annotations")
async def create_annotation(request: Request, who: Identity = Depends(viewer)) -> Response:
    s = services(request)
    body = await json_object(request)
    now = now_ms(s.clock)
    new = annots.parse_new(body, now)
    async with s.db.write() as conn:
        new.dashboard_id, new.dashboard_uid = await _target(conn, who, body)
        await DashboardAccess(conn, who).require_write(new.dashboard_uid)
        new_id = await annots.insert(conn, who.org_id, who.user_id, new, now)
    return message("Annotation added", id=new_id)


@router.post("/api/annotations/graphite")
async def create_graphite_annotation(request: Request, who: Identity = Depends(viewer)) -> Response:
    s = services(request)
    now = now_ms(s.clock)
    new = annots.parse_graphite(await json_object(request), now)
    async with s.db.write() as conn:
        await DashboardAccess(conn, who).require_write("")
        new_id = await annots.insert(conn, who.org_id, who.user_id, new, now)
    return message("Graphite annotation added", id=new_id)


@router.post("/api/annotations/mass-delete")
async def mass_delete_annotations(request: Request, who: Identity = Depends(viewer)) -> Response:
    """``{annotationId}`` deletes one; ``{dashboardUID or dashboardId, panelId?}`` a dashboard's (panel's)."""
    body = await json_object(request)
    async with services(request).db.write() as conn:
        access = DashboardAccess(conn, who)
        one = body.get("annotationId")
        if one:
            if isinstance(one, bool) or not isinstance(one, int):
                raise AppError.bad_request("bad request data: annotationId must be an integer")
            current = await annots.get_stored(conn, who.org_id, one)
            await access.require_write(current.dashboard_uid)
            await annots.remove(conn, [one])
        else:
            _, uid = await _target(conn, who, body)
            if not uid:
                raise AppError.bad_request("bad request data: give annotationId, or dashboardUID and panelId")
            await access.require_write(uid)
            panel = body.get("panelId")
            if panel is not None and (isinstance(panel, bool) or not isinstance(panel, int)):
                raise AppError.bad_request("bad request data: panelId must be an integer")
            await annots.remove(conn, await annots.ids_on(conn, who.org_id, uid, panel or None))
    return message("Annotations deleted")


@router.get("/api/annotations/{annotation_id}")
async def get_annotation(annotation_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    async with services(request).db.read() as conn:
        found = await annots.find(conn, annots.Query(org_id=who.org_id, annotation_id=annotation_id))
        if not found or not await DashboardAccess(conn, who).can_read(found[0]["dashboardUID"]):
            raise AppError.not_found("Annotation not found")
    return json_response(found[0])


async def _change(request: Request, who: Identity, annotation_id: int, replace: bool) -> None:
    s = services(request)
    body = await json_object(request)
    async with s.db.write() as conn:
        current = await annots.get_stored(conn, who.org_id, annotation_id)
        access = DashboardAccess(conn, who)
        if not await access.can_read(current.dashboard_uid):
            raise AppError.not_found("Annotation not found")
        await access.require_write(current.dashboard_uid)
        await annots.change(conn, current, body, replace=replace, now=now_ms(s.clock))


@router.put("/api/annotations/{annotation_id}")
async def update_annotation(
    annotation_id: int, request: Request, who: Identity = Depends(viewer)
) -> Response:
    await _change(request, who, annotation_id, replace=True)
    return message("Annotation updated")


@router.patch("/api/annotations/{annotation_id}")
async def patch_annotation(annotation_id: int, request: Request, who: Identity = Depends(viewer)) -> Response:
    await _change(request, who, annotation_id, replace=False)
    return message("Annotation patched")


@router.delete("/api/annotations/{annotation_id}")
async def delete_annotation(
    annotation_id: int, request: Request, who: Identity = Depends(viewer)
) -> Response:
    async with services(request).db.write() as conn:
        current = await annots.get_stored(conn, who.org_id, annotation_id)
        access = DashboardAccess(conn, who)
        if not await access.can_read(current.dashboard_uid):
            raise AppError.not_found("Annotation not found")
        await access.require_write(current.dashboard_uid)
        await annots.remove(conn, [annotation_id])
    return message("Annotation deleted")
