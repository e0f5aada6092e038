"""Login sessions: one protocol (base.SessionStore), one backend per store."""

from __future__ import annotations

from pathlib import Path

from vigil.clock import Clock
from vigil.config import Config
from vigil.sessions.base import SessionPolicy, SessionStore
from vigil.sessions.database import DatabaseSessionStore
from vigil.storage import Database

PROVIDERS = ("database", "redis", "memcached", "file")


def build_store(
    config: Config, db: Database, clock: Clock, secret_key: str, policy: SessionPolicy
) -> SessionStore:
    """The configured store. Nothing connects here: ``ping()`` at startup proves it is reachable."""
    provider = config.get_choice("session", "provider", PROVIDERS)
    provider_config = config.get("session", "provider_config")
    if provider == "database":
        return DatabaseSessionStore(db, clock, secret_key, policy)
    if provider == "redis":
        from vigil.sessions.redis import RedisSessionStore

        return RedisSessionStore(provider_config, clock, secret_key, policy)
    if provider == "memcached":
        from vigil.sessions.memcached import MemcachedSessionStore

        return MemcachedSessionStore(provider_config, clock, secret_key, policy)
    if provider == "file":
        from vigil.sessions.file import FileSessionStore

        folder = provider_config or str(Path(config.get("paths", "data")) / "sessions")
        return FileSessionStore(folder, clock, secret_key, policy)
    raise AssertionError(provider)  # get_choice refuses anything else
