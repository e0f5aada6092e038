"""Query-string paging and JSON request bodies, read the way Grafana's clients send them.

Paging (DESIGN, grafana-api.md §1): ``page`` starts at 1, ``perpage`` or ``perPage`` (both spellings
are sent by real clients) defaults to 1000, and the page size actually used is what responses echo
as ``perPage``: clients loop until an empty page or until a page is shorter than ``perPage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request

from vigil.errors import AppError

DEFAULT_PER_PAGE = 1000
MAX_PER_PAGE = 5000


@dataclass(frozen=True)
class Page:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int:
        return self.per_page


def _int_param(request: Request, *names: str) -> int | None:
    for name in names:
        raw = request.query_params.get(name)
        if raw is None or raw.strip() == "":
            continue
        try:
            return int(raw.strip())
        except ValueError:
            raise AppError.bad_request(f"{name} must be an integer, got {raw!r}") from None
    return None


def paging(request: Request, default_per_page: int = DEFAULT_PER_PAGE) -> Page:
    """``page`` (< 1 means 1) and ``perpage``/``perPage`` (< 1 means the default; capped)."""
    page = _int_param(request, "page") or 1
    per_page = _int_param(request, "perpage", "perPage") or default_per_page
    if per_page < 1:
        per_page = default_per_page
    return Page(max(page, 1), min(per_page, MAX_PER_PAGE))


def query_limit(request: Request) -> int:
    """``limit`` of the listing routes (playlists, snapshots): default and < 1 mean 1000; capped."""
    value = _int_param(request, "limit")
    return DEFAULT_PER_PAGE if value is None or value < 1 else min(value, MAX_PER_PAGE)


def query_text(request: Request, *names: str) -> str:
    for name in names:
        value = request.query_params.get(name)
        if value is not None and value.strip():
            return value.strip()
    return ""


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 400 with a clear message otherwise (an empty body is ``{}`` when
    ``optional``)."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            return {}
        raise AppError.bad_request("bad request data: a JSON object body is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AppError.bad_request("bad request data: body is not valid JSON") from None
    if not isinstance(body, dict):
        raise AppError.bad_request("bad request data: expected a JSON object")
    return body


def opt_str(body: dict[str, Any], key: str) -> str | None:
    """A string field, None when absent or null; 400 when it has another type."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AppError.bad_request(f"bad request data: {key} must be a string")
    return value


def req_str(body: dict[str, Any], key: str) -> str:
    value = opt_str(body, key)
    if value is None or not value.strip():
        raise AppError.bad_request(f"bad request data: {key} is required")
    return value.strip()


def opt_bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise AppError.bad_request(f"bad request data: {key} must be true or false")
    return value


def opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise AppError.bad_request(f"bad request data: {key} must be an integer")
    return value
