"""Provisioning data sources from files, idempotently.

What the provisioner last wrote is recorded per (org, name) in ``provisioning_datasource``: the
checksum of the definition and the data source's uid and version right after the write. A
definition whose checksum matches a record whose data source still has that uid and version is
left alone: no write, no version bump, however many replicas run however many cycles. A deletion
listed in a file is skipped when the same file set provisions that name and it is current (so
"delete then re-create" files do not churn ids on every start).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.tables import org
from vigil.datasources.store import DataSourceStore
from vigil.datasources.tables import data_source
from vigil.errors import AppError
from vigil.provisioning.files import DataSourceDef, DeleteDef, Problem
from vigil.provisioning.tables import provisioning_datasource as record
from vigil.storage.db import Database

log = logging.getLogger("vigil.provisioning")


@dataclass(frozen=True)
class Current:
    id: int
    uid: str
    name: str
    version: int


@dataclass
class State:
    orgs: set[int]
    by_name: dict[tuple[int, str], Current]
    by_uid: dict[tuple[int, str], Current]
    records: dict[tuple[int, str], Any]


async def load_state(conn: AsyncConnection, org_ids: set[int]) -> State:
    orgs = {int(r[0]) for r in await conn.execute(select(org.c.id).where(org.c.id.in_(org_ids)))}
    rows = await conn.execute(
        select(
            data_source.c.org_id,
            data_source.c.id,
            data_source.c.uid,
            data_source.c.name,
            data_source.c.version,
        ).where(data_source.c.org_id.in_(org_ids))
    )
    by_name: dict[tuple[int, str], Current] = {}
    by_uid: dict[tuple[int, str], Current] = {}
    for r in rows:
        cur = Current(int(r.id), r.uid, r.name, int(r.version))
        by_name[(int(r.org_id), r.name)] = cur
        by_uid[(int(r.org_id), r.uid)] = cur
    recs = await conn.execute(select(record).where(record.c.org_id.in_(org_ids)))
    return State(orgs, by_name, by_uid, {(int(r.org_id), r.name): r for r in recs})


def is_current(state: State, ds: DataSourceDef) -> bool:
    """The data source is exactly what this definition last wrote."""
    rec = state.records.get((ds.org_id, ds.name))
    cur = state.by_name.get((ds.org_id, ds.name))
    return (
        rec is not None
        and cur is not None
        and rec.check_sum == ds.checksum
        and rec.ds_uid == cur.uid
        and int(rec.ds_version) == cur.version
        and (not ds.uid or ds.uid == cur.uid)
    )


@dataclass
class Plan:
    deletes: list[tuple[DeleteDef, Current]]
    upserts: list[DataSourceDef]
    problems: list[Problem]

    @property
    def empty(self) -> bool:
        return not self.deletes and not self.upserts


def plan(state: State, defs: list[DataSourceDef], deletes: list[DeleteDef]) -> Plan:
    problems: list[Problem] = []
    wanted = {(d.org_id, d.name): d for d in defs}
    out_deletes: list[tuple[DeleteDef, Current]] = []
    for d in deletes:
        if d.org_id not in state.orgs:
            continue  # nothing to delete in an org that does not exist
        cur = state.by_name.get((d.org_id, d.name)) if d.name else state.by_uid.get((d.org_id, d.uid))
        if cur is None:
            continue
        again = wanted.get((d.org_id, cur.name))
        if again is not None and is_current(state, again):
            continue
        if all(cur.id != c.id for _, c in out_deletes):
            out_deletes.append((d, cur))
    upserts: list[DataSourceDef] = []
    for ds in defs:
        if ds.org_id not in state.orgs:
            problems.append(
                Problem(ds.file, f"data source {ds.name!r}: organization {ds.org_id} does not exist")
            )
            continue
        if not is_current(state, ds):
            upserts.append(ds)
    return Plan(out_deletes, upserts, problems)


async def apply(db: Database, store: DataSourceStore, p: Plan, now: int) -> list[Problem]:
    problems = list(p.problems)
    for d, cur in p.deletes:
        found = await store.by_id(d.org_id, cur.id)
        if found is not None:
            await store.delete(d.org_id, found, allow_read_only=True)
            log.info("provisioning: deleted data source %r (org %s) as %s asks", found.name, d.org_id, d.file)
        async with db.write() as conn:
            await conn.execute(
                delete(record).where(and_(record.c.org_id == d.org_id, record.c.name == cur.name))
            )
    for ds in p.upserts:
        try:
            await _upsert(db, store, ds, now)
        except AppError as exc:
            problems.append(Problem(ds.file, f"data source {ds.name!r}: {exc.message}"))
    return problems


async def _upsert(db: Database, store: DataSourceStore, ds: DataSourceDef, now: int) -> None:
    existing = await store.by_name(ds.org_id, ds.name)
    if existing is None and ds.uid:
        existing = await store.by_uid(ds.org_id, ds.uid)  # renamed in the file: same data source
    body = dict(ds.body)
    if existing is None:
        saved = await store.create(ds.org_id, body, read_only=not ds.editable)
        log.info("provisioning: created data source %r (org %s) from %s", ds.name, ds.org_id, ds.file)
    else:
        saved = await store.update(ds.org_id, existing, body, allow_read_only=True)
        log.info("provisioning: updated data source %r (org %s) from %s", ds.name, ds.org_id, ds.file)
    async with db.write() as conn:
        if saved.read_only == ds.editable:  # read_only must be "not editable"
            await conn.execute(
                update(data_source).where(data_source.c.id == saved.id).values(read_only=not ds.editable)
            )
        await conn.execute(
            delete(record).where(
                and_(
                    record.c.org_id == ds.org_id,
                    record.c.name.in_({ds.name, existing.name if existing else ds.name}),
                )
            )
        )
        await conn.execute(
            record.insert().values(
                org_id=ds.org_id,
                name=ds.name,
                ds_uid=saved.uid,
                ds_version=saved.version,
                check_sum=ds.checksum,
                file=ds.file,
                updated=now,
            )
        )
