"""The channel-independent notification data (Grafana's ExtendedData): receiver, status, alerts
with their URLs, group/common labels and annotations. Built once at claim time and stored with
the claim, so whichever replica sends it sends the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from vigil.alerting.labels import public

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    if ms % 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_urls(
    root_url: str, org_id: int, rule_uid: str, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, str]:
    root = root_url if root_url.endswith("/") else root_url + "/"
    matchers = [f"__alert_rule_uid__={rule_uid}"] + [
        f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("alertname", "grafana_folder")
    ]
    silence = (
        f"{root}alerting/silence/new?alertmanager=grafana&"
        + "&".join("matcher=" + quote(m, safe="") for m in matchers)
        + f"&orgId={org_id}"
    )
    dash_uid = annotations.get("__dashboardUid__", "")
    panel = annotations.get("__panelId__", "")
    dashboard_url = f"{root}d/{dash_uid}?orgId={org_id}" if dash_uid else ""
    panel_url = f"{dashboard_url}&viewPanel={panel}" if dash_uid and panel else ""
    return {
        "generatorURL": f"{root}alerting/grafana/{rule_uid}/view?orgId={org_id}",
        "silenceURL": silence,
        "dashboardURL": dashboard_url,
        "panelURL": panel_url,
    }


def alert_entry(
    record: dict[str, Any], status: str, starts_at: int, ends_at: int, root_url: str
) -> dict[str, Any]:
    labels = public(record.get("labels") or {})
    annotations_all = record.get("annotations") or {}
    out: dict[str, Any] = {
        "status": status,
        "labels": labels,
        "annotations": public(annotations_all),
        "startsAt": rfc3339(starts_at),
        "endsAt": ZERO_TIME if status == "firing" else rfc3339(ends_at),
        **alert_urls(
            root_url, int(record.get("orgId", 1)), str(record.get("ruleUid", "")), labels, annotations_all
        ),
        "fingerprint": record.get("fingerprint", ""),
        "values": record.get("values") or None,
        "valueString": record.get("valueString", ""),
        "orgId": int(record.get("orgId", 1)),
    }
    return out


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def build(
    receiver: str,
    org_id: int,
    group_key: str,
    group_labels: dict[str, str],
    alerts: list[dict[str, Any]],
    root_url: str,
) -> dict[str, Any]:
    alerts = sorted(alerts, key=lambda a: (a["status"] != "firing", a["startsAt"], a["fingerprint"]))
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "receiver": receiver,
        "status": status,
        "orgId": org_id,
        "alerts": alerts,
        "groupLabels": public(group_labels),
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": root_url if root_url.endswith("/") else root_url + "/",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }
