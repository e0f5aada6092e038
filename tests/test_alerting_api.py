"""Alerting HTTP API shapes and validation (SQLite): provisioning (rules, groups, contact points,
policies, mute timings), the ruler and Prometheus-style listings, silences, the cluster view."""

from __future__ import annotations

import time

import pytest

from tests.alerting_support import FAST, ok, pulse_rule, put_group, setup_basics, webhook_contact_point
from tests.conftest import ADMIN_AUTH
from tests.identity_helpers import as_user, new_user

P = "/api/v1/provisioning"


@pytest.fixture
async def app(make_replica, sqlite_url):
    r = await make_replica(sqlite_url, **FAST)
    await setup_basics(r.client)
    return r


async def test_rules_round_trip_through_the_provisioning_api(app):
    c = app.client
    body = {
        **pulse_rule("Disk full", group="disks"),
        "for": "1m",
        "keep_firing_for": "30s",
        "uid": "disk-full",
    }
    created = await ok(await c.post(f"{P}/alert-rules", json=body, headers=ADMIN_AUTH), 201)
    assert (
        created["uid"] == "disk-full" and created["ruleGroup"] == "disks" and created["folderUID"] == "alerts"
    )
    assert created["for"] == "1m" and created["keep_firing_for"] == "30s" and created["provenance"] == "api"
    assert set(created) >= {
        "id",
        "orgID",
        "condition",
        "data",
        "noDataState",
        "execErrState",
        "updated",
        "isPaused",
    }
    assert created["data"][0]["relativeTimeRange"] == {"from": 10, "to": 0}
    got = await ok(await c.get(f"{P}/alert-rules/disk-full", headers=ADMIN_AUTH))
    assert got == created
    listed = await ok(await c.get(f"{P}/alert-rules", headers=ADMIN_AUTH))
    assert [r["uid"] for r in listed] == ["disk-full"]
    updated = await ok(
        await c.put(
            f"{P}/alert-rules/disk-full",
            json={**body, "title": "Disk nearly full"},
            headers={**ADMIN_AUTH, "X-Disable-Provenance": "true"},
        )
    )
    assert updated["title"] == "Disk nearly full" and updated["provenance"] == ""
    group = await ok(await c.get(f"{P}/folder/alerts/rule-groups/disks", headers=ADMIN_AUTH))
    assert group["title"] == "disks" and group["folderUid"] == "alerts" and group["interval"] == 60
    assert (await c.delete(f"{P}/alert-rules/disk-full", headers=ADMIN_AUTH)).status_code == 204
    missing = await c.get(f"{P}/alert-rules/disk-full", headers=ADMIN_AUTH)
    assert missing.status_code == 404 and "message" in missing.json()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"title": ""}, "title is required"),
        ({"condition": "Z"}, "condition 'Z'"),
        ({"data": []}, "data must be a non-empty list"),
        ({"noDataState": "Maybe"}, "noDataState"),
        ({"for": "soon"}, "invalid for"),
        ({"folderUID": "nope"}, "folder 'nope' does not exist"),
        ({"annotations": {"summary": "{{ nosuch }}"}}, "does not parse"),
        ({"labels": {"bad-name": "x"}}, "label name"),
    ],
)
async def test_invalid_rules_are_clear_400s(app, change, words):
    resp = await app.client.post(f"{P}/alert-rules", json={**pulse_rule("Bad"), **change}, headers=ADMIN_AUTH)
    assert resp.status_code == 400, resp.text
    assert words in resp.json()["message"]


async def test_rule_groups_replace_their_rules_and_check_the_interval(app):
    c = app.client
    group = await put_group(c, "g", [pulse_rule("A", group="g"), pulse_rule("B", group="g")], interval=5)
    assert [r["title"] for r in group["rules"]] == ["A", "B"] and group["interval"] == 5
    keep = {**group["rules"][1], "title": "B2"}
    group = await put_group(c, "g", [keep], interval=2)
    assert [(r["uid"], r["title"]) for r in group["rules"]] == [(keep["uid"], "B2")]
    too_fast = await c.put(
        f"{P}/folder/alerts/rule-groups/g", json={"interval": 0.5, "rules": [keep]}, headers=ADMIN_AUTH
    )
    assert too_fast.status_code == 400 and "interval" in too_fast.json()["message"]
    dup = await c.put(
        f"{P}/folder/alerts/rule-groups/g",
        json={"interval": 2, "rules": [keep, {**keep, "uid": ""}]},
        headers=ADMIN_AUTH,
    )
    assert dup.status_code == 400
    other = await c.post(f"{P}/alert-rules", json={**pulse_rule("B2", group="h")}, headers=ADMIN_AUTH)
    assert other.status_code == 409
    assert (await c.delete(f"{P}/folder/alerts/rule-groups/g", headers=ADMIN_AUTH)).status_code == 204
    assert (await c.get(f"{P}/folder/alerts/rule-groups/g", headers=ADMIN_AUTH)).status_code == 404


async def test_viewers_read_but_cannot_write(app):
    c = app.client
    await new_user(c, "watcher", role="Viewer")
    viewer = as_user("watcher")
    assert (await c.get(f"{P}/alert-rules", headers=viewer)).status_code == 200
    denied = await c.post(f"{P}/alert-rules", json=pulse_rule("X"), headers=viewer)
    assert denied.status_code == 403 and "message" in denied.json()
    assert (await c.get(f"{P}/alert-rules")).status_code == 401
    assert (await c.get("/api/cluster/status", headers=viewer)).status_code == 403


async def test_contact_points_policies_and_mute_timings(app):
    c = app.client
    defaults = await ok(await c.get(f"{P}/contact-points", headers=ADMIN_AUTH))
    assert [(p["name"], p["type"]) for p in defaults] == [("grafana-default-email", "email")]
    policy = await ok(await c.get(f"{P}/policies", headers=ADMIN_AUTH))
    assert policy["receiver"] == "grafana-default-email" and policy["group_by"] == [
        "grafana_folder",
        "alertname",
    ]
    cp = await webhook_contact_point(c, "ops", "http://127.0.0.1:9/hook", password="s3cret", username="u")
    assert cp["settings"]["password"] == "[REDACTED]" and cp["uid"]
    bad = await c.post(
        f"{P}/contact-points", json={"name": "x", "type": "webhook", "settings": {}}, headers=ADMIN_AUTH
    )
    assert bad.status_code == 400 and "url is required" in bad.json()["message"]
    bad = await c.post(f"{P}/contact-points", json={"name": "x", "type": "pigeon"}, headers=ADMIN_AUTH)
    assert bad.status_code == 400
    # The secret survives an update that sends it back redacted.
    upd = await c.put(
        f"{P}/contact-points/{cp['uid']}",
        json={**cp, "settings": {**cp["settings"], "url": "http://127.0.0.1:9/v2"}},
        headers=ADMIN_AUTH,
    )
    assert upd.status_code == 202 and upd.json() == {"message": "contactpoint updated"}
    integ = await app.services.alerting.notify.integration(cp["uid"])
    assert integ.secure == {"password": "s3cret"} and integ.settings["url"] == "http://127.0.0.1:9/v2"
    tree = {
        "receiver": "ops",
        "group_by": ["alertname"],
        "routes": [{"receiver": "nobody", "object_matchers": [["a", "=", "b"]]}],
    }
    resp = await c.put(f"{P}/policies", json=tree, headers=ADMIN_AUTH)
    assert resp.status_code == 400 and "nobody" in resp.json()["message"]
    timing = {
        "name": "nights",
        "time_intervals": [
            {"times": [{"start_time": "22:00", "end_time": "24:00"}], "weekdays": ["monday:friday"]}
        ],
    }
    made = await ok(await c.post(f"{P}/mute-timings", json=timing, headers=ADMIN_AUTH), 201)
    assert made["name"] == "nights" and made["time_intervals"] == timing["time_intervals"]
    assert (await c.post(f"{P}/mute-timings", json=timing, headers=ADMIN_AUTH)).status_code == 409
    tree = {
        "receiver": "ops",
        "routes": [{"object_matchers": [["team", "=", "db"]], "mute_time_intervals": ["nights"]}],
    }
    assert (await c.put(f"{P}/policies", json=tree, headers=ADMIN_AUTH)).json() == {
        "message": "policies updated"
    }
    got = await ok(await c.get(f"{P}/policies", headers=ADMIN_AUTH))
    assert got["routes"][0]["mute_time_intervals"] == ["nights"]
    assert (await c.delete(f"{P}/mute-timings/nights", headers=ADMIN_AUTH)).status_code == 409
    assert (await c.delete(f"{P}/contact-points/{cp['uid']}", headers=ADMIN_AUTH)).status_code == 409
    reset = await c.delete(f"{P}/policies", headers=ADMIN_AUTH)
    assert reset.status_code == 202 and reset.json() == {"message": "policies reset"}
    assert (await c.delete(f"{P}/mute-timings/nights", headers=ADMIN_AUTH)).status_code == 204
    deleted = await c.delete(f"{P}/contact-points/{cp['uid']}", headers=ADMIN_AUTH)
    assert deleted.status_code == 202 and deleted.json() == {"message": "contactpoint deleted"}


async def test_silences_in_the_alertmanager_v2_shape(app):
    c = app.client
    base = "/api/alertmanager/grafana/api/v2"
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    body = {
        "matchers": [{"name": "team", "value": "db|web", "isRegex": True, "isEqual": True}],
        "endsAt": ends,
        "comment": "deploy",
        "createdBy": "ops",
    }
    sid = (await ok(await c.post(f"{base}/silences", json=body, headers=ADMIN_AUTH), 202))["silenceID"]
    got = await ok(await c.get(f"{base}/silence/{sid}", headers=ADMIN_AUTH))
    assert (
        got["status"] == {"state": "active"}
        and got["matchers"] == body["matchers"]
        and got["createdBy"] == "ops"
    )
    assert set(got) == {"id", "status", "updatedAt", "comment", "createdBy", "startsAt", "endsAt", "matchers"}
    everything = {**body, "matchers": [{"name": "x", "value": ".*", "isRegex": True, "isEqual": True}]}
    assert (await c.post(f"{base}/silences", json=everything, headers=ADMIN_AUTH)).status_code == 400
    past = {**body, "endsAt": "2001-01-01T00:00:00Z"}
    assert (await c.post(f"{base}/silences", json=past, headers=ADMIN_AUTH)).status_code == 400
    assert (await c.delete(f"{base}/silence/{sid}", headers=ADMIN_AUTH)).status_code == 200
    listed = await ok(await c.get(f"{base}/silences", headers=ADMIN_AUTH))
    assert [(s["id"], s["status"]["state"]) for s in listed] == [(sid, "expired")]
    assert (await c.get(f"{base}/silence/nope", headers=ADMIN_AUTH)).status_code == 404


async def test_ruler_and_prometheus_listings(app):
    c = app.client
    group = await put_group(c, "g", [pulse_rule("Pulse", group="g")], interval=1)
    uid = group["rules"][0]["uid"]
    ruler = await ok(await c.get("/api/ruler/grafana/api/v1/rules", headers=ADMIN_AUTH))
    [g] = ruler["Alerts"]
    assert g["name"] == "g" and g["interval"] == "1s"
    assert (
        g["rules"][0]["grafana_alert"]["uid"] == uid
        and g["rules"][0]["grafana_alert"]["namespace_uid"] == "alerts"
    )
    alert = {
        "title": "Ruler rule",
        "condition": "C",
        "data": pulse_rule("x")["data"],
        "no_data_state": "OK",
        "exec_err_state": "Error",
    }
    posted = {"name": "h", "interval": "2s", "rules": [{"for": "0s", "labels": {}, "grafana_alert": alert}]}
    resp = await c.post("/api/ruler/grafana/api/v1/rules/alerts", json=posted, headers=ADMIN_AUTH)
    assert resp.status_code == 202
    h = await ok(await c.get("/api/ruler/grafana/api/v1/rules/alerts/h", headers=ADMIN_AUTH))
    assert h["interval"] == "2s" and h["rules"][0]["grafana_alert"]["no_data_state"] == "OK"
    await app.services.alerting.scheduler.tick(int(time.time()))
    await app.services.alerting.scheduler.wait_idle()
    prom = await ok(await c.get("/api/prometheus/grafana/api/v1/rules", headers=ADMIN_AUTH))
    assert prom["status"] == "success"
    rules = {r["uid"]: r for grp in prom["data"]["groups"] for r in grp["rules"]}
    pulse = rules[uid]
    assert pulse["health"] == "ok" and pulse["owner"] == app.services.instance and pulse["type"] == "alerting"
    assert pulse["state"] in ("firing", "inactive") and pulse["lastEvaluation"] != "0001-01-01T00:00:00Z"
    assert (await c.delete("/api/ruler/grafana/api/v1/rules/alerts/h", headers=ADMIN_AUTH)).status_code == 202


async def test_cluster_status_has_the_documented_shape(app):
    await put_group(app.client, "g", [pulse_rule("Pulse", group="g")], interval=1)
    await app.services.alerting.scheduler.tick(int(time.time()))
    status = await ok(await app.client.get("/api/cluster/status", headers=ADMIN_AUTH))
    assert set(status) == {"self", "haMode", "instances"}
    assert status["self"] == app.services.instance and status["haMode"] == "shard"
    [me] = status["instances"]
    assert set(me) == {"name", "address", "version", "startedAt", "lastHeartbeat", "alive", "rules"}
    assert me["alive"] is True and len(me["rules"]) == 1 and me["startedAt"].endswith("Z")


async def test_a_folder_with_rules_is_deleted_only_with_force_delete_rules(app):
    c = app.client
    await put_group(c, "g", [pulse_rule("Pulse", group="g")], interval=1)
    refused = await c.delete("/api/folders/alerts", headers=ADMIN_AUTH)
    assert refused.status_code == 400 and "alert rules" in refused.json()["message"]
    assert (
        await c.delete("/api/folders/alerts?forceDeleteRules=true", headers=ADMIN_AUTH)
    ).status_code == 200
    assert await ok(await c.get(f"{P}/alert-rules", headers=ADMIN_AUTH)) == []
