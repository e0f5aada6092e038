"""grafana-client 5.x's ``alertingprovisioning`` element against a real ``vigil server`` process over
HTTP (PostgreSQL): every call it offers — alert rules, rule groups, contact points, the notification
policy tree, mute timings and notification templates — in one operator's scenario, sync and async."""

# mypy: allow-untyped-calls
from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from grafana_client.api import AsyncGrafanaApi, GrafanaApi
from grafana_client.client import GrafanaClientError

from tests.alerting_support import pulse_rule
from tests.compat_support import admin_token, vigil_server
from tests.server_proc import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with vigil_server(tmp_path_factory.mktemp("gc-alerting"), "postgresql", "gc-alerting") as proc:
        yield proc


async def a(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_an_operator_manages_alerting_with_grafana_client(
    server: ServerProcess, asynchronous: bool
) -> None:
    p = "a" if asynchronous else "s"
    cls = AsyncGrafanaApi if asynchronous else GrafanaApi
    api = cls(
        auth=admin_token(server.base_url, f"gca-{p}"),
        host="127.0.0.1",
        port=server.port,
        protocol="http",
        timeout=10,
    )
    ap = api.alertingprovisioning
    await a(api.folder.create_folder(f"Alerts {p}", uid=f"alerts-{p}"))
    await a(
        api.datasource.create_datasource(
            {"name": f"TD {p}", "type": "grafana-testdata-datasource", "uid": f"td-{p}"}
        )
    )

    # templates
    text = '{{ define "ops.title" }}[{{ .Status }}] {{ .CommonLabels.alertname }}{{ end }}'
    saved = await a(ap.create_or_update_template(f"ops-{p}", {"template": text}))
    assert saved["name"] == f"ops-{p}" and saved["template"] == text
    assert f"ops-{p}" in [t["name"] for t in await a(ap.get_templates())]
    assert (await a(ap.get_template(f"ops-{p}")))["provenance"] == "api"
    # mute timings
    timing = {"name": f"weekends-{p}", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]}
    await a(ap.create_mute_timing(timing))
    timing["time_intervals"] = [{"weekdays": ["sunday"]}]
    await a(ap.update_mute_timing(f"weekends-{p}", timing))
    assert (await a(ap.get_mute_timing(f"weekends-{p}")))["time_intervals"][0]["weekdays"] == ["sunday"]
    assert f"weekends-{p}" in [m["name"] for m in await a(ap.get_mute_timings())]
    # contact points
    cp = {
        "name": f"hook-{p}",
        "type": "webhook",
        "settings": {"url": "http://127.0.0.1:9/hook", "title": '{{ template "ops.title" . }}'},
    }
    created = await a(ap.create_contactpoint(cp))
    uid = created["uid"]
    cp["settings"]["httpMethod"] = "PUT"
    await a(ap.update_contactpoint(uid, cp))
    [found] = await a(ap.get_contactpoints(name=f"hook-{p}"))
    assert found["uid"] == uid and found["settings"]["httpMethod"] == "PUT"
    # the policy tree
    tree = {
        "receiver": f"hook-{p}",
        "group_by": ["alertname"],
        "routes": [
            {
                "receiver": f"hook-{p}",
                "object_matchers": [["team", "=", p]],
                "mute_time_intervals": [f"weekends-{p}"],
            }
        ],
    }
    await a(ap.set_notification_policy_tree(tree))
    got = await a(ap.get_notification_policy_tree())
    assert got["receiver"] == f"hook-{p}" and got["routes"][0]["mute_time_intervals"] == [f"weekends-{p}"]
    # alert rules and their group
    body = pulse_rule(f"Disk {p}", group=f"g-{p}", folder_uid=f"alerts-{p}")
    for q in body["data"]:
        if q["datasourceUid"] == "testdata":
            q["datasourceUid"] = f"td-{p}"
    rule = await a(ap.create_alertrule(body))
    assert rule["title"] == f"Disk {p}" and rule["provenance"] == "api"
    rule["labels"] = {"team": p}
    await a(ap.update_alertrule(rule["uid"], rule, disable_provenance=True))
    again = await a(ap.get_alertrule(rule["uid"]))
    assert again["labels"] == {"team": p} and again["provenance"] == ""
    assert rule["uid"] in [r["uid"] for r in await a(ap.get_alertrules_all())]
    group = await a(ap.get_rule_group(f"alerts-{p}", f"g-{p}"))
    group["interval"] = 120
    await a(ap.update_rule_group(f"alerts-{p}", f"g-{p}", group))
    assert (await a(ap.get_rule_group(f"alerts-{p}", f"g-{p}")))["interval"] == 120
    # and down again
    await a(ap.delete_alertrule(rule["uid"]))
    with pytest.raises(GrafanaClientError) as missing:
        await a(ap.get_alertrule(rule["uid"]))
    assert missing.value.status_code == 404
    await a(ap.delete_notification_policy_tree())
    await a(ap.delete_contactpoint(uid))
    await a(ap.delete_mute_timing(f"weekends-{p}"))
    await a(ap.delete_template(f"ops-{p}"))
    assert f"ops-{p}" not in [t["name"] for t in await a(ap.get_templates())]
    assert f"hook-{p}" not in [c["name"] for c in await a(ap.get_contactpoints())]
    assert (await a(ap.get_notification_policy_tree()))["receiver"] != f"hook-{p}"
