"""Data-source records (reference §7): CRUD by id, uid and name, health, the type catalogue.

Secrets go in through ``secureJsonData``, are encrypted at rest and never come back: responses
report which secret fields are set through ``secureJsonFields``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.datasources.store import DataSource
from vigil.errors import AppError
from vigil.http.identity import org_admin, services, viewer
from vigil.http.responses import json_response

router = APIRouter()


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise AppError.bad_request("bad request data: body is empty")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AppError.bad_request("bad request data: body is not valid JSON") from None
    if not isinstance(body, dict):
        raise AppError.bad_request("bad request data: body must be a JSON object")
    return body


def parse_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise AppError.bad_request("id is invalid") from None
    if value <= 0:
        raise AppError.bad_request("id is invalid")
    return value


async def _by(
    request: Request,
    who: Identity,
    *,
    ds_id: str | None = None,
    uid: str | None = None,
    name: str | None = None,
) -> DataSource:
    store = services(request).datasources.store
    if ds_id is not None:
        return await store.require(who.org_id, ds_id=parse_id(ds_id))
    return await store.require(who.org_id, uid=uid, name=name)


# -- catalogue ----------------------------------------------------------------------------------


@router.get("/api/datasource-types")
async def list_types(request: Request, _who: Identity = Depends(viewer)) -> Response:
    """Every data-source type this server can query, with the settings form schema of each."""
    return json_response(services(request).datasources.describe_types())


# -- list and create ----------------------------------------------------------------------------


@router.get("/api/datasources")
async def list_datasources(request: Request, who: Identity = Depends(viewer)) -> Response:
    rows = await services(request).datasources.store.list(who.org_id)
    return json_response([r.list_item() for r in rows])


@router.post("/api/datasources")
async def create_datasource(request: Request, who: Identity = Depends(org_admin)) -> Response:
    body = await json_body(request)
    ds = await services(request).datasources.store.create(who.org_id, body)
    return json_response(
        {"id": ds.id, "uid": ds.uid, "message": "Datasource added", "name": ds.name, "datasource": ds.full()}
    )


# -- reads --------------------------------------------------------------------------------------


@router.get("/api/datasources/uid/{uid}")
async def get_by_uid(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response((await _by(request, who, uid=uid)).full())


@router.get("/api/datasources/name/{name}")
async def get_by_name(name: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response((await _by(request, who, name=name)).full())


@router.get("/api/datasources/id/{name}")
async def get_id_by_name(name: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response({"id": (await _by(request, who, name=name)).id})


@router.get("/api/datasources/{ds_id}")
async def get_by_id(ds_id: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response((await _by(request, who, ds_id=ds_id)).full())


# -- updates ------------------------------------------------------------------------------------


async def _update(request: Request, who: Identity, existing: DataSource) -> Response:
    body = await json_body(request)
    ds = await services(request).datasources.store.update(who.org_id, existing, body)
    return json_response(
        {"id": ds.id, "name": ds.name, "message": "Datasource updated", "datasource": ds.full()}
    )


@router.put("/api/datasources/uid/{uid}")
async def update_by_uid(uid: str, request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _update(request, who, await _by(request, who, uid=uid))


@router.put("/api/datasources/{ds_id}")
async def update_by_id(ds_id: str, request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _update(request, who, await _by(request, who, ds_id=ds_id))


# -- deletes ------------------------------------------------------------------------------------


async def _delete(request: Request, who: Identity, ds: DataSource) -> Response:
    await services(request).datasources.store.delete(who.org_id, ds)
    return json_response({"message": "Data source deleted", "id": ds.id})


@router.delete("/api/datasources/uid/{uid}")
async def delete_by_uid(uid: str, request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _delete(request, who, await _by(request, who, uid=uid))


@router.delete("/api/datasources/name/{name}")
async def delete_by_name(name: str, request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _delete(request, who, await _by(request, who, name=name))


@router.delete("/api/datasources/{ds_id}")
async def delete_by_id(ds_id: str, request: Request, who: Identity = Depends(org_admin)) -> Response:
    return await _delete(request, who, await _by(request, who, ds_id=ds_id))


# -- health -------------------------------------------------------------------------------------


async def _health(request: Request, ds: DataSource) -> Response:
    result = await services(request).datasources.health(ds)
    return json_response(result.body(), 200 if result.ok else 400)


@router.get("/api/datasources/uid/{uid}/health")
async def health_by_uid(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return await _health(request, await _by(request, who, uid=uid))


@router.get("/api/datasources/{ds_id}/health")
async def health_by_id(ds_id: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return await _health(request, await _by(request, who, ds_id=ds_id))


# -- proxy --------------------------------------------------------------------------------------

_PROXY_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path


@router.api_route("/api/datasources/proxy/uid/{uid}", methods=_PROXY_METHODS)
@router.api_route("/api/datasources/proxy/uid/{uid}/{path:path}", methods=_PROXY_METHODS)
async def proxy_by_uid(
    uid: str, request: Request, who: Identity = Depends(viewer), path: str = ""
) -> Response:
    from vigil.datasources.proxy import forward, proxy_path

    ds = await _by(request, who, uid=uid)
    return await forward(services(request).datasources, who, ds, proxy_path(_raw_path(request), 6), request)


@router.api_route("/api/datasources/proxy/{ds_id}", methods=_PROXY_METHODS)
@router.api_route("/api/datasources/proxy/{ds_id}/{path:path}", methods=_PROXY_METHODS)
async def proxy_by_id(
    ds_id: str, request: Request, who: Identity = Depends(viewer), path: str = ""
) -> Response:
    from vigil.datasources.proxy import forward, proxy_path

    ds = await _by(request, who, ds_id=ds_id)
    return await forward(services(request).datasources, who, ds, proxy_path(_raw_path(request), 5), request)
