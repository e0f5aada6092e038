"""Alerting from provisioning files (``alerting/*.yaml``, Grafana's format): two replicas starting
together on one database write every object once; cycles after that write nothing; a provisioned
rule fires at a real receiver through the provisioned contact point, policy and template; a changed
file applies on reload; deletions; bad entries are refused alone with the file named."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from tests.alerting_support import FAST, ok, pulse_query, receiver, reduce_expr, threshold_expr, wait_for
from tests.conftest import ADMIN_AUTH, AppFactory, Replica
from vigil.alerting.tables import (
    alert_contact_point,
    alert_mute_timing,
    alert_notification_template,
    alert_policy,
    alert_rule,
)
from vigil.provisioning.runner import Provisioner
from vigil.provisioning.tables import provisioning_alerting

RELOAD = "/api/admin/provisioning/alerting/reload"


def _rule(uid: str, title: str) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "condition": "C",
        "data": [pulse_query("A", on=1, off=0), reduce_expr("B", "A"), threshold_expr("C", "B")],
        "noDataState": "NoData",
        "execErrState": "Error",
        "for": "0s",
        "labels": {"team": "files"},
        "annotations": {"summary": "{{ $labels.alertname }} from a file"},
    }


def _doc(url: str, title_prefix: str = "FILE") -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "templates": [
            {
                "orgId": 1,
                "name": "file-tpl",
                "template": f'{{{{ define "file.title" }}}}{title_prefix} {{{{ .Status }}}}{{{{ end }}}}',
            }
        ],
        "muteTimes": [
            {"orgId": 1, "name": "never", "time_intervals": [{"weekdays": ["saturday"], "years": ["1999"]}]}
        ],
        "contactPoints": [
            {
                "orgId": 1,
                "name": "file-hook",
                "receivers": [
                    {
                        "uid": "file-hook-1",
                        "type": "webhook",
                        "settings": {"url": url, "title": '{{ template "file.title" . }}'},
                    }
                ],
            }
        ],
        "policies": [
            {
                "orgId": 1,
                "receiver": "file-hook",
                "group_by": ["alertname"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
                "routes": [
                    {
                        "receiver": "file-hook",
                        "object_matchers": [["team", "=", "files"]],
                        "mute_time_intervals": ["never"],
                    }
                ],
            }
        ],
        "groups": [
            {
                "orgId": 1,
                "name": "file-group",
                "folder": "From files",
                "interval": "1s",
                "rules": [_rule("file-rule-1", "Provisioned fires")],
            }
        ],
    }


def _write(root: Path, doc: dict[str, Any], name: str = "alerting.yaml") -> None:
    (root / "alerting").mkdir(parents=True, exist_ok=True)
    (root / "alerting" / name).write_text(yaml.safe_dump(doc))
    # the rules' data source, provisioned from the same tree (data sources are provisioned first)
    (root / "datasources").mkdir(exist_ok=True)
    ds = {"name": "TestData", "type": "grafana-testdata-datasource", "uid": "testdata", "access": "proxy"}
    (root / "datasources" / "testdata.yaml").write_text(
        yaml.safe_dump({"apiVersion": 1, "datasources": [ds]})
    )


async def _counts(r: Replica) -> dict[str, Any]:
    async with r.services.db.read() as conn:

        async def n(table: Any) -> int:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar() or 0)

        versions = (await conn.execute(select(alert_rule.c.uid, alert_rule.c.version))).all()
        return {
            "rules": await n(alert_rule),
            "rule_versions": sorted((u, int(v)) for u, v in versions),
            "contact_points": await n(alert_contact_point),
            "templates": await n(alert_notification_template),
            "mute_timings": await n(alert_mute_timing),
            "policies": await n(alert_policy),
            "records": await n(provisioning_alerting),
        }


async def test_two_replicas_provision_alerting_once_and_the_rule_notifies_through_it(
    make_replica: AppFactory, db_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "provisioning"
    async with receiver() as rec:
        _write(root, _doc(rec.url + "/hook"))
        r1, r2 = await asyncio.gather(
            make_replica(db_url, paths__provisioning=str(root), **FAST),
            make_replica(db_url, paths__provisioning=str(root), **FAST),
        )
        first = await _counts(r1)
        assert first["rules"] == 1 and first["rule_versions"] == [("file-rule-1", 1)]
        # the default contact point of a new org plus the file's one
        assert first["templates"] == 1 and first["mute_timings"] == 1 and first["records"] == 5
        # more cycles on both replicas write nothing
        p1, p2 = Provisioner(r1.services), Provisioner(r2.services)
        for _ in range(3):
            for problems in await asyncio.gather(p1.provision_alerting(), p2.provision_alerting()):
                assert not problems, [str(p) for p in problems]
        assert await _counts(r2) == first
        rules = await ok(await r1.client.get("/api/v1/provisioning/alert-rules", headers=ADMIN_AUTH))
        assert [(r["title"], r["provenance"], r["ruleGroup"]) for r in rules] == [
            ("Provisioned fires", "file", "file-group")
        ]
        folders = await ok(await r1.client.get("/api/folders", headers=ADMIN_AUTH))
        assert [f["title"] for f in folders] == ["From files"]
        policy = await ok(await r1.client.get("/api/v1/provisioning/policies", headers=ADMIN_AUTH))
        assert policy["receiver"] == "file-hook" and policy["provenance"] == "file"
        # the rule fires at the receiver: the file's contact point with the file's template
        await wait_for(lambda: rec.bodies("/hook"), 15, what="a notification from the provisioned rule")
        body = rec.bodies("/hook")[0]
        assert (
            body["title"] == "FILE firing" and body["alerts"][0]["labels"]["alertname"] == "Provisioned fires"
        )


async def test_a_changed_file_applies_on_reload_and_deletions_remove_objects(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "provisioning"
    url = "http://127.0.0.1:9/hook"
    _write(root, _doc(url))
    r = await make_replica(sqlite_url, paths__provisioning=str(root), **FAST)
    before = await _counts(r)
    doc = _doc(url, title_prefix="CHANGED")
    doc["groups"][0]["rules"][0]["title"] = "Renamed in the file"
    _write(root, doc)
    reply = await ok(await r.client.post(RELOAD, headers=ADMIN_AUTH))
    assert reply == {"message": "Alerting config reloaded"}
    [rule] = await ok(await r.client.get("/api/v1/provisioning/alert-rules", headers=ADMIN_AUTH))
    assert rule["title"] == "Renamed in the file" and rule["uid"] == "file-rule-1"
    template = await ok(await r.client.get("/api/v1/provisioning/templates/file-tpl", headers=ADMIN_AUTH))
    assert "CHANGED" in template["template"] and template["provenance"] == "file"
    assert (await _counts(r))["records"] == before["records"]
    # a second file deletes what the first one no longer defines
    _write(root, {"apiVersion": 1, "policies": doc["policies"], "contactPoints": doc["contactPoints"]})
    _write(
        root,
        {
            "apiVersion": 1,
            "deleteRules": [{"orgId": 1, "uid": "file-rule-1"}],
            "deleteTemplates": [{"orgId": 1, "name": "file-tpl"}],
            "deleteMuteTimes": [{"orgId": 1, "name": "unused-name"}],
        },
        "zz-deletes.yaml",
    )
    await ok(await r.client.post(RELOAD, headers=ADMIN_AUTH))
    after = await _counts(r)
    assert after["rules"] == 0 and after["templates"] == 0
    assert after["mute_timings"] == 1  # still used by the policy: only a deletion that is asked for goes


async def test_bad_entries_are_refused_alone_and_named(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "provisioning"
    doc = _doc("http://127.0.0.1:9/hook")
    doc["groups"].append({"orgId": 1, "name": "no-folder", "rules": []})
    doc["groups"].append(
        {"orgId": 1, "name": "bad-rule", "folder": "From files", "interval": "1s", "rules": [{"title": "x"}]}
    )
    doc["templates"].append({"orgId": 1, "name": "broken", "template": '{{ define "x" }}'})
    doc["contactPoints"].append(
        {
            "orgId": 7,
            "name": "elsewhere",
            "receivers": [{"uid": "e1", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/"}}],
        }
    )
    doc["surprise"] = True
    _write(root, doc)
    (root / "alerting" / "broken.yaml").write_text("groups: [unclosed")
    r = await make_replica(sqlite_url, paths__provisioning=str(root), **FAST)  # starts all the same
    reply = await ok(await r.client.post(RELOAD, headers=ADMIN_AUTH))
    errors = "\n".join(reply["errors"])
    assert "broken.yaml: invalid YAML" in errors
    assert "rule group 'no-folder': folder (a title) or folderUid is required" in errors
    assert "group 'From files/bad-rule': invalid alert rule: data must be" in errors
    assert "template 'broken'" in errors and "invalid template" in errors
    assert "organization 7 does not exist" in errors
    assert any("ignored unknown keys: surprise" in w for w in reply["warnings"])
    counts = await _counts(r)
    assert counts["rules"] == 1 and counts["templates"] == 1  # the good entries are in
    viewer_reply = await r.client.post(RELOAD, headers={"Authorization": "Bearer nope"})
    assert viewer_reply.status_code == 401 and json.loads(viewer_reply.text)["message"]


async def test_objects_changed_through_the_api_are_restored_and_late_deletions_follow_the_policy(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "provisioning"
    doc = _doc("http://127.0.0.1:9/hook")
    _write(root, doc)
    r = await make_replica(sqlite_url, paths__provisioning=str(root), **FAST)
    prov = Provisioner(r.services)
    c = r.client
    # deleted and edited through the API: the next cycle (no reload) puts the files' versions back
    assert (await c.delete("/api/v1/provisioning/templates/file-tpl", headers=ADMIN_AUTH)).status_code == 204
    await ok(
        await c.put(
            "/api/v1/provisioning/mute-timings/never",
            json={"name": "never", "time_intervals": []},
            headers={**ADMIN_AUTH, "X-Disable-Provenance": "1"},
        ),
        202,
    )
    assert not await prov.provision_alerting()
    template = await ok(await c.get("/api/v1/provisioning/templates/file-tpl", headers=ADMIN_AUTH))
    assert template["provenance"] == "file" and "FILE" in template["template"]
    timing = await ok(await c.get("/api/v1/provisioning/mute-timings/never", headers=ADMIN_AUTH))
    assert timing["time_intervals"] and timing["provenance"] == "file"
    before = await _counts(r)
    assert not await prov.provision_alerting()  # and then nothing more
    assert await _counts(r) == before
    # one reload switches the policy to a new contact point and deletes the old one it used
    doc["contactPoints"].append(
        {
            "orgId": 1,
            "name": "new-hook",
            "receivers": [
                {"uid": "new-hook-1", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/new"}}
            ],
        }
    )
    doc["contactPoints"] = doc["contactPoints"][1:]
    doc["policies"][0]["receiver"] = "new-hook"
    doc["policies"][0]["routes"][0]["receiver"] = "new-hook"
    doc["deleteContactPoints"] = [{"orgId": 1, "uid": "file-hook-1"}]
    # a template with a bad escape is refused alone
    doc["templates"].append({"orgId": 1, "name": "bad-escape", "template": '{{ "\\x" }}'})
    _write(root, doc)
    reply = await ok(await c.post(RELOAD, headers=ADMIN_AUTH))
    bad = "template 'bad-escape': invalid template: invalid escape \\x in string \"\\x\""
    assert reply["errors"] == [f"{root / 'alerting' / 'alerting.yaml'}: {bad}"], reply
    names = {
        p["name"] for p in await ok(await c.get("/api/v1/provisioning/contact-points", headers=ADMIN_AUTH))
    }
    assert "new-hook" in names and "file-hook" not in names
