"""Login sessions: one protocol (base.SessionStore), one backend per store."""

from __future__ import annotations

from vigil.clock import Clock
from vigil.config import Config
from vigil.sessions.base import SessionPolicy, SessionStore
from vigil.sessions.database import DatabaseSessionStore
from vigil.storage import Database

PROVIDERS = ("database",)


def build_store(
    config: Config, db: Database, clock: Clock, secret_key: str, policy: SessionPolicy
) -> SessionStore:
    provider = config.get_choice("session", "provider", PROVIDERS)
    if provider == "database":
        return DatabaseSessionStore(db, clock, secret_key, policy)
    raise AssertionError(provider)  # get_choice refuses anything else
