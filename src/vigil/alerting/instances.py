"""Alert instances (one per label set of a rule) in the shared database, and applying one
evaluation to them.

``plan`` is pure: stored states + an evaluation outcome -> the changes. ``InstanceStore.apply``
writes them as compare-and-swap updates (``version`` and "only a later evaluation"), so when two
replicas evaluate the same rule (``ha_mode = all``, or a lease hand-off) a transition is written
once; the write also records the annotation and enqueues the notification in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting.evaluator import EvalOutcome, instance_labels, render_annotations
from vigil.alerting.labels import fingerprint, format_labels, public
from vigil.alerting.models import Rule
from vigil.alerting.sqlutil import dumps, insert_ignore_stmt, loads, write_retrying
from vigil.alerting.state import (
    InstanceState,
    Outcome,
    State,
    alert_kind,
    is_firing,
    notify_change,
    transition,
)
from vigil.alerting.tables import alert_instance as t
from vigil.annotations.tables import annotation
from vigil.storage.db import Database

log = logging.getLogger("vigil.alerting.state")
# Statements of the hot path, built once (executed with their parameters).
_UPDATE_INSTANCE = update(t).where(
    t.c.id == bindparam("b_id"), t.c.version == bindparam("b_version"), t.c.last_eval < bindparam("b_tick")
)
_INSERT_ANNOTATION = insert(annotation)
_STORED = select(t).where(t.c.rule_uid.in_(bindparam("b_uids", expanding=True)))
MISSING_EVALS = 2  # a series absent this many evaluations in a row is resolved (MissingSeries)


@dataclass
class Stored:
    id: int
    fingerprint: str
    labels: dict[str, str]
    st: InstanceState
    last_eval: int
    version: int
    values: dict[str, float | None] = field(default_factory=dict)
    value_text: str = ""
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Change:
    fingerprint: str
    labels: dict[str, str]
    old: Stored | None
    new: InstanceState
    values: dict[str, float | None]
    value_text: str
    annotations: dict[str, str]
    delete: bool = False

    @property
    def state_changed(self) -> bool:
        return self.old is None or self.old.st.state != self.new.state


def _ms(s: float) -> int:
    return round(s * 1000)


def row_to_stored(m: Any) -> Stored:
    return Stored(
        id=m["id"],
        fingerprint=m["fingerprint"],
        labels=loads(m["labels"], {}),
        st=InstanceState(
            State(m["state"]),
            m["reason"],
            since=m["since"] / 1000,
            active_at=m["active_at"] / 1000,
            fired_at=m["fired_at"] / 1000,
            resolved_at=m["resolved_at"] / 1000,
        ),
        last_eval=m["last_eval"],
        version=m["version"],
        values=loads(m["values_json"], {}),
        value_text=m["value_text"],
        annotations=loads(m["annotations"], {}),
    )


def plan(
    rule: Rule, outcome: EvalOutcome, stored: dict[str, Stored], now: float, missing: dict[str, int]
) -> list[Change]:
    """Pure: the changes one evaluation at ``now`` makes. ``missing`` counts, per fingerprint, the
    consecutive evaluations a stored series was absent (updated in place)."""
    timing = rule.timing
    changes: list[Change] = []
    if outcome.kind == "ok":
        seen = set()
        for s in outcome.series:
            seen.add(s.fingerprint)
            missing.pop(s.fingerprint, None)
            old = stored.get(s.fingerprint)
            new = transition(old.st if old else None, s.outcome, timing, now)
            if old is None and new.state == State.NORMAL:
                continue
            if old is not None and new == old.st:
                continue
            notes = render_annotations(rule, s.labels, s.values, s.value_text)
            changes.append(Change(s.fingerprint, s.labels, old, new, s.values, s.value_text, notes))
        for fp, old in stored.items():
            if fp in seen:
                continue
            if old.st.state == State.NORMAL:
                changes.append(
                    Change(
                        fp, old.labels, old, old.st, old.values, old.value_text, old.annotations, delete=True
                    )
                )
                continue
            count = missing.get(fp, 0) + 1
            missing[fp] = count
            # Data is back: a NoData/Error instance without a series of its own resolves now; a
            # series gone for MISSING_EVALS evaluations resolves as MissingSeries.
            special = old.st.state in (State.NODATA, State.ERROR)
            if special or count >= MISSING_EVALS:
                new = InstanceState(
                    State.NORMAL,
                    "" if special else "MissingSeries",
                    since=now,
                    fired_at=old.st.fired_at,
                    resolved_at=now if is_firing(old.st.state) else old.st.resolved_at,
                )
                missing.pop(fp, None)
                changes.append(Change(fp, old.labels, old, new, old.values, old.value_text, old.annotations))
        return changes
    kind = Outcome.NODATA if outcome.kind == "nodata" else Outcome.ERROR
    targets = list(stored.values())
    if not targets:
        labels = instance_labels(rule, {}, {}, "")
        fp = fingerprint(labels)
        new = transition(None, kind, timing, now)
        if new.state != State.NORMAL:
            notes = render_annotations(rule, labels, {}, "")
            if kind == Outcome.ERROR and outcome.error:
                notes["Error"] = outcome.error
            changes.append(Change(fp, labels, None, new, {}, "", notes))
        return changes
    for old in targets:
        new = transition(old.st, kind, timing, now)
        if new == old.st:
            continue
        notes = dict(old.annotations)
        if kind == Outcome.ERROR and outcome.error:
            notes["Error"] = outcome.error
        changes.append(Change(old.fingerprint, old.labels, old, new, old.values, old.value_text, notes))
    return changes


def notified_labels(labels: dict[str, str], state: State) -> dict[str, str]:
    """Labels sent to receivers: NoData/Error instances become DatasourceNoData/DatasourceError alerts."""
    kind = alert_kind(state)
    if not kind:
        return dict(labels)
    out = dict(labels)
    out["rulename"] = labels.get("alertname", "")
    out["alertname"] = kind
    return out


def state_text(st: InstanceState) -> str:
    return f"{st.state.value} ({st.reason})" if st.reason else st.state.value


class InstanceStore:
    def __init__(self, db: Database, instance: str) -> None:
        self.db = db
        self.instance = instance

    async def load(self, rule_uids: list[str]) -> dict[str, dict[str, Stored]]:
        out: dict[str, dict[str, Stored]] = {u: {} for u in rule_uids}
        if not rule_uids:
            return out
        async with self.db.fast_read() as conn:
            rows = await conn.execute(_STORED, {"b_uids": rule_uids})
            for r in rows:
                m = r._mapping
                out.setdefault(m["rule_uid"], {})[m["fingerprint"]] = row_to_stored(m)
        return out

    async def for_org(self, org_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(t).where(t.c.org_id == org_id))
            return [dict(r._mapping) for r in rows]

    async def apply(
        self, rule: Rule, changes: list[Change], now: float, dispatch: Any, as_of: float | None = None
    ) -> tuple[list[Change], list[int], list[Any]]:
        """Write ``changes`` (those whose CAS succeeds) in one transaction, flushing there the
        dispatch groups this makes due at once. Returns the changes written, the due groups left
        for a flush of their own, and the notifications claimed (to deliver after the commit).
        ``as_of`` (``clock.monotonic()``, when the evaluation started): notification settings
        committed before then are heeded (by default, those committed before this call)."""
        if not changes:
            return [], [], []
        tick = _ms(now)
        # MySQL's repeatable read would show an in-transaction flush a snapshot older than the
        # group's lock: there the due groups are flushed in transactions of their own.
        inline = self.db.dialect != "mysql"

        async def body(conn: Any) -> tuple[list[Change], list[int], list[Any]]:
            written: list[Change] = []
            due: list[int] = []
            # Group rows held for the flush at the end (written there); None: no flush here.
            locked: dict[int, dict[str, Any]] | None = {} if inline else None
            settings = None
            for c in sorted(changes, key=lambda c: c.fingerprint):
                if not await self._write(conn, rule, c, tick):
                    continue
                written.append(c)
                if c.delete:
                    continue
                if c.state_changed:
                    await self._annotate(conn, rule, c, tick)
                kind = notify_change(c.old.st if c.old else None, c.new)
                instance_key = f"{rule.uid}:{c.fingerprint}"
                if kind == "firing":
                    labels = notified_labels(c.labels, c.new.state)
                    record = {
                        "labels": labels,
                        "annotations": c.annotations,
                        "values": c.values,
                        "valueString": c.value_text,
                        "fingerprint": fingerprint(public(labels)),
                        "ruleUid": rule.uid,
                        "orgId": rule.org_id,
                    }
                    if settings is None:
                        settings = await dispatch.cache.org(conn, rule.org_id)
                    # An instance that was not firing has no firing alert of another kind to resolve.
                    was_firing = c.old is not None and is_firing(c.old.st.state)
                    due += await dispatch.enqueue_firing(
                        conn, rule, instance_key, alert_kind(c.new.state), record, _ms(c.new.fired_at), tick,
                        settings, locked, resolve_others=was_firing,
                    )  # fmt: skip
                elif kind == "resolved":
                    due += await dispatch.enqueue_resolved(conn, instance_key, tick, None, locked)
            claimed: list[Any] = []
            if locked is not None and due:
                rest = sorted({gid for gid in due if gid not in locked})
                if settings is None:
                    settings = await dispatch.cache.org(conn, rule.org_id)
                claimed = await dispatch.flush_due(conn, due, locked, settings)
                due = rest
            return written, due, claimed

        if any(not c.delete for c in changes):
            await dispatch.cache.sync(as_of)
        return await write_retrying(self.db, body, fast=True)

    async def _write(self, conn: AsyncConnection, rule: Rule, c: Change, tick: int) -> bool:
        if c.delete:
            assert c.old is not None
            res = await conn.execute(delete(t).where(t.c.id == c.old.id, t.c.version == c.old.version))
            return res.rowcount == 1
        values = {
            "labels": dumps(c.labels),
            "state": c.new.state.value,
            "reason": c.new.reason[:40],
            "since": _ms(c.new.since),
            "active_at": _ms(c.new.active_at),
            "fired_at": _ms(c.new.fired_at),
            "resolved_at": _ms(c.new.resolved_at),
            "last_eval": tick,
            "value_text": c.value_text,
            "values_json": dumps(c.values),
            "annotations": dumps(c.annotations),
        }
        if c.old is None:
            res = await conn.execute(
                insert_ignore_stmt(self.db.dialect, t),
                {
                    "org_id": rule.org_id,
                    "rule_uid": rule.uid,
                    "fingerprint": c.fingerprint,
                    "version": 1,
                    **values,
                },
            )
            return res.rowcount == 1
        res = await conn.execute(
            _UPDATE_INSTANCE,
            {
                "b_id": c.old.id,
                "b_version": c.old.version,
                "b_tick": tick,
                "version": c.old.version + 1,
                **values,
            },
        )
        return res.rowcount == 1

    async def _annotate(self, conn: AsyncConnection, rule: Rule, c: Change, tick: int) -> None:
        prev = state_text(c.old.st) if c.old else "Normal"
        pub = public(c.labels)
        text = format_labels(pub)
        if c.values:
            text += " - " + ", ".join(f"{k}={v}" for k, v in c.values.items())
        try:
            panel = int(rule.annotations.get("__panelId__", "0") or 0)
        except ValueError:
            panel = 0
        await conn.execute(
            _INSERT_ANNOTATION,
            {
                "org_id": rule.org_id,
                "dashboard_uid": rule.annotations.get("__dashboardUid__", ""),
                "dashboard_id": 0,
                "panel_id": panel,
                "user_id": 0,
                "alert_id": rule.id,
                "alert_name": rule.title[:255],
                "prev_state": prev[:40],
                "new_state": state_text(c.new)[:40],
                "text": text,
                "data": dumps(
                    {"values": c.values, "labels": pub, "ruleUid": rule.uid, "instance": self.instance}
                ),
                "epoch": tick,
                "epoch_end": tick,
                "created": tick,
                "updated": tick,
            },
        )
