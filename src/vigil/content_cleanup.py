"""Removing what the content features keep for an org, a user or a team when it is deleted.

An org: preferences, stars, annotations, snapshots, library elements, playlists, data sources and
their provisioning records. A user: their stars, preferences and folder/dashboard permission items. A
team: its preferences and permission items. Each runs inside the deleting transaction
(``Orgs``/``Users``/``Teams(cleanups=[...])``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.annotations.tables import annotation, annotation_tag
from vigil.dashboards.tables import dashboard_acl
from vigil.datasources.tables import data_source
from vigil.library.tables import library_element
from vigil.playlists.tables import playlist, playlist_item
from vigil.preferences.tables import preferences, star
from vigil.provisioning.tables import provisioning_alerting, provisioning_datasource
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
        provisioning_alerting,
        data_source,
    ):
        await conn.execute(delete(table).where(table.c.org_id == org_id))


async def delete_content_of_user(conn: AsyncConnection, user_id: int) -> None:
    for table in (star, preferences, dashboard_acl):
        await conn.execute(delete(table).where(table.c.user_id == user_id))


async def delete_content_of_team(conn: AsyncConnection, org_id: int, team_id: int) -> None:
    for table in (preferences, dashboard_acl):
        await conn.execute(delete(table).where(table.c.org_id == org_id, table.c.team_id == team_id))
