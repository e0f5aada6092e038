"""E-mail contact point: one multipart (text and HTML) message over SMTP ([smtp] settings), to
each address or, with ``singleEmail``, one message to all of them."""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from vigil.alerting.notifier import DeliveryError, Integration, SendContext, SMTPSettings, templates
from vigil.errors import AppError

SECURE: tuple[str, ...] = ()
_SPLIT = re.compile(r"[;,\n]")


def addresses(raw: Any) -> list[str]:
    return [a.strip() for a in _SPLIT.split(str(raw or "")) if a.strip()]


def validate(settings: dict[str, Any]) -> None:
    found = addresses(settings.get("addresses"))
    if not found:
        raise AppError.bad_request("invalid email contact point: addresses is required")
    for a in found:
        if "@" not in a:
            raise AppError.bad_request(f"invalid email contact point: {a!r} is not an e-mail address")


def build(
    integration: Integration,
    data: dict[str, Any],
    smtp: SMTPSettings,
    to: list[str],
    msg_id: str,
    texts: templates.Texts | None = None,
) -> EmailMessage:
    texts = texts or templates.Texts(data)
    msg = EmailMessage()
    # a header is one line: a template's line breaks become spaces
    msg["Subject"] = " ".join(texts.text(integration.setting("subject"), templates.title, "subject").split())
    msg["From"] = formataddr((smtp.from_name, smtp.from_address))
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = msg_id or make_msgid(domain="vigil")
    text = templates.message(data)
    if integration.setting("message"):
        text = texts.text(integration.setting("message"), templates.message, "message") + "\n\n" + text
    msg.set_content(text)
    msg.add_alternative(templates.message_html(data), subtype="html")
    return msg


def _deliver(smtp: SMTPSettings, msg: EmailMessage, timeout: float) -> None:
    host, _, port_text = smtp.host.rpartition(":")
    if not host:
        host, port_text = smtp.host, "25"
    port = int(port_text or 25)
    context = ssl.create_default_context()
    if smtp.skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    client: smtplib.SMTP
    if port == 465:
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout, local_hostname=smtp.ehlo_identity or None)
    with client:
        client.ehlo()
        if port != 465 and smtp.starttls_policy != "NoStartTLS":
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif smtp.starttls_policy == "MandatoryStartTLS":
                raise DeliveryError("SMTP server does not offer STARTTLS (MandatoryStartTLS)", permanent=True)
        if smtp.user:
            client.login(smtp.user, smtp.password)
        client.send_message(msg)


async def send(integration: Integration, data: dict[str, Any], ctx: SendContext) -> None:
    smtp = ctx.smtp
    if not smtp.enabled:
        raise DeliveryError("SMTP is not configured: set [smtp] enabled and host", permanent=True)
    to = addresses(integration.setting("addresses"))
    batches = [to] if integration.setting("singleEmail", False) else [[a] for a in to]
    texts = await ctx.texts(integration, data)
    for i, batch in enumerate(batches):
        msg_id = f"<{ctx.notification_id.replace(':', '.')}.{i}@vigil>" if ctx.notification_id else ""
        msg = build(integration, data, smtp, batch, msg_id, texts)
        try:
            await asyncio.to_thread(_deliver, smtp, msg, ctx.timeout)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused the recipients: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}: {exc}") from exc
