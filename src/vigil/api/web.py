"""The web UI: the single-page app's index.html at Grafana's page URLs, built assets under /public/."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from vigil.http.responses import json_response
from vigil.web import NOT_BUILT, IndexPage, is_spa_page, resolve_asset

router = APIRouter()
_index = IndexPage()

# Content-Security-Policy, X-Frame-Options and X-Content-Type-Options come from the outer app,
# configured by [security] (vigil.http.security).
_PAGE_HEADERS = {
    "cache-control": "no-cache",
    "referrer-policy": "same-origin",
}


def _page() -> Response:
    body = _index.body()
    if body is None:
        return Response(NOT_BUILT, status_code=503, media_type="text/html", headers=_PAGE_HEADERS)
    return Response(body, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


@router.api_route("/public/{relative:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def public_asset(relative: str) -> Response:
    asset = resolve_asset(relative)
    if asset is None:
        return json_response({"message": "Not found"}, 404)
    cache = "public, max-age=31536000, immutable" if asset.immutable else "no-cache"
    return FileResponse(
        asset.path,
        media_type=asset.media_type,
        headers={"cache-control": cache, "x-content-type-options": "nosniff"},
    )


async def spa_page(request: Request) -> Response:
    return _page()


# One route per page family; everything under /api stays with the API routers.
for _path in (
    "/",
    "/login",
    "/profile",
    "/dashboards",
    "/dashboards/{rest:path}",
    "/dashboard/new",
    "/dashboard/import",
    "/d/{rest:path}",
    "/connections",
    "/connections/{rest:path}",
    "/alerting",
    "/alerting/{rest:path}",
    "/admin",
    "/admin/{rest:path}",
    "/org",
    "/org/{rest:path}",
):
    router.add_api_route(_path, spa_page, methods=["GET", "HEAD"], include_in_schema=False)

__all__ = ["is_spa_page", "router"]
