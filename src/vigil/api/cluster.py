"""``GET /api/cluster/status``: this replica, the HA mode, and every member with its heartbeat and
the rules it evaluates (server admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.alerting.payload import rfc3339
from vigil.auth.models import Identity
from vigil.http.identity import server_admin, services
from vigil.http.responses import json_response

router = APIRouter()


@router.get("/api/cluster/status")
async def cluster_status(request: Request, who: Identity = Depends(server_admin)) -> Response:
    s = services(request)
    members = await s.cluster.membership.fetch()
    owned = await s.alerting.owned_rules() if s.alerting.enabled else {}
    return json_response(
        {
            "self": s.instance,
            "haMode": s.alerting.ha_mode,
            "instances": [
                {
                    "name": m.name,
                    "address": m.address,
                    "version": m.version,
                    "startedAt": rfc3339(m.started_at),
                    "lastHeartbeat": rfc3339(m.last_heartbeat),
                    "alive": m.alive,
                    "rules": owned.get(m.name, []) if m.alive else [],
                }
                for m in members
            ],
        }
    )


@router.get("/api/cluster/evaluations")
async def cluster_evaluations(request: Request, who: Identity = Depends(server_admin)) -> Response:
    """Vigil's own: how many times this replica evaluated each rule since it started (rule uid ->
    count), for checking how the cluster shares the evaluations."""
    s = services(request)
    return json_response({"self": s.instance, "evaluations": dict(s.alerting.scheduler.evaluations)})
