"""Provisioning: what the provisioner last wrote for each alerting object of provisioning/alerting.

Revision ID: 0008_provisioning_alerting
Revises: 0007_notification_templates
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_provisioning_alerting"
down_revision = "0007_notification_templates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provisioning_alerting",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(190), nullable=False),
        sa.Column("check_sum", sa.String(64), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "kind", "key", name="uq_provisioning_alerting_org_id_kind_key"),
    )


def downgrade() -> None:
    op.drop_table("provisioning_alerting")
