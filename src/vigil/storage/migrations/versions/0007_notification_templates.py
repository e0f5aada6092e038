"""Alerting: notification templates (``/api/v1/provisioning/templates``).

Revision ID: 0007_notification_templates
Revises: 0004_alerting
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007_notification_templates"
down_revision = "0004_alerting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_notification_template",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("template", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=False),
        sa.Column("provenance", sa.String(20), nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_alert_notification_template_org_id_name"),
    )


def downgrade() -> None:
    op.drop_table("alert_notification_template")
