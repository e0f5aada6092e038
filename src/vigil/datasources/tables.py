"""The data-source records table (one row per data source, scoped to an org)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.dialects import mysql

from vigil.storage.schema import metadata

LONG_TEXT = Text().with_variant(mysql.LONGTEXT(), "mysql")

data_source = Table(
    "data_source",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("uid", String(40), nullable=False),
    Column("name", String(190), nullable=False),
    Column("type", String(190), nullable=False),
    Column("access", String(20), nullable=False, server_default="proxy"),
    Column("url", Text, nullable=False),
    Column("user_name", String(255), nullable=False, server_default=""),
    Column("database_name", String(255), nullable=False, server_default=""),
    Column("basic_auth", Boolean, nullable=False, server_default="0"),
    Column("basic_auth_user", String(255), nullable=False, server_default=""),
    Column("with_credentials", Boolean, nullable=False, server_default="0"),
    Column("is_default", Boolean, nullable=False, server_default="0"),
    Column("json_data", LONG_TEXT, nullable=False),
    # JSON object {field: "v1:<base64 nonce+ciphertext>"}; plaintext never reaches the database.
    Column("secure_json_data", LONG_TEXT, nullable=False),
    Column("read_only", Boolean, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "uid"),
    UniqueConstraint("org_id", "name"),
)
