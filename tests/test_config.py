from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.config import Config, Documented, env_name
from vigil.errors import ConfigError

SRC = Path(__file__).resolve().parents[1] / "src" / "vigil"
VIGIL = Path(sys.executable).parent / "vigil"


def _keys_read_in_source() -> set[tuple[str, str]]:
    """Every config.get*("section", "key") call with literal arguments anywhere in src/vigil."""
    found: set[tuple[str, str]] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"get", "get_str", "get_int", "get_bool", "get_choice", "get_duration"}
                and len(node.args) >= 2
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2])
            ):
                section, key = node.args[0].value, node.args[1].value  # type: ignore[attr-defined]
                receiver = ast.unparse(node.func.value)
                if receiver.endswith("config"):
                    found.add((section, key))
    return found


def test_every_key_read_in_the_source_is_documented_with_a_comment() -> None:
    documented = Documented.packaged()
    read = _keys_read_in_source()
    assert len(read) > 20, "the scan found too few config reads to be trusted"
    missing = sorted(f"[{s}] {k}" for s, k in read if (s, k) not in documented.commented)
    assert missing == []


def test_reading_an_undocumented_key_raises() -> None:
    cfg = Config.load(None, {})
    with pytest.raises(ConfigError, match=r"\[server\] no_such_key is read but not documented"):
        cfg.get("server", "no_such_key")


def test_layers_defaults_file_environment_then_flags(tmp_path: Path) -> None:
    ini = tmp_path / "vigil.ini"
    ini.write_text("[server]\nhttp_port = 4000\nhttp_addr = 127.0.0.2\n[auth.proxy]\n")
    cfg = Config.load(ini, {"VIGIL_SERVER_HTTP_ADDR": "127.0.0.3", "VIGIL_DATABASE_URL": "sqlite:///x.db"})
    assert cfg.get_int("server", "http_port") == 4000
    assert cfg.get("server", "http_addr") == "127.0.0.3"
    assert cfg.get("database", "url") == "sqlite:///x.db"
    cfg = Config.load(ini, {"VIGIL_SERVER_HTTP_PORT": "4001"}, {"server.http_port": "4002"})
    assert cfg.get_int("server", "http_port") == 4002
    assert cfg.sources[("server", "http_port")] == "flag"


def test_vigil_config_environment_variable_names_the_file(tmp_path: Path) -> None:
    ini = tmp_path / "vigil.ini"
    ini.write_text("[server]\nhttp_port = 4100\n")
    assert Config.load(None, {"VIGIL_CONFIG": str(ini)}).get_int("server", "http_port") == 4100


def test_env_names_turn_section_dots_and_dashes_into_underscores() -> None:
    assert env_name("auth.proxy", "enabled") == "VIGIL_AUTH_PROXY_ENABLED"
    assert env_name("auth.generic-oauth", "x") == "VIGIL_AUTH_GENERIC_OAUTH_X"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("server.http_port", "eighty", r"\[server\] http_port.*accepted an integer >= 0 <= 65535"),
        ("server.http_port", "70000", r"\[server\] http_port.*<= 65535"),
        ("security.cookie_samesite", "sometimes", r"\[security\] cookie_samesite.*one of lax, strict, none"),
        ("security.cookie_secure", "maybe", r"\[security\] cookie_secure.*true or false"),
        (
            "auth.login_maximum_lifetime_duration",
            "forever",
            r"\[auth\] login_maximum_lifetime_duration.*duration",
        ),
        ("session.provider", "floppy", r"\[session\] provider.*one of database"),
        ("database.url", "oracle://x", r"\[database\] url.*sqlite"),
    ],
)
def test_invalid_values_stop_startup_naming_section_key_and_accepted_values(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    env = dict(os.environ, VIGIL_PATHS_DATA=str(tmp_path), VIGIL_DATABASE_URL=f"sqlite:///{tmp_path}/v.db")
    env["VIGIL_" + key.replace(".", "_").upper()] = value
    out = subprocess.run([str(VIGIL), "server"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    import re

    assert re.search(expected, out.stderr), out.stderr


def test_config_show_masks_secrets_and_passwords_in_urls() -> None:
    env = dict(
        os.environ,
        VIGIL_DATABASE_URL="postgresql://vigil:hunter2@127.0.0.1/vigil",
        VIGIL_SECURITY_SECRET_KEY="topsecretvalue",
        VIGIL_SECURITY_ADMIN_PASSWORD="adminpass",
    )
    out = subprocess.run([str(VIGIL), "config", "show"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (
        "hunter2" not in out.stdout and "topsecretvalue" not in out.stdout and "adminpass" not in out.stdout
    )
    assert "postgresql://vigil:*****@127.0.0.1/vigil" in out.stdout
    assert "env VIGIL_DATABASE_URL" in out.stdout


def test_durations_accept_units() -> None:
    cfg = Config.load(None, {}, {"auth.login_maximum_inactive_lifetime_duration": "12h"})
    assert cfg.get_duration("auth", "login_maximum_inactive_lifetime_duration") == 43200
