"""Data sources: the data_source table.

Revision ID: 0003_datasources
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_datasources"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    long_text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")
    op.create_table(
        "data_source",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("type", sa.String(190), nullable=False),
        sa.Column("access", sa.String(20), nullable=False, server_default="proxy"),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("database_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("basic_auth", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("basic_auth_user", sa.String(255), nullable=False, server_default=""),
        sa.Column("with_credentials", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("json_data", long_text, nullable=False),
        sa.Column("secure_json_data", long_text, nullable=False),
        sa.Column("read_only", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "uid", name="uq_data_source_org_id_uid"),
        sa.UniqueConstraint("org_id", "name", name="uq_data_source_org_id_name"),
    )


def downgrade() -> None:
    op.drop_table("data_source")
