"""Notification templates: named texts of Go ``define`` blocks that contact-point titles and
messages call (``{{ template "my.title" . }}``), kept per org in the shared database.

A text that defines nothing is one template named after it (Grafana wraps it the same way). What
the senders read is cached per replica and kept exact through the change bus: a write records the
change in its own transaction, every replica drops its copy when it hears of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from vigil.alerting.tables import alert_notification_template as nt
from vigil.alerting.template import Node, TemplateError, definitions
from vigil.clock import Clock
from vigil.errors import AppError
from vigil.storage.db import Database, now_ms

TOPIC = "alerting.templates"
MAX_LENGTH = 256 * 1024


def _as_dict(row: Any) -> dict[str, Any]:
    return {"name": row.name, "template": row.template, "provenance": row.provenance or ""}


def _defines(name: str, text: str) -> dict[str, list[Node]]:
    """The templates ``text`` defines, or ``text`` itself as the template ``name``."""
    found = definitions(text)
    return found or definitions(
        '{{ define "' + name.replace("\\", "\\\\").replace('"', '\\"') + '" }}' + text + "{{ end }}"
    )


class NotificationTemplates:
    def __init__(self, db: Database, clock: Clock, bus: Any = None, syncer: Any = None) -> None:
        self.db = db
        self.clock = clock
        self.bus = bus
        # A shared ``notifycache.BusSync``: sends of one evaluation round share one bus poll.
        self.syncer = syncer
        self._named: dict[int, dict[str, list[Node]]] = {}
        self._generation = 0
        if bus is not None:
            bus.on_writes(("alert_notification_template",), TOPIC, self._on_change)

    def _on_change(self, *_: Any) -> None:
        self._generation += 1
        self._named.clear()

    # -- the provisioning API ---------------------------------------------------------------------

    async def list_all(self, org_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = (await conn.execute(select(nt).where(nt.c.org_id == org_id).order_by(nt.c.name))).all()
        return [_as_dict(r) for r in rows]

    async def get(self, org_id: int, name: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (await conn.execute(select(nt).where(nt.c.org_id == org_id, nt.c.name == name))).first()
        if row is None:
            raise AppError.not_found("template not found")
        return _as_dict(row)

    async def put(self, org_id: int, name: str, body: Any, provenance: str) -> dict[str, Any]:
        """Create or replace the template ``name`` (Grafana's PUT /templates/:name)."""
        if not isinstance(body, Mapping):
            raise AppError.bad_request("bad request data: a JSON object with a template is expected")
        text = body.get("template")
        if not isinstance(text, str) or not text.strip():
            raise AppError.bad_request("invalid template: template is required")
        if not name.strip() or len(name) > 190:
            raise AppError.bad_request("invalid template: a name of 1 to 190 characters is required")
        if len(text) > MAX_LENGTH:
            raise AppError.bad_request(f"invalid template: longer than {MAX_LENGTH} characters")
        try:
            _defines(name, text)
        except TemplateError as exc:
            raise AppError.bad_request(f"invalid template: {exc}") from None
        values = {"template": text, "provenance": provenance, "updated": now_ms(self.clock)}
        for _ in range(3):  # a concurrent create of the same name: the second one updates
            async with self.db.write() as conn:
                changed = await conn.execute(
                    update(nt)
                    .where(nt.c.org_id == org_id, nt.c.name == name)
                    .values(**values, version=nt.c.version + 1)
                )
                if changed.rowcount:
                    break
            try:
                async with self.db.write() as conn:
                    await conn.execute(nt.insert().values(org_id=org_id, name=name, version=1, **values))
                break
            except IntegrityError:
                continue
        return {"name": name, "template": text, "provenance": provenance}

    async def delete(self, org_id: int, name: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(delete(nt).where(nt.c.org_id == org_id, nt.c.name == name))

    # -- for the senders --------------------------------------------------------------------------

    async def named(self, org_id: int, since: float | None = None) -> dict[str, list[Node]]:
        """Every template the org's notification templates define, by name (as of a bus poll that
        started after this call, or with ``since`` and a ``syncer`` after that instant: a change
        committed on any replica before it is seen)."""
        caching = self.bus is not None and self.bus.started
        if caching:
            if self.syncer is not None:
                await self.syncer.sync(since)
            else:
                await self.bus.sync()
        cached = self._named.get(org_id) if caching else None
        if cached is not None:
            return cached
        generation = self._generation
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(nt.c.name, nt.c.template).where(nt.c.org_id == org_id).order_by(nt.c.name)
                )
            ).all()
        found: dict[str, list[Node]] = {}
        for row in rows:
            try:
                found.update(_defines(row.name, row.template))
            except TemplateError:
                continue  # refused at save time; a text stored by an older version is skipped
        if self.bus is not None and self.bus.started and generation == self._generation:
            self._named[org_id] = found
        return found
