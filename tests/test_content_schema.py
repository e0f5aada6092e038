"""The 0005_content migration creates exactly the tables the content features declare."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import Replica
from vigil.storage.schema import metadata

OURS = {
    "preferences",
    "star",
    "annotation",
    "annotation_tag",
    "dashboard_snapshot",
    "library_element",
    "playlist",
    "playlist_item",
    "provisioning_datasource",
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


def _diff(sync_conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return [d for d in compare_metadata(ctx, metadata) if _touches_ours(d)]


async def test_content_migration_matches_the_declared_tables(replica: Replica) -> None:
    assert {t.name for t in metadata.sorted_tables} >= OURS
    async with replica.services.db.read() as conn:
        diffs = await conn.run_sync(_diff)
    assert diffs == []
