"""Provisioning dashboards from file providers, idempotently and without fights between replicas.

Each provisioned dashboard has one ``dashboard_provisioning`` row keyed by (provider name, path of
the file relative to the provider's path) holding the sha256 of the file's bytes. A cycle first
plans without any lock: when every file's checksum, folder and setting match their rows and no
file has gone, it writes nothing at all. Otherwise it takes the cross-replica provisioning lock,
plans again (another replica may just have done the work) and applies:

- a new or changed file is saved with ``overwrite`` (a new version only when the file changed);
  a file without a uid keeps the uid its dashboard was given the first time;
- a uid or a title already provisioned from another file is refused (deterministically: the
  first owner keeps it), so two files never take a dashboard from each other on every cycle;
- a row whose file is gone deletes its dashboard (or only the row, with ``disableDeletion``).
  A provider whose path does not exist is skipped entirely: nothing is loaded and nothing is
  deleted, so a replica missing a mount never deletes what the others provision. Providers that
  are no longer configured are left alone for the same reason.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.tables import org
from vigil.dashboards.folders import create_folder_in
from vigil.dashboards.models import Dashboard, title_key
from vigil.dashboards.save import (
    SaveRequest,
    delete_dashboard_rows,
    save_in,
    unwrap_resource,
    version_mismatch,
    with_retries,
)
from vigil.dashboards.tables import dashboard, dashboard_provisioning, folder
from vigil.errors import AppError
from vigil.provisioning.files import Problem, ProviderDef
from vigil.storage.db import Database

log = logging.getLogger("vigil.provisioning")
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class DashFile:
    rel: str  # the external id: path relative to the provider's path (the file name for a file path)
    path: Path
    checksum: str
    folder_title: str | None  # foldersFromFilesStructure: the parent directory's name (None at the top)


def scan(p: ProviderDef) -> tuple[list[DashFile] | None, list[Problem]]:
    """The provider's dashboard files; None when its path is missing (skip the provider)."""
    if not p.path.exists():
        return None, [
            Problem(
                p.file,
                f"provider {p.name!r}: path {p.path} does not exist; nothing loaded and nothing deleted",
            )
        ]
    found: list[tuple[str, Path, str | None]] = []
    if p.path.is_file():
        found.append((p.path.name, p.path, None))
    else:
        for dirpath, dirnames, filenames in os.walk(p.path, followlinks=True):
            dirnames.sort()
            here = Path(dirpath)
            for name in sorted(filenames):
                if not name.lower().endswith(".json"):
                    continue
                full = here / name
                rel = full.relative_to(p.path).as_posix()
                parent = None if here == p.path else here.name
                found.append((rel, full, parent))
    files: list[DashFile] = []
    problems: list[Problem] = []
    for rel, full, parent in sorted(found):
        try:
            if full.stat().st_size > MAX_FILE_BYTES:
                problems.append(Problem(str(full), f"larger than {MAX_FILE_BYTES} bytes: not loaded"))
                continue
            digest = hashlib.sha256(full.read_bytes()).hexdigest()
        except OSError as exc:
            problems.append(Problem(str(full), f"cannot read the file: {exc.strerror or exc}"))
            continue
        files.append(DashFile(rel, full, digest, parent if p.folders_from_files else None))
    return files, problems


def parse_dashboard(f: DashFile) -> dict[str, Any]:
    try:
        data = orjson.loads(f.path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"not a valid JSON dashboard: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict) and "panels" not in data:
        data = data["dashboard"]  # an export wrapped as {"dashboard": …, "meta": …}
    if not isinstance(data, dict):
        raise ValueError("not a valid JSON dashboard: the top level must be an object")
    try:
        data = unwrap_resource(data)
    except AppError as exc:
        raise ValueError(exc.message) from None
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("the dashboard has no title")
    return data


# -- state ------------------------------------------------------------------------------------------


@dataclass
class State:
    org_exists: bool
    records: dict[str, Any]  # rel -> dashboard_provisioning row of this provider
    dashboards: dict[int, Dashboard]  # id -> dashboard of those rows
    folders_by_uid: dict[str, Any]
    root_folders_by_title: dict[str, Any]


async def load_state(conn: AsyncConnection, p: ProviderDef) -> State:
    org_exists = (await conn.execute(select(org.c.id).where(org.c.id == p.org_id))).first() is not None
    rows = (
        await conn.execute(select(dashboard_provisioning).where(dashboard_provisioning.c.name == p.name))
    ).all()
    ids = [int(r.dashboard_id) for r in rows]
    dashes: dict[int, Dashboard] = {}
    if ids:
        cols = [c for c in dashboard.c if c.name != "data"]
        for r in await conn.execute(
            select(*cols).where(and_(dashboard.c.org_id == p.org_id, dashboard.c.id.in_(ids)))
        ):
            m = dict(r._mapping)
            m["data"] = "{}"
            dashes[int(m["id"])] = Dashboard.from_row(_Row(m))
    folders = (
        await conn.execute(
            select(folder.c.uid, folder.c.title, folder.c.parent_uid).where(folder.c.org_id == p.org_id)
        )
    ).all()
    by_uid = {f.uid: f for f in folders}
    by_title: dict[str, Any] = {}
    for f in sorted(folders, key=lambda f: f.uid):
        if not f.parent_uid:
            by_title.setdefault(f.title.strip().casefold(), f)
    return State(org_exists, {r.external_id: r for r in rows}, dashes, by_uid, by_title)


class _Row:
    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


def target_folder(p: ProviderDef, f: DashFile, state: State) -> str | None:
    """The folder uid a file goes to ("" = General); None when that folder must be created first."""
    if p.folders_from_files:
        if f.folder_title is None:
            return ""
        found = state.root_folders_by_title.get(f.folder_title.strip().casefold())
        return str(found.uid) if found is not None else None
    if p.folder_uid:
        return p.folder_uid if p.folder_uid in state.folders_by_uid else None
    if p.folder:
        found = state.root_folders_by_title.get(p.folder.casefold())
        return str(found.uid) if found is not None else None
    return ""


def is_current(p: ProviderDef, f: DashFile, state: State) -> bool:
    rec = state.records.get(f.rel)
    if rec is None or rec.check_sum != f.checksum or bool(rec.allow_ui_updates) != p.allow_ui_updates:
        return False
    dash = state.dashboards.get(int(rec.dashboard_id))
    return dash is not None and dash.folder_uid == target_folder(p, f, state)


@dataclass
class Plan:
    provider: ProviderDef
    files: list[DashFile]  # files needing a save
    gone: list[Any]  # records whose file has gone
    problems: list[Problem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.files and not self.gone


def plan(p: ProviderDef, files: list[DashFile], state: State, refused: dict[tuple[str, str], str]) -> Plan:
    if not state.org_exists:
        return Plan(
            p, [], [], [Problem(p.file, f"provider {p.name!r}: organization {p.org_id} does not exist")]
        )
    todo = [f for f in files if not is_current(p, f, state) and refused.get((p.name, f.rel)) != f.checksum]
    present = {f.rel for f in files}
    gone = [rec for rel, rec in sorted(state.records.items()) if rel not in present]
    return Plan(p, todo, gone)


# -- applying ---------------------------------------------------------------------------------------


async def ensure_folder(db: Database, p: ProviderDef, f: DashFile, now: int) -> str:
    """Create the provider's (or the file's directory's) folder at the root when it is missing."""
    if p.folders_from_files:
        title, uid = f.folder_title or "", ""
    else:
        title, uid = (p.folder or p.folder_uid), p.folder_uid
    return await ensure_root_folder(db, p.org_id, title, uid, now, f"provider {p.name!r}")


async def ensure_root_folder(db: Database, org_id: int, title: str, uid: str, now: int, why: str) -> str:
    """The uid of the folder with ``uid`` (or, without one, the root folder titled ``title``),
    created when it is missing."""
    async with db.write() as conn:
        if uid:
            row = (
                await conn.execute(
                    select(folder.c.uid).where(and_(folder.c.org_id == org_id, folder.c.uid == uid))
                )
            ).first()
        else:
            row = (
                await conn.execute(
                    select(folder.c.uid)
                    .where(folder.c.org_id == org_id, folder.c.parent_uid == "", folder.c.title == title)
                    .order_by(folder.c.uid)
                )
            ).first()
        if row is not None:
            return str(row[0])
        body = {"title": title, "uid": uid} if uid else {"title": title}
        created = await create_folder_in(conn, org_id, body, now)
        log.info("provisioning: created folder %r (%s) for %s", title, created.uid, why)
        return created.uid


async def _owner(conn: AsyncConnection, dashboard_id: int) -> Any:
    return (
        await conn.execute(
            select(dashboard_provisioning).where(dashboard_provisioning.c.dashboard_id == dashboard_id)
        )
    ).first()


async def _save_file(
    db: Database, p: ProviderDef, f: DashFile, folder_uid: str, data: dict[str, Any], now: int
) -> Dashboard:
    async def attempt(conn: AsyncConnection) -> Dashboard:
        rec = (
            await conn.execute(
                select(dashboard_provisioning).where(
                    and_(
                        dashboard_provisioning.c.name == p.name, dashboard_provisioning.c.external_id == f.rel
                    )
                )
            )
        ).first()
        previous: Dashboard | None = None
        if rec is not None:
            row = (
                await conn.execute(
                    select(dashboard).where(
                        and_(dashboard.c.org_id == p.org_id, dashboard.c.id == rec.dashboard_id)
                    )
                )
            ).first()
            previous = Dashboard.from_row(row) if row else None
        body = dict(data)
        body["id"] = None
        uid = body.get("uid")
        if not uid and previous is not None:
            body["uid"] = uid = previous.uid
        replaced = previous is not None and previous.uid != uid
        # a uid or a title provisioned from another file stays with its first owner
        clash_conds = [
            and_(dashboard.c.folder_uid == folder_uid, dashboard.c.title_key == title_key(str(body["title"])))
        ]
        if isinstance(uid, str) and uid:
            clash_conds.append(dashboard.c.uid == uid)
        for other in await conn.execute(
            select(dashboard.c.id, dashboard.c.uid, dashboard.c.title).where(
                and_(dashboard.c.org_id == p.org_id, or_(*clash_conds))
            )
        ):
            owner = await _owner(conn, int(other.id))
            if owner is not None and (owner.name, owner.external_id) != (p.name, f.rel):
                what = f"uid {other.uid!r}" if other.uid == uid else f"title {other.title!r} in this folder"
                raise _Clash(
                    f"{what} is already provisioned from {owner.external_id!r} "
                    f"by provider {owner.name!r}; not loaded"
                )
        if replaced and previous is not None:
            await delete_dashboard_rows(conn, p.org_id, previous)  # the file's uid changed
        saved = await save_in(
            conn,
            p.org_id,
            None,
            None,
            SaveRequest(
                dashboard=body,
                folder_uid=folder_uid,
                overwrite=True,
                message="provisioned from " + f.rel,
                allow_provisioned=True,
                check_permissions=False,
            ),
            now,
        )
        await conn.execute(
            delete(dashboard_provisioning).where(
                or_(
                    dashboard_provisioning.c.dashboard_id == saved.id,
                    and_(
                        dashboard_provisioning.c.name == p.name, dashboard_provisioning.c.external_id == f.rel
                    ),
                )
            )
        )
        await conn.execute(
            dashboard_provisioning.insert().values(
                dashboard_id=saved.id,
                name=p.name,
                external_id=f.rel,
                check_sum=f.checksum,
                allow_ui_updates=p.allow_ui_updates,
                updated=now,
            )
        )
        return saved

    return await with_retries(db, attempt, on_conflict=version_mismatch)


class _Clash(Exception):
    pass


async def apply(db: Database, pl: Plan, refused: dict[tuple[str, str], str], now: int) -> list[Problem]:
    p = pl.provider
    problems = list(pl.problems)
    for rec in pl.gone:
        async with db.write() as conn:
            still = (
                await conn.execute(
                    select(dashboard_provisioning).where(dashboard_provisioning.c.id == rec.id)
                )
            ).first()
            if still is None:
                continue
            row = (
                await conn.execute(
                    select(dashboard).where(
                        and_(dashboard.c.org_id == p.org_id, dashboard.c.id == rec.dashboard_id)
                    )
                )
            ).first()
            if row is None or p.disable_deletion:
                await conn.execute(
                    delete(dashboard_provisioning).where(dashboard_provisioning.c.id == rec.id)
                )
                if row is not None:
                    log.info(
                        "provisioning: %s %r is gone; dashboard kept (disableDeletion)",
                        p.name,
                        rec.external_id,
                    )
                continue
            await delete_dashboard_rows(conn, p.org_id, Dashboard.from_row(row))
            log.info("provisioning: %s %r is gone; dashboard %s deleted", p.name, rec.external_id, row.uid)
    async with db.read() as conn:
        state = await load_state(conn, p)
    for f in pl.files:
        if is_current(p, f, state):
            continue  # another replica did it while this one waited for the lock
        try:
            data = parse_dashboard(f)
            folder_uid = target_folder(p, f, state)
            if folder_uid is None:
                folder_uid = await ensure_folder(db, p, f, now)
                async with db.read() as conn:
                    state = await load_state(conn, p)
            saved = await _save_file(db, p, f, folder_uid, data, now)
            refused.pop((p.name, f.rel), None)
            log.info("provisioning: %s %r (uid %s, version %s)", p.name, f.rel, saved.uid, saved.version)
        except (ValueError, _Clash, AppError) as exc:
            text = exc.message if isinstance(exc, AppError) else str(exc)
            refused[(p.name, f.rel)] = f.checksum
            problems.append(Problem(str(f.path), f"provider {p.name!r}: {text}"))
    return problems
