"""The dashboards feature's entry points for other features (provisioning, library panels, stars,
annotations, alerting). Lookups take a connection, so they run inside the caller's transaction
(``db.read()`` or ``db.write()``); writes are re-exported from their modules:

- ``save_dashboard(db, org_id, who_or_None, SaveRequest(...), now)``: the full validate-before-save
  algorithm (``check_permissions=False, allow_provisioned=True`` for the provisioner);
- ``delete_dashboard(db, org_id, who_or_None, uid, allow_provisioned=...)``, or
  ``delete_dashboard_rows(conn, org_id, dashboard)`` inside an open transaction;
- ``create_folder_in(conn, org_id, {"title", "uid"?, "parentUid"?}, now)`` with Grafana's default
  permission items;
- ``can_view_dashboard/can_edit_dashboard/can_view_folder/can_edit_folder(conn, identity, …)``.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.dashboards.access import (
    Access,
    ancestors,
    can_edit_dashboard,
    can_edit_folder,
    can_view_dashboard,
    can_view_folder,
    dashboard_permission,
    folder_permission,
    folder_tree,
    load_access,
)
from vigil.dashboards.folders import create_folder_in
from vigil.dashboards.models import Dashboard, Folder, plausible_uid
from vigil.dashboards.save import (
    SaveRequest,
    delete_dashboard,
    delete_dashboard_rows,
    resolve_folder_uid,
    save_dashboard,
)
from vigil.dashboards.tables import (
    dashboard,
    dashboard_acl,
    dashboard_provisioning,
    dashboard_tag,
    dashboard_version,
    folder,
)

__all__ = [
    "Access",
    "SaveRequest",
    "ancestors",
    "can_edit_dashboard",
    "can_edit_folder",
    "can_view_dashboard",
    "can_view_folder",
    "create_folder_in",
    "dashboard_permission",
    "delete_dashboard",
    "delete_dashboard_rows",
    "delete_org_content",
    "folder_permission",
    "folder_tree",
    "get_dashboard",
    "get_folder",
    "is_provisioned",
    "load_access",
    "resolve_folder_uid",
    "save_dashboard",
]


async def get_dashboard(
    conn: AsyncConnection, org_id: int, *, uid: str | None = None, id: int | None = None
) -> Dashboard | None:
    """A dashboard of the org by uid or by id (None when absent)."""
    if uid is None and id is None:
        raise ValueError("uid or id is required")
    if uid is not None and not plausible_uid(uid):
        return None
    cond = dashboard.c.uid == uid if uid is not None else dashboard.c.id == id
    row = (await conn.execute(select(dashboard).where(and_(dashboard.c.org_id == org_id, cond)))).first()
    return Dashboard.from_row(row) if row else None


async def get_folder(
    conn: AsyncConnection, org_id: int, *, uid: str | None = None, id: int | None = None
) -> Folder | None:
    """A folder of the org by uid or by id (None when absent)."""
    if uid is None and id is None:
        raise ValueError("uid or id is required")
    if uid is not None and not plausible_uid(uid):
        return None
    cond = folder.c.uid == uid if uid is not None else folder.c.id == id
    row = (await conn.execute(select(folder).where(and_(folder.c.org_id == org_id, cond)))).first()
    return Folder.from_row(row) if row else None


async def is_provisioned(conn: AsyncConnection, dashboard_id: int) -> bool:
    row = (
        await conn.execute(
            select(dashboard_provisioning.c.id).where(dashboard_provisioning.c.dashboard_id == dashboard_id)
        )
    ).first()
    return row is not None


async def delete_org_content(conn: AsyncConnection, org_id: int) -> None:
    """Remove every folder, dashboard, version, tag, permission item and provisioning record of
    an org (for org deletion, inside its transaction). Other features clean their own tables."""
    ids = select(dashboard.c.id).where(dashboard.c.org_id == org_id).scalar_subquery()
    await conn.execute(delete(dashboard_version).where(dashboard_version.c.dashboard_id.in_(ids)))
    await conn.execute(delete(dashboard_provisioning).where(dashboard_provisioning.c.dashboard_id.in_(ids)))
    await conn.execute(delete(dashboard_tag).where(dashboard_tag.c.org_id == org_id))
    await conn.execute(delete(dashboard_acl).where(dashboard_acl.c.org_id == org_id))
    await conn.execute(delete(dashboard).where(dashboard.c.org_id == org_id))
    await conn.execute(delete(folder).where(folder.c.org_id == org_id))
