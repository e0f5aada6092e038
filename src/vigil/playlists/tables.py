"""Playlists and their items."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from vigil.storage.schema import metadata

playlist = Table(
    "playlist",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("uid", String(40), nullable=False),
    Column("name", String(190), nullable=False),
    Column("interval", String(40), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "uid"),
)

# type: dashboard_by_uid, dashboard_by_tag or dashboard_by_id (deprecated); position keeps the order
playlist_item = Table(
    "playlist_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("playlist_id", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("value", Text, nullable=False),
    Column("title", String(255), nullable=False, server_default=""),
    Column("position", Integer, nullable=False),
    Index("ix_playlist_item_playlist_id", "playlist_id"),
)
