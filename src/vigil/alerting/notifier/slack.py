"""Slack contact point: an incoming-webhook ``url`` (or ``token`` + ``recipient`` posted to
``endpointUrl``, default chat.postMessage) with Grafana's attachment body."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from vigil.alerting.notifier import DeliveryError, Integration, SendContext, templates
from vigil.errors import AppError
from vigil.http.outbound import OutboundBlocked

SECURE = ("url", "token")
POST_MESSAGE = "https://slack.com/api/chat.postMessage"
FOOTER_ICON = "https://grafana.com/static/assets/img/fav32.png"


def validate(settings: dict[str, Any]) -> None:
    url = settings.get("url")
    if not url and not (settings.get("token") and settings.get("recipient")):
        raise AppError.bad_request("invalid slack contact point: set url, or token and recipient")
    for key in ("url", "endpointUrl"):
        value = settings.get(key)
        if value:
            parts = urlsplit(str(value))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise AppError.bad_request(f"invalid slack contact point: {key} must be an http(s) URL")
            try:
                httpx.URL(str(value))
            except httpx.InvalidURL as exc:
                raise AppError.bad_request(f"invalid slack contact point: {key}: {exc}") from None


def body(
    integration: Integration, data: dict[str, Any], ts: int, texts: templates.Texts | None = None
) -> dict[str, Any]:
    texts = texts or templates.Texts(data)
    firing = data["status"] == "firing"
    attachment: dict[str, Any] = {
        "color": "#D63232" if firing else "#36a64f",
        "title": texts.text(integration.setting("title"), templates.title, "title"),
        "title_link": data["externalURL"] + "alerting/list",
        "text": texts.text(integration.setting("text"), templates.message, "text"),
        "fallback": templates.title(data),
        "footer": "Grafana v" + str(data.get("grafanaVersion", "")),
        "footer_icon": FOOTER_ICON,
        "ts": ts,
        "mrkdwn_in": ["pretext"],
    }
    mentions = []
    for user in str(integration.setting("mentionUsers", "")).split(","):
        if user.strip():
            mentions.append(f"<@{user.strip()}>")
    channel_mention = integration.setting("mentionChannel", "")
    if channel_mention in ("here", "channel"):
        mentions.append(f"<!{channel_mention}>")
    if mentions:
        attachment["pretext"] = " ".join(mentions)
    out: dict[str, Any] = {"attachments": [attachment]}
    if integration.setting("recipient"):
        out["channel"] = integration.setting("recipient")
    if integration.setting("username"):
        out["username"] = integration.setting("username")
    if integration.setting("icon_emoji"):
        out["icon_emoji"] = integration.setting("icon_emoji")
    if integration.setting("icon_url"):
        out["icon_url"] = integration.setting("icon_url")
    return out


async def send(integration: Integration, data: dict[str, Any], ctx: SendContext) -> None:
    import time

    url = integration.setting("url")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if not url:
        url = integration.setting("endpointUrl", POST_MESSAGE)
        headers["Authorization"] = f"Bearer {integration.setting('token')}"
    data = {**data, "grafanaVersion": ctx.version}
    payload = orjson.dumps(body(integration, data, int(time.time()), await ctx.texts(integration, data)))
    try:
        resp = await ctx.request("POST", url, content=payload, headers=headers, timeout=ctx.timeout)
    except (OutboundBlocked, httpx.InvalidURL) as exc:
        raise DeliveryError(str(exc), permanent=True) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"slack request failed: {type(exc).__name__}: {exc}") from exc
    if resp.status_code >= 400:
        permanent = 400 <= resp.status_code < 500 and resp.status_code != 429
        raise DeliveryError(f"slack answered {resp.status_code}: {resp.text[:200]}", permanent=permanent)
    if resp.headers.get("content-type", "").startswith("application/json"):
        try:
            answer = resp.json()
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("ok") is False:
            raise DeliveryError(f"slack refused the message: {answer.get('error')}", permanent=True)
