"""Reading provisioning files: every real fixture loads or is refused with a clear message; env
expansion with the $$ escape; validation of entries and providers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED
from vigil.provisioning.files import expand, read_datasources, read_providers

FIXTURES = SHARED / "fixtures" / "provisioning"
DS_FIXTURES = [
    "grafana-docker-otel-lgtm__grafana-datasources.yaml",
    "grafana-grafana__default.yaml",
    "vegasbrianc-prometheus__datasource.yml",
]
PROVIDER_FIXTURES = ["grafana-docker-otel-lgtm__grafana-dashboards.yaml", "grafana-grafana__dashboards.yaml"]


def _need_fixtures() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"fixtures folder {FIXTURES} is absent")


def _tree(tmp_path: Path, kind: str, files: dict[str, str]) -> Path:
    folder = tmp_path / "prov" / kind
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return tmp_path / "prov"


def test_expansion_handles_vars_braces_defaults_env_file_and_the_double_dollar_escape(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t\n")
    env = {"HOST": "db.local", "PORT": "5432"}
    assert expand("$HOST:${PORT}", env) == "db.local:5432"
    assert expand("${MISSING}|$MISSING|${MISSING:-fallback}", env) == "||fallback"
    assert expand("$__env{HOST}", env) == "db.local"
    assert expand(f"$__file{{{secret}}}", env) == "s3cr3t"
    assert expand("Trace: $${__value.raw}", env) == "Trace: ${__value.raw}"
    assert expand("cost $$5 and $$HOST", env) == "cost $5 and $HOST"
    assert expand("a lone $ stays", env) == "a lone $ stays"


def test_every_data_source_fixture_loads(tmp_path: Path) -> None:
    _need_fixtures()
    root = tmp_path / "prov"
    (root / "datasources").mkdir(parents=True)
    for name in DS_FIXTURES:
        (root / "datasources" / name).symlink_to(FIXTURES / name)
    defs, deletes, problems = read_datasources(root, env={})
    refused = [p for p in problems if p.refused]
    assert refused == []
    names = sorted(d.name for d in defs)
    expected = (
        "Prometheus Tempo Loki Pyroscope Graphite InfluxDB OpenTsdb Elastic MySQL MSSQL Postgres Cloudwatch"
    )
    assert names == sorted(expected.split())
    # the same name in three files: the last file wins, and the overriding is reported
    prom = next(d for d in defs if d.name == "Prometheus")
    assert prom.file.endswith("vegasbrianc-prometheus__datasource.yml")
    assert prom.body["url"] == "http://prometheus:9090"
    assert prom.body["secureJsonData"] == {"tlsCACert": "...", "tlsClientCert": "...", "tlsClientKey": "..."}
    assert "password" not in prom.body  # present in the file with an empty value
    assert any("defined again" in p.message and not p.refused for p in problems)
    assert [(d.org_id, d.name) for d in deletes] == [(1, "Prometheus")]
    # $$ is the escape for a literal $, never expanded
    loki = next(d for d in defs if d.name == "Loki")
    assert loki.body["jsonData"]["derivedFields"][0]["url"] == "${__value.raw}"
    tempo = next(d for d in defs if d.name == "Tempo")
    assert (
        tempo.body["jsonData"]["tracesToLogsV2"]["query"] == '{${__tags}} | trace_id = "${__trace.traceId}"'
    )
    influx = next(d for d in defs if d.name == "InfluxDB")
    assert (influx.body["user"], influx.body["password"], influx.body["database"]) == (
        "grafana",
        "grafana",
        "site",
    )
    assert influx.body["jsonData"] == {"timeInterval": "15s"}
    elastic = next(d for d in defs if d.name == "Elastic")
    assert elastic.body["database"] == "[metrics-]YYYY.MM.DD"
    assert elastic.body["jsonData"]["timeField"] == "@timestamp"
    assert next(d for d in defs if d.name == "Cloudwatch").editable is True
    assert next(d for d in defs if d.name == "Graphite").editable is False
    defaults = [d.name for d in defs if d.body.get("isDefault")]
    assert defaults == ["Prometheus"]


def test_every_provider_fixture_loads(tmp_path: Path) -> None:
    _need_fixtures()
    root = tmp_path / "prov"
    (root / "dashboards").mkdir(parents=True)
    for name in PROVIDER_FIXTURES:
        (root / "dashboards" / name).symlink_to(FIXTURES / name)
    providers, problems = read_providers(root, env={}, base=tmp_path)
    assert problems == []
    by_name = {p.name: p for p in providers}
    assert sorted(by_name) == sorted(
        ["RED Metrics (classic histogram)", "RED Metrics (exponential/native histogram)", "JVM Metrics",
         "gdev dashboards"]
    )  # fmt: skip
    gdev = by_name["gdev dashboards"]
    assert (gdev.folder, gdev.folder_uid, gdev.allow_ui_updates, gdev.update_interval) == (
        "gdev dashboards", "", False, 3600.0
    )  # fmt: skip
    assert gdev.path == tmp_path / "devenv" / "dev-dashboards"  # relative paths start at the working dir
    jvm = by_name["JVM Metrics"]
    assert jvm.path == Path("/otel-lgtm/grafana-dashboard-jvm-metrics.json")
    assert (jvm.org_id, jvm.folders_from_files, jvm.update_interval) == (1, False, 10.0)


def test_broken_files_are_refused_with_a_message_naming_them(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        "datasources",
        {
            "a-bad-yaml.yaml": "apiVersion: 1\ndatasources:\n  - name: [unclosed\n",
            "b-version.yaml": "apiVersion: 2\ndatasources: []\n",
            "c-list.yaml": "- name: x\n",
            "d-entries.yaml": (
                "apiVersion: 1\ndatasources:\n  - type: prometheus\n  - name: NoType\n"
                "  - name: BadOrg\n    type: x\n    orgId: zero\n  - name: Good\n    type: prometheus\n"
                "    url: $URL\n"
            ),
            "e-empty.yaml": "",
            "f-other.yaml": "apiVersion: 1\nproviders: []\n",
            "notes.txt": "not yaml, ignored",
        },
    )
    defs, _, problems = read_datasources(root, env={"URL": "http://127.0.0.1:9090"})
    assert [(d.name, d.body["url"]) for d in defs] == [("Good", "http://127.0.0.1:9090")]
    text = "\n".join(str(p) for p in problems)
    assert "a-bad-yaml.yaml: invalid YAML at line" in text
    assert "b-version.yaml: apiVersion 2 is not supported" in text
    assert "c-list.yaml: expected a mapping" in text
    assert "datasources[0]: name is required" in text
    assert "datasources[1] ('NoType'): type is required" in text
    assert "datasources[2] ('BadOrg'): orgId must be a positive integer" in text
    assert "f-other.yaml: no datasources or deleteDatasources list" in text
    assert "e-empty.yaml" not in text
    assert "notes.txt" not in text


def test_provider_validation(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        "dashboards",
        {
            "a.yaml": (
                "apiVersion: 1\nproviders:\n"
                "  - name: ok\n    options:\n      path: dash\n"
                "  - name: nopath\n"
                "  - name: both\n    folder: F\n    options:\n      path: x\n"
                "      foldersFromFilesStructure: true\n"
                "  - name: other-type\n    type: git\n    options:\n      path: x\n"
                "  - name: ok\n    options:\n      path: again\n"
            ),
        },
    )
    providers, problems = read_providers(root, env={}, base=tmp_path)
    assert [p.name for p in providers] == ["ok"]
    text = "\n".join(str(p) for p in problems)
    assert "providers[1] ('nopath'): options.path is required" in text
    assert "providers[2] ('both'): folder and folderUid cannot be used with foldersFromFilesStructure" in text
    assert "providers[3] ('other-type'): type 'git' is not supported" in text
    assert "provider name 'ok' is already used" in text
