"""The JSON Grafana's clients read for a dashboard: ``{"dashboard": …, "meta": …}``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import ROLE_RANK
from vigil.clock import iso
from vigil.dashboards import hooks
from vigil.dashboards.access import Access, dashboard_permission, tree_of
from vigil.dashboards.folders import logins
from vigil.dashboards.models import ADMIN, EDIT, GENERAL_TITLE, VIEW, Dashboard
from vigil.dashboards.tables import dashboard_provisioning
from vigil.errors import AppError
from vigil.http.responses import dumps

ZERO_TIME = "0001-01-01T00:00:00Z"


async def require_dashboard(conn: AsyncConnection, access: Access, d: Dashboard, needed: int) -> int:
    perm = await dashboard_permission(conn, access, d)
    if perm < needed:
        raise AppError.forbidden("Access denied to this dashboard")
    return perm


async def dashboard_meta(conn: AsyncConnection, access: Access, d: Dashboard, perm: int) -> dict[str, Any]:
    tree = await tree_of(conn, access)
    f = tree.get(d.folder_uid) if d.folder_uid else None
    names = await logins(conn, {d.created_by, d.updated_by})
    prov = (
        await conn.execute(
            select(dashboard_provisioning.c.external_id, dashboard_provisioning.c.allow_ui_updates).where(
                dashboard_provisioning.c.dashboard_id == d.id
            )
        )
    ).first()
    starred = d.id in await hooks.starred_ids(conn, access.org_id, access.user_id)
    can_edit = perm >= EDIT
    org_editor = ROLE_RANK.get(access.org_role, 0) >= ROLE_RANK["Editor"]
    return {
        "type": "db",
        "canSave": can_edit,
        "canEdit": can_edit,
        "canAdmin": perm >= ADMIN,
        "canDelete": can_edit,
        "canStar": True,
        "isStarred": starred,
        "slug": d.slug,
        "url": d.url,
        "expires": ZERO_TIME,
        "created": iso(d.created / 1000),
        "updated": iso(d.updated / 1000),
        "createdBy": names.get(d.created_by, "Anonymous"),
        "updatedBy": names.get(d.updated_by, "Anonymous"),
        "version": d.version,
        "hasAcl": False,
        "isFolder": False,
        "folderId": f.id if f else 0,
        "folderUid": f.uid if f else "",
        "folderTitle": f.title if f else GENERAL_TITLE,
        "folderUrl": f.url if f else "",
        "provisioned": bool(prov is not None and not prov.allow_ui_updates),
        "provisionedExternalId": str(prov.external_id) if prov is not None else "",
        "annotationsPermissions": {
            "dashboard": {"canAdd": can_edit, "canEdit": can_edit, "canDelete": can_edit},
            "organization": {"canAdd": org_editor, "canEdit": org_editor, "canDelete": org_editor},
        },
        "publicDashboardEnabled": False,
    }


async def dashboard_body(conn: AsyncConnection, access: Access, d: Dashboard) -> bytes:
    """``{"dashboard": <stored JSON as is>, "meta": …}`` without parsing the stored JSON."""
    perm = await require_dashboard(conn, access, d, VIEW)
    meta = await dashboard_meta(conn, access, d, perm)
    return b'{"dashboard":' + d.data_raw.encode("utf-8") + b',"meta":' + dumps(meta) + b"}"


HOME_DASHBOARD: dict[str, Any] = {
    "id": None,
    "uid": "",
    "title": "Home",
    "tags": [],
    "editable": False,
    "graphTooltip": 0,
    "schemaVersion": 41,
    "version": 0,
    "time": {"from": "now-6h", "to": "now"},
    "timepicker": {"hidden": True},
    "templating": {"list": []},
    "annotations": {"list": []},
    "links": [],
    "panels": [
        {
            "id": 1,
            "type": "text",
            "title": "",
            "gridPos": {"x": 0, "y": 0, "w": 24, "h": 3},
            "transparent": True,
            "options": {"mode": "markdown", "content": "# Welcome to Vigil"},
        },
        {
            "id": 2,
            "type": "dashlist",
            "title": "Starred dashboards",
            "gridPos": {"x": 0, "y": 3, "w": 12, "h": 15},
            "options": {"showStarred": True, "showRecentlyViewed": False, "showSearch": False},
        },
        {
            "id": 3,
            "type": "dashlist",
            "title": "Dashboards",
            "gridPos": {"x": 12, "y": 3, "w": 12, "h": 15},
            "options": {"showStarred": False, "showSearch": True, "query": "", "maxItems": 30},
        },
    ],
}


def home_meta(access: Access) -> dict[str, Any]:
    return {
        "type": "db",
        "isHome": True,
        "canSave": False,
        "canEdit": ROLE_RANK.get(access.org_role, 0) >= ROLE_RANK["Editor"],
        "canAdmin": False,
        "canDelete": False,
        "canStar": False,
        "slug": "",
        "url": "",
        "expires": ZERO_TIME,
        "created": ZERO_TIME,
        "updated": ZERO_TIME,
        "version": 0,
        "hasAcl": False,
        "isFolder": False,
        "folderId": 0,
        "folderUid": "",
        "folderTitle": GENERAL_TITLE,
        "folderUrl": "",
        "provisioned": False,
        "provisionedExternalId": "",
    }
