"""Shared SQL storage: engine, transactions, dialect helpers, migrations."""

from vigil.storage.db import Database, now_ms
from vigil.storage.schema import metadata

__all__ = ["Database", "metadata", "now_ms"]
