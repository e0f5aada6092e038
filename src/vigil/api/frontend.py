"""GET /api/frontend/settings: what the UI and grafana-client read at start."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from vigil.http.identity import services
from vigil.http.responses import json_response

router = APIRouter()


@router.get("/api/frontend/settings")
async def frontend_settings(request: Request) -> Response:
    s = services(request)
    return json_response(
        {
            "appUrl": s.root_url,
            "appSubUrl": "",
            "buildInfo": {
                "version": s.version,
                "vigilVersion": s.vigil_version,
                "commit": s.commit,
                "commitShort": s.commit[:7],
                "buildstamp": int(s.started_at),
                "edition": "Open Source",
                "env": "production",
                "latestVersion": "",
                "hasUpdate": False,
                "hideVersion": False,
            },
            "instance": s.instance,
            "datasources": {},
            "defaultDatasource": "",
            "disableLoginForm": False,
            "featureToggles": {},
        }
    )
