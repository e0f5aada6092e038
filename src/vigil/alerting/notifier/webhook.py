"""Webhook contact point: Grafana's unified-alerting JSON body (version "1"), POST or PUT, with
optional basic auth or an ``Authorization`` scheme and credentials (Bearer by default)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from vigil.alerting.notifier import DeliveryError, Integration, SendContext, templates
from vigil.errors import AppError
from vigil.http.outbound import OutboundBlocked

SECURE = ("password", "authorization_credentials")


def validate(settings: dict[str, Any]) -> None:
    url = settings.get("url")
    if not isinstance(url, str) or not url:
        raise AppError.bad_request("invalid webhook contact point: url is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AppError.bad_request("invalid webhook contact point: url must be an http(s) URL")
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise AppError.bad_request(f"invalid webhook contact point: url: {exc}") from None
    method = str(settings.get("httpMethod") or "POST").upper()
    if method not in ("POST", "PUT"):
        raise AppError.bad_request("invalid webhook contact point: httpMethod must be POST or PUT")
    if settings.get("username") and settings.get("authorization_credentials"):
        raise AppError.bad_request(
            "invalid webhook contact point: use either basic auth or authorization credentials, not both"
        )


def body(
    integration: Integration, data: dict[str, Any], texts: templates.Texts | None = None
) -> dict[str, Any]:
    texts = texts or templates.Texts(data)
    max_alerts = int(integration.setting("maxAlerts", 0) or 0)
    alerts = data["alerts"]
    truncated = 0
    if max_alerts > 0 and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    return {
        "receiver": data["receiver"],
        "status": data["status"],
        "orgId": data["orgId"],
        "alerts": alerts,
        "groupLabels": data["groupLabels"],
        "commonLabels": data["commonLabels"],
        "commonAnnotations": data["commonAnnotations"],
        "externalURL": data["externalURL"],
        "version": "1",
        "groupKey": data["groupKey"],
        "truncatedAlerts": truncated,
        "title": texts.text(integration.setting("title"), templates.title, "title"),
        "state": "alerting" if data["status"] == "firing" else "ok",
        "message": texts.text(integration.setting("message"), templates.message, "message"),
    }


async def send(integration: Integration, data: dict[str, Any], ctx: SendContext) -> None:
    url = integration.setting("url")
    method = str(integration.setting("httpMethod", "POST")).upper()
    headers = {"Content-Type": "application/json", "User-Agent": f"Grafana/{ctx.version}"}
    if ctx.notification_id:
        headers["X-Vigil-Notification-Id"] = ctx.notification_id
    auth: httpx.BasicAuth | None = None
    if integration.setting("username"):
        auth = httpx.BasicAuth(str(integration.setting("username")), str(integration.setting("password", "")))
    elif integration.setting("authorization_credentials"):
        scheme = integration.setting("authorization_scheme", "Bearer")
        headers["Authorization"] = f"{scheme} {integration.setting('authorization_credentials')}"
    payload = orjson.dumps(body(integration, data, await ctx.texts(integration, data)))
    try:
        resp = await ctx.request(
            method, url, content=payload, headers=headers, auth=auth, timeout=ctx.timeout
        )
    except (OutboundBlocked, httpx.InvalidURL) as exc:
        raise DeliveryError(str(exc), permanent=True) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook request failed: {type(exc).__name__}: {exc}") from exc
    if resp.status_code >= 400:
        permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 425, 429)
        raise DeliveryError(f"webhook answered {resp.status_code}: {resp.text[:200]}", permanent=permanent)
