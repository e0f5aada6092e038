"""Two replicas provisioning the same folder of real files at the same time (Grafana #11670, #13043,
#65758): one copy of each dashboard and data source, at version 1, after ten cycles with no file
change; ids never churn; a replica that cannot see a provider's files deletes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import ADMIN_AUTH, SHARED, AppFactory, Replica
from vigil.dashboards.tables import dashboard, dashboard_provisioning, dashboard_version, folder
from vigil.datasources.tables import data_source
from vigil.provisioning.runner import Provisioner
from vigil.provisioning.tables import provisioning_datasource

FIXTURES = SHARED / "fixtures"
DS_FILES = [
    "grafana-docker-otel-lgtm__grafana-datasources.yaml",
    "grafana-grafana__default.yaml",
    "vegasbrianc-prometheus__datasource.yml",
]
PROVIDER_FILES = ["grafana-docker-otel-lgtm__grafana-dashboards.yaml", "grafana-grafana__dashboards.yaml"]
DS_NAMES = sorted(
    [
        "Prometheus",
        "Tempo",
        "Loki",
        "Pyroscope",
        "Graphite",
        "InfluxDB",
        "OpenTsdb",
        "Elastic",
        "MySQL",
        "MSSQL",
        "Postgres",
        "Cloudwatch",
    ]
)


def _layout(tmp: Path) -> Path:
    """tmp/prov/{datasources,dashboards} holding the fixture files, and tmp/devenv/dev-dashboards
    (the relative path of Grafana's devenv provider) pointing at the fixture dashboards."""
    if not (FIXTURES / "provisioning").is_dir() or not (FIXTURES / "dashboards").is_dir():
        pytest.skip(f"fixtures folder {FIXTURES} is absent")
    root = tmp / "prov"
    (root / "datasources").mkdir(parents=True)
    (root / "dashboards").mkdir(parents=True)
    for name in DS_FILES:
        (root / "datasources" / name).symlink_to(FIXTURES / "provisioning" / name)
    for name in PROVIDER_FILES:
        (root / "dashboards" / name).symlink_to(FIXTURES / "provisioning" / name)
    (tmp / "devenv").mkdir()
    (tmp / "devenv" / "dev-dashboards").symlink_to(FIXTURES / "dashboards")
    # files of our own, changed during the test
    (root / "datasources" / "zz-local.yaml").write_text(
        "apiVersion: 1\ndatasources:\n  - name: Local\n    type: testdata\n    uid: local\n"
        "    jsonData:\n      note: $LOCAL_NOTE\n"
    )
    (root / "dashboards" / "local.yaml").write_text(
        f"apiVersion: 1\nproviders:\n  - name: local\n    options:\n      path: {tmp / 'local'}\n"
    )
    (tmp / "local").mkdir()
    (tmp / "local" / "a.json").write_text('{"uid": "local-a", "title": "Local A", "panels": []}')
    return root


async def _snapshot(r: Replica) -> dict[str, Any]:
    async with r.services.db.read() as conn:

        async def count(table: Any) -> int:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())

        dashes = (await conn.execute(select(dashboard.c.uid, dashboard.c.id, dashboard.c.version))).all()
        sources = (
            await conn.execute(select(data_source.c.name, data_source.c.id, data_source.c.version))
        ).all()
        folders = (await conn.execute(select(folder.c.title))).all()
        return {
            "dashboards": {uid: (i, v) for uid, i, v in dashes},
            "dashboard_rows": len(dashes),
            "versions": await count(dashboard_version),
            "provisioned": await count(dashboard_provisioning),
            "datasources": {n: (i, v) for n, i, v in sources},
            "datasource_rows": len(sources),
            "ds_records": await count(provisioning_datasource),
            "folders": sorted(t for (t,) in folders),
        }


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_two_replicas_provisioning_the_same_files_leave_one_copy_at_version_1(
    make_replica: AppFactory, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _layout(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOCAL_NOTE", "one")
    r1, r2 = await asyncio.gather(
        make_replica(db_url, paths__provisioning=str(root)),
        make_replica(db_url, paths__provisioning=str(root)),
    )
    first = await _snapshot(r1)
    # 9 fixture files (the two "Node Exporter Full" share a title: the second is refused) + Local A
    assert first["dashboard_rows"] == 9
    assert sorted(first["datasources"]) == sorted([*DS_NAMES, "Local"])
    p1, p2 = Provisioner(r1.services), Provisioner(r2.services)
    for _ in range(10):
        results = await asyncio.gather(p1.run_once(), p2.run_once())
        for problems in results:
            refused = [str(p) for p in problems if p.refused]
            # the only refusals: the otel-lgtm providers' paths (absent here) and the title clash
            assert all("does not exist" in t or "'Node Exporter Full'" in t for t in refused), refused
    after = await _snapshot(r2)
    assert after == first  # same rows, same ids, nothing rewritten
    assert after["dashboard_rows"] == after["versions"] == after["provisioned"] == 9
    assert {v for _, v in after["dashboards"].values()} == {1}
    assert after["datasource_rows"] == after["ds_records"] == 13
    assert {v for _, v in after["datasources"].values()} == {1}
    assert after["folders"] == ["gdev dashboards"]
    hits = (await r2.client.get("/api/search?type=dash-db", headers=ADMIN_AUTH)).json()
    assert len(hits) == 9
    assert sorted({h.get("folderTitle", "General") for h in hits}) == ["General", "gdev dashboards"]
    assert len((await r1.client.get("/api/datasources", headers=ADMIN_AUTH)).json()) == 13

    # a change seen by both replicas at once is applied once: one new version, not two
    (tmp_path / "local" / "a.json").write_text('{"uid": "local-a", "title": "Local A", "panels": [], "x": 1}')
    monkeypatch.setenv("LOCAL_NOTE", "two")
    for _ in range(3):
        await asyncio.gather(p1.run_once(), p2.run_once())
    changed = await _snapshot(r1)
    assert changed["dashboards"]["local-a"] == (first["dashboards"]["local-a"][0], 2)
    assert changed["versions"] == 10
    assert changed["datasources"]["Local"] == (first["datasources"]["Local"][0], 2)
    assert {k: v for k, v in changed["dashboards"].items() if k != "local-a"} == {
        k: v for k, v in first["dashboards"].items() if k != "local-a"
    }
    first = changed

    # a third replica whose provider path is missing (a failed mount) deletes nothing
    blind_root = tmp_path / "blind"
    (blind_root / "dashboards").mkdir(parents=True)
    (blind_root / "dashboards" / "p.yaml").write_text(
        "apiVersion: 1\nproviders:\n  - name: gdev dashboards\n    folder: gdev dashboards\n"
        f"    options:\n      path: {tmp_path / 'not-mounted'}\n"
    )
    r3 = await make_replica(db_url, paths__provisioning=str(blind_root))
    problems = await Provisioner(r3.services).run_once()
    assert any("nothing deleted" in p.message for p in problems)
    assert await _snapshot(r3) == first
