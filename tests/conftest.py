"""Shared fixtures: real databases (a fresh one per test), apps as replicas, HTTP clients.

Service addresses come from the environment with this machine's defaults. A missing service skips
its tests with a loud reason locally and fails them under CI=true.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from vigil.app import VigilApp, create_app
from vigil.clock import Clock
from vigil.config import Config

POSTGRES_URL = os.environ.get("VIGIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("VIGIL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHARED = Path(__file__).resolve().parents[2] / "shared"
ADMIN = ("admin", "admin-pw")
SECRET = "test-secret-key-0123456789"


def require_service(name: str, url: str) -> None:
    """Skip (locally) or fail (CI=true) when a service does not accept connections."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return
    except OSError as exc:
        reason = (
            f"SERVICE MISSING: {name} at {parts.hostname}:{parts.port} ({exc}) — set the VIGIL_TEST_* URL"
        )
        if IN_CI:
            pytest.fail(reason)
        print(f"\n*** {reason} ***", file=sys.stderr)
        pytest.skip(reason)


async def _create_database(backend: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    name = "vigil_t_" + secrets.token_hex(6)
    if backend == "postgresql":
        import asyncpg

        require_service("PostgreSQL", POSTGRES_URL)
        admin_dsn = POSTGRES_URL.replace("postgresql://", "postgres://", 1)
        conn = await asyncpg.connect(admin_dsn)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

        async def drop() -> None:
            c = await asyncpg.connect(admin_dsn)
            try:
                await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await c.close()

        p = urlsplit(POSTGRES_URL)
        return p._replace(path="/" + name).geturl(), drop
    if backend == "mysql":
        import pymysql

        require_service("MariaDB/MySQL", MYSQL_URL)
        p = urlsplit(MYSQL_URL)

        def run(sql: str) -> None:
            c = pymysql.connect(
                host=p.hostname, port=p.port or 3306, user=p.username or "root", password=p.password or ""
            )
            try:
                with c.cursor() as cur:
                    cur.execute(sql)
                c.commit()
            finally:
                c.close()

        await asyncio.to_thread(run, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")

        async def drop_mysql() -> None:
            await asyncio.to_thread(run, f"DROP DATABASE IF EXISTS `{name}`")

        return p._replace(path="/" + name).geturl(), drop_mysql
    raise ValueError(backend)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database of the parametrised backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'vigil.db'}"
        return
    url, drop = await _create_database(backend)
    try:
        yield url
    finally:
        await drop()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vigil.db'}"


def make_config(db_url: str, data_dir: Path, instance: str = "test-1", **overrides: Any) -> Config:
    values = {
        "database.url": db_url,
        "paths.data": str(data_dir),
        "security.admin_user": ADMIN[0],
        "security.admin_password": ADMIN[1],
        "security.secret_key": SECRET,
        "cluster.instance_name": instance,
        "server.router_logging": "false",
        "security.password_hash_memory_kib": "1024",
        "security.password_hash_iterations": "1",
    }
    values.update({k.replace("__", "."): str(v) for k, v in overrides.items()})
    return Config.load(None, {}, values)


class Replica:
    """One app plus a client talking to it in-process."""

    def __init__(self, app: VigilApp, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def services(self) -> Any:
        return self.app.services


AppFactory = Callable[..., Awaitable[Replica]]


@pytest.fixture
async def make_replica(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Build replicas (apps started as `vigil server` would) against a database URL."""
    async with AsyncExitStack() as stack:
        count = 0

        async def factory(url: str, clock: Clock | None = None, **overrides: Any) -> Replica:
            nonlocal count
            count += 1
            cfg = make_config(url, tmp_path, instance=f"replica-{count}", **overrides)
            app = create_app(cfg, clock)
            await app.startup()
            stack.push_async_callback(app.shutdown)
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40000 + count)),
                base_url="http://vigil.test",
            )
            stack.push_async_callback(client.aclose)
            return Replica(app, client)

        yield factory


@pytest.fixture
async def replica(make_replica: AppFactory, db_url: str) -> Replica:
    """One started replica on each database backend."""
    return await make_replica(db_url)


@pytest.fixture
async def sqlite_replica(make_replica: AppFactory, sqlite_url: str) -> Replica:
    return await make_replica(sqlite_url)


def basic(login: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


ADMIN_AUTH = basic(*ADMIN)


# -- browser tests: a module's ``stack`` fixture ({"vigil": <server>, ...}) is what these drive ------


@pytest.fixture(scope="module")
def browser(stack: dict[str, Any]) -> Iterator[Any]:
    """One Chromium for the module's tests (tests/ui_harness.py)."""
    from tests.ui_harness import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def auth_state(browser: Any, stack: dict[str, Any]) -> dict[str, Any]:
    """The storage state of a browser context signed in as admin on the module's server."""
    from tests.ui_harness import login

    ctx = browser.new_context()
    page = ctx.new_page()
    login(page, stack["vigil"].url)
    state: dict[str, Any] = ctx.storage_state()
    ctx.close()
    return state
