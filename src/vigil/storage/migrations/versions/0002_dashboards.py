"""Dashboards: folders, dashboards, versions, tags, permission items, provisioning records.

Revision ID: 0002_dashboards
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_dashboards"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _long_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql")


def upgrade() -> None:
    op.create_table(
        "folder",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("parent_uid", sa.String(40), nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_by", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("org_id", "uid", name="uq_folder_org_id_uid"),
    )
    op.create_index("ix_folder_org_id_parent_uid", "folder", ["org_id", "parent_uid"])
    op.create_table(
        "dashboard",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("title_key", sa.String(40), nullable=False),
        sa.Column("folder_uid", sa.String(40), nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", _long_text(), nullable=False),
        sa.Column("plugin_id", sa.String(190), nullable=False, server_default=""),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_by", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("org_id", "uid", name="uq_dashboard_org_id_uid"),
        sa.UniqueConstraint(
            "org_id", "folder_uid", "title_key", name="uq_dashboard_org_id_folder_uid_title_key"
        ),
    )
    op.create_table(
        "dashboard_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dashboard_id", sa.Integer, nullable=False),
        sa.Column("parent_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("restored_from", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("data", _long_text(), nullable=False),
        sa.UniqueConstraint("dashboard_id", "version", name="uq_dashboard_version_dashboard_id_version"),
    )
    op.create_table(
        "dashboard_tag",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("dashboard_id", sa.Integer, nullable=False),
        sa.Column("term", sa.String(190), nullable=False),
    )
    op.create_index("ix_dashboard_tag_dashboard_id", "dashboard_tag", ["dashboard_id"])
    op.create_index("ix_dashboard_tag_org_id_term", "dashboard_tag", ["org_id", "term"])
    op.create_table(
        "dashboard_acl",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("resource_uid", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("team_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("role", sa.String(20), nullable=False, server_default=""),
        sa.Column("permission", sa.Integer, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            "org_id",
            "kind",
            "resource_uid",
            "user_id",
            "team_id",
            "role",
            name="uq_dashboard_acl_org_id_kind_resource_uid_user_id_team_id_role",
        ),
    )
    op.create_index("ix_dashboard_acl_user_id", "dashboard_acl", ["user_id"])
    op.create_index("ix_dashboard_acl_team_id", "dashboard_acl", ["team_id"])
    op.create_table(
        "dashboard_provisioning",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dashboard_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("check_sum", sa.String(64), nullable=False, server_default=""),
        sa.Column("allow_ui_updates", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("dashboard_id", name="uq_dashboard_provisioning_dashboard_id"),
    )
    op.create_index("ix_dashboard_provisioning_name", "dashboard_provisioning", ["name"])


def downgrade() -> None:
    for name in (
        "dashboard_provisioning",
        "dashboard_acl",
        "dashboard_tag",
        "dashboard_version",
        "dashboard",
        "folder",
    ):
        op.drop_table(name)
