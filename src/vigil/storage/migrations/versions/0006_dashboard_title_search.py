"""Dashboards: a trigram index for title substring search on PostgreSQL.

``/api/search?query=…`` filters on ``lower(title) LIKE '%…%'``, which no B-tree index serves: on
PostgreSQL a GIN index with ``pg_trgm``'s operator class finds the matching rows without reading
every dashboard. Where the extension cannot be installed (not shipped, or no privilege to create
it), the migration logs it and goes on: search stays correct, only slower. Other databases are left
as they are.

Revision ID: 0006_dashboard_title_search
Revises: 0002_dashboards
"""

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0006_dashboard_title_search"
down_revision = "0002_dashboards"
branch_labels = None
depends_on = None

log = logging.getLogger("vigil.migrations")
INDEX = "ix_dashboard_title_trgm"


def _trigrams_available(bind: sa.Connection) -> bool:
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        return True
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first():
        log.warning("pg_trgm is not installed on this PostgreSQL server: title search scans every dashboard")
        return False
    try:
        with bind.begin_nested():  # a refusal rolls back this step only, not the migration
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as exc:
        log.warning(
            "could not create the pg_trgm extension (%s): title search scans every dashboard", exc.orig
        )
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _trigrams_available(bind):
        return
    # fastupdate off: a save updates the index at once instead of queueing the entry in a pending
    # list that every search scans until the next vacuum (slow searches right after a bulk import)
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON dashboard USING gin (lower(title) gin_trgm_ops)"
        " WITH (fastupdate = off)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
