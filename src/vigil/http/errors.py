"""Every error leaves as JSON {"message": …}; library errors are translated here, at the edge."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

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


# MySQL/MariaDB error numbers for values a column cannot hold
_MYSQL_DATA_ERRORS = {
    1264: "a number is out of range",
    1292: "a value is not valid for its column",
    1366: "a value is not valid text for its column",
    1406: "a value is too long",
}


def client_data_error(exc: DBAPIError) -> str | None:
    """Why the database refused a value the client sent, or None for any other database error.

    PostgreSQL refuses NUL characters in text (SQLSTATE 22021) and reports over-long or out-of-range
    values in class 22; MySQL has its own error numbers. Such a value is the client's mistake: a 400,
    never a 500, whichever route let it reach the database.
    """
    orig = exc.orig
    text = str(orig)
    if "0x00" in text:  # PostgreSQL: 'invalid byte sequence for encoding "UTF8": 0x00'
        return "NUL characters are not allowed"
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate.startswith("22"):
        return {"22001": "a value is too long", "22003": "a number is out of range"}.get(
            sqlstate, "a value is not valid for its column"
        )
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_DATA_ERRORS:
        return _MYSQL_DATA_ERRORS[args[0]]
    return None


_INT64 = 2**63


def _refused_value(request: Request, reason: str) -> Response:
    """400 for a value the database cannot hold; 404 when it is an id in the path beyond 64 bits
    (no such object can exist: MySQL, which compares such numbers, finds nothing either)."""
    for value in request.path_params.values():
        text = str(value)
        if text.lstrip("-").isdigit() and not -_INT64 <= int(text) < _INT64:
            return json_response({"message": "Not found"}, 404)
    return json_response({"message": f"bad request data: {reason}"}, 400)


def error_response(request: Request, exc: Exception) -> Response | None:
    """The JSON answer to an error a route raised, or None for one that is a server fault: an
    ``AppError``, or a value the client sent that the database cannot hold (400, never a 500)."""
    if isinstance(exc, AppError):
        return json_response(exc.body(), exc.status_code)
    if isinstance(exc, DBAPIError):
        reason = client_data_error(exc)
        if reason is None:
            return None
        log.info("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
        return _refused_value(request, reason)
    if isinstance(exc, OverflowError):
        # SQLite's driver refuses integers beyond 64 bits with a bare OverflowError
        log.info("number out of range on %s %s: %s", request.method, request.url.path, exc)
        return _refused_value(request, "a number is out of range")
    return None


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(DBAPIError)
    @app.exception_handler(OverflowError)
    @app.exception_handler(AppError)
    async def _known(request: Request, exc: Exception) -> Any:
        response = error_response(request, exc)
        if response is None:
            raise exc
        return response

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


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}, "status": {"type": "string"}},
}


def document_errors(openapi: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document tell the truth about errors: every operation may answer an error
    status with ``{"message": ...}`` (FastAPI documents only a 422 with its own ``detail`` shape,
    which this server never sends)."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Error"] = ERROR_SCHEMA
    error = {
        "description": "Error: a JSON object with a message",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "422" in responses:
                responses["422"] = {**error, "description": "Invalid request data"}
            responses.setdefault("default", error)
    return openapi
