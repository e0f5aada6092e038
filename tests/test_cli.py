"""The vigil command's offline sub-commands against a real SQLite database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from vigil.auth.service import IdentityService
from vigil.clock import SystemClock
from vigil.storage.db import Database, resolve_url

VIGIL = str(Path(sys.executable).parent / "vigil")


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        VIGIL_PATHS_DATA=str(tmp_path),
        VIGIL_SECURITY_ADMIN_PASSWORD="first-pw",
        VIGIL_SECURITY_SECRET_KEY="cli-secret",
    )
    return subprocess.run([VIGIL, *args], env=env, capture_output=True, text=True, timeout=60, input=stdin)


def authenticate(tmp_path: Path, login: str, password: str) -> bool:
    async def go() -> bool:
        db = Database(resolve_url("", tmp_path))
        try:
            return await IdentityService(db, SystemClock()).authenticate(login, password) is not None
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_migrate_creates_the_schema_then_reports_it_up_to_date(tmp_path: Path) -> None:
    first = run(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert "migrations applied" in first.stdout
    second = run(tmp_path, "migrate")
    assert second.returncode == 0 and "already up to date" in second.stdout
    assert (tmp_path / "vigil.db").exists()
    assert authenticate(tmp_path, "admin", "first-pw")


def test_reset_admin_password_from_flag_and_from_stdin(tmp_path: Path) -> None:
    out = run(tmp_path, "admin", "reset-admin-password", "--password", "second-pw")
    assert out.returncode == 0, out.stderr
    assert authenticate(tmp_path, "admin", "second-pw")
    assert not authenticate(tmp_path, "admin", "first-pw")
    out = run(tmp_path, "admin", "reset-admin-password", stdin="third-pw\n")
    assert out.returncode == 0, out.stderr
    assert authenticate(tmp_path, "admin", "third-pw")


def test_create_user_then_refuse_a_duplicate_without_a_traceback(tmp_path: Path) -> None:
    out = run(tmp_path, "admin", "create-user", "--login", "erin", "--password", "erin-pw", "--role=Editor")
    assert out.returncode == 0, out.stderr
    assert "created user 'erin'" in out.stdout
    assert authenticate(tmp_path, "erin", "erin-pw")
    again = run(tmp_path, "admin", "create-user", "--login", "erin", "--password", "x-pw")
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    out = run(tmp_path, "--config", str(tmp_path / "nope.ini"), "config", "show")
    assert out.returncode == 2
    assert "nope.ini does not exist" in out.stderr and "Traceback" not in out.stderr
