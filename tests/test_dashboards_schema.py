"""The 0002_dashboards migration creates exactly the tables declared in vigil.dashboards.tables."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import Replica
from vigil.dashboards import tables
from vigil.storage.schema import metadata

OURS = {
    "folder",
    "dashboard",
    "dashboard_version",
    "dashboard_tag",
    "dashboard_acl",
    "dashboard_provisioning",
}


def _touches_ours(op: Any) -> bool:
    if isinstance(op, list):
        return any(_touches_ours(x) for x in op)
    for part in op:
        if isinstance(part, str) and part in OURS:
            return True
        if getattr(part, "name", None) in OURS:
            return True
        if getattr(getattr(part, "table", None), "name", None) in OURS:
            return True
    return False


# PostgreSQL-only, made by migration 0006 when pg_trgm can be installed: not part of the portable
# table declarations (a GIN trigram index on an expression has no SQLite/MySQL equivalent)
DIALECT_EXTRAS = {"ix_dashboard_title_trgm"}


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "index" and name in DIALECT_EXTRAS)


def _diff(sync_conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": False, "include_object": _include})
    return [d for d in compare_metadata(ctx, metadata) if _touches_ours(d)]


async def test_migration_matches_the_declared_tables(replica: Replica) -> None:
    assert {t.name for t in tables.metadata.sorted_tables} >= OURS
    async with replica.services.db.read() as conn:
        diffs = await conn.run_sync(_diff)
    assert diffs == []
