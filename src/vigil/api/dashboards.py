"""Dashboards: save, read, delete, versions, restore, permissions, tags, home, import."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.dashboards import hooks
from vigil.dashboards.access import DASHBOARD, Access, load_access
from vigil.dashboards.imports import evaluate_inputs, extract_dashboard
from vigil.dashboards.models import ADMIN, EDIT, Dashboard, id_in_range, slugify
from vigil.dashboards.permissions import dashboard_items, parse_items, replace_items
from vigil.dashboards.save import (
    SaveRequest,
    dashboard_not_found,
    delete_dashboard,
    refuse_v2,
    resolve_folder_uid,
    save_dashboard,
    save_response,
    unwrap_resource,
)
from vigil.dashboards.search import tag_counts
from vigil.dashboards.service import get_dashboard, get_folder
from vigil.dashboards.versions import (
    get_version,
    list_versions,
    render_diff,
    restore_version,
    version_not_found,
)
from vigil.dashboards.views import HOME_DASHBOARD, dashboard_body_for, home_meta, require_dashboard
from vigil.errors import AppError
from vigil.http.identity import identity, services
from vigil.http.params import json_object
from vigil.http.responses import json_response, message
from vigil.http.routing import json_read
from vigil.storage.db import now_ms

router = APIRouter()


def _overwrite(body: dict[str, Any]) -> bool:
    value = body.get("overwrite")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _message(body: dict[str, Any]) -> str:
    value = body.get("message")
    return value if isinstance(value, str) else ""


@router.post("/api/dashboards/db")
async def save(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    body = await json_object(request)
    refuse_v2(body)
    dash = body.get("dashboard")
    if not isinstance(dash, dict):
        raise AppError.bad_request("bad request data: dashboard must be a JSON object")
    dash = unwrap_resource(dash)
    async with s.db.read() as conn:
        folder_uid = await resolve_folder_uid(conn, who.org_id, body.get("folderUid"), body.get("folderId"))
    req = SaveRequest(
        dashboard=dash, folder_uid=folder_uid, overwrite=_overwrite(body), message=_message(body)
    )
    saved = await save_dashboard(s.db, who.org_id, who, req, now_ms(s.clock))
    return json_response(save_response(saved))


async def _by_uid(conn: Any, who: Identity, uid: str) -> Dashboard:
    d = await get_dashboard(conn, who.org_id, uid=uid)
    if d is None:
        raise dashboard_not_found()
    return d


async def _by_id(conn: Any, who: Identity, dash_id: str) -> Dashboard:
    try:
        ident = int(dash_id)
    except ValueError:
        raise AppError.bad_request("id is invalid") from None
    if not id_in_range(ident):
        raise dashboard_not_found()
    d = await get_dashboard(conn, who.org_id, id=ident)
    if d is None:
        raise dashboard_not_found()
    return d


@json_read(router, "/api/dashboards/uid/{uid}")
async def get_by_uid(request: Request, uid: str) -> bytes:
    who = await identity(request)
    s = services(request)
    body = await s.dashboard_cache.body(who, uid)
    if body is None:  # the cache is off
        async with s.db.read() as conn:
            body = await dashboard_body_for(conn, who, uid)
    return body


@router.delete("/api/dashboards/uid/{uid}")
async def delete_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    d = await delete_dashboard(s.db, who.org_id, who, uid)
    return json_response(
        {"title": d.title, "message": f"Dashboard {d.title} deleted", "uid": d.uid, "id": d.id}
    )


@router.get("/api/dashboards/db/{slug}")
@router.delete("/api/dashboards/db/{slug}")
async def legacy_slug(slug: str, _who: Identity = Depends(identity)) -> Response:
    return message(
        "Dashboard not found: slug URLs were removed in Grafana 8, use /api/dashboards/uid/:uid", 404
    )


# -- versions ---------------------------------------------------------------------------------


def _int_text(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None and raw.strip() else default
    except ValueError:
        return default


def _int_query(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise AppError.bad_request(f"{name} must be an integer") from None


async def _form_on_get(request: Request) -> dict[str, str]:
    """grafana-client sends ``limit``/``start`` as a form body on GET: read them from there too."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    from urllib.parse import parse_qsl

    raw = (await request.body())[:4096].decode("utf-8", "replace")
    return dict(parse_qsl(raw))


async def _versions(request: Request, who: Identity, d_of: Any, wrapped: bool) -> Response:
    s = services(request)
    form = await _form_on_get(request)
    limit = _int_query(request, "limit", _int_text(form.get("limit"), 1000))
    start = _int_query(request, "start", _int_text(form.get("start"), 0))
    if limit < 1 or limit > 100_000:
        limit = 1000
    start = min(start, 2**31)
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        d = await d_of(conn)
        await require_dashboard(conn, access, d, EDIT)
        items = await list_versions(conn, d, limit, max(start, 0))
    if wrapped:
        return json_response({"versions": items, "continueToken": ""})
    return json_response(items)


@router.get("/api/dashboards/uid/{uid}/versions")
async def versions_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    # Grafana ≤ 11 (the version we report) answers an array; a Grafana 12 client asks with
    # continueToken and gets the wrapped form {"versions": [...], "continueToken": ""}.
    wrapped = "continueToken" in request.query_params
    return await _versions(request, who, lambda c: _by_uid(c, who, uid), wrapped)


@router.get("/api/dashboards/id/{dash_id}/versions")
async def versions_by_id(dash_id: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _versions(request, who, lambda c: _by_id(c, who, dash_id), False)


async def _one_version(request: Request, who: Identity, d_of: Any, version: str) -> Response:
    try:
        n = int(version)
    except ValueError:
        raise AppError.bad_request("version must be an integer") from None
    if not id_in_range(n):
        raise version_not_found()
    s = services(request)
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        d = await d_of(conn)
        await require_dashboard(conn, access, d, EDIT)
        return json_response(await get_version(conn, d, n))


@router.get("/api/dashboards/uid/{uid}/versions/{version}")
async def version_by_uid(
    uid: str, version: str, request: Request, who: Identity = Depends(identity)
) -> Response:
    return await _one_version(request, who, lambda c: _by_uid(c, who, uid), version)


@router.get("/api/dashboards/id/{dash_id}/versions/{version}")
async def version_by_id(
    dash_id: str, version: str, request: Request, who: Identity = Depends(identity)
) -> Response:
    return await _one_version(request, who, lambda c: _by_id(c, who, dash_id), version)


async def _restore(request: Request, who: Identity, d_of: Any) -> Response:
    s = services(request)
    body = await json_object(request)
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise AppError.bad_request("bad request data: version must be an integer")
    if not id_in_range(version):
        raise version_not_found()
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        d = await d_of(conn)
        await require_dashboard(conn, access, d, EDIT)
    saved = await restore_version(s.db, who, d, version, now_ms(s.clock))
    return json_response(save_response(saved))


@router.post("/api/dashboards/uid/{uid}/restore")
async def restore_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _restore(request, who, lambda c: _by_uid(c, who, uid))


@router.post("/api/dashboards/id/{dash_id}/restore")
async def restore_by_id(dash_id: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _restore(request, who, lambda c: _by_id(c, who, dash_id))


@router.post("/api/dashboards/calculate-diff")
async def calculate_diff(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    body = await json_object(request)
    diff_type = body.get("diffType") or "json"
    if diff_type not in ("json", "basic"):
        raise AppError.bad_request("diffType must be json or basic")
    sides: list[dict[str, Any]] = []
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        for key in ("base", "new"):
            side = body.get(key)
            if not isinstance(side, dict):
                raise AppError.bad_request(
                    f"bad request data: {key} must be an object with dashboardId and version"
                )
            dash_id, version = side.get("dashboardId"), side.get("version")
            if isinstance(dash_id, bool) or not isinstance(dash_id, int) or not isinstance(version, int):
                raise AppError.bad_request(
                    f"bad request data: {key}.dashboardId and {key}.version must be integers"
                )
            d = await _by_id(conn, who, str(dash_id))
            await require_dashboard(conn, access, d, EDIT)
            if not id_in_range(version):
                raise version_not_found()
            data = (await get_version(conn, d, version))["data"]
            sides.append(data if isinstance(data, dict) else {})
    return Response(render_diff(sides[0], sides[1], diff_type), media_type="text/html; charset=utf-8")


# -- permissions ------------------------------------------------------------------------------


async def _get_permissions(request: Request, who: Identity, d_of: Any) -> Response:
    s = services(request)
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        d = await d_of(conn)
        await require_dashboard(conn, access, d, ADMIN)
        return json_response(await dashboard_items(conn, d))


async def _set_permissions(request: Request, who: Identity, d_of: Any) -> Response:
    s = services(request)
    body = await json_object(request)
    async with s.db.write() as conn:
        access = await load_access(conn, who)
        d = await d_of(conn)
        await require_dashboard(conn, access, d, ADMIN)
        items = await parse_items(conn, who.org_id, body)
        await replace_items(conn, who.org_id, DASHBOARD, d.uid, items, now_ms(s.clock))
    return message("Dashboard permissions updated")


@router.get("/api/dashboards/uid/{uid}/permissions")
async def permissions_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _get_permissions(request, who, lambda c: _by_uid(c, who, uid))


@router.get("/api/dashboards/id/{dash_id}/permissions")
async def permissions_by_id(dash_id: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _get_permissions(request, who, lambda c: _by_id(c, who, dash_id))


@router.post("/api/dashboards/uid/{uid}/permissions")
async def set_permissions_by_uid(uid: str, request: Request, who: Identity = Depends(identity)) -> Response:
    return await _set_permissions(request, who, lambda c: _by_uid(c, who, uid))


@router.post("/api/dashboards/id/{dash_id}/permissions")
async def set_permissions_by_id(
    dash_id: str, request: Request, who: Identity = Depends(identity)
) -> Response:
    return await _set_permissions(request, who, lambda c: _by_id(c, who, dash_id))


# -- tags, home, import -----------------------------------------------------------------------


@router.get("/api/dashboards/tags")
async def tags(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    async with s.db.read() as conn:
        access = await load_access(conn, who)
        return json_response(await tag_counts(conn, access))


@router.get("/api/dashboards/home")
async def home(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    async with s.db.read() as conn:
        access: Access = await load_access(conn, who)
        uid = await hooks.home_dashboard_uid(conn, who.org_id, who.user_id, access.teams)
        if uid:
            d = await get_dashboard(conn, who.org_id, uid=uid)
            if d is not None:
                try:
                    await require_dashboard(conn, access, d, 1)
                except AppError:
                    pass
                else:
                    return json_response({"redirectUri": d.url})
    return json_response({"dashboard": HOME_DASHBOARD, "meta": home_meta(access)})


@router.post("/api/dashboards/import")
async def import_dashboard(request: Request, who: Identity = Depends(identity)) -> Response:
    s = services(request)
    body = await json_object(request)
    refuse_v2(body)
    dash = unwrap_resource(extract_dashboard(body))
    dash = evaluate_inputs(dash, body.get("inputs"))
    dash["id"] = None
    plugin_id = body.get("pluginId") if isinstance(body.get("pluginId"), str) else ""
    async with s.db.read() as conn:
        folder_uid = await resolve_folder_uid(conn, who.org_id, body.get("folderUid"), body.get("folderId"))
        f = await get_folder(conn, who.org_id, uid=folder_uid) if folder_uid else None
    req = SaveRequest(
        dashboard=dash,
        folder_uid=folder_uid,
        overwrite=_overwrite(body),
        message=_message(body),
        plugin_id=plugin_id or "",
    )
    saved = await save_dashboard(s.db, who.org_id, who, req, now_ms(s.clock))
    revision = dash.get("revision") if isinstance(dash.get("revision"), int) else 0
    slug = slugify(saved.title)
    return json_response(
        {
            "uid": saved.uid,
            "pluginId": plugin_id or "",
            "title": saved.title,
            "imported": True,
            "importedUri": f"db/{slug}",
            "importedUrl": saved.url,
            "slug": slug,
            "dashboardId": saved.id,
            "folderId": f.id if f else 0,
            "folderUid": folder_uid,
            "importedRevision": revision,
            "revision": revision,
            "description": dash.get("description") if isinstance(dash.get("description"), str) else "",
            "path": body.get("path") if isinstance(body.get("path"), str) else "",
            "removed": False,
        }
    )
