"""Notifiers: one module per channel (webhook, email, slack). Each exposes ``SECURE`` (setting
names stored encrypted), ``validate(settings)`` and ``async send(integration, data, ctx)``."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from vigil.alerting.notifier.templates import Texts
    from vigil.alerting.template import Node


class DeliveryError(Exception):
    """A failed send. ``permanent`` failures are not retried (bad address, 4xx, misconfiguration)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class Integration:
    uid: str
    org_id: int
    name: str  # the contact point (receiver) name
    type: str
    settings: dict[str, Any]
    secure: dict[str, str] = field(default_factory=dict)
    disable_resolve_message: bool = False

    def setting(self, key: str, default: Any = None) -> Any:
        if key in self.secure:
            return self.secure[key]
        value = self.settings.get(key)
        return default if value in (None, "") else value


@dataclass
class SMTPSettings:
    enabled: bool = False
    host: str = "localhost:25"
    user: str = ""
    password: str = ""
    from_address: str = "admin@vigil.localhost"
    from_name: str = "Vigil"
    ehlo_identity: str = ""
    starttls_policy: str = "OpportunisticStartTLS"
    skip_verify: bool = False


@dataclass
class SendContext:
    http: httpx.AsyncClient
    timeout: float
    root_url: str
    version: str
    smtp: SMTPSettings
    notification_id: str = ""
    # the org's notification templates by name (vigil.alerting.notification_templates), as of
    # ``as_of`` (clock.monotonic(): the evaluation that caused the notification) or of the call
    templates: Callable[[int, float | None], Awaitable[Mapping[str, list[Node]]]] | None = None
    as_of: float | None = None

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP request of a notification. A receiver may close a kept-alive connection just
        as it is reused (its idle timeout, e.g. 5 s in uvicorn and Node.js, meets the client's):
        the request then fails before any answer. It is made once more at once, on a new
        connection, instead of failing the attempt (retried only a back-off later). An error of
        the second try, or any other error, is the attempt's."""
        try:
            return await self.http.request(method, url, **kwargs)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            return await self.http.request(method, url, **kwargs)

    async def texts(self, integration: Integration, data: dict[str, Any]) -> Texts:
        """What renders this notification's title and message settings (templates)."""
        from vigil.alerting.notifier.templates import Texts

        named = await self.templates(integration.org_id, self.as_of) if self.templates is not None else None
        return Texts(data, named)


def channels() -> dict[str, ModuleType]:
    return {
        kind: importlib.import_module(f"vigil.alerting.notifier.{kind}")
        for kind in ("webhook", "email", "slack")
    }


def channel(kind: str) -> ModuleType:
    found = channels().get(kind)
    if found is None:
        raise DeliveryError(f"unsupported contact point type {kind!r}", permanent=True)
    return found
