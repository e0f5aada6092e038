"""Provisioning alerting from ``alerting/*.yaml`` under ``[paths] provisioning`` (Grafana's file
format, apiVersion 1): ``groups`` of rules, ``contactPoints``, ``policies``, ``templates``,
``muteTimes``, and ``deleteRules``, ``deleteContactPoints``, ``deleteTemplates``,
``deleteMuteTimes``, ``resetPolicies``.

Objects are written through the same stores as the API, with provenance ``file``. What was last
written is recorded per (org, kind, key) in ``provisioning_alerting`` with the checksum of its
definition: a definition whose checksum matches is left alone, however many replicas run however
many cycles (a reload re-applies everything). Writes happen in dependency order (templates and mute
timings, contact points, policies, rule groups); deletions first, rules before what they use. One
bad entry is refused alone, with a message naming the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from vigil.auth.tables import org as org_table
from vigil.errors import AppError
from vigil.provisioning.dashboards import ensure_root_folder
from vigil.provisioning.files import Problem, _checksum, _org, load_yaml, yaml_files
from vigil.provisioning.tables import provisioning_alerting as record
from vigil.storage.db import now_ms

if TYPE_CHECKING:
    from vigil.app import Services

log = logging.getLogger("vigil.provisioning")
PROVENANCE = "file"
# the order definitions are applied in: what a later kind refers to exists by then
KINDS = ("template", "mute_time", "contact_point", "policy", "group")
_KEYS = {
    "apiVersion",
    "groups",
    "contactPoints",
    "policies",
    "templates",
    "muteTimes",
    "deleteRules",
    "deleteContactPoints",
    "deleteTemplates",
    "deleteMuteTimes",
    "resetPolicies",
}


@dataclass
class Item:
    file: str
    org_id: int
    kind: str
    key: str
    body: dict[str, Any]
    checksum: str = ""


@dataclass
class Definitions:
    items: list[Item] = field(default_factory=list)
    # (file, org, kind, key): delete rule uid / contact point uid / template / mute timing; policy reset
    deletes: list[tuple[str, int, str, str]] = field(default_factory=list)

    @property
    def orgs(self) -> set[int]:
        return {i.org_id for i in self.items} | {d[1] for d in self.deletes}


def _text(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: {key} is required")
    return value.strip()


def _entries(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list")
    return value


def _read_doc(file: str, doc: Mapping[str, Any], defs: Definitions, problems: list[Problem]) -> None:
    def each(key: str, build: Any) -> None:
        try:
            entries = _entries(doc, key)
        except ValueError as exc:
            problems.append(Problem(file, str(exc)))
            return
        for i, raw in enumerate(entries):
            try:
                if not isinstance(raw, dict):
                    raise ValueError("must be a mapping")
                build(raw)
            except ValueError as exc:
                problems.append(Problem(file, f"{key}[{i}] {exc}"))

    def add(org_id: int, kind: str, key: str, body: dict[str, Any]) -> None:
        defs.items.append(Item(file, org_id, kind, key, body, _checksum([kind, key, body])))

    def group(raw: dict[str, Any]) -> None:
        name = _text(raw, "name", "rule group")
        folder_uid = str(raw.get("folderUid") or raw.get("folderUID") or "").strip()
        title = str(raw.get("folder") or "").strip()
        if not folder_uid and not title:
            raise ValueError(f"rule group {name!r}: folder (a title) or folderUid is required")
        rules = raw.get("rules") or []
        if not isinstance(rules, list):
            raise ValueError(f"rule group {name!r}: rules must be a list")
        body = {"name": name, "folder": title, "folderUid": folder_uid, "interval": raw.get("interval", "1m")}
        body["rules"] = rules
        add(_org(raw.get("orgId")), "group", f"{folder_uid or title}/{name}", body)

    def contact_point(raw: dict[str, Any]) -> None:
        name = _text(raw, "name", "contact point")
        receivers = raw.get("receivers")
        if not isinstance(receivers, list) or not receivers:
            raise ValueError(f"contact point {name!r}: receivers must be a non-empty list")
        for j, r in enumerate(receivers):
            if not isinstance(r, dict):
                raise ValueError(f"contact point {name!r}: receivers[{j}] must be a mapping")
            uid = _text(r, "uid", f"contact point {name!r} receivers[{j}]")
            body = {
                "uid": uid,
                "name": name,
                "type": r.get("type"),
                "settings": r.get("settings") or {},
                "disableResolveMessage": bool(r.get("disableResolveMessage", False)),
            }
            add(_org(raw.get("orgId")), "contact_point", uid, body)

    def policy(raw: dict[str, Any]) -> None:
        tree = {k: v for k, v in raw.items() if k != "orgId"}
        _text(tree, "receiver", "policy")
        add(_org(raw.get("orgId")), "policy", "", tree)

    def template(raw: dict[str, Any]) -> None:
        name = _text(raw, "name", "template")
        add(_org(raw.get("orgId")), "template", name, {"template": raw.get("template")})

    def mute_time(raw: dict[str, Any]) -> None:
        name = _text(raw, "name", "mute timing")
        add(
            _org(raw.get("orgId")),
            "mute_time",
            name,
            {"name": name, "time_intervals": raw.get("time_intervals")},
        )

    def deleting(kind: str, key: str) -> Any:
        def build(raw: dict[str, Any]) -> None:
            defs.deletes.append((file, _org(raw.get("orgId")), kind, _text(raw, key, f"delete {kind}")))

        return build

    each("deleteRules", deleting("group_rule", "uid"))
    each("deleteContactPoints", deleting("contact_point", "uid"))
    each("deleteTemplates", deleting("template", "name"))
    each("deleteMuteTimes", deleting("mute_time", "name"))
    try:
        for org in _entries(doc, "resetPolicies"):
            defs.deletes.append((file, _org(org), "policy", ""))
    except ValueError as exc:
        problems.append(Problem(file, f"resetPolicies: {exc}"))
    each("templates", template)
    each("muteTimes", mute_time)
    each("contactPoints", contact_point)
    each("policies", policy)
    each("groups", group)


def read_alerting(root: Path, env: Mapping[str, str] | None = None) -> tuple[Definitions, list[Problem]]:
    """Every definition in ``root/alerting``, in file order; a later definition of the same object
    replaces an earlier one (with a warning)."""
    env = os.environ if env is None else env
    defs = Definitions()
    problems: list[Problem] = []
    for path in yaml_files(root / "alerting"):
        doc, problem = load_yaml(path, env)
        if problem is not None:
            problems.append(problem)
        if doc is None:
            continue
        unknown = set(doc) - _KEYS
        if unknown:
            problems.append(
                Problem(str(path), f"ignored unknown keys: {', '.join(sorted(unknown))}", refused=False)
            )
        _read_doc(str(path), doc, defs, problems)
    latest: dict[tuple[int, str, str], Item] = {}
    for item in defs.items:
        earlier = latest.pop((item.org_id, item.kind, item.key), None)
        if earlier is not None:
            what = f"{item.kind.replace('_', ' ')} {item.key!r}" if item.key else "the notification policy"
            problems.append(
                Problem(
                    earlier.file,
                    f"{what} (org {item.org_id}) is defined again in {item.file}; that one is used",
                    False,
                )
            )
        latest[(item.org_id, item.kind, item.key)] = item
    defs.items = sorted(latest.values(), key=lambda i: KINDS.index(i.kind))
    return defs, problems


async def recorded_sums(services: Services, orgs: set[int]) -> dict[tuple[int, str, str], str]:
    async with services.db.read() as conn:
        rows = (await conn.execute(select(record).where(record.c.org_id.in_(orgs)))).all()
    return {(int(r.org_id), r.kind, r.key): r.check_sum for r in rows}


async def pending(services: Services, defs: Definitions) -> list[Item]:
    """The definitions to write: those whose checksum differs from the record, and those whose
    object is no longer what the file made (deleted, or changed through the API, which stores
    another provenance)."""
    recorded = await recorded_sums(services, defs.orgs)
    same = [i for i in defs.items if recorded.get((i.org_id, i.kind, i.key)) == i.checksum]
    intact = await _still_provisioned(services, same)
    return [i for i in defs.items if (i.org_id, i.kind, i.key) not in intact]


async def _still_provisioned(services: Services, items: list[Item]) -> set[tuple[int, str, str]]:
    from vigil.alerting import tables as t

    found: set[tuple[int, str, str]] = set()
    async with services.db.read() as conn:
        for item in items:
            org, where = item.org_id, None
            if item.kind == "template":
                table, where = t.alert_notification_template, t.alert_notification_template.c.name == item.key
            elif item.kind == "mute_time":
                table, where = t.alert_mute_timing, t.alert_mute_timing.c.name == item.key
            elif item.kind == "contact_point":
                table, where = t.alert_contact_point, t.alert_contact_point.c.uid == item.key
            elif item.kind == "policy":
                table = t.alert_policy
            else:  # a group: as many rules of that name with provenance file as the file has
                table, where = t.alert_rule, t.alert_rule.c.rule_group == item.body["name"]
            query = select(func.count()).select_from(table).where(table.c.org_id == org)
            query = query.where(table.c.provenance == PROVENANCE)
            if where is not None:
                query = query.where(where)
            count = int((await conn.execute(query)).scalar() or 0)
            expected = len(item.body["rules"]) if item.kind == "group" else 1
            if count == expected:
                found.add((org, item.kind, item.key))
    return found


async def _create_or_update(
    get: Callable[[], Awaitable[Any]],
    create: Callable[[], Awaitable[Any]],
    update: Callable[[], Awaitable[Any]],
) -> None:
    """Update the object when ``get`` finds it, create it when ``get`` answers 404."""
    try:
        await get()
    except AppError as exc:
        if exc.status_code != 404:
            raise
        await create()
    else:
        await update()


async def _apply_item(services: Services, item: Item) -> None:
    alerting = services.alerting
    org, body = item.org_id, item.body
    if item.kind == "template":
        await alerting.templates.put(org, item.key, body, PROVENANCE)
    elif item.kind == "mute_time":
        await _create_or_update(
            lambda: alerting.notify.get_timing(org, item.key),
            lambda: alerting.notify.create_timing(org, body, PROVENANCE),
            lambda: alerting.notify.update_timing(org, item.key, body, PROVENANCE),
        )
    elif item.kind == "contact_point":
        await _create_or_update(
            lambda: alerting.notify.get_contact_point(org, item.key),
            lambda: alerting.notify.create_contact_point(org, body, PROVENANCE),
            lambda: alerting.notify.update_contact_point(org, item.key, body, PROVENANCE),
        )
    elif item.kind == "policy":
        await alerting.notify.put_policy(org, body, PROVENANCE)
    elif item.kind == "group":
        folder_uid = await ensure_root_folder(
            services.db, org, body["folder"], body["folderUid"], now_ms(services.clock), "alert rules"
        )
        await alerting.rules.put_group(
            org, folder_uid, body["name"], {"interval": body["interval"], "rules": body["rules"]}, PROVENANCE
        )


async def _note(services: Services, item: Item) -> None:
    values = {"check_sum": item.checksum, "file": item.file, "updated": now_ms(services.clock)}
    key = (record.c.org_id == item.org_id, record.c.kind == item.kind, record.c.key == item.key)
    async with services.db.write() as conn:
        changed = await conn.execute(record.update().where(*key).values(**values))
        if not changed.rowcount:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        record.insert().values(org_id=item.org_id, kind=item.kind, key=item.key, **values)
                    )
            except IntegrityError:
                await conn.execute(record.update().where(*key).values(**values))


async def _apply_delete(services: Services, org: int, kind: str, key: str) -> bool:
    """True when something was deleted."""
    alerting = services.alerting
    try:
        if kind == "group_rule":
            await alerting.rules.delete(org, key)
        elif kind == "contact_point":
            await alerting.notify.delete_contact_point(org, key)
        elif kind == "template":
            try:
                await alerting.templates.get(org, key)
            except AppError:
                return False
            await alerting.templates.delete(org, key)
        elif kind == "mute_time":
            await alerting.notify.delete_timing(org, key)
        elif kind == "policy":
            await alerting.notify.reset_policy(org)
    except AppError as exc:
        if exc.status_code == 404:
            return False
        raise
    return True


async def apply(services: Services, defs: Definitions, force: bool = False) -> list[Problem]:
    """Write what differs (everything with ``force``). Rule deletions and policy resets go first;
    deletions of contact points, mute timings and templates last, once the policies written no
    longer use them."""
    problems: list[Problem] = []
    async with services.db.read() as conn:
        existing = {
            int(r[0]) for r in await conn.execute(select(org_table.c.id).where(org_table.c.id.in_(defs.orgs)))
        }
    wanted = {(i.org_id, i.kind, i.key) for i in defs.items}
    early = [d for d in defs.deletes if d[2] in ("group_rule", "policy")]
    late = [d for d in defs.deletes if d[2] not in ("group_rule", "policy")]

    async def deletions(which: list[tuple[str, int, str, str]]) -> None:
        for file, org, kind, key in sorted(which, key=lambda d: d[2] != "group_rule"):
            if org not in existing or (org, kind, key) in wanted:
                continue  # a file that deletes and defines the same object keeps it
            try:
                if await _apply_delete(services, org, kind, key):
                    log.info("provisioning: deleted %s %r (org %s) as %s asks", kind, key, org, file)
                if kind != "group_rule":
                    async with services.db.write() as conn:
                        await conn.execute(
                            delete(record).where(
                                record.c.org_id == org, record.c.kind == kind, record.c.key == key
                            )
                        )
            except AppError as exc:
                problems.append(Problem(file, f"delete {kind.replace('_', ' ')} {key!r}: {exc.message}"))
            except Exception as exc:
                log.exception("provisioning: deleting %s %r failed", kind, key)
                problems.append(Problem(file, f"delete {kind.replace('_', ' ')} {key!r} failed: {exc}"))

    await deletions(early)
    for item in defs.items if force else await pending(services, defs):
        what = f"{item.kind.replace('_', ' ')} {item.key!r}" if item.key else "notification policy"
        if item.org_id not in existing:
            problems.append(Problem(item.file, f"{what}: organization {item.org_id} does not exist"))
            continue
        try:
            await _apply_item(services, item)
            await _note(services, item)
        except AppError as exc:
            problems.append(Problem(item.file, f"{what}: {exc.message}"))
            continue
        except Exception as exc:  # one entry never stops the others
            log.exception("provisioning: writing %s failed", what)
            problems.append(Problem(item.file, f"{what}: failed: {exc}"))
            continue
        log.info("provisioning: wrote %s (org %s) from %s", what, item.org_id, item.file)
    await deletions(late)
    return problems
