"""Sessions: the shared cache table of the database session provider (auth-proxy user sync).

Revision ID: 0002_session_cache
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_session_cache"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_cache",
        sa.Column("cache_key", sa.String(190), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_session_cache_expires_at", "session_cache", ["expires_at"])


def downgrade() -> None:
    op.drop_table("session_cache")
