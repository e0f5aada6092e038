"""JSON responses serialised once with orjson (DESIGN §3: the hot-path rule)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json"


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(Response):
    media_type = JSON

    def render(self, content: Any) -> bytes:
        return dumps(content)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def message(text: str, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": text, **extra}, status_code=status)
