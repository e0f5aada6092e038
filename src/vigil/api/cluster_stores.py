"""``GET /api/cluster/stores``: this replica's view of the shared stores (the cluster page shows it).

The database and the session store each answer a ping now; a store that does not answer within
two seconds, or raises, is reported ``failing`` with the reason. Server admins only.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.http.identity import server_admin, services
from vigil.http.responses import json_response

router = APIRouter()


async def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        ok = await asyncio.wait_for(check(), timeout=2.0)
    except Exception as exc:  # any store error is a failing store, reported to the operator
        return {"status": "failing", "error": str(exc) or type(exc).__name__}
    latency = round((time.perf_counter() - started) * 1000, 2)
    if ok is False:
        return {"status": "failing", "error": "ping failed", "latencyMs": latency}
    return {"status": "ok", "latencyMs": latency}


@router.get("/api/cluster/stores")
async def cluster_stores(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    database, sessions = await asyncio.gather(_timed(s.db.ping), _timed(s.sessions.ping))
    return json_response(
        {
            "instance": s.instance,
            "database": {"dialect": s.db.dialect, **database},
            "sessions": {"provider": s.config.get("session", "provider"), **sessions},
        }
    )
