"""Preferences (one row per org, team or user scope) and stars."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from vigil.storage.schema import metadata

# Scope: user_id > 0 → a user's preferences in org_id; team_id > 0 → a team's; both 0 → the org's.
preferences = Table(
    "preferences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False, server_default="0"),
    Column("team_id", Integer, nullable=False, server_default="0"),
    Column("theme", String(40), nullable=False, server_default=""),
    Column("timezone", String(64), nullable=False, server_default=""),
    Column("week_start", String(20), nullable=False, server_default=""),
    Column("locale", String(40), nullable=False, server_default=""),
    Column("language", String(40), nullable=False, server_default=""),
    Column("home_dashboard_uid", String(40), nullable=False, server_default=""),
    # JSON object with the open-ended parts: navbar, queryHistory, cookiePreferences
    Column("json_data", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "user_id", "team_id"),
)

star = Table(
    "star",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("dashboard_id", Integer, nullable=False),
    Column("dashboard_uid", String(40), nullable=False),
    Column("created", BigInteger, nullable=False),
    UniqueConstraint("user_id", "org_id", "dashboard_uid"),
    Index("ix_star_org_id_dashboard_uid", "org_id", "dashboard_uid"),
)
