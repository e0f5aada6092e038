"""GET /api/search (reference/grafana-api.md §5)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.dashboards.access import load_access
from vigil.dashboards.models import PERMISSION_BY_NAME, VIEW, id_in_range
from vigil.dashboards.search import DEFAULT_LIMIT, MAX_LIMIT, SearchQuery, search
from vigil.errors import AppError
from vigil.http.identity import identity, services
from vigil.http.responses import json_response

router = APIRouter()


def _list(request: Request, *names: str) -> list[str] | None:
    """Repeated keys (``tag=a&tag=b``), also comma-separated; None when the parameter is absent."""
    present = False
    out: list[str] = []
    for name in names:
        for raw in request.query_params.getlist(name):
            present = True
            out.extend(p.strip() for p in raw.split(","))
    return out if present else None


def _ints(request: Request, *names: str) -> list[int] | None:
    values = _list(request, *names)
    if values is None:
        return None
    try:
        ints = [int(v) for v in values if v != ""] or [0]
    except ValueError:
        raise AppError.bad_request(f"{names[0]} must be a list of integers") from None
    # an id no 32-bit column holds matches nothing
    return [i for i in ints if id_in_range(i)] or [-1]


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise AppError.bad_request(f"{name} must be an integer") from None


def parse_query(request: Request) -> SearchQuery:
    qp = request.query_params
    if any("\x00" in k or "\x00" in v for k, v in qp.multi_items()):
        raise AppError.bad_request("bad request data: NUL characters are not allowed in the query string")
    dashboard_ids = _ints(request, "dashboardIds", "dashboardId")
    dashboard_uids = _list(request, "dashboardUIDs", "dashboardUID", "dashboardUids")
    folder_ids = _ints(request, "folderIds", "folderId")
    folder_uids = _list(request, "folderUIDs", "folderUids", "folderUID")
    if (dashboard_ids is not None and dashboard_uids is not None) or (
        folder_ids is not None and folder_uids is not None
    ):
        raise AppError.bad_request("search supports UIDs or IDs, not both")
    kind = (qp.get("type") or "").strip() or None
    if kind not in (None, "dash-db", "dash-folder"):
        raise AppError.bad_request("invalid type: use dash-db or dash-folder")
    limit = _int(request, "limit", DEFAULT_LIMIT)
    if limit > MAX_LIMIT:
        raise AppError(
            422,
            f"Limit is above maximum allowed ({MAX_LIMIT}), use page parameter to access hits beyond limit",
        )
    if limit < 1:
        limit = DEFAULT_LIMIT
    sort = (qp.get("sort") or "alpha-asc").strip()
    if sort not in ("alpha-asc", "alpha-desc"):
        raise AppError.bad_request("invalid sort: use alpha-asc or alpha-desc")
    perm_name = (qp.get("permission") or "View").strip().lower()
    if perm_name not in PERMISSION_BY_NAME:
        raise AppError.bad_request("invalid permission: use View or Edit")
    tags = [t for t in (_list(request, "tag") or []) if t]
    return SearchQuery(
        query=(qp.get("query") or "").strip(),
        tags=tags,
        type=kind,
        dashboard_ids=dashboard_ids,
        dashboard_uids=dashboard_uids,
        folder_ids=folder_ids,
        folder_uids=folder_uids,
        starred=(qp.get("starred") or "").strip().lower() == "true",
        limit=limit,
        page=min(max(_int(request, "page", 1), 1), 1_000_000),
        descending=sort == "alpha-desc",
        permission=PERMISSION_BY_NAME.get(perm_name, VIEW),
    )


@router.get("/api/search")
async def search_route(request: Request, who: Identity = Depends(identity)) -> Response:
    q = parse_query(request)
    s = services(request)
    async with s.db.read() as conn:
        access = await load_access(conn, who, teams_in_sql=True)
        granted = (
            None
            if access.is_org_admin
            else await s.dashboard_cache.granted_folders(conn, access, q.permission)
        )
        return json_response(await search(conn, access, q, granted))
