"""Content: preferences, stars, annotations, snapshots, library elements, playlists, provisioning records.

Revision ID: 0005_content
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005_content"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _long_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql")


def upgrade() -> None:
    op.create_table(
        "preferences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("team_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("theme", sa.String(40), nullable=False, server_default=""),
        sa.Column("timezone", sa.String(64), nullable=False, server_default=""),
        sa.Column("week_start", sa.String(20), nullable=False, server_default=""),
        sa.Column("locale", sa.String(40), nullable=False, server_default=""),
        sa.Column("language", sa.String(40), nullable=False, server_default=""),
        sa.Column("home_dashboard_uid", sa.String(40), nullable=False, server_default=""),
        sa.Column("json_data", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "user_id", "team_id", name="uq_preferences_org_id_user_id_team_id"),
    )
    op.create_table(
        "star",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("dashboard_id", sa.Integer, nullable=False),
        sa.Column("dashboard_uid", sa.String(40), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            "user_id", "org_id", "dashboard_uid", name="uq_star_user_id_org_id_dashboard_uid"
        ),
    )
    op.create_index("ix_star_org_id_dashboard_uid", "star", ["org_id", "dashboard_uid"])

    op.create_table(
        "annotation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("dashboard_uid", sa.String(40), nullable=False, server_default=""),
        sa.Column("dashboard_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("panel_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("user_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("alert_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("alert_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("prev_state", sa.String(40), nullable=False, server_default=""),
        sa.Column("new_state", sa.String(40), nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", _long_text(), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("epoch_end", sa.BigInteger, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_annotation_org_id_epoch_end_epoch", "annotation", ["org_id", "epoch_end", "epoch"])
    op.create_index(
        "ix_annotation_org_id_dashboard_uid_panel_id", "annotation", ["org_id", "dashboard_uid", "panel_id"]
    )
    op.create_index("ix_annotation_org_id_alert_id", "annotation", ["org_id", "alert_id"])
    op.create_table(
        "annotation_tag",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("annotation_id", sa.Integer, nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("term", sa.String(190), nullable=False),
        sa.Column("tag_key", sa.String(190), nullable=False),
        sa.Column("tag_value", sa.String(190), nullable=False, server_default=""),
    )
    op.create_index("ix_annotation_tag_annotation_id", "annotation_tag", ["annotation_id"])
    op.create_index("ix_annotation_tag_org_id_tag_key", "annotation_tag", ["org_id", "tag_key"])

    op.create_table(
        "dashboard_snapshot",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("key", sa.String(190), nullable=False),
        sa.Column("delete_key", sa.String(190), nullable=False),
        sa.Column("dashboard", _long_text(), nullable=False),
        sa.Column("external", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("external_url", sa.String(255), nullable=False, server_default=""),
        sa.Column("external_delete_url", sa.String(255), nullable=False, server_default=""),
        sa.Column("expires", sa.BigInteger, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("key", name="uq_dashboard_snapshot_key"),
        sa.UniqueConstraint("delete_key", name="uq_dashboard_snapshot_delete_key"),
    )
    op.create_index("ix_dashboard_snapshot_org_id_user_id", "dashboard_snapshot", ["org_id", "user_id"])

    op.create_table(
        "library_element",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("folder_uid", sa.String(40), nullable=False, server_default=""),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("kind", sa.Integer, nullable=False),
        sa.Column("type", sa.String(100), nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("model", _long_text(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("org_id", "uid", name="uq_library_element_org_id_uid"),
        sa.UniqueConstraint(
            "org_id", "folder_uid", "name", "kind", name="uq_library_element_org_id_folder_uid_name_kind"
        ),
    )

    op.create_table(
        "playlist",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("interval", sa.String(40), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "uid", name="uq_playlist_org_id_uid"),
    )
    op.create_table(
        "playlist_item",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("playlist_id", sa.Integer, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("title", sa.String(255), nullable=False, server_default=""),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_playlist_item_playlist_id", "playlist_item", ["playlist_id"])

    op.create_table(
        "provisioning_datasource",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("ds_uid", sa.String(40), nullable=False),
        sa.Column("ds_version", sa.Integer, nullable=False),
        sa.Column("check_sum", sa.String(64), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_provisioning_datasource_org_id_name"),
    )


def downgrade() -> None:
    for table in (
        "provisioning_datasource",
        "playlist_item",
        "playlist",
        "library_element",
        "dashboard_snapshot",
        "annotation_tag",
        "annotation",
        "star",
        "preferences",
    ):
        op.drop_table(table)
