"""Admin routes that re-read the provisioning files now (Grafana's reload endpoints)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.http.identity import server_admin, services
from vigil.http.responses import json_response
from vigil.provisioning.files import Problem
from vigil.provisioning.runner import Provisioner

router = APIRouter()


def _reply(text: str, problems: list[Problem]) -> Response:
    extra: dict[str, list[str]] = {}
    errors = [str(p) for p in problems if p.refused]
    warnings = [str(p) for p in problems if not p.refused]
    if errors:
        extra["errors"] = errors
    if warnings:
        extra["warnings"] = warnings
    return json_response({"message": text, **extra})


@router.post("/api/admin/provisioning/dashboards/reload")
async def reload_dashboards(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return _reply("Dashboards config reloaded", await Provisioner(services(request)).provision_dashboards())


@router.post("/api/admin/provisioning/datasources/reload")
async def reload_datasources(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return _reply("Datasources config reloaded", await Provisioner(services(request)).provision_datasources())


@router.post("/api/admin/provisioning/alerting/reload")
async def reload_alerting(request: Request, _who: Identity = Depends(server_admin)) -> Response:
    return _reply(
        "Alerting config reloaded", await Provisioner(services(request)).provision_alerting(force=True)
    )
