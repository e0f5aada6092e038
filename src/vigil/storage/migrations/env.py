"""Alembic environment: always run through ``vigil.storage.migrate`` with a connection given."""

from __future__ import annotations

from alembic import context

import vigil.tables  # noqa: F401  (registers every feature's tables on the metadata)
from vigil.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
