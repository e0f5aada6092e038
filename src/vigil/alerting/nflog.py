"""The notification log: claimed notifications, their delivery, retries and take-overs.

A row is inserted (in the flushing transaction) with a unique claim key, ``status = pending``,
``claimed_by`` this replica and a lease. After the commit, the claimant delivers and records the
outcome with a compare-and-swap on ``claimed_by``. A failed attempt releases the row until its
back-off time; a claim whose lease lapses (the claimant died) is taken by whichever replica's
sweep gets it first. The only duplicate left is a crash in the middle of an HTTP send (the
receiver got it, the log did not): at-least-once there, and the ``X-Vigil-Notification-Id``
header lets a receiver spot it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting.metrics import AlertingMetrics
from vigil.alerting.notifier import DeliveryError, Integration, SendContext, channel
from vigil.alerting.notifyconfig import NotifyConfig
from vigil.alerting.sqlutil import dumps, insert_ignore_stmt, loads
from vigil.alerting.tables import alert_notification as t
from vigil.clock import Clock
from vigil.storage.db import Database, now_ms

log = logging.getLogger("vigil.alerting.nflog")
ORDER_RETRY_MS = 300
# Statements of the hot path, built once (executed with their parameters).
_PENDING = (
    select(t.c.id)
    .where(
        t.c.group_id == bindparam("q_group"),
        t.c.integration_uid == bindparam("q_integration"),
        t.c.status == "pending",
    )
    .limit(1)
)
_RECORD = update(t).where(
    t.c.id == bindparam("b_id"), t.c.claimed_by == bindparam("b_by"), t.c.status == "pending"
)


_CLAIM: dict[str, Any] = {}


def _claim_stmt(dialect: str) -> Any:
    """The claim's insert-if-absent. Where the dialect has ``RETURNING`` (not MySQL), it returns
    the id and whether another notification of the group to the integration is still pending
    (parameters ``q_group``, ``q_integration``, ``q_key``: the row's group, integration and claim
    key). Any other one is an earlier one: a later one would need the group's lock, held here."""
    stmt = _CLAIM.get(dialect)
    if stmt is None:
        stmt = insert_ignore_stmt(dialect, t)
        if dialect != "mysql":
            p = t.alias("earlier")
            queued = exists().where(
                p.c.group_id == bindparam("q_group"),
                p.c.integration_uid == bindparam("q_integration"),
                p.c.status == "pending",
                p.c.claim_key != bindparam("q_key"),
            )
            stmt = stmt.returning(t.c.id, queued.label("queued"))
        _CLAIM[dialect] = stmt
    return stmt


def backoff_ms(attempts: int) -> int:
    """Delay before attempt ``attempts + 1``: 1 s, 2 s, 4 s … capped at 60 s."""
    return int(min(60.0, 2 ** max(0, attempts - 1)) * 1000)


@dataclass
class Claimed:
    """A notification claimed by this replica's flush: its id, the row's fields the send needs,
    its integration, and whether an earlier one of its group and integration is still pending."""

    id: int
    row: dict[str, Any]
    integration: Integration
    ordered: bool


class NotificationLog:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: NotifyConfig,
        instance: str,
        metrics: AlertingMetrics,
        context: Callable[[str, float | None], SendContext],
        max_attempts: int,
        timeout: float,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.instance = instance
        self.metrics = metrics
        self.context = context
        self.max_attempts = max_attempts
        self.timeout = timeout
        # A claim must outlive one send attempt (the HTTP timeout) with room to record the outcome.
        self.lease_ms = int((timeout * 2 + 1) * 1000)

    async def claim(
        self,
        conn: AsyncConnection,
        *,
        claim_key: str,
        org_id: int,
        group_id: int,
        seq: int,
        integration: Integration,
        data: dict[str, Any],
        firing: int,
        resolved: int,
        now: int,
    ) -> Claimed | None:
        """Insert the claim (in the flushing transaction, the group's row locked); returns it when
        this transaction won it (None: another replica did), noting whether an earlier
        notification of the group to this integration is still pending (then it queues behind)."""
        values: dict[str, Any] = {
            "claim_key": claim_key,
            "org_id": org_id,
            "group_id": group_id,
            "seq": seq,
            "receiver": integration.name,
            "integration_uid": integration.uid,
            "integration_type": integration.type,
            "status": "pending",
            "payload": dumps(data),
            "firing": firing,
            "resolved": resolved,
            "claimed_by": self.instance,
            "lease_until": now + self.lease_ms,
            "attempts": 0,
            "last_error": "",
            "created": now,
            "sent_at": 0,
            "sent_by": "",
        }
        stmt = _claim_stmt(self.db.dialect)
        if self.db.dialect == "mysql":
            earlier = await conn.execute(_PENDING, {"q_group": group_id, "q_integration": integration.uid})
            ordered = earlier.first() is not None
            result = await conn.execute(stmt, values)
            if result.rowcount != 1:
                self.metrics.notifications_deduplicated.inc()
                return None
            nid = int(result.lastrowid)
        else:
            params = {**values, "q_group": group_id, "q_integration": integration.uid, "q_key": claim_key}
            row = (await conn.execute(stmt, params)).first()  # a row only when this insert won
            if row is None:
                self.metrics.notifications_deduplicated.inc()
                return None
            nid, ordered = int(row[0]), bool(row[1])
        return Claimed(nid, {**values, "id": nid, "group_id": group_id}, integration, ordered)

    def _one_statement(self) -> Any:
        """A connection for one update that needs no transaction of its own. PostgreSQL:
        ``fast_read()`` (the statement commits by itself: no BEGIN and COMMIT round trips);
        elsewhere a write transaction. Not for tables with write watches (none here)."""
        return self.db.fast_read() if self.db.dialect == "postgresql" else self.db.write()

    async def deliver(self, ids: list[int]) -> None:
        await asyncio.gather(*(self._attempt(i) for i in ids))

    async def deliver_claimed(self, claims: list[Claimed], as_of: float | None = None) -> None:
        """Deliver notifications this replica has just claimed and committed, from what the flush
        already holds (no re-read); one queued behind an earlier pending notification of its group
        and integration takes the checked path. ``as_of``: when the evaluation that caused them
        started (templates committed before then are used)."""
        await asyncio.gather(
            *(
                self._attempt(c.id) if c.ordered else self._send_and_record(c.id, c.row, c.integration, as_of)
                for c in claims
            )
        )

    async def _attempt(self, nid: int) -> None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(t).where(t.c.id == nid, t.c.claimed_by == self.instance, t.c.status == "pending")
                )
            ).first()
        if row is None:
            return
        m = row._mapping
        if await self._earlier_pending(m):
            return
        integ = await self.config.integration(m["integration_uid"])
        await self._send_and_record(nid, m, integ)

    async def _send_and_record(
        self, nid: int, m: Any, integ: Integration | None, as_of: float | None = None
    ) -> None:
        error: DeliveryError | None = None
        if integ is None:
            error = DeliveryError("the contact point was deleted", permanent=True)
        else:
            try:
                await channel(integ.type).send(
                    integ, loads(m["payload"], {}), self.context(m["claim_key"], as_of)
                )
            except DeliveryError as exc:
                error = exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = DeliveryError(f"{type(exc).__name__}: {exc}")
        attempts = int(m["attempts"]) + 1
        now = now_ms(self.clock)
        if error is None:
            values: dict[str, Any] = {
                "status": "sent",
                "attempts": attempts,
                "sent_at": now,
                "sent_by": self.instance,
                "last_error": "",
            }
            self.metrics.notifications_sent.labels(m["integration_type"]).inc()
        else:
            final = error.permanent or attempts >= self.max_attempts
            self.metrics.notifications_failed.labels(
                m["integration_type"], "true" if final else "false"
            ).inc()
            log.warning(
                "notification %s to %s (%s) failed, attempt %d%s: %s",
                m["claim_key"], m["receiver"], m["integration_type"], attempts,
                " (final)" if final else "", error,
            )  # fmt: skip
            values = {"attempts": attempts, "last_error": str(error)[:2000]}
            if final:
                values["status"] = "failed"
            else:
                values.update(claimed_by="", lease_until=now + backoff_ms(attempts))
        async with self._one_statement() as conn:
            done = await conn.execute(_RECORD, {"b_id": nid, "b_by": self.instance, **values})
        if done.rowcount != 1:
            log.warning("notification %s was taken over while this replica was sending it", m["claim_key"])

    async def _earlier_pending(self, m: Any) -> bool:
        """Keep a group's notifications in order: while an earlier one to the same integration is
        still pending (e.g. its claimant died and its lease has not lapsed yet), hand this one back
        to be retried shortly, without counting an attempt."""
        async with self.db.read() as conn:
            earlier = (
                await conn.execute(
                    select(t.c.id)
                    .where(
                        t.c.group_id == m["group_id"],
                        t.c.integration_uid == m["integration_uid"],
                        t.c.status == "pending",
                        t.c.id < m["id"],
                    )
                    .limit(1)
                )
            ).first()
        if earlier is None:
            return False
        async with self.db.write() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id == m["id"], t.c.claimed_by == self.instance, t.c.status == "pending")
                .values(claimed_by="", lease_until=now_ms(self.clock) + ORDER_RETRY_MS)
            )
        return True

    async def sweep(self, limit: int = 50) -> int:
        """Take pending notifications whose lease lapsed (retries due, or a dead claimant's)."""
        now = now_ms(self.clock)
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.claimed_by, t.c.lease_until)
                    .where(t.c.status == "pending", t.c.lease_until <= now)
                    .order_by(t.c.id)
                    .limit(limit)
                )
            ).all()
        taken = []
        for nid, holder, lease in rows:
            async with self.db.write() as conn:
                res = await conn.execute(
                    update(t)
                    .where(
                        t.c.id == nid,
                        t.c.status == "pending",
                        t.c.claimed_by == holder,
                        t.c.lease_until == lease,
                    )
                    .values(claimed_by=self.instance, lease_until=now + self.lease_ms)
                )
            if res.rowcount == 1:
                if holder:
                    self.metrics.claims_taken_over.inc()
                    log.info("took over notification %s claimed by %s", nid, holder)
                taken.append(int(nid))
        if taken:
            await self.deliver(taken)
        return len(taken)

    async def recent(self, org_id: int, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = (
                await conn.execute(select(t).where(t.c.org_id == org_id).order_by(t.c.id.desc()).limit(limit))
            ).all()
        out = []
        for r in rows:
            m = r._mapping
            out.append(
                {
                    "id": m["id"],
                    "claimKey": m["claim_key"],
                    "receiver": m["receiver"],
                    "integration": m["integration_uid"],
                    "type": m["integration_type"],
                    "status": m["status"],
                    "attempts": m["attempts"],
                    "error": m["last_error"],
                    "firing": m["firing"],
                    "resolved": m["resolved"],
                    "claimedBy": m["claimed_by"],
                    "sentBy": m["sent_by"],
                    "created": m["created"],
                    "sentAt": m["sent_at"],
                }
            )
        return out
