"""Identity tables: orgs, users (service accounts are users too), membership, teams, tokens."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from vigil.storage.schema import metadata

org = Table(
    "org",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(190), nullable=False, unique=True),
    Column("address1", String(255), nullable=False, server_default=""),
    Column("address2", String(255), nullable=False, server_default=""),
    Column("city", String(255), nullable=False, server_default=""),
    Column("zip_code", String(50), nullable=False, server_default=""),
    Column("state", String(255), nullable=False, server_default=""),
    Column("country", String(255), nullable=False, server_default=""),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

user = Table(
    "user_account",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(40), nullable=False, unique=True),
    Column("login", String(190), nullable=False, unique=True),
    Column("email", String(190), nullable=False, unique=True),
    Column("name", String(255), nullable=False, server_default=""),
    Column("password_hash", String(255), nullable=False, server_default=""),
    Column("theme", String(20), nullable=False, server_default=""),
    Column("org_id", Integer, nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("is_disabled", Boolean, nullable=False, server_default="0"),
    Column("is_service_account", Boolean, nullable=False, server_default="0"),
    Column("is_external", Boolean, nullable=False, server_default="0"),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False, server_default="0"),
    sqlite_autoincrement=True,
)

org_user = Table(
    "org_user",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("role", String(20), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "user_id"),
    Index("ix_org_user_user_id", "user_id"),
    sqlite_autoincrement=True,
)

team = Table(
    "team",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(40), nullable=False, unique=True),
    Column("org_id", Integer, nullable=False),
    Column("name", String(190), nullable=False),
    Column("email", String(190), nullable=False, server_default=""),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "name"),
    sqlite_autoincrement=True,
)

team_member = Table(
    "team_member",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("team_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("permission", Integer, nullable=False, server_default="0"),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("team_id", "user_id"),
    Index("ix_team_member_user_id", "user_id"),
    sqlite_autoincrement=True,
)

api_token = Table(
    "api_token",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("service_account_id", Integer, nullable=False),
    Column("name", String(190), nullable=False),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=True),
    Column("last_used_at", BigInteger, nullable=True),
    Column("is_revoked", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("service_account_id", "name"),
    sqlite_autoincrement=True,
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(190), nullable=False),
    Column("ip_address", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Index("ix_login_attempt_username_created", "username", "created"),
    Index("ix_login_attempt_ip_created", "ip_address", "created"),
    sqlite_autoincrement=True,
)
