"""Notifications end to end on one replica (SQLite, real time, real receivers on loopback):
webhook body and auth, retries, grouping, silences, mute timings, e-mail over a real SMTP server,
Slack's body, the test-send API, and a restart that neither re-sends nor resets repeat_interval."""

from __future__ import annotations

import asyncio
import base64
import email
import json
import time
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.alerting_support import (
    FAST,
    Receiver,
    ok,
    pulse_rule,
    put_group,
    receiver,
    set_policy,
    setup_basics,
    wait_for,
    webhook_contact_point,
)
from tests.conftest import ADMIN_AUTH, SHARED
from tests.server_proc import free_port

pytestmark = pytest.mark.slow


def always(title: str, **extra: Any) -> dict[str, Any]:
    """A rule whose pulse is always on (value 1): it fires at its first evaluation and stays."""
    return pulse_rule(title, on=1, off=0, **extra)


def fixture_keys() -> tuple[set[str], set[str]]:
    path = SHARED / "fixtures" / "payloads" / "grafana-unified-webhook.json"
    if not path.exists():
        pytest.skip(f"shared fixture missing: {path}")
    body = json.loads(path.read_text())
    return set(body), set(body["alerts"][0])


async def test_webhook_body_matches_grafanas_unified_payload_with_basic_auth(make_replica, sqlite_url):
    r = await make_replica(sqlite_url, **FAST)
    await setup_basics(r.client)
    async with receiver() as rec:
        await webhook_contact_point(r.client, "hook", rec.url + "/hook", username="u", password="p4ss")
        await set_policy(r.client, "hook")
        await put_group(r.client, "g", [always("Disk full", series_labels="instance=db-1")])
        await wait_for(lambda: rec.received, 10, what="a notification")
        got = rec.received[0]
        assert got.headers["authorization"] == "Basic " + base64.b64encode(b"u:p4ss").decode()
        body = got.body
        top, per_alert = fixture_keys()
        assert set(body) == top
        assert set(body["alerts"][0]) == per_alert - {"imageURL"}
        assert body["version"] == "1" and body["status"] == "firing" and body["state"] == "alerting"
        assert body["receiver"] == "hook" and body["orgId"] == 1
        alert = body["alerts"][0]
        assert alert["labels"] == {
            "alertname": "Disk full",
            "grafana_folder": "Alerts",
            "team": "core",
            "instance": "db-1",
        }
        assert alert["annotations"] == {"summary": "Disk full is 1"}
        assert alert["endsAt"] == "0001-01-01T00:00:00Z" and alert["values"] == {"B": 1, "C": 1}
        assert (
            alert["generatorURL"].endswith("/view?orgId=1")
            and "matcher=__alert_rule_uid__%3D" in alert["silenceURL"]
        )
        assert body["groupKey"] == '{}:{alertname="Disk full"}' and body["groupLabels"] == {
            "alertname": "Disk full"
        }
        assert body["title"].startswith("[FIRING:1] Disk full") and "**Firing**" in body["message"]
        # The state change is an alert annotation too.
        notes = await ok(await r.client.get("/api/annotations?type=alert", headers=ADMIN_AUTH))
        assert any(n["newState"] == "Alerting" and n["alertName"] == "Disk full" for n in notes), notes
        # The secret never comes back from the API.
        points = await ok(
            await r.client.get("/api/v1/provisioning/contact-points?name=hook", headers=ADMIN_AUTH)
        )
        assert points[0]["settings"]["password"] == "[REDACTED]"


async def test_bearer_auth_retries_and_grouping_batch_alerts(make_replica, sqlite_url):
    r = await make_replica(sqlite_url, **FAST)
    await setup_basics(r.client)
    async with receiver() as rec:
        rec.fail_next = 1
        await webhook_contact_point(
            r.client,
            "hook",
            rec.url + "/hook",
            authorization_scheme="Bearer",
            authorization_credentials="t0k",
        )
        await set_policy(r.client, "hook", group_by=["team"], group_wait="2s")
        await put_group(r.client, "g", [always("One"), always("Two")])
        await wait_for(lambda: rec.received, 12, what="a notification")
        await asyncio.sleep(1.5)
        assert len(rec.received) == 1, rec.statuses()
        got = rec.received[0]
        assert got.headers["authorization"] == "Bearer t0k"
        assert sorted(a["labels"]["alertname"] for a in got.body["alerts"]) == ["One", "Two"]
        assert got.body["groupLabels"] == {"team": "core"} and got.body["title"].startswith("[FIRING:2] core")
        log = await r.services.alerting.nflog.recent(1)
        assert [(n["status"], n["attempts"]) for n in log] == [("sent", 2)]


async def test_a_silence_suppresses_until_it_expires(make_replica, sqlite_url):
    r = await make_replica(sqlite_url, **FAST)
    c = r.client
    await setup_basics(c)
    async with receiver() as rec:
        await webhook_contact_point(c, "hook", rec.url + "/hook")
        await set_policy(c, "hook")
        ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        silence = {"matchers": [{"name": "alertname", "value": "Muted", "isRegex": False, "isEqual": True}],
                   "endsAt": ends, "comment": "maintenance"}  # fmt: skip
        sid = (
            await ok(
                await c.post("/api/alertmanager/grafana/api/v2/silences", json=silence, headers=ADMIN_AUTH),
                202,
            )
        )["silenceID"]
        await put_group(c, "g", [always("Muted")])

        async def suppressed() -> list[Any]:
            return await ok(await c.get("/api/alertmanager/grafana/api/v2/alerts", headers=ADMIN_AUTH))  # type: ignore[no-any-return]

        deadline = time.monotonic() + 10
        while not await suppressed() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        alerts = await suppressed()
        assert alerts and alerts[0]["status"] == {
            "state": "suppressed",
            "silencedBy": [sid],
            "inhibitedBy": [],
        }
        await asyncio.sleep(3)
        assert rec.received == []
        await ok(await c.delete(f"/api/alertmanager/grafana/api/v2/silence/{sid}", headers=ADMIN_AUTH))
        await wait_for(lambda: rec.received, 8, what="the notification after the silence expired")
        assert rec.statuses() == ["firing"]


async def test_a_mute_timing_mutes_the_route(make_replica, sqlite_url):
    r = await make_replica(sqlite_url, **FAST)
    c = r.client
    await setup_basics(c)
    async with receiver() as rec:
        await webhook_contact_point(c, "hook", rec.url + "/hook")
        timing = {
            "name": "always",
            "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "24:00"}]}],
        }
        await ok(await c.post("/api/v1/provisioning/mute-timings", json=timing, headers=ADMIN_AUTH), 201)
        await set_policy(c, "hook", mute_time_intervals=["always"])
        await put_group(c, "g", [always("Quiet hours")])
        await wait_for(lambda: r.services.alerting.scheduler.evaluations, 5, what="an evaluation")
        await asyncio.sleep(2.5)
        assert rec.received == []
        assert await r.services.alerting.nflog.recent(1) == []
        await set_policy(c, "hook")  # the mute timing is no longer on the route
        await wait_for(lambda: rec.received, 8, what="the notification once unmuted")
        assert rec.statuses() == ["firing"]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:  # aiosmtpd calls handle_DATA
        msg = email.message_from_bytes(envelope.content)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 Message accepted for delivery"


async def test_email_contact_point_delivers_text_and_html_to_a_real_smtp_server(make_replica, sqlite_url):
    port = free_port()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        r = await make_replica(
            sqlite_url,
            smtp__enabled="true",
            smtp__host=f"127.0.0.1:{port}",
            smtp__from_address="vigil@example.test",
            **FAST,
        )
        c = r.client
        await setup_basics(c)
        body = {
            "name": "mail",
            "type": "email",
            "settings": {"addresses": "ops@example.test;dba@example.test", "singleEmail": True},
        }
        await ok(await c.post("/api/v1/provisioning/contact-points", json=body, headers=ADMIN_AUTH), 202)
        await set_policy(c, "mail")
        await put_group(c, "g", [always("Replication lag")])
        await wait_for(lambda: inbox.messages, 15, step=0.2, what="an e-mail")
        msg = inbox.messages[0]
        assert msg["X-Envelope-To"] == "ops@example.test,dba@example.test"
        assert msg["Subject"].startswith("[FIRING:1] Replication lag")
        assert "vigil@example.test" in msg["From"]
        parts = {
            p.get_content_type(): p.get_payload(decode=True).decode()
            for p in msg.walk()
            if not p.is_multipart()
        }
        assert "alertname = Replication lag" in parts["text/plain"]
        assert "<h3>FIRING: Replication lag</h3>" in parts["text/html"]
    finally:
        smtp.stop()


async def test_slack_body_reaches_a_local_receiver(make_replica, sqlite_url):
    r = await make_replica(sqlite_url, **FAST)
    c = r.client
    await setup_basics(c)
    async with receiver() as rec:
        body = {
            "name": "chat",
            "type": "slack",
            "settings": {
                "url": rec.url + "/slack",
                "recipient": "#ops",
                "username": "vigil",
                "mentionChannel": "here",
            },
        }
        created = await ok(
            await c.post("/api/v1/provisioning/contact-points", json=body, headers=ADMIN_AUTH), 202
        )
        assert created["settings"]["url"] == "[REDACTED]"
        # Simplified routing: the rule names its receiver; the default policy is not consulted.
        rule = always("Queue backlog", notification_settings={"receiver": "chat", "group_wait": "0s"})
        await put_group(c, "g", [rule])
        await wait_for(lambda: rec.received, 10, what="a Slack post")
        got = rec.received[0].body
        assert got["channel"] == "#ops" and got["username"] == "vigil"
        [att] = got["attachments"]
        assert att["color"] == "#D63232" and att["title"].startswith("[FIRING:1] Queue backlog")
        assert (
            att["pretext"] == "<!here>"
            and "**Firing**" in att["text"]
            and att["footer"].startswith("Grafana v")
        )
        assert att["title_link"].endswith("/alerting/list") and isinstance(att["ts"], int)


async def test_test_send_reports_each_integration(sqlite_replica):
    c = sqlite_replica.client
    async with receiver() as rec:

        def hook(name: str, url: str) -> dict[str, Any]:
            config = {"name": name, "type": "webhook", "settings": {"url": url}}
            return {"name": name, "grafana_managed_receiver_configs": [config]}

        body = {
            "receivers": [hook("good", rec.url + "/t"), hook("bad", f"http://127.0.0.1:{free_port()}/")],
            "alert": {"labels": {"severity": "info"}, "annotations": {"summary": "hello"}},
        }  # fmt: skip
        resp = await c.post(
            "/api/alertmanager/grafana/config/api/v1/receivers/test", json=body, headers=ADMIN_AUTH
        )
        assert resp.status_code == 207
        out = resp.json()
        statuses = {x["name"]: x["grafana_managed_receiver_configs"][0]["status"] for x in out["receivers"]}
        assert statuses == {"good": "ok", "bad": "failed"}
        [sent] = rec.bodies("/t")
        assert sent["alerts"][0]["labels"] == {
            "alertname": "TestAlert",
            "instance": "Grafana",
            "severity": "info",
        }
        only_bad = {**body, "receivers": body["receivers"][1:]}
        resp = await c.post(
            "/api/alertmanager/grafana/config/api/v1/receivers/test", json=only_bad, headers=ADMIN_AUTH
        )
        assert resp.status_code == 400 and "message" in resp.json()


async def test_restarting_while_firing_sends_nothing_new_and_keeps_repeat_interval(make_replica, sqlite_url):
    first = await make_replica(sqlite_url, **FAST)
    await setup_basics(first.client)
    async with receiver() as rec:
        await webhook_contact_point(first.client, "hook", rec.url + "/hook")
        await set_policy(first.client, "hook", repeat_interval="8s")
        await put_group(first.client, "g", [always("Sticky")])
        await wait_for(lambda: rec.received, 10, what="the first notification")
        t1 = rec.received[0].at
        await first.app.shutdown()
        second = await make_replica(sqlite_url, **FAST)
        assert second.services.alerting.running
        await asyncio.sleep(max(0.0, t1 + 6 - time.time()))
        assert len(rec.received) == 1, "a restart must not re-send a firing notification"
        await wait_for(lambda: len(rec.received) == 2, 8, what="the repeat")
        gap = rec.received[1].at - t1
        assert 7.5 <= gap <= 11, gap
        assert rec.statuses() == ["firing", "firing"]


async def test_a_send_under_way_at_shutdown_finishes_and_is_not_sent_again(make_replica, sqlite_url):
    """Graceful shutdown lets a send the receiver is answering finish and record itself: cancelled
    after the receiver got it, it would stay pending and the next replica would send it again."""
    from sqlalchemy import select

    from vigil.alerting.tables import alert_notification

    first = await make_replica(sqlite_url, **FAST)
    await setup_basics(first.client)
    async with receiver() as rec:
        rec.delay = 0.8  # the receiver holds each request this long before answering
        await webhook_contact_point(first.client, "hook", rec.url + "/hook")
        await set_policy(first.client, "hook", repeat_interval="1h")
        await put_group(first.client, "g", [always("Slow receiver")])

        async def pending() -> list[Any]:
            async with first.services.db.read() as conn:
                query = select(alert_notification.c.id).where(alert_notification.c.status == "pending")
                return list((await conn.execute(query)).all())

        for _ in range(200):  # until the notification is claimed and its send is under way
            if await pending():
                break
            await asyncio.sleep(0.02)
        assert await pending(), "no notification was claimed"
        await asyncio.sleep(0.2)
        await first.app.shutdown()
        assert len(rec.received) == 1, "the send under way was not allowed to finish"
        assert not await pending(), "the finished send was not recorded"
        second = await make_replica(sqlite_url, **FAST)
        assert second.services.alerting.running
        await asyncio.sleep(4)  # more than the claim lease of a send that was never recorded
        assert len(rec.received) == 1, "the notification was sent again after the restart"


async def test_a_no_data_alert_gives_way_to_the_rules_own_and_nothing_is_left_firing(make_replica, db_url):
    """NoData (sent as DatasourceNoData) -> Alerting resolves the DatasourceNoData alert and fires
    the rule's own; Alerting -> Normal -> Alerting fires it again with nothing of the other kind
    left. (A transition out of Normal skips looking for alerts of another kind to resolve: the
    transition into Normal resolved them all in its own transaction.)"""
    r = await make_replica(db_url, **FAST)
    await setup_basics(r.client)

    def rule(model: dict[str, Any]) -> dict[str, Any]:
        body = pulse_rule("Kind switch", uid="kind-switch")
        body["data"][0]["model"] = model
        return body

    no_data = {"scenarioId": "no_data_points"}
    on = pulse_rule("x", on=1, off=0)["data"][0]["model"]
    off = {**on, "pulseWave": {**on["pulseWave"], "onValue": 0}}

    def seen(rec: Receiver) -> list[tuple[str, str]]:
        return [(a["labels"]["alertname"], a["status"]) for b in rec.bodies() for a in b["alerts"]]

    async with receiver() as rec:
        await webhook_contact_point(r.client, "hook", rec.url + "/hook")
        await set_policy(r.client, "hook", group_interval="1s")
        await put_group(r.client, "g", [rule(no_data)])
        await wait_for(lambda: ("DatasourceNoData", "firing") in seen(rec), 10, what="DatasourceNoData")
        await put_group(r.client, "g", [rule(on)])
        await wait_for(lambda: ("Kind switch", "firing") in seen(rec), 10, what="the rule's own alert")
        await wait_for(lambda: ("DatasourceNoData", "resolved") in seen(rec), 10, what="NoData resolved")
        await put_group(r.client, "g", [rule(off)])
        await wait_for(lambda: ("Kind switch", "resolved") in seen(rec), 10, what="resolved")
        await put_group(r.client, "g", [rule(on)])
        await wait_for(lambda: seen(rec).count(("Kind switch", "firing")) == 2, 10, what="firing again")
        await asyncio.sleep(1.5)  # room for a notification that should not be there
        by_name: dict[str, list[str]] = {}
        for name, status in seen(rec):
            by_name.setdefault(name, []).append(status)
        assert by_name == {
            "DatasourceNoData": ["firing", "resolved"],
            "Kind switch": ["firing", "resolved", "firing"],
        }, seen(rec)


async def test_a_receiver_closing_a_kept_alive_connection_costs_no_failed_attempt(make_replica, sqlite_url):
    """A receiver answers the first request of each connection and closes the connection when the
    next one arrives on it, unanswered: what a receiver whose keep-alive timeout runs out just as
    the connection is reused does. Each notification is still delivered at its first attempt."""
    from sqlalchemy import select

    from vigil.alerting.tables import alert_notification

    answered: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                if served:
                    return  # the second request on this connection: closed, not answered
                served += 1
                answered.append(json.loads(body))
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        r = await make_replica(sqlite_url, **FAST)
        await setup_basics(r.client)
        await webhook_contact_point(r.client, "hook", f"http://127.0.0.1:{port}/hook")
        await set_policy(r.client, "hook", group_interval="1s")
        await put_group(r.client, "g", [pulse_rule("Flapping", on=1, off=1)])
        await wait_for(lambda: len(answered) >= 5, 20, what="five notifications")
        async with r.services.db.read() as conn:
            rows = (
                await conn.execute(select(alert_notification.c.attempts, alert_notification.c.status))
            ).all()
        sent = [tuple(x) for x in rows if x[1] == "sent"]
        assert len(sent) >= 5 and all(attempts == 1 for attempts, _ in sent), rows
    finally:
        server.close()


async def test_a_series_written_after_its_rule_was_deleted_is_resolved_by_the_sweep(make_replica, db_url):
    """The race: an evaluation under way when its rule is deleted writes a new series after the
    deletion removed the rule's instances, and its firing alert goes out. Played here step by step
    (the scheduler stopped; the in-flight evaluation is the rule evaluated and applied by hand
    after the delete). The sweep finds the instance without a rule, resolves its alert and
    deletes it."""
    from sqlalchemy import select

    from vigil.alerting.instances import plan
    from vigil.alerting.tables import alert_instance

    r = await make_replica(db_url, **FAST)
    svc = r.services.alerting
    await setup_basics(r.client)

    def doomed(rec: Receiver) -> list[str]:
        return [
            a["status"] for b in rec.bodies() for a in b["alerts"] if a["labels"]["alertname"] == "Doomed"
        ]

    async def instances() -> int:
        async with r.services.db.read() as conn:
            rows = await conn.execute(
                select(alert_instance.c.id).where(alert_instance.c.rule_uid == "doomed")
            )
            return len(rows.all())

    async with receiver() as rec:
        await webhook_contact_point(r.client, "hook", rec.url + "/hook")
        await set_policy(r.client, "hook", group_interval="1s")
        await put_group(r.client, "g", [always("Doomed", uid="doomed")])
        await wait_for(lambda: doomed(rec) == ["firing"], 10, what="the first notification")
        await svc.scheduler.stop()
        [rule] = [x for x in await svc.rules.all_rules() if x.uid == "doomed"]
        await ok(await r.client.delete("/api/v1/provisioning/alert-rules/doomed", headers=ADMIN_AUTH), 204)
        await wait_for(lambda: doomed(rec) == ["firing", "resolved"], 10, what="resolved by the delete")
        assert await instances() == 0

        t = int(time.time())
        outcome = await svc.scheduler._evaluate_rule(rule, t)
        changes = plan(rule, outcome, {}, float(t), {})
        assert [c.old for c in changes] == [None]  # a series new to the store
        _, due, claimed = await svc.instances.apply(rule, changes, float(t), svc.dispatcher)
        svc.dispatcher.deliver(claimed)
        svc.dispatcher.kick(due)
        await wait_for(lambda: len(doomed(rec)) == 3, 10, what="the late firing notification")
        assert await instances() == 1

        assert await svc.resolve_orphans() == 1
        await wait_for(lambda: len(doomed(rec)) == 4, 10, what="the sweep's resolved notification")
        assert doomed(rec) == ["firing", "resolved", "firing", "resolved"]
        assert await instances() == 0
        assert await svc.resolve_orphans() == 0
