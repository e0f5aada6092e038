"""Folder lookups for alert rules. Folders belong to the dashboards feature; rules only keep the
folder uid and read titles (for the ``grafana_folder`` label and listings) from its table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.dashboards.tables import folder


async def titles(conn: AsyncConnection, org_id: int | None = None) -> dict[tuple[int, str], str]:
    q = select(folder.c.org_id, folder.c.uid, folder.c.title)
    if org_id is not None:
        q = q.where(folder.c.org_id == org_id)
    return {(o, u): t for o, u, t in await conn.execute(q)}


async def title(conn: AsyncConnection, org_id: int, uid: str) -> str | None:
    row = (
        await conn.execute(select(folder.c.title).where(folder.c.org_id == org_id, folder.c.uid == uid))
    ).first()
    return None if row is None else str(row[0])
