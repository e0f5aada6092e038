"""``POST /api/ds/query`` (reference §7) and variable queries for dashboards.

200 when every refId succeeded; otherwise 400, or 207 when the caller asks for multi-status with
``?multiStatus=true`` (Grafana's ``datasourceQueryMultiStatus`` behaviour).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.api.datasources import json_body
from vigil.auth.models import Identity
from vigil.datasources.frames import encode_results
from vigil.datasources.timerange import parse_range
from vigil.datasources.variables import Scope
from vigil.errors import AppError
from vigil.http.identity import services, viewer
from vigil.http.responses import JSON, json_response
from vigil.storage.db import now_ms

router = APIRouter()


@router.post("/api/ds/query")
async def ds_query(request: Request, who: Identity = Depends(viewer)) -> Response:
    body = await json_body(request)
    results = await services(request).datasources.query(who.org_id, body)
    failed = any(r.error is not None for r in results.values())
    status = 200
    if failed:
        multi = request.query_params.get("multiStatus", request.query_params.get("multistatus", ""))
        status = 207 if multi.lower() in ("true", "1") else 400
    return Response(encode_results(results), status_code=status, media_type=JSON)


@router.post("/api/ds/variable-query")
async def variable_query(request: Request, who: Identity = Depends(viewer)) -> Response:
    """Options of a query variable: ``{"datasource": {uid}|name, "query": …, "from", "to",
    "scopedVars"}`` → ``[{"text", "value"}]`` (Grafana's MetricFindValue list)."""
    s = services(request).datasources
    body = await json_body(request)
    scope = Scope.from_json(body.get("scopedVars"), body.get("variables"))
    ds, special = await s.resolve(who.org_id, body.get("datasource"), body.get("datasourceId"), scope)
    if ds is None:
        raise AppError.bad_request(f"the {special} data source has no variable queries")
    tr = parse_range(body.get("from", "now-6h"), body.get("to", "now"), now_ms(s.clock))
    query = body.get("query")
    if query is None:
        raise AppError.bad_request("bad request data: query is required")
    return json_response(await s.metric_find(who.org_id, ds, query, tr, scope))
