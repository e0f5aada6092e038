"""The deploy/ templates render into configurations HAProxy and nginx accept, in both modes, and
the other deploy/ files say what docs/ha.md promises."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.sessions_support import require_binary
from vigil.cluster.local import ClusterSpec, LocalCluster, deploy_dir, parse_session, render
from vigil.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("lb", ["haproxy", "nginx"])
@pytest.mark.parametrize("sticky", [False, True])
def test_rendered_load_balancer_configs_are_accepted(lb: str, sticky: bool, tmp_path: Path) -> None:
    binary = require_binary(lb)
    spec = ClusterSpec(
        replicas=3,
        db_url="postgresql://x@127.0.0.1/x",
        session="file" if sticky else "redis",
        lb=lb,
        sticky=sticky,
        port=23000,
        run_dir=tmp_path,
    )
    c = LocalCluster(spec)
    c.replicas = [c._replica(i) for i in range(3)]
    path, argv = c.render_balancer()
    text = path.read_text()
    assert "{{" not in "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for port in (23001, 23002, 23003):
        assert f"127.0.0.1:{port}" in text
    if lb == "haproxy":
        assert ("cookie VIGIL_REPLICA insert" in text) is sticky
        assert "option httpchk GET /api/health" in text and "option redispatch" in text
        check = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True)
    else:
        assert ("$cookie_VIGIL_REPLICA" in text) is sticky
        check = subprocess.run([*argv, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_replicas_get_their_own_file_session_folders(tmp_path: Path) -> None:
    spec = ClusterSpec(replicas=2, db_url="postgresql://x@h/x", session="file", sticky=True, run_dir=tmp_path)
    c = LocalCluster(spec)
    for i in range(2):
        argv = c._replica(i).argv
        assert f"session.provider_config={tmp_path / f'replica-{i + 1}' / 'sessions'}" in argv
        assert argv[argv.index("--instance-name") + 1] == f"replica-{i + 1}"


def test_render_refuses_a_missing_value_and_session_specs_parse() -> None:
    with pytest.raises(ConfigError):
        render("a {{x}} b", {})
    assert render("# {{doc}}\nkeep {{x}}\n", {"x": "1"}) == "# {{doc}}\nkeep 1\n"
    assert parse_session("redis://127.0.0.1:6379/0") == ("redis", "redis://127.0.0.1:6379/0")
    assert parse_session("memcached:127.0.0.1:11211") == ("memcached", "127.0.0.1:11211")
    assert parse_session("file:/srv/s") == ("file", "/srv/s")
    assert parse_session("database") == ("database", "")
    with pytest.raises(ConfigError):
        parse_session("memory")
    assert deploy_dir() == ROOT / "deploy"


def test_kubernetes_and_compose_files_match_the_guide() -> None:
    yaml = pytest.importorskip("yaml")
    docs = list(yaml.safe_load_all((ROOT / "deploy/kubernetes/vigil.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert {"ConfigMap", "Secret", "Deployment", "Service"} <= set(kinds)
    deployment = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert "VIGIL_SECURITY_SECRET_KEY" in kinds["Secret"]["stringData"]
    compose = yaml.safe_load((ROOT / "deploy/compose/compose.yaml").read_text())
    assert {"vigil-1", "vigil-2", "vigil-3", "haproxy", "postgres", "redis"} <= set(compose["services"])
    unit = (ROOT / "deploy/systemd/vigil.service").read_text()
    assert "ExecStart=" in unit and "vigil server" in unit
    require_binary("haproxy")
    check = subprocess.run(
        ["haproxy", "-c", "-f", str(ROOT / "deploy/compose/haproxy.cfg")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
