"""The ruler-style and Prometheus-style rule listings the alerting UI reads, and the ruler writes.

- ``GET /api/ruler/grafana/api/v1/rules[/{folderUid}[/{group}]]``: rules by folder title.
- ``POST /api/ruler/grafana/api/v1/rules/{folderUid}``: replace one group (ruler body).
- ``DELETE /api/ruler/grafana/api/v1/rules/{folderUid}/{group}``.
- ``GET /api/prometheus/grafana/api/v1/rules``: groups with each rule's state, health, last
  evaluation, alert instances, and the replica that owns it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.alerting.durations import format_duration
from vigil.alerting.labels import public
from vigil.alerting.models import Rule
from vigil.alerting.payload import rfc3339
from vigil.alerting.sqlutil import loads
from vigil.alerting.state import State
from vigil.api.alerting_provisioning import alerting
from vigil.auth.models import Identity
from vigil.clock import iso
from vigil.http.identity import editor, viewer
from vigil.http.params import json_object
from vigil.http.responses import json_response, message

router = APIRouter()
ZERO = "0001-01-01T00:00:00Z"


def ruler_rule(r: Rule) -> dict[str, Any]:
    return {
        "expr": "",
        "for": format_duration(r.for_s),
        "keep_firing_for": format_duration(r.keep_firing_for_s),
        "labels": r.labels,
        "annotations": r.annotations,
        "grafana_alert": {
            "id": r.id,
            "orgId": r.org_id,
            "title": r.title,
            "condition": r.condition,
            "data": r.data,
            "updated": iso(r.updated / 1000),
            "intervalSeconds": r.interval,
            "version": r.version,
            "uid": r.uid,
            "namespace_uid": r.folder_uid,
            "rule_group": r.group,
            "no_data_state": r.no_data_state,
            "exec_err_state": r.exec_err_state,
            "is_paused": r.is_paused,
            "provenance": r.provenance,
            **({"notification_settings": r.notification_settings} if r.notification_settings else {}),
        },
    }


def _by_folder(rules: list[Rule]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rules:
        key = (r.folder_uid, r.group)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"name": r.group, "interval": format_duration(r.interval), "rules": []}
            out.setdefault(r.folder_title, []).append(g)
        g["rules"].append(ruler_rule(r))
    return out


@router.get("/api/ruler/grafana/api/v1/rules")
async def ruler_all(request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(_by_folder(await alerting(request).rules.find(who.org_id)))


@router.get("/api/ruler/grafana/api/v1/rules/{folder_uid}")
async def ruler_folder(folder_uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(_by_folder(await alerting(request).rules.find(who.org_id, folder_uid)))


@router.get("/api/ruler/grafana/api/v1/rules/{folder_uid}/{group}")
async def ruler_group(
    folder_uid: str, group: str, request: Request, who: Identity = Depends(viewer)
) -> Response:
    g = await alerting(request).rules.group(who.org_id, folder_uid, group)
    return json_response(
        {"name": g.name, "interval": format_duration(g.interval), "rules": [ruler_rule(r) for r in g.rules]}
    )


def _from_ruler(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("grafana_alert"), dict):
        from vigil.errors import AppError

        raise AppError.bad_request("invalid rule group: each rule needs a grafana_alert object")
    ga = item["grafana_alert"]
    return {
        "uid": ga.get("uid") or "",
        "title": ga.get("title"),
        "condition": ga.get("condition"),
        "data": ga.get("data"),
        "noDataState": ga.get("no_data_state") or "NoData",
        "execErrState": ga.get("exec_err_state") or "Error",
        "isPaused": bool(ga.get("is_paused", False)),
        "notification_settings": ga.get("notification_settings"),
        "for": item.get("for") or 0,
        "keep_firing_for": item.get("keep_firing_for") or 0,
        "labels": item.get("labels") or {},
        "annotations": item.get("annotations") or {},
    }


@router.post("/api/ruler/grafana/api/v1/rules/{folder_uid}")
async def ruler_post(folder_uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        from vigil.errors import AppError

        raise AppError.bad_request("invalid rule group: name is required")
    rules = body.get("rules") or []
    group_body = {
        "interval": body.get("interval") or 60,
        "rules": [_from_ruler(x) for x in (rules if isinstance(rules, list) else [None])],
    }
    await alerting(request).rules.put_group(who.org_id, folder_uid, name.strip(), group_body, "")
    return message("rule group updated successfully", 202)


@router.delete("/api/ruler/grafana/api/v1/rules/{folder_uid}/{group}")
async def ruler_delete(
    folder_uid: str, group: str, request: Request, who: Identity = Depends(editor)
) -> Response:
    await alerting(request).rules.delete_group(who.org_id, folder_uid, group)
    return message("rule group deleted", 202)


_PROM_STATE = {
    State.ALERTING: "firing",
    State.RECOVERING: "firing",
    State.NODATA: "firing",
    State.ERROR: "firing",
    State.PENDING: "pending",
    State.NORMAL: "inactive",
}


@router.get("/api/prometheus/grafana/api/v1/rules")
async def prometheus_rules(request: Request, who: Identity = Depends(viewer)) -> Response:
    svc = alerting(request)
    rules = await svc.rules.find(who.org_id)
    instances = await svc.instances.for_org(who.org_id)
    owners: dict[str, str] = {}
    for member, uids in (await svc.owned_rules()).items():
        for u in uids:
            owners.setdefault(u, member)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for m in instances:
        by_rule.setdefault(m["rule_uid"], []).append(m)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for r in rules:
        key = (r.folder_uid, r.group)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "name": r.group,
                "file": r.folder_title,
                "folderUid": r.folder_uid,
                "interval": r.interval,
                "rules": [],
                "lastEvaluation": ZERO,
                "evaluationTime": 0,
            }
            out.append(g)
        alerts = []
        worst = "inactive"
        for m in by_rule.get(r.uid, []):
            st = State(m["state"])
            prom = _PROM_STATE[st]
            if prom == "firing" or (prom == "pending" and worst == "inactive"):
                worst = prom
            alerts.append(
                {
                    "labels": public(loads(m["labels"], {})),
                    "annotations": loads(m["annotations"], {}),
                    "state": st.value + (f" ({m['reason']})" if m["reason"] else ""),
                    "activeAt": rfc3339(m["active_at"]) if m["active_at"] else ZERO,
                    "value": m["value_text"],
                }
            )
            totals[st.value.lower()] = totals.get(st.value.lower(), 0) + 1
        last = svc.scheduler.last_eval.get(r.uid)
        health = (
            {"ok": "ok", "nodata": "nodata", "error": "error"}.get(last["health"], "unknown")
            if last
            else "unknown"
        )
        g["rules"].append(
            {
                "uid": r.uid,
                "name": r.title,
                "folderUid": r.folder_uid,
                "query": "",
                "duration": r.for_s,
                "keepFiringFor": r.keep_firing_for_s,
                "labels": r.labels,
                "annotations": r.annotations,
                "alerts": alerts,
                "totals": {"alerting": sum(1 for a in alerts if a["state"].startswith("Alerting"))},
                "state": "inactive" if r.is_paused else worst,
                "health": "paused" if r.is_paused else health,
                "lastError": last["error"] if last else "",
                "type": "alerting",
                "lastEvaluation": rfc3339(last["at"]) if last else ZERO,
                "evaluationTime": last["duration"] if last else 0,
                "isPaused": r.is_paused,
                "owner": owners.get(r.uid, ""),
            }
        )
    return json_response({"status": "success", "data": {"groups": out, "totals": totals}})
