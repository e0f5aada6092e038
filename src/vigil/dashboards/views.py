"""The JSON Grafana's clients read for a dashboard: ``{"dashboard": …, "meta": …}``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import ROLE_RANK, Identity
from vigil.auth.tables import team_member, user
from vigil.clock import iso
from vigil.dashboards import hooks
from vigil.dashboards.access import (
    DASHBOARD,
    FOLDER,
    Access,
    dashboard_permission,
    included_roles,
    load_access,
)
from vigil.dashboards.models import (
    ADMIN,
    EDIT,
    GENERAL_TITLE,
    VIEW,
    Dashboard,
    folder_url,
    plausible_uid,
    slugify,
)
from vigil.dashboards.tables import dashboard, dashboard_acl, dashboard_provisioning, folder
from vigil.errors import AppError
from vigil.http.responses import dumps

ZERO_TIME = "0001-01-01T00:00:00Z"


async def require_dashboard(conn: AsyncConnection, access: Access, d: Dashboard, needed: int) -> int:
    perm = await dashboard_permission(conn, access, d)
    if perm < needed:
        raise AppError.forbidden("Access denied to this dashboard")
    return perm


def _reader_query(org_id: Any, uid: Any) -> Any:
    """One round trip: the dashboard with its folder, provisioning record and author logins."""
    created_by = user.alias("created_by_user")
    updated_by = user.alias("updated_by_user")
    return (
        select(
            dashboard,
            folder.c.id.label("f_id"),
            folder.c.title.label("f_title"),
            dashboard_provisioning.c.external_id.label("p_external_id"),
            dashboard_provisioning.c.allow_ui_updates.label("p_allow_ui_updates"),
            dashboard_provisioning.c.id.label("p_id"),
            created_by.c.login.label("created_login"),
            updated_by.c.login.label("updated_login"),
        )
        .select_from(
            dashboard.outerjoin(
                folder, and_(folder.c.org_id == dashboard.c.org_id, folder.c.uid == dashboard.c.folder_uid)
            )
            .outerjoin(dashboard_provisioning, dashboard_provisioning.c.dashboard_id == dashboard.c.id)
            .outerjoin(created_by, created_by.c.id == dashboard.c.created_by)
            .outerjoin(updated_by, updated_by.c.id == dashboard.c.updated_by)
        )
        .where(and_(dashboard.c.org_id == org_id, dashboard.c.uid == uid))
    )


def dashboard_meta(row: Any, d: Dashboard, perm: int, org_role: str, starred: bool) -> dict[str, Any]:
    can_edit = perm >= EDIT
    org_editor = ROLE_RANK.get(org_role, 0) >= ROLE_RANK["Editor"]
    in_folder = row.f_id is not None
    folder_slug = slugify(row.f_title) if in_folder else ""
    provisioned = row.p_id is not None
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
        "createdBy": row.created_login or "Anonymous",
        "updatedBy": row.updated_login or "Anonymous",
        "version": d.version,
        "hasAcl": False,
        "isFolder": False,
        "folderId": int(row.f_id) if in_folder else 0,
        "folderUid": d.folder_uid if in_folder else "",
        "folderTitle": row.f_title if in_folder else GENERAL_TITLE,
        "folderUrl": folder_url(d.folder_uid, folder_slug) if in_folder else "",
        "provisioned": bool(provisioned and not row.p_allow_ui_updates),
        "provisionedExternalId": str(row.p_external_id) if provisioned else "",
        "annotationsPermissions": {
            "dashboard": {"canAdd": can_edit, "canEdit": can_edit, "canDelete": can_edit},
            "organization": {"canAdd": org_editor, "canEdit": org_editor, "canDelete": org_editor},
        },
        "publicDashboardEnabled": False,
    }


async def dashboard_body(conn: AsyncConnection, access: Access, uid: str) -> bytes:
    """``{"dashboard": <stored JSON as is>, "meta": …}`` without parsing the stored JSON: two
    queries for an org admin (the dashboard with everything its meta needs, the caller's stars)."""
    row = (await conn.execute(_reader_query(access.org_id, uid))).first() if plausible_uid(uid) else None
    if row is None:
        raise AppError(404, "Dashboard not found")
    d = Dashboard.from_row(row)
    perm = await require_dashboard(conn, access, d, VIEW)
    starred = d.id in await hooks.starred_ids(conn, access.org_id, access.user_id)
    meta = dashboard_meta(row, d, perm, access.org_role, starred)
    return b'{"dashboard":' + d.data_raw.encode("utf-8") + b',"meta":' + dumps(meta) + b"}"


def _max_permission(kind: str, resource_uid: Any) -> Any:
    """Scalar subquery: the caller's highest ACL item of ``kind`` on ``resource_uid`` (NULL if none),
    teams resolved in SQL, so no query runs before this one. Caller in the bound parameters
    ``org_id``, ``user_id`` and ``roles`` (the basic roles their org role includes)."""
    acl = dashboard_acl.alias(f"acl_{kind}")
    grantee: list[ColumnElement[bool]] = [
        acl.c.user_id == bindparam("user_id"),
        acl.c.team_id.in_(
            select(team_member.c.team_id).where(
                and_(
                    team_member.c.user_id == bindparam("user_id"), team_member.c.org_id == bindparam("org_id")
                )
            )
        ),
        acl.c.role.in_(bindparam("roles", expanding=True)),
    ]
    return (
        select(func.max(acl.c.permission))
        .where(
            and_(
                acl.c.org_id == bindparam("org_id"),
                acl.c.kind == kind,
                acl.c.resource_uid == resource_uid,
                or_(*grantee),
            )
        )
        .scalar_subquery()
    )


_STATEMENTS: dict[tuple[bool, Any], Any] = {}


def _body_statement(with_permissions: bool) -> tuple[Any, bool]:
    """The reader query for ``dashboard_body_for``, built once (per variant and star hook) with
    bound parameters: building SQLAlchemy constructs per request costs more than running them."""
    star_fn = hooks.starred_clause_fn()
    key = (with_permissions, star_fn)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _reader_query(bindparam("org_id"), bindparam("uid")).add_columns(
            folder.c.parent_uid.label("f_parent")
        )
        if star_fn is not None:
            clause = star_fn(bindparam("org_id"), bindparam("user_id"), dashboard.c.uid)
            stmt = stmt.add_columns(clause.label("is_starred"))
        if with_permissions:
            stmt = stmt.add_columns(
                _max_permission(DASHBOARD, dashboard.c.uid).label("own_perm"),
                _max_permission(FOLDER, dashboard.c.folder_uid).label("folder_perm"),
            )
        _STATEMENTS[key] = stmt
    return stmt, star_fn is not None


async def dashboard_body_for(conn: AsyncConnection, who: Identity, uid: str) -> bytes:
    """``dashboard_body`` for one caller in one round trip: the dashboard row with its meta joins,
    the caller's own items on it and on its folder, and whether the caller starred it. A dashboard
    in a nested folder (permissions inherited from ancestors) takes the general path."""
    if not plausible_uid(uid):
        raise AppError(404, "Dashboard not found")
    admin = who.org_role == "Admin"
    stmt, with_star = _body_statement(not admin)
    params: dict[str, Any] = {"org_id": who.org_id, "uid": uid, "user_id": who.user_id}
    if not admin:
        params["roles"] = included_roles(who.org_role)
    row = (await conn.execute(stmt, params)).first()
    if row is None:
        raise AppError(404, "Dashboard not found")
    d = Dashboard.from_row(row)
    if admin:
        perm = ADMIN
    elif row.f_parent:
        perm = await require_dashboard(conn, await load_access(conn, who), d, VIEW)
    else:
        folder_perm = int(row.folder_perm or 0) if d.folder_uid else 0
        perm = folder_perm if folder_perm >= ADMIN else max(folder_perm, int(row.own_perm or 0))
        if perm < VIEW:
            raise AppError.forbidden("Access denied to this dashboard")
    if with_star:
        starred = bool(row.is_starred)
    else:
        starred = d.id in await hooks.starred_ids(conn, who.org_id, who.user_id)
    meta = dashboard_meta(row, d, perm, who.org_role, starred)
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
