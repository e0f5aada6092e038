"""Alert rules: validation of Grafana's provisioning shape, conversion, and the rule store.

Rules live in groups (org, folder uid, group title) that share an evaluation interval. Every
change publishes ``alerting.rules`` on the change bus, so each replica's scheduler reloads.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting import folders, template
from vigil.alerting.durations import format_duration, parse_duration
from vigil.alerting.models import Rule, RuleGroup, group_key
from vigil.alerting.sqlutil import dumps, loads
from vigil.alerting.state import EXEC_ERR_STATES, NO_DATA_STATES
from vigil.alerting.tables import alert_instance, alert_rule
from vigil.clock import Clock, iso
from vigil.cluster.bus import ChangeBus
from vigil.errors import AppError
from vigil.storage.db import Database, now_ms

TOPIC = "alerting.rules"
EXPR_UIDS = ("__expr__", "-100")
_UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
DEFAULT_INTERVAL = 60
PROVENANCES = ("", "api", "file")

RulesDeleted = Callable[[AsyncConnection, int, list[str]], Awaitable[None]]


def new_uid() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(alphabet) for _ in range(13))


def _bad(msg: str) -> AppError:
    return AppError.bad_request(f"invalid alert rule: {msg}")


def _str_map(raw: Any, what: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad(f"{what} must be an object of strings")
    out = {}
    for k, v in raw.items():
        if not isinstance(k, str) or not k:
            raise _bad(f"{what} keys must be non-empty strings")
        if not isinstance(v, str):
            raise _bad(f"{what} value of {k!r} must be a string")
        out[k] = v
    return out


def validate_interval(raw: Any, min_interval: float) -> int:
    if isinstance(raw, bool):
        raise AppError.bad_request("invalid rule group: interval must be a number of seconds")
    if isinstance(raw, str):
        seconds = parse_duration(raw, "rule group interval")
    elif isinstance(raw, (int, float)):
        seconds = float(raw)
    else:
        raise AppError.bad_request("invalid rule group: interval must be a number of seconds")
    if seconds != int(seconds) or seconds <= 0:
        raise AppError.bad_request("invalid rule group: interval must be a whole number of seconds")
    if seconds < min_interval:
        raise AppError.bad_request(
            f"invalid rule group: interval {int(seconds)}s is shorter than [alerting] min_interval "
            f"{format_duration(min_interval)}"
        )
    return int(seconds)


def validate_data(raw: Any, condition: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _bad("data must be a non-empty list of queries and expressions")
    out = []
    seen: set[str] = set()
    for q in raw:
        if not isinstance(q, dict):
            raise _bad("each data item must be an object")
        ref = q.get("refId")
        if not isinstance(ref, str) or not ref.strip():
            raise _bad("each query needs a refId")
        if ref in seen:
            raise _bad(f"refId {ref!r} is used twice")
        seen.add(ref)
        ds = q.get("datasourceUid")
        if not isinstance(ds, str) or not ds:
            raise _bad(f"query {ref!r} needs a datasourceUid")
        model = q.get("model")
        if model is None:
            model = {}
        if not isinstance(model, dict):
            raise _bad(f"model of query {ref!r} must be an object")
        rtr = q.get("relativeTimeRange") or {"from": 600, "to": 0}
        if not isinstance(rtr, dict):
            raise _bad(f"relativeTimeRange of query {ref!r} must be an object")
        try:
            frm, to = int(rtr.get("from", 0)), int(rtr.get("to", 0))
        except (TypeError, ValueError):
            raise _bad(f"relativeTimeRange of query {ref!r} must hold seconds") from None
        if ds not in EXPR_UIDS and (frm < 0 or to < 0 or frm < to):
            raise _bad(f"relativeTimeRange of query {ref!r}: from must be at least to (seconds ago)")
        item = {
            "refId": ref,
            "queryType": q.get("queryType") or "",
            "relativeTimeRange": {"from": frm, "to": to},
            "datasourceUid": ds,
            "model": {**model, "refId": ref},
        }
        out.append(item)
    if not isinstance(condition, str) or not condition:
        raise _bad("condition is required (the refId whose result decides firing)")
    if condition not in seen:
        raise _bad(f"condition {condition!r} is not the refId of any query or expression")
    return out


def validate_rule(body: Any, min_interval: float) -> dict[str, Any]:
    """A provisioning-API rule body -> column values (without uid/org/group placement checks)."""
    if not isinstance(body, dict):
        raise AppError.bad_request("invalid alert rule: expected a JSON object")
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _bad("title is required")
    if len(title) > 190:
        raise _bad("title is longer than 190 characters")
    condition = body.get("condition")
    data = validate_data(body.get("data"), condition)
    no_data = body.get("noDataState") or body.get("no_data_state") or "NoData"
    if no_data not in NO_DATA_STATES:
        raise _bad(f"noDataState {no_data!r} is not one of {', '.join(NO_DATA_STATES)}")
    exec_err = body.get("execErrState") or body.get("exec_err_state") or "Error"
    if exec_err not in EXEC_ERR_STATES:
        raise _bad(f"execErrState {exec_err!r} is not one of {', '.join(EXEC_ERR_STATES)}")
    for_s = parse_duration(body.get("for") or 0, "for")
    keep = parse_duration(body.get("keep_firing_for") or body.get("keepFiringFor") or 0, "keep_firing_for")
    labels = _str_map(body.get("labels"), "labels")
    annotations = _str_map(body.get("annotations"), "annotations")
    for k, v in [*labels.items(), *annotations.items()]:
        try:
            template.check(v)
        except template.TemplateError as exc:
            raise _bad(f"template of {k!r} does not parse: {exc}") from None
    for k in labels:
        if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", k) or (k.startswith("__") and k.endswith("__")):
            raise _bad(f"label name {k!r} is not valid")
    ns = body.get("notification_settings")
    if ns is not None:
        if not isinstance(ns, dict) or not isinstance(ns.get("receiver"), str) or not ns["receiver"]:
            raise _bad("notification_settings needs a receiver")
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if ns.get(key) not in (None, ""):
                parse_duration(ns[key], f"notification_settings.{key}")
    paused = body.get("isPaused", body.get("is_paused", False))
    if not isinstance(paused, bool):
        raise _bad("isPaused must be true or false")
    uid = body.get("uid") or ""
    if uid and (not isinstance(uid, str) or not _UID.match(uid)):
        raise _bad("uid must be 1 to 40 letters, digits, - or _")
    return {
        "uid": uid,
        "title": title.strip(),
        "condition": condition,
        "data": dumps(data),
        "for_seconds": int(for_s),
        "keep_firing_for_seconds": int(keep),
        "no_data_state": no_data,
        "exec_err_state": exec_err,
        "labels": dumps(labels),
        "annotations": dumps(annotations),
        "is_paused": paused,
        "notification_settings": dumps(ns) if ns is not None else None,
    }


def row_to_rule(row: Row[Any], folder_title: str = "") -> Rule:
    m = row._mapping
    return Rule(
        id=m["id"],
        uid=m["uid"],
        org_id=m["org_id"],
        folder_uid=m["folder_uid"],
        folder_title=folder_title or m["folder_uid"],
        group=m["rule_group"],
        group_idx=m["rule_group_idx"],
        title=m["title"],
        condition=m["condition"],
        data=loads(m["data"], []),
        interval=m["interval_seconds"],
        for_s=m["for_seconds"],
        keep_firing_for_s=m["keep_firing_for_seconds"],
        no_data_state=m["no_data_state"],
        exec_err_state=m["exec_err_state"],
        labels=loads(m["labels"], {}),
        annotations=loads(m["annotations"], {}),
        is_paused=bool(m["is_paused"]),
        notification_settings=loads(m["notification_settings"], None),
        provenance=m["provenance"],
        version=m["version"],
        updated=m["updated"],
    )


def to_provisioning(r: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "uid": r.uid,
        "orgID": r.org_id,
        "folderUID": r.folder_uid,
        "ruleGroup": r.group,
        "title": r.title,
        "condition": r.condition,
        "data": r.data,
        "updated": iso(r.updated / 1000),
        "noDataState": r.no_data_state,
        "execErrState": r.exec_err_state,
        "for": format_duration(r.for_s),
        "keep_firing_for": format_duration(r.keep_firing_for_s),
        "annotations": r.annotations,
        "labels": r.labels,
        "isPaused": r.is_paused,
        "provenance": r.provenance,
    }
    if r.notification_settings is not None:
        out["notification_settings"] = r.notification_settings
    return out


class RuleStore:
    def __init__(self, db: Database, clock: Clock, bus: ChangeBus, min_interval: float) -> None:
        self.db = db
        self.clock = clock
        self.bus = bus
        self.min_interval = min_interval
        self.on_deleted: list[RulesDeleted] = []

    # -- reads ---------------------------------------------------------------------------------

    async def _titles(self, conn: AsyncConnection, org_id: int | None) -> dict[tuple[int, str], str]:
        return await folders.titles(conn, org_id)

    async def find(self, org_id: int, folder_uid: str | None = None, group: str | None = None) -> list[Rule]:
        async with self.db.read() as conn:
            q = select(alert_rule).where(alert_rule.c.org_id == org_id)
            if folder_uid is not None:
                q = q.where(alert_rule.c.folder_uid == folder_uid)
            if group is not None:
                q = q.where(alert_rule.c.rule_group == group)
            rows = (
                await conn.execute(
                    q.order_by(
                        alert_rule.c.folder_uid,
                        alert_rule.c.rule_group,
                        alert_rule.c.rule_group_idx,
                        alert_rule.c.id,
                    )
                )
            ).all()
            titles = await self._titles(conn, org_id)
        return [row_to_rule(r, titles.get((org_id, r._mapping["folder_uid"]), "")) for r in rows]

    async def all_rules(self) -> list[Rule]:
        """Every rule of every org (the scheduler's snapshot)."""
        async with self.db.read() as conn:
            rows = (await conn.execute(select(alert_rule).order_by(alert_rule.c.id))).all()
            titles = await self._titles(conn, None)
        return [
            row_to_rule(r, titles.get((r._mapping["org_id"], r._mapping["folder_uid"]), "")) for r in rows
        ]

    async def get(self, org_id: int, uid: str) -> Rule:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(alert_rule).where(alert_rule.c.org_id == org_id, alert_rule.c.uid == uid)
                )
            ).first()
            if row is None:
                raise AppError.not_found("alert rule not found")
            title = await folders.title(conn, org_id, row._mapping["folder_uid"])
        return row_to_rule(row, title or "")

    async def group(self, org_id: int, folder_uid: str, name: str) -> RuleGroup:
        rules = await self.find(org_id, folder_uid, name)
        if not rules:
            raise AppError.not_found("rule group not found")
        return RuleGroup(
            group_key(org_id, folder_uid, name), org_id, folder_uid, name, rules[0].interval, rules
        )

    async def count(self) -> int:
        async with self.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(alert_rule))).scalar_one())

    # -- placement checks -----------------------------------------------------------------------

    async def _check_folder(self, conn: AsyncConnection, org_id: int, folder_uid: Any) -> str:
        if not isinstance(folder_uid, str) or not folder_uid:
            raise _bad("folderUID is required")
        title = await folders.title(conn, org_id, folder_uid)
        if title is None:
            raise AppError.bad_request(f"invalid alert rule: folder {folder_uid!r} does not exist")
        return title

    async def _group_interval(
        self, conn: AsyncConnection, org_id: int, folder_uid: str, group: str
    ) -> int | None:
        row = (
            await conn.execute(
                select(alert_rule.c.interval_seconds)
                .where(
                    alert_rule.c.org_id == org_id,
                    alert_rule.c.folder_uid == folder_uid,
                    alert_rule.c.rule_group == group,
                )
                .limit(1)
            )
        ).first()
        return None if row is None else int(row[0])

    async def _check_title(
        self, conn: AsyncConnection, org_id: int, folder_uid: str, title: str, except_uids: set[str]
    ) -> None:
        rows = await conn.execute(
            select(alert_rule.c.uid).where(
                alert_rule.c.org_id == org_id,
                alert_rule.c.folder_uid == folder_uid,
                alert_rule.c.title == title,
            )
        )
        if any(r[0] not in except_uids for r in rows):
            raise AppError.conflict(
                "a conflicting alert rule is found: rule title under the same organisation and folder "
                "should be unique"
            )

    # -- writes --------------------------------------------------------------------------------

    async def create(self, org_id: int, body: Any, provenance: str) -> Rule:
        values = validate_rule(body, self.min_interval)
        group = body.get("ruleGroup")
        if not isinstance(group, str) or not group.strip():
            raise _bad("ruleGroup is required")
        if len(group) > 190:
            raise _bad("ruleGroup is longer than 190 characters")
        uid = values.pop("uid") or new_uid()
        now = now_ms(self.clock)
        try:
            async with self.db.write() as conn:
                await self._check_folder(conn, org_id, body.get("folderUID"))
                folder_uid = body["folderUID"]
                await self._check_title(conn, org_id, folder_uid, values["title"], set())
                interval = await self._group_interval(conn, org_id, folder_uid, group)
                if interval is None:
                    interval = max(DEFAULT_INTERVAL, int(self.min_interval))
                idx = (
                    await conn.execute(
                        select(func.coalesce(func.max(alert_rule.c.rule_group_idx), 0)).where(
                            alert_rule.c.org_id == org_id,
                            alert_rule.c.folder_uid == folder_uid,
                            alert_rule.c.rule_group == group,
                        )
                    )
                ).scalar_one()
                await conn.execute(
                    insert(alert_rule).values(
                        uid=uid,
                        org_id=org_id,
                        folder_uid=folder_uid,
                        rule_group=group,
                        rule_group_idx=int(idx) + 1,
                        interval_seconds=interval,
                        provenance=provenance,
                        version=1,
                        created=now,
                        updated=now,
                        **values,
                    )
                )
                await self.bus.publish(TOPIC, uid, conn)
        except IntegrityError:
            raise AppError.conflict("an alert rule with this uid or title already exists") from None
        await self.bus.deliver_local(TOPIC, uid)
        return await self.get(org_id, uid)

    async def update(self, org_id: int, uid: str, body: Any, provenance: str) -> Rule:
        values = validate_rule(body, self.min_interval)
        values.pop("uid")
        now = now_ms(self.clock)
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    select(alert_rule).where(alert_rule.c.org_id == org_id, alert_rule.c.uid == uid)
                )
            ).first()
            if row is None:
                raise AppError.not_found("alert rule not found")
            cur = row._mapping
            folder_uid = body.get("folderUID") or cur["folder_uid"]
            group = body.get("ruleGroup") or cur["rule_group"]
            if not isinstance(group, str) or len(group) > 190:
                raise _bad("ruleGroup must be a string of at most 190 characters")
            if folder_uid != cur["folder_uid"]:
                await self._check_folder(conn, org_id, folder_uid)
            await self._check_title(conn, org_id, folder_uid, values["title"], {uid})
            interval = cur["interval_seconds"]
            if (folder_uid, group) != (cur["folder_uid"], cur["rule_group"]):
                interval = await self._group_interval(conn, org_id, folder_uid, group) or interval
            await conn.execute(
                update(alert_rule)
                .where(alert_rule.c.id == cur["id"])
                .values(
                    folder_uid=folder_uid,
                    rule_group=group,
                    interval_seconds=interval,
                    provenance=provenance,
                    version=cur["version"] + 1,
                    updated=now,
                    **values,
                )
            )
            await self.bus.publish(TOPIC, uid, conn)
        await self.bus.deliver_local(TOPIC, uid)
        return await self.get(org_id, uid)

    async def delete(self, org_id: int, uid: str) -> None:
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    select(alert_rule.c.id).where(alert_rule.c.org_id == org_id, alert_rule.c.uid == uid)
                )
            ).first()
            if row is None:
                raise AppError.not_found("alert rule not found")
            await self._delete_rows(conn, org_id, [uid])
            await self.bus.publish(TOPIC, uid, conn)
        await self.bus.deliver_local(TOPIC, uid)

    async def _delete_rows(self, conn: AsyncConnection, org_id: int, uids: list[str]) -> None:
        if not uids:
            return
        for hook in self.on_deleted:
            await hook(conn, org_id, uids)
        await conn.execute(delete(alert_instance).where(alert_instance.c.rule_uid.in_(uids)))
        await conn.execute(
            delete(alert_rule).where(alert_rule.c.org_id == org_id, alert_rule.c.uid.in_(uids))
        )

    async def put_group(
        self, org_id: int, folder_uid: str, name: str, body: Any, provenance: str
    ) -> RuleGroup:
        """Replace a group: rules with a known uid are updated, others created, missing ones deleted."""
        if not isinstance(body, dict):
            raise AppError.bad_request("invalid rule group: expected a JSON object")
        if not name or len(name) > 190:
            raise AppError.bad_request("invalid rule group: the title must be 1 to 190 characters")
        interval = validate_interval(body.get("interval", DEFAULT_INTERVAL), self.min_interval)
        raw_rules = body.get("rules") or []
        if not isinstance(raw_rules, list):
            raise AppError.bad_request("invalid rule group: rules must be a list")
        parsed = [validate_rule(r, self.min_interval) for r in raw_rules]
        titles = [p["title"] for p in parsed]
        if len(set(titles)) != len(titles):
            raise AppError.bad_request("invalid rule group: two rules have the same title")
        now = now_ms(self.clock)
        try:
            async with self.db.write() as conn:
                await self._check_folder(conn, org_id, folder_uid)
                existing = {
                    r._mapping["uid"]: r._mapping
                    for r in await conn.execute(
                        select(alert_rule).where(
                            alert_rule.c.org_id == org_id,
                            alert_rule.c.folder_uid == folder_uid,
                            alert_rule.c.rule_group == name,
                        )
                    )
                }
                keep: set[str] = set()
                plan: list[tuple[str, dict[str, Any], Any]] = []
                for values in parsed:
                    uid = values.pop("uid")
                    if uid and uid not in existing:
                        # A uid from elsewhere (another group or folder) moves here.
                        other = (
                            await conn.execute(
                                select(alert_rule).where(
                                    alert_rule.c.org_id == org_id, alert_rule.c.uid == uid
                                )
                            )
                        ).first()
                        plan.append((uid, values, other._mapping if other is not None else None))
                    else:
                        plan.append((uid, values, existing.get(uid) if uid else None))
                    if uid:
                        keep.add(uid)
                gone = [u for u in existing if u not in keep]
                await self._delete_rows(conn, org_id, gone)
                for idx, (uid, values, cur) in enumerate(plan, start=1):
                    await self._check_title(
                        conn, org_id, folder_uid, values["title"], {uid} if uid else set()
                    )
                    common = dict(
                        folder_uid=folder_uid,
                        rule_group=name,
                        rule_group_idx=idx,
                        interval_seconds=interval,
                        provenance=provenance,
                        updated=now,
                        **values,
                    )
                    if cur is not None:
                        await conn.execute(
                            update(alert_rule)
                            .where(alert_rule.c.id == cur["id"])
                            .values(version=cur["version"] + 1, **common)
                        )
                    else:
                        await conn.execute(
                            insert(alert_rule).values(
                                uid=uid or new_uid(), org_id=org_id, version=1, created=now, **common
                            )
                        )
                await self.bus.publish(TOPIC, f"{folder_uid}/{name}", conn)
        except IntegrityError:
            raise AppError.conflict("an alert rule with this uid or title already exists") from None
        await self.bus.deliver_local(TOPIC, f"{folder_uid}/{name}")
        rules = await self.find(org_id, folder_uid, name)
        return RuleGroup(group_key(org_id, folder_uid, name), org_id, folder_uid, name, interval, rules)

    async def delete_group(self, org_id: int, folder_uid: str, name: str) -> int:
        async with self.db.write() as conn:
            uids = [
                r[0]
                for r in await conn.execute(
                    select(alert_rule.c.uid).where(
                        and_(
                            alert_rule.c.org_id == org_id,
                            alert_rule.c.folder_uid == folder_uid,
                            alert_rule.c.rule_group == name,
                        )
                    )
                )
            ]
            if not uids:
                raise AppError.not_found("rule group not found")
            await self._delete_rows(conn, org_id, uids)
            await self.bus.publish(TOPIC, f"{folder_uid}/{name}", conn)
        await self.bus.deliver_local(TOPIC, f"{folder_uid}/{name}")
        return len(uids)

    async def set_interval(self, org_id: int, folder_uid: str, name: str, interval: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                update(alert_rule)
                .where(
                    alert_rule.c.org_id == org_id,
                    alert_rule.c.folder_uid == folder_uid,
                    alert_rule.c.rule_group == name,
                )
                .values(interval_seconds=interval)
            )
            await self.bus.publish(TOPIC, f"{folder_uid}/{name}", conn)
        await self.bus.deliver_local(TOPIC, f"{folder_uid}/{name}")


def group_to_provisioning(g: RuleGroup) -> dict[str, Any]:
    return {
        "title": g.name,
        "folderUid": g.folder_uid,
        "interval": g.interval,
        "rules": [to_provisioning(r) for r in g.rules],
    }
