"""Real ``vigil server`` processes for the client-compatibility tests (tests/test_compat_*.py).

A server runs on a fresh PostgreSQL database (created and dropped here) or on SQLite in a temporary
folder, and is driven over HTTP by the real client library under test, as an operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import ADMIN, _create_database
from tests.server_proc import ServerProcess, stop_all

# Cheap password hashing (Basic auth verifies the password on every request) and no drain delay.
SETTINGS = {
    "SECURITY_PASSWORD_HASH_MEMORY_KIB": "1024",
    "SECURITY_PASSWORD_HASH_ITERATIONS": "1",
    "SERVER_DRAIN_SECONDS": "0",
    "SERVER_ROUTER_LOGGING": "false",
    "ALERTING_ENABLED": "false",
}


@contextlib.contextmanager
def vigil_server(
    tmp: Path, backend: str = "postgresql", name: str = "compat", **settings: str
) -> Iterator[ServerProcess]:
    """A healthy ``vigil server`` on a fresh database of ``backend``; its log must show no error."""
    drop = None
    if backend == "postgresql":
        url, drop = asyncio.run(_create_database("postgresql"))
    elif backend == "sqlite":
        url = f"sqlite:///{tmp / 'vigil.db'}"
    else:
        raise ValueError(backend)
    proc = ServerProcess(name, url, tmp / "data", **{**SETTINGS, **settings})
    try:
        proc.start()
        asyncio.run(proc.wait_healthy(90))
        yield proc
    finally:
        stop_all([proc])
        if drop is not None:
            asyncio.run(drop())
    problems = proc.problems()
    assert not problems, "\n".join(problems[:20])


def admin_token(base_url: str, name: str = "compat", role: str = "Admin") -> str:
    """A service-account token made through the HTTP API with the admin's Basic credentials."""
    with httpx.Client(base_url=base_url, auth=ADMIN, timeout=10) as c:
        r = c.post("/api/serviceaccounts", json={"name": name, "role": role})
        assert r.status_code == 201, r.text
        t = c.post(f"/api/serviceaccounts/{r.json()['id']}/tokens", json={"name": f"{name}-token"})
        assert t.status_code == 200, t.text
        return str(t.json()["key"])
