"""Library elements. Their connections are not stored: a dashboard is connected to an element when its
JSON has a panel with ``libraryPanel.uid`` set to the element's uid (see ``service.connections``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.dialects import mysql

from vigil.storage.schema import metadata

LongText = Text().with_variant(mysql.LONGTEXT(), "mysql")

library_element = Table(
    "library_element",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("folder_uid", String(40), nullable=False, server_default=""),
    Column("uid", String(40), nullable=False),
    Column("name", String(190), nullable=False),
    Column("kind", Integer, nullable=False),
    Column("type", String(100), nullable=False, server_default=""),
    Column("description", Text, nullable=False),
    Column("model", LongText, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("created_by", Integer, nullable=False, server_default="0"),
    Column("updated", BigInteger, nullable=False),
    Column("updated_by", Integer, nullable=False, server_default="0"),
    UniqueConstraint("org_id", "uid"),
    UniqueConstraint("org_id", "folder_uid", "name", "kind"),
)
