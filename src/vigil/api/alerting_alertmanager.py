"""Grafana's built-in Alertmanager API: silences and alerts (Alertmanager v2 shapes) and the
contact-point test ("send a test notification")."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.alerting.labels import fingerprint, public
from vigil.alerting.notifier import DeliveryError, Integration, channel
from vigil.alerting.payload import alert_entry, build, rfc3339
from vigil.alerting.rules import new_uid
from vigil.alerting.sqlutil import loads
from vigil.alerting.state import State, is_firing
from vigil.api.alerting_provisioning import alerting
from vigil.auth.models import Identity
from vigil.errors import AppError
from vigil.http.identity import editor, viewer
from vigil.http.params import json_object
from vigil.http.responses import json_response, message
from vigil.storage.db import now_ms

router = APIRouter(prefix="/api/alertmanager/grafana")


@router.get("/api/v2/silences")
async def list_silences(request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await alerting(request).silences.list(who.org_id))


@router.post("/api/v2/silences")
async def put_silence(request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    sid = await alerting(request).silences.put(who.org_id, body, who.user.login)
    return json_response({"silenceID": sid}, 202)


@router.get("/api/v2/silence/{uid}")
async def get_silence(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await alerting(request).silences.get(who.org_id, uid))


@router.delete("/api/v2/silence/{uid}")
async def expire_silence(uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    await alerting(request).silences.expire(who.org_id, uid)
    return message("silence deleted")


@router.get("/api/v2/alerts")
async def list_alerts(request: Request, who: Identity = Depends(viewer)) -> Response:
    """Firing alert instances, each with its silence status (``suppressed`` when silenced)."""
    svc = alerting(request)
    now = now_ms(svc.clock)
    rows = await svc.instances.for_org(who.org_id)
    async with svc.db.read() as conn:
        silences = await svc.silences.active(conn, who.org_id, now)
    out = []
    for m in rows:
        st = State(m["state"])
        if not is_firing(st):
            continue
        labels = loads(m["labels"], {})
        silenced_by = [s.uid for s in silences if s.matches(labels)]
        entry = alert_entry(
            {
                "labels": labels,
                "annotations": loads(m["annotations"], {}),
                "ruleUid": m["rule_uid"],
                "orgId": who.org_id,
                "fingerprint": fingerprint(public(labels)),
            },
            "firing",
            m["fired_at"],
            0,
            svc.root_url,
        )
        out.append(
            {
                "labels": entry["labels"],
                "annotations": entry["annotations"],
                "startsAt": entry["startsAt"],
                "endsAt": entry["endsAt"],
                "updatedAt": rfc3339(m["last_eval"]),
                "generatorURL": entry["generatorURL"],
                "fingerprint": entry["fingerprint"],
                "status": {
                    "state": "suppressed" if silenced_by else "active",
                    "silencedBy": silenced_by,
                    "inhibitedBy": [],
                },
                "receivers": [],
            }
        )
    return json_response(out)


@router.post("/config/api/v1/receivers/test")
async def test_receivers(request: Request, who: Identity = Depends(editor)) -> Response:
    """Send a test notification through each given integration; report each one's outcome."""
    svc = alerting(request)
    body = await json_object(request)
    receivers = body.get("receivers")
    if not isinstance(receivers, list) or not receivers:
        raise AppError.bad_request("invalid test request: receivers is required")
    raw_alert = body.get("alert") or {}
    if not isinstance(raw_alert, dict):
        raise AppError.bad_request("invalid test request: alert must be an object")
    labels = {"alertname": "TestAlert", "instance": "Grafana", **dict(raw_alert.get("labels") or {})}
    annotations = {"summary": "Notification test", **dict(raw_alert.get("annotations") or {})}
    now = now_ms(svc.clock)
    record = {
        "labels": labels,
        "annotations": annotations,
        "ruleUid": "",
        "orgId": who.org_id,
        "fingerprint": fingerprint(labels),
        "values": None,
        "valueString": "[ metric='foo' labels={instance=bar} value=10 ]",
    }
    alert = alert_entry(record, "firing", now, 0, svc.root_url)
    jobs: list[tuple[int, int, dict[str, Any], Integration | None, str | None]] = []
    out_receivers = []
    for ri, rec in enumerate(receivers):
        if not isinstance(rec, dict):
            raise AppError.bad_request("invalid test request: each receiver must be an object")
        configs = rec.get("grafana_managed_receiver_configs") or []
        out_receivers.append({"name": rec.get("name", ""), "grafana_managed_receiver_configs": []})
        for ci, cfg in enumerate(configs):
            if not isinstance(cfg, dict):
                raise AppError.bad_request("invalid test request: each receiver config must be an object")
            current = await svc.notify.integration(cfg["uid"]) if cfg.get("uid") else None
            if current is not None and current.org_id != who.org_id:
                current = None
            parse_body = {
                "name": rec.get("name") or cfg.get("name") or "test",
                "type": cfg.get("type"),
                "settings": cfg.get("settings") or {},
                "secureSettings": cfg.get("secureSettings") or {},
                "disableResolveMessage": bool(cfg.get("disableResolveMessage", False)),
            }
            try:
                name, kind, plain, secure, disable = svc.notify.parse_contact_point(parse_body, current)
                integ: Integration | None = Integration(
                    cfg.get("uid") or new_uid(), who.org_id, name, kind, plain, secure, disable
                )
                err = None
            except AppError as exc:
                integ, err = None, exc.message
            jobs.append((ri, ci, cfg, integ, err))

    async def run(integ: Integration | None, err: str | None) -> str | None:
        if integ is None:
            return err
        data = build(integ.name, who.org_id, "{}/{}:{}", {}, [alert], svc.root_url)
        try:
            await channel(integ.type).send(integ, data, svc.send_context(f"test:{integ.uid}:{now}"))
        except DeliveryError as exc:
            return str(exc)
        return None

    results = await asyncio.gather(*(run(integ, err) for _, _, _, integ, err in jobs))
    failed = 0
    for (ri, _ci, cfg, integ, _), error in zip(jobs, results, strict=True):
        item: dict[str, Any] = {
            "name": cfg.get("name") or out_receivers[ri]["name"],
            "uid": integ.uid if integ else cfg.get("uid", ""),
            "status": "failed" if error else "ok",
        }
        if error:
            item["error"] = error
            failed += 1
        out_receivers[ri]["grafana_managed_receiver_configs"].append(item)
    answer = {
        "alert": {"annotations": annotations, "labels": labels},
        "receivers": out_receivers,
        "notified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now / 1000)),
    }
    if failed and failed == len(jobs):
        return json_response({**answer, "message": "every test notification failed"}, 400)
    return json_response(answer, 207 if failed else 200)
