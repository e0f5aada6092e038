"""Removing an org's content kept by the content features (preferences, stars, annotations,
snapshots, library elements, playlists, data-source provisioning records) when the org is deleted.
Runs inside the org deletion's transaction (``Orgs(cleanups=[...])``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.annotations.tables import annotation, annotation_tag
from vigil.library.tables import library_element
from vigil.playlists.tables import playlist, playlist_item
from vigil.preferences.tables import preferences, star
from vigil.provisioning.tables import provisioning_datasource
from vigil.snapshots.tables import dashboard_snapshot


async def delete_content_of_org(conn: AsyncConnection, org_id: int) -> None:
    playlists = select(playlist.c.id).where(playlist.c.org_id == org_id).scalar_subquery()
    await conn.execute(delete(playlist_item).where(playlist_item.c.playlist_id.in_(playlists)))
    for table in (
        playlist,
        annotation_tag,
        annotation,
        dashboard_snapshot,
        library_element,
        star,
        preferences,
        provisioning_datasource,
    ):
        await conn.execute(delete(table).where(table.c.org_id == org_id))
