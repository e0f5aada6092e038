"""grafana-backup 1.4 against real ``vigil server`` processes on PostgreSQL, driven as an operator
drives it: its ``grafana-backup`` command with GRAFANA_URL, GRAFANA_TOKEN, GRAFANA_ADMIN_ACCOUNT,
GRAFANA_ADMIN_PASSWORD and BACKUP_DIR in the environment.

``save`` from a server holding every kind of content, ``restore`` of that archive into a fresh
server, then ``save`` again: the two archives hold the same dashboards, folders, folder permissions,
data sources, users, orgs, teams and members, snapshots, annotations, library elements and dashboard
versions, apart from ids and timestamps.

What grafana-backup itself cannot carry over, against Grafana as against Vigil, is left out of the
content on purpose and written down here rather than hidden:
- dashboard versions are saved but never restored (its own help says so): a restored dashboard has
  one version, equal to the newest saved one, and version counters start again at 1;
- it maps folder permissions, team members' teams and users' orgs by numeric id, and restores files
  in directory order, so the content keeps those ids stable: one team, one extra org, and user
  permission items only for users that exist before the restore (the admin and the token's service
  account, made first on both servers);
- a restored snapshot is named after its dashboard's title, a restored user joins its current org
  with the default role (Viewer) before the saved memberships are added, and a library element at
  the root is put into the first folder: the content follows those rules;
- nested folders are restored in directory order (a child may come before its parent): top-level
  folders only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat_support import admin_token, vigil_server
from tests.conftest import ADMIN
from tests.server_proc import ServerProcess

pytestmark = pytest.mark.slow
GRAFANA_BACKUP = Path(sys.executable).with_name("grafana-backup")
SA_NAME = "backup"  # the same service account (and so the same user id, 2) on both servers


@pytest.fixture
def first(tmp_path: Path) -> Iterator[ServerProcess]:
    with vigil_server(tmp_path / "first", "postgresql", "backup-first") as proc:
        yield proc


@pytest.fixture
def second(tmp_path: Path) -> Iterator[ServerProcess]:
    with vigil_server(tmp_path / "second", "postgresql", "backup-second") as proc:
        yield proc


def run_backup(server: ServerProcess, token: str, work: Path, *args: str) -> str:
    """``grafana-backup ARGS`` as an operator runs it; returns its output."""
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "VIGIL_"))}
    env.update(
        {
            "HOME": str(work),  # no ~/.grafana-backup.json but the packaged defaults
            "GRAFANA_URL": server.base_url,
            "GRAFANA_TOKEN": token,
            "GRAFANA_ADMIN_ACCOUNT": ADMIN[0],
            "GRAFANA_ADMIN_PASSWORD": ADMIN[1],
            "BACKUP_DIR": str(work / "_OUTPUT_"),
            "VERIFY_SSL": "false",
        }
    )
    done = subprocess.run(
        [str(GRAFANA_BACKUP), *args], env=env, cwd=work, capture_output=True, text=True, timeout=180
    )
    out = done.stdout + done.stderr
    (work / f"{args[0]}.log").write_text(out)
    assert done.returncode == 0 and "Traceback" not in out, out[-6000:]
    return out


def archive_of(work: Path) -> Path:
    found = sorted((work / "_OUTPUT_").glob("*.tar.gz"))
    assert len(found) == 1, found
    return found[0]


def read_archive(path: Path) -> dict[str, list[Any]]:
    """Every saved object of the archive, by its file extension (component)."""
    out: dict[str, list[Any]] = {}
    with tarfile.open(path, "r:gz") as tar:
        for m in tar.getmembers():
            if not m.isfile() or m.name.endswith(".txt"):
                continue
            f = tar.extractfile(m)
            assert f is not None
            out.setdefault(m.name.rsplit(".", 1)[1], []).append(json.loads(f.read()))
    return out


# -- content -----------------------------------------------------------------------------------


def seed(server: ServerProcess, token: str) -> None:
    """Every kind of content grafana-backup saves, made through the HTTP API."""
    tok = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    adm = httpx.Client(base_url=server.base_url, auth=ADMIN, timeout=10)

    def ok(r: httpx.Response) -> Any:
        assert r.status_code in (200, 201), (r.request.method, r.request.url, r.status_code, r.text)
        return r.json()

    org2 = ok(adm.post("/api/orgs", json={"name": "Backup Org"}))["orgId"]
    assert org2 == 2
    users = {}
    for login, name in (("alice", "Alice Liddell"), ("bob", "Bob Builder")):
        users[login] = ok(
            adm.post(
                "/api/admin/users",
                json={
                    "login": login,
                    "name": name,
                    "email": f"{login}@example.com",
                    "password": "pw-12345678",
                },
            )
        )["id"]
    ok(adm.post(f"/api/orgs/{org2}/users", json={"loginOrEmail": "alice", "role": "Editor"}))
    ok(adm.post(f"/api/orgs/{org2}/users", json={"loginOrEmail": "bob", "role": "Viewer"}))

    team = ok(tok.post("/api/teams", json={"name": "Backup Team", "email": "team@example.com"}))["teamId"]
    for user_id in users.values():
        ok(tok.post(f"/api/teams/{team}/members", json={"userId": user_id}))

    ok(tok.post("/api/folders", json={"uid": "ops", "title": "Ops"}))
    ok(tok.post("/api/folders", json={"uid": "apps", "title": "Apps", "description": "applications"}))
    ok(
        tok.post(
            "/api/folders/ops/permissions",
            json={
                "items": [
                    {"role": "Viewer", "permission": 1},
                    {"role": "Editor", "permission": 2},
                    {"teamId": team, "permission": 2},
                    {"userId": 1, "permission": 4},
                ]
            },
        )
    )

    ok(
        tok.post(
            "/api/datasources",
            json={
                "name": "Prometheus",
                "uid": "prom",
                "type": "prometheus",
                "url": "http://127.0.0.1:9090",
                "access": "proxy",
                "isDefault": True,
                "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
            },
        )
    )
    ok(
        tok.post(
            "/api/datasources", json={"name": "TestData", "uid": "td", "type": "grafana-testdata-datasource"}
        )
    )
    ok(
        tok.post(
            "/api/datasources",
            json={
                "name": "Warehouse",
                "uid": "pg",
                "type": "grafana-postgresql-datasource",
                "url": "127.0.0.1:5432",
                "user": "reader",
                "database": "",
                "jsonData": {"database": "metrics", "sslmode": "disable"},
                "secureJsonData": {"password": "secret"},
            },
        )
    )

    ok(
        tok.post(
            "/api/library-elements",
            json={
                "uid": "lib-cpu",
                "name": "CPU usage",
                "kind": 1,
                "folderUid": "ops",
                "model": {
                    "type": "timeseries",
                    "title": "CPU usage",
                    "targets": [{"refId": "A", "expr": "cpu"}],
                },
            },
        )
    )
    ok(
        tok.post(
            "/api/library-elements",
            json={
                "uid": "lib-env",
                "name": "env",
                "kind": 2,
                "folderUid": "apps",
                "model": {"type": "custom", "name": "env", "query": "dev,prod"},
            },
        )
    )

    def save(dashboard: dict[str, Any], folder: str, message: str) -> dict[str, Any]:
        return dict(
            ok(
                tok.post(
                    "/api/dashboards/db",
                    json={"dashboard": dashboard, "folderUid": folder, "overwrite": True, "message": message},
                )
            )
        )

    panel = {"id": 1, "type": "timeseries", "title": "Requests", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}
    svc = {"uid": "svc-a", "title": "Service A", "tags": ["svc"], "panels": [panel], "schemaVersion": 41}
    save(svc, "ops", "first")
    save({**svc, "description": "second"}, "ops", "second")
    save(
        {**svc, "description": "third", "panels": [panel, {**panel, "id": 2, "title": "Errors"}]},
        "ops",
        "third",
    )
    lib = {
        "id": 3,
        "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
        "libraryPanel": {"uid": "lib-cpu", "name": "CPU usage"},
    }
    save({"uid": "svc-b", "title": "Service B", "tags": ["svc", "b"], "panels": [lib]}, "apps", "only")
    home = {"uid": "home", "title": "Home", "links": [{"title": "Ops", "url": "/dashboards/f/ops/"}]}
    save(home, "", "v1")
    save({**home, "refresh": "1m"}, "", "v2")

    for uid, title in (("svc-a", "Service A"), ("home", "Home")):
        snap_model = ok(tok.get(f"/api/dashboards/uid/{uid}"))["dashboard"]
        ok(tok.post("/api/snapshots", json={"dashboard": snap_model, "name": title}))

    now = int(time.time() * 1000)
    ok(
        tok.post(
            "/api/annotations",
            json={
                "dashboardUID": "svc-a",
                "panelId": 1,
                "time": now - 7_200_000,
                "timeEnd": now - 3_600_000,
                "tags": ["deploy", "v1.2"],
                "text": "Deployed v1.2",
            },
        )
    )
    ok(
        tok.post(
            "/api/annotations", json={"time": now - 86_400_000 * 3, "tags": ["outage"], "text": "Org-wide"}
        )
    )
    ok(tok.post("/api/annotations", json={"dashboardUID": "home", "time": now - 60_000, "text": "no tags"}))
    tok.close()
    adm.close()


# -- comparison --------------------------------------------------------------------------------

TIMESTAMPS = {"created", "updated", "createdAt", "updatedAt", "lastSeenAt", "lastSeenAtAge", "expires"}
IDS = {
    "id",
    "orgId",
    "dashboardId",
    "folderId",
    "userId",
    "teamId",
    "userUID",
    "teamUID",
    "key",
    "deleteKey",
    "alertId",
}


def scrub(value: Any, drop: set[str]) -> Any:
    """``value`` without the keys in ``drop``, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [scrub(v, drop) for v in value]
    return value


def normalise(backup: dict[str, list[Any]]) -> dict[str, Any]:
    """The comparable content of one archive, each component sorted by a stable, id-free key."""
    drop = TIMESTAMPS | IDS

    def by(items: list[Any], key: Any) -> list[Any]:
        return sorted((scrub(x, drop) for x in items), key=key)

    dashboards = []
    for d in backup.get("dashboard", []):
        dash = {k: v for k, v in d["dashboard"].items() if k not in ("id", "version")}
        meta = {k: v for k, v in d["meta"].items() if k not in TIMESTAMPS | {"folderId", "version"}}
        dashboards.append({"dashboard": dash, "meta": meta})
    # A restored dashboard has one version, the newest saved: compare each dashboard's newest
    # version data, and the number of versions only on the first side (see the module docstring).
    newest: dict[str, Any] = {}
    for v in backup.get("version", []):
        uid = v["data"]["uid"]
        if uid not in newest or v["version"] > newest[uid]["version"]:
            newest[uid] = v
    versions = {
        uid: {
            "data": {k: x for k, x in v["data"].items() if k not in ("id", "version")},
            "createdBy": v["createdBy"],
        }
        for uid, v in newest.items()
    }
    return {
        "dashboards": sorted(dashboards, key=lambda d: d["dashboard"]["uid"]),
        "dashboard_versions": versions,
        "folders": by(backup.get("folder", []), lambda f: f["uid"]),
        "folder_permissions": sorted(
            (by(p, lambda x: json.dumps(x, sort_keys=True)) for p in backup.get("folder_permission", [])),
            key=lambda items: json.dumps(items, sort_keys=True),
        ),
        "datasources": by(backup.get("datasource", []), lambda d: d["uid"]),
        "users": by(
            [{k: v for k, v in u.items() if k != "uid"} for u in backup.get("user", [])], lambda u: u["login"]
        ),
        "organizations": by(backup.get("organization", []), lambda o: o["name"]),
        "teams": by(
            [{k: v for k, v in t.items() if k != "uid"} for t in backup.get("team", [])], lambda t: t["name"]
        ),
        "team_members": by(
            [
                {k: v for k, v in m.items() if k not in ("teamUID", "userUID")}
                for m in backup.get("team_member", [])
            ],
            lambda m: m["login"],
        ),
        "snapshots": by(backup.get("snapshot", []), lambda s: s["dashboard"]["uid"]),
        "annotations": by(backup.get("annotation", []), lambda a: (a["time"], a["text"])),
        "library_elements": by(backup.get("library_element", []), lambda e: e["uid"]),
    }


def failed_calls(log: str) -> list[str]:
    """The lines where grafana-backup reports a non-2xx reply (it exits 0 regardless), except the
    legacy alert channels, which Grafana 11 answers with 404 too (no such thing any more)."""
    return [
        line
        for line in log.splitlines()
        if re.search(r"status: [45]\d\d", line)
        and not line.startswith("[DEBUG]")
        and not line.startswith("query alert channels failed, status: 404")
    ]


def test_a_backup_restored_into_a_fresh_server_saves_the_same_content(
    first: ServerProcess, second: ServerProcess, tmp_path: Path
) -> None:
    token_a = admin_token(first.base_url, SA_NAME)  # made first: user id 2 on both servers
    token_b = admin_token(second.base_url, SA_NAME)
    seed(first, token_a)

    saved = run_backup(first, token_a, tmp_path / "save-1", "save")
    assert not failed_calls(saved), failed_calls(saved)
    one = read_archive(archive_of(tmp_path / "save-1"))
    expected_counts = {
        "dashboard": 3,
        "folder": 2,
        "folder_permission": 2,
        "datasource": 3,
        "user": 3,  # admin, alice, bob: not the service account
        "organization": 2,
        "team": 1,
        "team_member": 2,
        "snapshot": 2,
        "annotation": 3,
        "library_element": 2,
        "version": 6,
    }
    assert {k: len(one.get(k, [])) for k in expected_counts} == expected_counts

    restored = run_backup(
        second, token_b, tmp_path / "restore", "restore", str(archive_of(tmp_path / "save-1"))
    )
    # The only refusals: the admin exists already (412), a restored user is already a member of the
    # org it was created in (409), and the fresh server's default contact point exists already (409).
    unexpected = [
        line
        for line in failed_calls(restored)
        if not re.search(r'create user "admin" response status: 412', line)
        and not re.search(r"add user .* to org: .* response status: 409", line)
        and not line.startswith("create contact_point: grafana-default-email, status: 409")
    ]
    assert not unexpected, "\n".join(unexpected)

    again = run_backup(second, token_b, tmp_path / "save-2", "save")
    assert not failed_calls(again), failed_calls(again)
    two = read_archive(archive_of(tmp_path / "save-2"))

    a, b = normalise(one), normalise(two)
    for component in a:
        assert a[component] == b[component], component
    assert [len(v) for v in (one["version"], two["version"])] == [6, 3]
    by_login = {u["login"]: u for u in b["users"]}
    assert {o["name"]: o["role"] for o in by_login["alice"]["orgs"]} == {
        "Main Org.": "Viewer",
        "Backup Org": "Editor",
    }
    assert {m["login"] for m in b["team_members"]} == {"alice", "bob"}
    assert any(p.get("team") == "Backup Team" for items in b["folder_permissions"] for p in items)
