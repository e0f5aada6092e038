"""Grafana's alerting provisioning API (``/api/v1/provisioning``): alert rules and rule groups,
contact points, notification policies, mute timings, notification templates. Viewers read, Editors
write."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vigil.alerting.rules import group_to_provisioning, to_provisioning
from vigil.alerting.service import AlertingService
from vigil.auth.models import Identity
from vigil.dashboards import hooks
from vigil.http.identity import editor, services, viewer
from vigil.http.params import json_object
from vigil.http.responses import json_response, message

router = APIRouter(prefix="/api/v1/provisioning")


def alerting(request: Request) -> AlertingService:
    return services(request).alerting


def provenance(request: Request) -> str:
    """``X-Disable-Provenance`` (any value) stores the object as editable in the UI (provenance "")."""
    return "" if request.headers.get("x-disable-provenance") is not None else "api"


async def _body_any(request: Request) -> Any:
    return await json_object(request)


# -- alert rules ---------------------------------------------------------------------------------


@router.get("/alert-rules")
async def list_rules(request: Request, who: Identity = Depends(viewer)) -> Response:
    rules = await alerting(request).rules.find(who.org_id)
    return json_response([to_provisioning(r) for r in rules])


@router.get("/alert-rules/{uid}")
async def get_rule(uid: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(to_provisioning(await alerting(request).rules.get(who.org_id, uid)))


@router.post("/alert-rules")
async def create_rule(request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    rule = await alerting(request).rules.create(who.org_id, body, provenance(request))
    return json_response(to_provisioning(rule), 201)


@router.put("/alert-rules/{uid}")
async def update_rule(uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    rule = await alerting(request).rules.update(who.org_id, uid, body, provenance(request))
    return json_response(to_provisioning(rule))


@router.delete("/alert-rules/{uid}")
async def delete_rule(uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    await alerting(request).rules.delete(who.org_id, uid)
    return Response(status_code=204)


@router.get("/folder/{folder_uid}/rule-groups/{group}")
async def get_group(
    folder_uid: str, group: str, request: Request, who: Identity = Depends(viewer)
) -> Response:
    g = await alerting(request).rules.group(who.org_id, folder_uid, group)
    return json_response(group_to_provisioning(g))


@router.put("/folder/{folder_uid}/rule-groups/{group}")
async def put_group(
    folder_uid: str, group: str, request: Request, who: Identity = Depends(editor)
) -> Response:
    body = await json_object(request)
    g = await alerting(request).rules.put_group(who.org_id, folder_uid, group, body, provenance(request))
    return json_response(group_to_provisioning(g))


@router.delete("/folder/{folder_uid}/rule-groups/{group}")
async def delete_group(
    folder_uid: str, group: str, request: Request, who: Identity = Depends(editor)
) -> Response:
    await alerting(request).rules.delete_group(who.org_id, folder_uid, group)
    return Response(status_code=204)


# -- contact points ------------------------------------------------------------------------------


@router.get("/contact-points")
async def list_contact_points(request: Request, who: Identity = Depends(viewer)) -> Response:
    name = request.query_params.get("name") or None
    return json_response(await alerting(request).notify.list_contact_points(who.org_id, name))


@router.post("/contact-points")
async def create_contact_point(request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    return json_response(
        await alerting(request).notify.create_contact_point(who.org_id, body, provenance(request)), 202
    )


@router.put("/contact-points/{uid}")
async def update_contact_point(uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    await alerting(request).notify.update_contact_point(who.org_id, uid, body, provenance(request))
    return message("contactpoint updated", 202)


@router.delete("/contact-points/{uid}")
async def delete_contact_point(uid: str, request: Request, who: Identity = Depends(editor)) -> Response:
    await alerting(request).notify.delete_contact_point(who.org_id, uid)
    return message("contactpoint deleted", 202)


# -- notification policies -----------------------------------------------------------------------


@router.get("/policies")
async def get_policies(request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await alerting(request).notify.get_policy(who.org_id))


@router.put("/policies")
async def put_policies(request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    await alerting(request).notify.put_policy(who.org_id, body, provenance(request))
    return message("policies updated", 202)


@router.delete("/policies")
async def reset_policies(request: Request, who: Identity = Depends(editor)) -> Response:
    await alerting(request).notify.reset_policy(who.org_id)
    return message("policies reset", 202)


# -- mute timings --------------------------------------------------------------------------------


@router.get("/mute-timings")
async def list_timings(request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await alerting(request).notify.list_timings(who.org_id))


@router.get("/mute-timings/{name}")
async def get_timing(name: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await alerting(request).notify.get_timing(who.org_id, name))


@router.post("/mute-timings")
async def create_timing(request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    return json_response(
        await alerting(request).notify.create_timing(who.org_id, body, provenance(request)), 201
    )


@router.put("/mute-timings/{name}")
async def update_timing(name: str, request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    return json_response(
        await alerting(request).notify.update_timing(who.org_id, name, body, provenance(request)), 202
    )


@router.delete("/mute-timings/{name}")
async def delete_timing(name: str, request: Request, who: Identity = Depends(editor)) -> Response:
    await alerting(request).notify.delete_timing(who.org_id, name)
    return Response(status_code=204)


# -- notification templates ------------------------------------------------------------------------


@router.get("/templates")
async def list_templates(request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await alerting(request).templates.list_all(who.org_id))


@router.get("/templates/{name}")
async def get_template(name: str, request: Request, who: Identity = Depends(viewer)) -> Response:
    return json_response(await alerting(request).templates.get(who.org_id, name))


@router.put("/templates/{name}")
async def put_template(name: str, request: Request, who: Identity = Depends(editor)) -> Response:
    body = await json_object(request)
    saved = await alerting(request).templates.put(who.org_id, name, body, provenance(request))
    return json_response(saved, 202)


@router.delete("/templates/{name}", status_code=204, response_class=Response)
async def delete_template(name: str, request: Request, who: Identity = Depends(editor)) -> Response:
    await alerting(request).templates.delete(who.org_id, name)
    return Response(status_code=204)


# -- folders holding rules -----------------------------------------------------------------------


async def _folder_deleted(conn: Any, org_id: int, folder_uid: str, force_delete_rules: bool) -> None:
    """A folder with alert rules is deleted only with ``forceDeleteRules=true`` (as in Grafana);
    then its rules go too, their firing alerts are resolved, and every scheduler reloads."""
    from sqlalchemy import delete, insert, select

    from vigil.alerting.dispatch import resolve_instance
    from vigil.alerting.rules import TOPIC
    from vigil.alerting.tables import alert_instance, alert_rule
    from vigil.clock import SystemClock
    from vigil.cluster.tables import cluster_change
    from vigil.errors import AppError
    from vigil.storage.db import now_ms

    uids = [
        r[0]
        for r in await conn.execute(
            select(alert_rule.c.uid).where(
                alert_rule.c.org_id == org_id, alert_rule.c.folder_uid == folder_uid
            )
        )
    ]
    if not uids:
        return
    if not force_delete_rules:
        raise AppError.bad_request(
            "folder cannot be deleted: folder contains alert rules (use forceDeleteRules=true to delete them)"
        )
    now = now_ms(SystemClock())
    rows = await conn.execute(
        select(alert_instance.c.rule_uid, alert_instance.c.fingerprint).where(
            alert_instance.c.rule_uid.in_(uids)
        )
    )
    for uid, fp in rows.all():
        await resolve_instance(conn, f"{uid}:{fp}", now)
    await conn.execute(delete(alert_instance).where(alert_instance.c.rule_uid.in_(uids)))
    await conn.execute(delete(alert_rule).where(alert_rule.c.org_id == org_id, alert_rule.c.uid.in_(uids)))
    await conn.execute(insert(cluster_change).values(topic=TOPIC, key=folder_uid, origin="", created=now))


hooks.on_folder_deleted(_folder_deleted)
