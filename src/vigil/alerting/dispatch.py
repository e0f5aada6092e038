"""Dispatch: alerts into shared aggregation groups, and flushing a group into claimed notifications.

The evaluator calls ``enqueue_firing``/``enqueue_resolved`` inside the transaction that writes the
state change, so a state change and its pending notification commit together; a group that this
makes due at once is flushed in that same transaction (``flush_locked``), and the claimed
notifications are delivered right after the commit. Any replica may flush a due group: the flush
advances the group's ``seq`` (the group row locked, its ``seq`` checked) and inserts one row per
integration with the unique claim key ``<group>:<seq>:<integration>`` (the notification log).
Only the replica whose transaction committed sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import bindparam, delete, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting import mutetiming, payload, routing
from vigil.alerting.decisions import SentEntry, needs_update, next_flush
from vigil.alerting.labels import public
from vigil.alerting.metrics import AlertingMetrics
from vigil.alerting.models import Rule
from vigil.alerting.nflog import Claimed, NotificationLog
from vigil.alerting.notifycache import NotifyCache, OrgNotify
from vigil.alerting.sqlutil import dumps, insert_ignore_stmt, loads, write_retrying
from vigil.alerting.tables import alert_group as g
from vigil.alerting.tables import alert_group_member as gm
from vigil.clock import Clock
from vigil.storage.db import Database, now_ms

log = logging.getLogger("vigil.alerting.dispatch")

AfterClaim = Callable[[list[int]], Awaitable[None]]
# Group rows a transaction holds locked with a checked ``seq``: id -> the row as it now stands.
Locked = dict[int, dict[str, Any]]


def synthetic_route(rule: Rule) -> routing.Route:
    """Simplified routing: a rule's ``notification_settings`` name its receiver and timers."""
    ns = rule.notification_settings or {}
    tree = {
        "receiver": ns["receiver"],
        "group_by": ns.get("group_by") or ["alertname", "grafana_folder"],
        **{k: ns[k] for k in ("group_wait", "group_interval", "repeat_interval") if ns.get(k)},
        "mute_time_intervals": ns.get("mute_time_intervals") or [],
    }
    route = routing.build(tree)
    route.path = "rule"
    route.key = '{}/{__grafana_receiver__="' + ns["receiver"] + '"}'
    return route


def due_at(active: bool, nxt: int, last: int, now: int, wait: float, interval: float, new_alert: bool) -> int:
    """When a group must flush after an alert joined (``new_alert``) or changed in it (ms)."""
    if not active:
        return now + int(wait * 1000) if new_alert else now
    candidate = max(now, last + int(interval * 1000))
    return min(nxt, candidate) if nxt > 0 else candidate


# Statements of the hot path, built once (executed with their parameters).
_GROUP_BY_ID = select(g).where(g.c.id == bindparam("b_id")).with_for_update()
_GROUP_BY_HASH = (
    select(g).where(g.c.org_id == bindparam("b_org"), g.c.hash == bindparam("b_hash")).with_for_update()
)
_MARK_DUE = update(g).where(g.c.id == bindparam("b_id"))
_FLUSHED = update(g).where(g.c.id == bindparam("b_id"), g.c.seq == bindparam("b_seq"))
_FIRING_OF_INSTANCE = select(gm.c.id, gm.c.group_id, gm.c.member_key).where(
    gm.c.instance_key == bindparam("b_key"), gm.c.status == "firing"
)
_RESOLVE_MEMBERS = update(gm).where(gm.c.id.in_(bindparam("b_ids", expanding=True)))
_MEMBERS_OF_GROUP = select(gm).where(gm.c.group_id == bindparam("b_gid"))
_DELETE_MEMBERS = delete(gm).where(gm.c.id.in_(bindparam("b_ids", expanding=True)))
_REFRESH_MEMBER = update(gm).where(gm.c.group_id == bindparam("b_gid"), gm.c.member_key == bindparam("b_key"))


async def _mark_due(
    conn: AsyncConnection,
    row: dict[str, Any],
    now: int,
    wait: float,
    interval: float,
    new_alert: bool,
    options: str | None,
    locked: Locked | None,
) -> int:
    """Set a group (its row read locked, as it stands) active and due when ``due_at`` says;
    returns when it is due. With ``locked`` (the caller flushes in this transaction what is due
    now), a group due now is not written here: it is recorded in ``locked`` with its new values,
    and the flush writes them with its own."""
    gid = int(row["id"])
    when = due_at(
        bool(row["active"]),
        int(row["next_flush_at"]),
        int(row["last_flush_at"]),
        now,
        wait,
        interval,
        new_alert,
    )
    values: dict[str, Any] = {"active": True, "next_flush_at": when}
    if options is not None:
        values["options"] = options
    if locked is not None and when <= now:
        locked[gid] = {**row, **values}
        return when
    await conn.execute(_MARK_DUE, {"b_id": gid, **values})
    if locked is not None:
        locked.pop(gid, None)  # written: a flush here reads it again
    return when


async def _lock_group(
    conn: AsyncConnection, stmt: Any, params: dict[str, Any], locked: Locked | None
) -> dict[str, Any] | None:
    """Read a group row locked (``FOR UPDATE``; SQLite locks the database); one this transaction
    holds with values not yet written comes from ``locked``."""
    found = (await conn.execute(stmt, params)).first()
    if found is None:
        return None
    row = dict(found._mapping)
    if locked is not None and int(row["id"]) in locked:
        return locked[int(row["id"])]
    return row


async def resolve_instance(
    conn: AsyncConnection,
    instance_key: str,
    now: int,
    keep_kind: str | None = None,
    locked: Locked | None = None,
) -> list[int]:
    """Mark an instance's firing alerts resolved in every group (all kinds, or all but
    ``keep_kind``); returns the groups due now. Locks groups before members (one order everywhere)."""
    rows = (await conn.execute(_FIRING_OF_INSTANCE, {"b_key": instance_key})).all()
    if keep_kind is not None:
        keep = f"{instance_key}:{keep_kind}"
        rows = [r for r in rows if r[2] != keep]
    if not rows:
        return []
    due = []
    for gid in sorted({int(r[1]) for r in rows}):
        row = await _lock_group(conn, _GROUP_BY_ID, {"b_id": gid}, locked)
        if row is None:
            continue
        opts = loads(row["options"], {})
        when = await _mark_due(
            conn, row, now, opts.get("group_wait", 0), opts.get("group_interval", 300), False, None, locked
        )
        if when <= now:
            due.append(gid)
    await conn.execute(
        _RESOLVE_MEMBERS,
        {"b_ids": [int(r[0]) for r in rows], "status": "resolved", "ends_at": now, "updated": now},
    )
    return due


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        cache: NotifyCache,
        nflog: NotificationLog,
        metrics: AlertingMetrics,
        root_url: str,
        poll_interval: float = 0.5,
    ) -> None:
        self.db = db
        self.clock = clock
        self.cache = cache
        self.nflog = nflog
        self.metrics = metrics
        self.root_url = root_url
        self.poll_interval = poll_interval
        self.after_claim: AfterClaim | None = None
        self._inflight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sem = asyncio.Semaphore(32)

    # -- enqueue (evaluator side, inside its transaction) -----------------------------------------

    async def routes_for(
        self, conn: AsyncConnection, rule: Rule, labels: dict[str, str], settings: OrgNotify | None = None
    ) -> list[routing.Route]:
        if rule.notification_settings and rule.notification_settings.get("receiver"):
            return [synthetic_route(rule)]
        if settings is None:
            settings = await self.cache.org(conn, rule.org_id)
        return routing.match(settings.tree, labels)

    async def _touch_group(
        self,
        conn: AsyncConnection,
        org_id: int,
        route: routing.Route,
        glabels: dict[str, str],
        now: int,
        new_alert: bool,
        locked: Locked | None,
    ) -> tuple[int, int]:
        key = routing.group_key(route, glabels)
        h = routing.group_hash(org_id, route.receiver, key)
        options = dumps(route.options())
        params = {"b_org": org_id, "b_hash": h}
        row = await _lock_group(conn, _GROUP_BY_HASH, params, locked)
        if row is None:
            await conn.execute(
                insert_ignore_stmt(self.db.dialect, g),
                {
                    "org_id": org_id,
                    "hash": h,
                    "receiver": route.receiver,
                    "group_key": key,
                    "group_labels": dumps(glabels),
                    "options": options,
                    "active": False,
                    "seq": 0,
                    "next_flush_at": 0,
                    "last_flush_at": 0,
                    "sent": "{}",
                    "created": now,
                },
            )
            row = await _lock_group(conn, _GROUP_BY_HASH, params, locked)
            assert row is not None
        due = await _mark_due(
            conn, row, now, route.group_wait, route.group_interval, new_alert, options, locked
        )
        return int(row["id"]), due

    async def enqueue_firing(
        self,
        conn: AsyncConnection,
        rule: Rule,
        instance_key: str,
        kind: str,
        record: dict[str, Any],
        starts_at: int,
        now: int,
        settings: OrgNotify | None = None,
        locked: Locked | None = None,
        resolve_others: bool = True,
    ) -> list[int]:
        """Add (or refresh) a firing alert in every group its labels route to; returns groups due now.
        ``locked`` collects the group rows this transaction now holds (for ``flush_locked``).
        ``resolve_others``: resolve what this instance sent under another kind (e.g.
        DatasourceNoData -> the rule's own); False when the caller knows it sent nothing firing (a
        transition out of a firing state resolves all its alerts in the same transaction)."""
        labels: dict[str, str] = record["labels"]
        due: list[int] = []
        if resolve_others:
            due += await resolve_instance(conn, instance_key, now, kind, locked)
        member_key = f"{instance_key}:{kind}"
        routes = await self.routes_for(conn, rule, labels, settings)
        touched: list[tuple[routing.Route, dict[str, str]]] = []
        for route in routes:
            touched.append((route, routing.group_labels(route, public(labels))))
        touched.sort(
            key=lambda rg: routing.group_hash(rule.org_id, rg[0].receiver, routing.group_key(rg[0], rg[1]))
        )
        alert = dumps(record)
        for route, glabels in touched:
            gid, due_at = await self._touch_group(conn, rule.org_id, route, glabels, now, True, locked)
            res = await conn.execute(
                insert_ignore_stmt(self.db.dialect, gm),
                {
                    "group_id": gid,
                    "instance_key": instance_key,
                    "member_key": member_key,
                    "fingerprint": record["fingerprint"],
                    "status": "firing",
                    "alert": alert,
                    "starts_at": starts_at,
                    "ends_at": 0,
                    "updated": now,
                },
            )
            if res.rowcount != 1:
                await conn.execute(
                    _REFRESH_MEMBER,
                    {
                        "b_gid": gid,
                        "b_key": member_key,
                        "status": "firing",
                        "alert": alert,
                        "starts_at": starts_at,
                        "ends_at": 0,
                        "updated": now,
                    },
                )
            if due_at <= now:
                due.append(gid)
        return due

    async def enqueue_resolved(
        self,
        conn: AsyncConnection,
        instance_key: str,
        now: int,
        keep_kind: str | None = None,
        locked: Locked | None = None,
    ) -> list[int]:
        return await resolve_instance(conn, instance_key, now, keep_kind, locked)

    # -- flush (any replica) -------------------------------------------------------------------

    async def flush_locked(
        self,
        conn: AsyncConnection,
        gr: dict[str, Any],
        settings: OrgNotify | None = None,
        deferred: bool = False,
    ) -> list[Claimed]:
        """Flush one group whose row this transaction holds locked, ``gr`` as it stands (with
        values not yet written when ``deferred``): returns the notifications claimed. Nothing
        when it is not due."""
        now = now_ms(self.clock)
        group_id = int(gr["id"])
        if not gr["active"] or gr["next_flush_at"] <= 0 or gr["next_flush_at"] > now:
            if deferred:
                values = {k: gr[k] for k in ("active", "next_flush_at", "options")}
                await conn.execute(_MARK_DUE, {"b_id": group_id, **values})
            return []
        seq = int(gr["seq"]) + 1
        org_id = int(gr["org_id"])
        if settings is None:
            settings = await self.cache.org(conn, org_id)
        opts = loads(gr["options"], {})
        # Policy edits apply to existing groups: take the route's current timers and timings.
        current = routing.find(settings.tree, str(opts.get("route", "")))
        if (
            current is not None
            and current.receiver == gr["receiver"]
            and gr["group_key"].startswith(current.key + ":")
        ):
            opts = current.options()
        members = (await conn.execute(_MEMBERS_OF_GROUP, {"b_gid": group_id})).all()
        timings = settings.timings_by_name(
            list(opts.get("mute_time_intervals") or []) + list(opts.get("active_time_intervals") or [])
        )
        muted = any(
            mutetiming.active(timings.get(n, []), now / 1000) for n in opts.get("mute_time_intervals") or []
        )
        active_names = opts.get("active_time_intervals") or []
        if active_names and not any(mutetiming.active(timings.get(n, []), now / 1000) for n in active_names):
            muted = True
        silences = settings.active_silences(now)
        visible = []
        silenced = 0
        for m in members:
            mm = m._mapping
            record = loads(mm["alert"], {})
            if any(s.matches(record.get("labels") or {}) for s in silences):
                silenced += 1
                continue
            visible.append((mm, record))
        firing = frozenset(mm["fingerprint"] for mm, _ in visible if mm["status"] == "firing")
        resolved = frozenset(mm["fingerprint"] for mm, _ in visible if mm["status"] != "firing")
        sent = loads(gr["sent"], {})
        claimed: list[Claimed] = []
        deleted: set[int] = set()
        repeat = float(opts.get("repeat_interval", routing.DEFAULT_REPEAT_INTERVAL))
        if not muted:
            integrations = settings.integrations.get(gr["receiver"], ())
            if not integrations and (firing or resolved):
                log.warning(
                    "receiver %r of org %s has no contact point; alerts not sent", gr["receiver"], org_id
                )
            # Integrations with an earlier notification still pending: this one queues behind.
            for integ in integrations:
                prev = sent.get(integ.uid)
                entry = (
                    SentEntry(frozenset(prev["firing"]), frozenset(prev["resolved"]), prev["sent_at"] / 1000)
                    if prev
                    else None
                )
                send_resolved = not integ.disable_resolve_message
                record_it, send_it = needs_update(entry, firing, resolved, send_resolved, repeat, now / 1000)
                if record_it:
                    sent[integ.uid] = {"firing": sorted(firing), "resolved": sorted(resolved), "sent_at": now}
                if not send_it:
                    continue
                alerts = [
                    payload.alert_entry(
                        record, mm["status"], int(mm["starts_at"]), int(mm["ends_at"]), self.root_url
                    )
                    for mm, record in visible
                    if send_resolved or mm["status"] == "firing"
                ]
                data = payload.build(
                    gr["receiver"],
                    org_id,
                    gr["group_key"],
                    loads(gr["group_labels"], {}),
                    alerts,
                    self.root_url,
                )
                claim = await self.nflog.claim(
                    conn,
                    claim_key=f"{gr['hash']}:{seq}:{integ.uid}",
                    org_id=org_id,
                    group_id=group_id,
                    seq=seq,
                    integration=integ,
                    data=data,
                    firing=sum(1 for a in alerts if a["status"] == "firing"),
                    resolved=sum(1 for a in alerts if a["status"] != "firing"),
                    now=now,
                )
                if claim is not None:
                    claimed.append(claim)
            # Resolved alerts that were seen by this flush are done with.
            deleted = {int(mm["id"]) for mm, _ in visible if mm["status"] != "firing"}
            if deleted:
                await conn.execute(_DELETE_MEMBERS, {"b_ids": sorted(deleted)})
        remaining = [m for m in members if int(m._mapping["id"]) not in deleted]
        has_firing = any(m._mapping["status"] == "firing" for m in remaining)
        held_back = muted or silenced > 0
        sent_times = [v["sent_at"] / 1000 for v in sent.values() if v.get("firing")]
        last_sent = min(sent_times) if sent_times else now / 1000
        nxt = next_flush(
            has_firing, held_back, last_sent, now / 1000, float(opts.get("group_interval", 300)), repeat
        )
        done = await conn.execute(
            _FLUSHED,
            {
                "b_id": group_id,
                "b_seq": gr["seq"],
                "seq": seq,
                "last_flush_at": now,
                "next_flush_at": int(nxt * 1000),
                "active": bool(remaining),
                "sent": dumps(sent),
                "options": gr["options"],
            },
        )
        if done.rowcount != 1:  # the caller's lock and check of seq make this impossible
            raise RuntimeError(f"dispatch group {group_id} changed under its lock")
        return claimed

    async def flush(self, group_id: int) -> list[Claimed]:
        """Flush one due group in a transaction of its own: returns the notifications claimed."""

        async def body(conn: Any) -> list[Claimed]:
            # Locked first: a replica flushing the same group waits, then finds it no longer due.
            grow = (await conn.execute(_GROUP_BY_ID, {"b_id": group_id})).first()
            if grow is None:
                return []
            return await self.flush_locked(conn, dict(grow._mapping))

        await self.cache.sync()
        return await write_retrying(self.db, body, fast=True)

    async def flush_due(
        self, conn: AsyncConnection, group_ids: list[int], locked: Locked, settings: OrgNotify | None = None
    ) -> list[Claimed]:
        """Inside the transaction that made them due: flush the groups it holds locked (the others
        are left to a flush of their own). ``settings``: those of the groups' org."""
        claimed: list[Claimed] = []
        for gid in sorted(set(group_ids)):
            row = locked.pop(gid, None)
            if row is not None:
                claimed += await self.flush_locked(conn, row, settings, deferred=True)
        return claimed

    async def send_claimed(self, claimed: list[Claimed], as_of: float | None = None) -> None:
        """Deliver notifications claimed by a transaction this replica committed."""
        if claimed and self.after_claim is not None:
            await self.after_claim([c.id for c in claimed])
        if claimed:
            await self.nflog.deliver_claimed(claimed, as_of)

    def deliver(self, claimed: list[Claimed], as_of: float | None = None) -> None:
        """``send_claimed`` in the background (tracked, so ``stop`` cancels it); ``as_of``: when
        the evaluation that caused them started."""
        if not claimed:
            return

        async def run() -> None:
            try:
                async with self._sem:
                    await self.send_claimed(claimed, as_of)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivering notifications %s failed", [c.id for c in claimed])

        self._track(asyncio.create_task(run(), name="vigil-deliver"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush_and_send(self, group_id: int) -> None:
        if group_id in self._inflight:
            return
        self._inflight.add(group_id)
        try:
            async with self._sem:
                await self.send_claimed(await self.flush(group_id))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("flushing dispatch group %s failed", group_id)
        finally:
            self._inflight.discard(group_id)

    def kick(self, group_ids: list[int]) -> None:
        """Flush these groups now (they became due in a transaction this replica committed)."""
        for gid in sorted(set(group_ids)):
            self._track(asyncio.create_task(self.flush_and_send(gid), name=f"vigil-flush-{gid}"))

    async def due_groups(self, limit: int = 200) -> list[int]:
        now = now_ms(self.clock)
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(g.c.id)
                .where(g.c.next_flush_at > 0, g.c.next_flush_at <= now, g.c.active == true())
                .order_by(g.c.next_flush_at)
                .limit(limit)
            )
            return [int(r[0]) for r in rows]

    async def run(self) -> None:
        last_sweep = 0.0
        while True:
            try:
                self.kick(await self.due_groups())
                if self.clock.monotonic() - last_sweep >= 1.0:
                    last_sweep = self.clock.monotonic()
                    await self.nflog.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("dispatch poll failed: %s", exc)
            await asyncio.sleep(self.poll_interval)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop sending. With ``grace``, sends under way get that long to finish and record their
        outcome first: one cancelled after the receiver got it but before it was recorded as sent
        would be sent again by another replica once its claim lapses."""
        tasks = list(self._tasks)
        if tasks and grace > 0:
            await asyncio.wait(tasks, timeout=grace)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
