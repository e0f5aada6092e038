"""Every error leaves as JSON {"message": …}; library errors are translated here, at the edge."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigil.errors import AppError
from vigil.http.responses import json_response

log = logging.getLogger("vigil.http")

_STATUS_TEXT = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Access denied",
    404: "Not found",
    405: "Method not allowed",
    413: "Request entity too large",
    415: "Unsupported media type",
}


def _validation_message(errors: list[Any]) -> tuple[int, str]:
    for err in errors:
        if err.get("type") in ("json_invalid", "json_type"):
            return 400, "bad request data: body is not valid JSON"
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return 422, "bad request data: " + "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> Any:
        return json_response(exc.body(), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Any:
        status, text = _validation_message(list(exc.errors()))
        return json_response({"message": text}, status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Any:
        text = exc.detail if isinstance(exc.detail, str) and exc.detail else _STATUS_TEXT.get(exc.status_code)
        if exc.status_code == 404:
            text = "Not found"
        return json_response(
            {"message": text or "error"}, exc.status_code, headers=getattr(exc, "headers", None)
        )
