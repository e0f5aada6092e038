"""The database session store's table (Grafana's user_auth_token, tokens stored hashed)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from vigil.storage.schema import metadata

user_auth_token = Table(
    "user_auth_token",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False),
    Column("auth_token", String(64), nullable=False, unique=True),
    Column("prev_auth_token", String(64), nullable=False),
    Column("user_agent", String(255), nullable=False, server_default=""),
    Column("client_ip", String(64), nullable=False, server_default=""),
    Column("seen_at", BigInteger, nullable=False),
    Column("rotated_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=False, server_default="0"),
    Index("ix_user_auth_token_prev_auth_token", "prev_auth_token"),
    Index("ix_user_auth_token_user_id", "user_id"),
    sqlite_autoincrement=True,
)

# Small shared values with an expiry (the auth-proxy user-sync cache) for the database provider.
session_cache = Table(
    "session_cache",
    metadata,
    Column("cache_key", String(190), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_session_cache_expires_at", "expires_at"),
    sqlite_autoincrement=True,
)
