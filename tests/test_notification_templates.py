"""Notification templates: the template engine's ``define``/``template``/``block``, the notification
data contact-point texts see (Grafana's field names), ``/api/v1/provisioning/templates`` on every
database, and texts rendered with them at real receivers on loopback, across replicas."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.alerting_support import (
    FAST,
    ok,
    pulse_rule,
    put_group,
    receiver,
    set_policy,
    setup_basics,
    wait_for,
    webhook_contact_point,
)
from tests.conftest import ADMIN_AUTH, AppFactory, Replica, basic
from vigil.alerting.notifier import templates
from vigil.alerting.template import TemplateError, check, definitions, render

PATH = "/api/v1/provisioning/templates"
TEST_SEND = "/api/alertmanager/grafana/config/api/v1/receivers/test"


# -- the engine -----------------------------------------------------------------------------------


def test_define_template_and_block() -> None:
    text = '{{ define "item" }}<{{ .name }}>{{ end }}{{ range .items }}{{ template "item" . }}{{ end }}'
    assert render(text, {}, dot={"items": [{"name": "a"}, {"name": "b"}]}) == "<a><b>"
    assert render('{{ block "b" .x }}[{{ . }}]{{ end }}!', {}, dot={"x": 7}) == "[7]!"
    # a named template sees only its dot ($ is that dot), not the caller's variables
    assert render('{{ define "t" }}{{ $ }}{{ end }}{{ $y := 3 }}{{ template "t" 5 }}', {}) == "5"
    assert "undefined variable" in render(
        '{{ define "t" }}{{ $y }}{{ end }}{{ $y := 3 }}{{ template "t" }}', {}
    )
    # templates passed in are callable; the text's own define of the same name wins
    named = definitions('{{ define "greet" }}hi {{ . }}{{ end }}')
    assert render('{{ template "greet" "you" }}', {}, named=named) == "hi you"
    assert render('{{ define "greet" }}yo{{ end }}{{ template "greet" }}', {}, named=named) == "yo"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{{ if true }}{{ define "x" }}{{ end }}{{ end }}', "top level"),
        ('{{ define "x" }}a{{ else }}b{{ end }}', "else"),
        ("{{ define x }}{{ end }}", "quoted template name"),
        ('{{ define "x" 1 }}{{ end }}', "only a name"),
        ('{{ define "x" }}', "missing {{end}}"),
        ("{{ template }}", "quoted template name"),
    ],
)
def test_malformed_named_templates_are_refused(text: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error):
        check(text)


def test_a_template_cannot_run_away_with_the_cpu_or_the_memory() -> None:
    # each level calls the next twice: 2**20 calls without a budget
    chain = "".join(
        f'{{{{ define "t{i}" }}}}{{{{ template "t{i + 1}" . }}}}{{{{ template "t{i + 1}" . }}}}{{{{ end }}}}'
        for i in range(20)
    )
    started = time.monotonic()
    out = render(chain + '{{ define "t20" }}x{{ end }}{{ template "t0" . }}', {}, name="t")
    assert out == "[error executing template t: template too expensive: it ran too many actions]"
    wide = "".join(
        f'{{{{ define "w{i}" }}}}{{{{ template "w{i + 1}" . }}}}{{{{ template "w{i + 1}" . }}}}{{{{ end }}}}'
        for i in range(12)
    )
    out = render(wide + '{{ define "w12" }}' + "y" * 400 + '{{ end }}{{ template "w0" . }}', {}, name="t")
    assert out.endswith("its output is too long]")
    assert "above 1000" in render('{{ printf "%200000000s" "a" }}', {}, name="t")
    many = render("{{ range .xs }}{{ end }}done", {}, dot={"xs": list(range(200_000))}, name="t")
    assert "too many actions" in many
    assert time.monotonic() - started < 5


def test_strings_are_go_literals() -> None:
    assert render('{{ "Größe \\u00e9\\t\\x41\\101\\"" }}', {}) == 'Größe é\tAA"'
    assert render('{{ define "café" }}ok{{ end }}{{ template `café` }}', {}) == "ok"
    for bad in ('{{ "\\x" }}', '{{ define "a\\q" }}{{ end }}', '{{ "\\u12" }}'):
        with pytest.raises(TemplateError, match="escape"):
            check(bad)


def test_block_inside_an_action_and_more_of_grafanas_functions() -> None:
    assert render('{{ if true }}{{ block "b" . }}B{{ end }}{{ end }}|{{ template "b" }}', {}) == "B|B"
    assert render('{{ trimSpace "  a  " }}|', {}) == "a|"


def test_missing_and_recursive_templates_render_an_error_text_not_an_exception() -> None:
    assert (
        render('{{ template "nope" }}', {}, name="t")
        == '[error executing template t: no such template "nope"]'
    )
    looped = render('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" }}', {}, name="t")
    assert looped.startswith("[error executing template t:") and "nested too deeply" in looped


def _payload() -> dict[str, Any]:
    def alert(status: str, instance: str) -> dict[str, Any]:
        return {
            "status": status,
            "labels": {"alertname": "Disk", "instance": instance},
            "annotations": {"summary": f"{instance} is full"},
            "startsAt": "2026-11-26T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://vigil/g",
            "fingerprint": instance,
            "values": {"B": 91.5},
            "valueString": "[ var='B' value=91.5 ]",
        }

    return {
        "receiver": "ops",
        "status": "firing",
        "alerts": [alert("firing", "db-1"), alert("firing", "db-2"), alert("resolved", "db-3")],
        "groupLabels": {"alertname": "Disk"},
        "commonLabels": {"alertname": "Disk"},
        "commonAnnotations": {},
        "externalURL": "http://vigil/",
        "groupKey": "{}:{}",
    }


def test_contact_point_texts_see_grafanas_notification_data() -> None:
    data = _payload()
    texts = templates.Texts(data)
    text = (
        "{{ .Status }} {{ .CommonLabels.alertname }} {{ len .Alerts.Firing }}/{{ len .Alerts }}"
        "{{ range .Alerts.Resolved }} ok:{{ .Labels.instance }}{{ end }}"
        "{{ range .Alerts.Firing }} {{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }},{{ end }}"
        "{{ .Values.B }}{{ end }} {{ .ExternalURL }}"
    )
    assert texts.text(text, templates.title, "title") == (
        "firing Disk 2/3 ok:db-3 alertname=Disk,instance=db-1,91.5 alertname=Disk,instance=db-2,91.5 http://vigil/"
    )
    # no setting: the default text; the built-in templates are the same defaults
    assert texts.text("", templates.title, "title") == templates.title(data)
    assert texts.text('{{ template "default.title" . }}', templates.title, "t") == templates.title(data)
    assert texts.text('{{ template "default.message" . }}', templates.message, "m") == templates.message(data)
    assert "can't evaluate field Nope" in texts.text("{{ .Alerts.Nope }}", templates.title, "title")
    listed = texts.text('{{ template "__text_alert_list" .Alerts.Firing }}', templates.title, "t")
    assert listed.count("Labels:") == 2 and "instance = db-1" in listed and "db-3" not in listed
    assert texts.text("{{ .TruncatedAlerts }}", templates.title, "t") == "0"


def test_alert_times_are_go_times() -> None:
    texts = templates.Texts(_payload())

    def text(t: str) -> str:
        return texts.text(t, templates.title, "t")

    first = "{{ with index .Alerts 0 }}%s{{ end }}"
    assert text(first % "{{ .StartsAt }}") == "2026-11-26 10:00:00 +0000 UTC"
    assert text(first % '{{ .StartsAt.Format "Jan _2 15:04:05 MST" }}') == "Nov 26 10:00:00 UTC"
    assert text(first % '{{ .StartsAt | tz "Europe/Paris" | date "2006-01-02 3:04PM -07:00" }}') == (
        "2026-11-26 11:00AM +01:00"
    )
    assert text(first % "{{ .StartsAt.Unix }} {{ .EndsAt.IsZero }}") == "1795687200 true"
    assert "wrong number of args for Format" in text(first % "{{ .StartsAt.Format }}")
    assert "unknown time zone" in text(first % '{{ .StartsAt | tz "Mars/Olympus" }}')


# -- the API --------------------------------------------------------------------------------------


async def test_templates_api_on_every_database(replica: Replica) -> None:
    c = replica.client
    assert await ok(await c.get(PATH, headers=ADMIN_AUTH)) == []
    text = '{{ define "ops.title" }}[{{ .Status }}] {{ .CommonLabels.alertname }}{{ end }}'
    put = await ok(await c.put(f"{PATH}/ops", json={"template": text}, headers=ADMIN_AUTH), 202)
    assert put == {"name": "ops", "template": text, "provenance": "api"}
    got = await ok(await c.get(f"{PATH}/ops", headers=ADMIN_AUTH))
    assert got == put
    # replacing keeps one row; X-Disable-Provenance stores it as editable
    plain = "just text, no define"
    headers = {**ADMIN_AUTH, "X-Disable-Provenance": "true"}
    await ok(await c.put(f"{PATH}/ops", json={"template": plain}, headers=headers), 202)
    assert await ok(await c.get(PATH, headers=ADMIN_AUTH)) == [
        {"name": "ops", "template": plain, "provenance": ""}
    ]
    for body, status in (
        ({"template": '{{ define "x" }}'}, 400),
        ({"template": "{{ .Unclosed "}, 400),
        ({"template": '{{ "\\x" }}'}, 400),
        ({"template": ""}, 400),
        ({}, 400),
        ([1], 400),
    ):
        r = await c.put(f"{PATH}/bad", json=body, headers=ADMIN_AUTH)
        assert r.status_code == status and r.json()["message"], (body, r.text)
    r = await c.get(f"{PATH}/missing", headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json()["message"] == "template not found"
    deleted = await c.delete(f"{PATH}/ops", headers=ADMIN_AUTH)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await c.get(f"{PATH}/ops", headers=ADMIN_AUTH)).status_code == 404


async def test_viewers_read_templates_and_other_orgs_do_not_see_them(replica: Replica) -> None:
    c = replica.client
    user = {"name": "v", "login": "viewer1", "email": "v@x", "password": "viewer-pw-1"}
    await ok(await c.post("/api/admin/users", json=user, headers=ADMIN_AUTH))
    await ok(await c.put(f"{PATH}/t", json={"template": "x"}, headers=ADMIN_AUTH), 202)
    viewer = basic("viewer1", "viewer-pw-1")
    assert [t["name"] for t in await ok(await c.get(PATH, headers=viewer))] == ["t"]
    r = await c.put(f"{PATH}/t", json={"template": "y"}, headers=viewer)
    assert r.status_code == 403 and r.json()["message"]
    org = await ok(await c.post("/api/orgs", json={"name": "Other"}, headers=ADMIN_AUTH))
    other = {**ADMIN_AUTH, "X-Grafana-Org-Id": str(org["orgId"])}
    assert await ok(await c.get(PATH, headers=other)) == []


# -- rendered at receivers --------------------------------------------------------------------------


def _test_send_body(receivers: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "receivers": [
            {"name": name, "grafana_managed_receiver_configs": [{"name": name, "type": kind, "settings": s}]}
            for name, kind, s in receivers
        ],
        "alert": {"labels": {"severity": "page"}, "annotations": {"summary": "hello"}},
    }


async def test_webhook_and_slack_texts_call_the_orgs_templates_and_see_changes_on_every_replica(
    make_replica: AppFactory, db_url: str
) -> None:
    first = await make_replica(db_url)
    second = await make_replica(db_url)
    group = '{{ define "ops.title" }}OPS {{ .Status }} {{ .CommonLabels.severity }}{{ end }}'
    await ok(await first.client.put(f"{PATH}/ops", json={"template": group}, headers=ADMIN_AUTH), 202)
    async with receiver() as rec:
        settings = {
            "url": rec.url + "/hook",
            "title": '{{ template "ops.title" . }}',
            "message": "m:{{ len .Alerts }}",
        }
        slack = {
            "url": rec.url + "/slack",
            "title": '{{ template "ops.title" . }}',
            "text": '{{ template "nope" . }}',
        }
        body = _test_send_body([("hook", "webhook", settings), ("chat", "slack", slack)])
        await ok(await second.client.post(TEST_SEND, json=body, headers=ADMIN_AUTH))
        [hook] = rec.bodies("/hook")
        assert hook["title"] == "OPS firing page" and hook["message"] == "m:1"
        [chat] = rec.bodies("/slack")
        attachment = chat["attachments"][0]
        assert attachment["title"] == "OPS firing page"
        assert attachment["text"] == '[error executing template text: no such template "nope"]'
        # a change made on the first replica is what the second one renders next (its cache is kept
        # exact by the change bus)
        changed = group.replace("OPS", "CHANGED")
        await ok(await first.client.put(f"{PATH}/ops", json={"template": changed}, headers=ADMIN_AUTH), 202)

        async def renders_the_change() -> bool:
            rec.received.clear()
            await ok(
                await second.client.post(
                    TEST_SEND, json=_test_send_body([("hook", "webhook", settings)]), headers=ADMIN_AUTH
                )
            )
            return rec.bodies("/hook")[0]["title"] == "CHANGED firing page"

        for _ in range(40):  # the bus polls every 0.5 s at most
            if await renders_the_change():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the second replica kept rendering the old template")


@pytest.mark.slow
async def test_a_firing_rule_notifies_with_the_templated_title(
    make_replica: AppFactory, sqlite_url: str
) -> None:
    r = await make_replica(sqlite_url, **FAST)
    await setup_basics(r.client)
    group = (
        '{{ define "page.title" }}{{ len .Alerts.Firing }} firing: '
        "{{ range .Alerts.Firing }}{{ .Labels.alertname }}@{{ .Labels.instance }}{{ end }}{{ end }}"
    )
    await ok(await r.client.put(f"{PATH}/page", json={"template": group}, headers=ADMIN_AUTH), 202)
    async with receiver() as rec:
        await webhook_contact_point(
            r.client, "hook", rec.url + "/hook", title='{{ template "page.title" . }}'
        )
        await set_policy(r.client, "hook")
        await put_group(r.client, "g", [pulse_rule("Disk full", on=1, off=0, series_labels="instance=db-1")])
        await wait_for(lambda: rec.received, 10, what="a notification")
        assert rec.bodies()[0]["title"] == "1 firing: Disk full@db-1"
