"""A PostgreSQL server that is shutting down, restarting or starting up answers new connections
with SQLSTATE 57P03 ("the database system is shutting down") and ends open ones with 57P01
("terminating connection due to administrator command"). For Vigil that is the database being
away for a moment: 503 {"message": "database unavailable"}, never a 500. Found by the chaos
battery (bench/chaos.py): a `pg_ctl restart` under load answered about half its failures with 500.

The server here is a private PostgreSQL cluster (bench.chaos.PrivatePostgres) on a free loopback
port: the machine's shared one is never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from bench.chaos import Missing, PrivatePostgres
from sqlalchemy import text

from tests.conftest import IN_CI
from vigil.errors import AppError
from vigil.storage.db import Database, resolve_url

pytestmark = pytest.mark.slow


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    base = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    try:
        pg = PrivatePostgres(base)
        pg.init()
    except Missing as exc:
        reason = f"PROGRAM MISSING: {exc} (apt-get install postgresql)"
        if IN_CI:
            pytest.fail(reason)
        print(f"\n*** {reason} ***", file=sys.stderr)
        pytest.skip(reason)
    try:
        yield pg
    finally:
        pg.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)


def dsn(pg: PrivatePostgres) -> str:
    return f"postgres://postgres@127.0.0.1:{pg.port}/vigil"


async def test_a_database_shutting_down_is_503_for_new_and_open_connections(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    db = Database(resolve_url(private_pg.url, str(tmp_path)))
    holder = await asyncpg.connect(dsn(private_pg))  # keeps a smart shutdown waiting
    try:
        async with db.read() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        # An open connection the server ends (what `pg_ctl stop/restart -m fast` does to all): 57P01.
        await holder.execute(f"SELECT pg_terminate_backend({int(pid)})")
        await asyncio.sleep(0.2)
        with pytest.raises(AppError) as ended:
            async with db.read() as conn:
                await conn.execute(text("SELECT 1"))
        assert ended.value.status_code == 503, ended.value

        # New connections while the server shuts down: 57P03 "the database system is shutting down".
        private_pg.stop_nowait("smart")
        deadline = time.monotonic() + 20
        while True:
            try:
                probe = await asyncpg.connect(dsn(private_pg))
            except asyncpg.CannotConnectNowError:
                break
            await probe.close()
            assert time.monotonic() < deadline, "the server never started refusing connections"
            await asyncio.sleep(0.05)
        await db.dispose()  # an empty pool: the next request opens a new connection
        with pytest.raises(AppError) as refused:
            async with db.read() as conn:
                await conn.execute(text("SELECT 1"))
        assert refused.value.status_code == 503, refused.value
        assert refused.value.body() == {"message": "database unavailable"}
        with pytest.raises(AppError) as refused_write:
            async with db.write() as conn:
                await conn.execute(text("SELECT 1"))
        assert refused_write.value.status_code == 503
    finally:
        with contextlib.suppress(Exception):
            await holder.close()
        await db.dispose()
