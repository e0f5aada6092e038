"""The floor: a bare Starlette app on uvicorn (one worker) answering with fixed, pre-serialised bytes.

``python bench/floor.py PORT BODY_FILE`` serves BODY_FILE's bytes as application/json on every
GET path. Nothing any Python web server on this machine does can be faster than this.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def make_app(body: bytes) -> Starlette:
    async def fixed(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", fixed)])


def main() -> None:
    port = int(sys.argv[1])
    body = Path(sys.argv[2]).read_bytes()
    uvicorn.run(
        make_app(body),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
