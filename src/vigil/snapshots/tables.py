"""Dashboard snapshots."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text
from sqlalchemy.dialects import mysql

from vigil.storage.schema import metadata

LongText = Text().with_variant(mysql.LONGTEXT(), "mysql")

dashboard_snapshot = Table(
    "dashboard_snapshot",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False, server_default="0"),
    Column("name", String(255), nullable=False),
    # the public key (anyone holding it may read) and the secret delete key
    Column("key", String(190), nullable=False, unique=True),
    Column("delete_key", String(190), nullable=False, unique=True),
    Column("dashboard", LongText, nullable=False),
    Column("external", Boolean, nullable=False, server_default="0"),
    Column("external_url", String(255), nullable=False, server_default=""),
    Column("external_delete_url", String(255), nullable=False, server_default=""),
    Column("expires", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index("ix_dashboard_snapshot_org_id_user_id", "org_id", "user_id"),
)
