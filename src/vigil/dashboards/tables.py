"""Tables of dashboards, folders, versions, tags, permissions (ACL) and provisioning records.

Conventions: root (the "General" folder) is ``folder_uid = ""`` / ``parent_uid = ""`` (never NULL, so
unique constraints hold on every database). Dashboard JSON is stored as given in ``data`` (Text,
LONGTEXT on MySQL); ``id``, ``uid`` and ``version`` inside it are rewritten on save.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

from vigil.storage.schema import metadata

LongText = Text().with_variant(mysql.LONGTEXT(), "mysql")

folder = Table(
    "folder",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(40), nullable=False),
    Column("org_id", Integer, nullable=False),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    # "" = at the root; otherwise the uid of the parent folder (same org)
    Column("parent_uid", String(40), nullable=False, server_default=""),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("created_by", Integer, nullable=False, server_default="0"),
    Column("updated_by", Integer, nullable=False, server_default="0"),
    UniqueConstraint("org_id", "uid"),
    Index("ix_folder_org_id_parent_uid", "org_id", "parent_uid"),
)

dashboard = Table(
    "dashboard",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(40), nullable=False),
    Column("org_id", Integer, nullable=False),
    Column("title", String(255), nullable=False),
    # sha1 of the case-folded, trimmed title: the "same name in the folder" key (Grafana's unique
    # (org_id, folder_id, title) index), short enough to index on MySQL
    Column("title_key", String(40), nullable=False),
    Column("folder_uid", String(40), nullable=False, server_default=""),
    Column("version", Integer, nullable=False),
    Column("data", LongText, nullable=False),
    Column("plugin_id", String(190), nullable=False, server_default=""),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("created_by", Integer, nullable=False, server_default="0"),
    Column("updated_by", Integer, nullable=False, server_default="0"),
    UniqueConstraint("org_id", "uid"),
    UniqueConstraint("org_id", "folder_uid", "title_key"),
)

dashboard_version = Table(
    "dashboard_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dashboard_id", Integer, nullable=False),
    Column("parent_version", Integer, nullable=False, server_default="0"),
    Column("restored_from", Integer, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("created_by", Integer, nullable=False, server_default="0"),
    Column("message", Text, nullable=False, server_default=""),
    Column("data", LongText, nullable=False),
    # one row per version: a second save at the same version cannot commit
    UniqueConstraint("dashboard_id", "version"),
)

dashboard_tag = Table(
    "dashboard_tag",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("dashboard_id", Integer, nullable=False),
    Column("term", String(190), nullable=False),
    Index("ix_dashboard_tag_dashboard_id", "dashboard_id"),
    Index("ix_dashboard_tag_org_id_term", "org_id", "term"),
)

# Folder and dashboard permission items. Exactly one of user_id (>0), team_id (>0), role ("Viewer",
# "Editor", "Admin") names the grantee; the others are 0 / "". permission: 1 View, 2 Edit, 4 Admin.
dashboard_acl = Table(
    "dashboard_acl",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # "folder" or "dashboard"
    Column("resource_uid", String(40), nullable=False),
    Column("user_id", Integer, nullable=False, server_default="0"),
    Column("team_id", Integer, nullable=False, server_default="0"),
    Column("role", String(20), nullable=False, server_default=""),
    Column("permission", Integer, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "kind", "resource_uid", "user_id", "team_id", "role"),
    Index("ix_dashboard_acl_user_id", "user_id"),
    Index("ix_dashboard_acl_team_id", "team_id"),
)

# Which provisioning provider owns a dashboard (written by the provisioning feature).
dashboard_provisioning = Table(
    "dashboard_provisioning",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dashboard_id", Integer, nullable=False, unique=True),
    Column("name", String(190), nullable=False),
    Column("external_id", Text, nullable=False),
    Column("check_sum", String(64), nullable=False, server_default=""),
    Column("allow_ui_updates", Boolean, nullable=False, server_default="0"),
    Column("updated", BigInteger, nullable=False),
    Index("ix_dashboard_provisioning_name", "name"),
)
