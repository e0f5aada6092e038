"""Per-replica cache of what ``GET /api/dashboards/uid/:uid`` reads, exact on every replica.

What is kept: for a dashboard, its stored JSON already framed as ``{"dashboard":…,"meta":``, the
rows its meta is made of (folder, provisioning record, author logins) and every permission item
that can apply to it (its own and those of its folder and the folder's ancestors); for a caller,
their teams and starred dashboards, and (for ``/api/search``) the folders where they hold a
permission. A request then decides the permission in Python (the rules of
``vigil.dashboards.access``) and sends the cached bytes with the caller's meta, without a query of
its own.

Why it is never stale, on any replica:

- every ``Database.write()`` transaction that writes a table these answers are made of (dashboards,
  folders, permission items, provisioning records, teams and their members, stars, user logins)
  records a change on the change bus *in the same transaction* (``Database.watch_writes``), whatever
  code path wrote it, and this replica drops its cache right after the commit;
- before a cached answer is used, the replica reads the bus (``ChangeBus.sync``: one query that
  starts after the request arrived, shared by every request waiting at that moment), so a change
  committed anywhere before the request arrived has dropped the cache first; a change row and the
  data it announces commit together, so seeing one means reading the other;
- a load that raced an invalidation is not stored (generation check).

The caller's org role comes from their identity (``vigil.auth.authenticate``), as on every route.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import ROLE_RANK, Identity
from vigil.auth.tables import team_member
from vigil.cluster.bus import ChangeBus
from vigil.dashboards import hooks
from vigil.dashboards.access import (
    DASHBOARD,
    FOLDER,
    Access,
    ancestors,
    folder_permissions,
    folder_tree,
    included_roles,
)
from vigil.dashboards.models import ADMIN, VIEW, Dashboard, plausible_uid
from vigil.dashboards.tables import dashboard_acl, folder
from vigil.dashboards.views import _reader_query, dashboard_meta
from vigil.errors import AppError
from vigil.http.responses import dumps
from vigil.storage.db import Database

TOPIC = "dashboards.read"
# The tables the answer is made of ("user.login": only an insert, a delete or a login change).
WATCHED = (
    "dashboard",
    "folder",
    "dashboard_acl",
    "dashboard_provisioning",
    "team",
    "team_member",
    "star",
    "user.login",
)
_EDITOR = ROLE_RANK["Editor"]


@dataclass
class _Entry:
    dashboard: Dashboard  # data_raw dropped: it lives in ``head``
    row: Any  # the reader query's row (folder, provisioning, authors) for the meta
    head: bytes  # b'{"dashboard":<stored JSON>,"meta":'
    # permission items that may apply: (user_id, team_id, role, permission)
    items: tuple[tuple[int, int, str, int], ...]
    size: int
    metas: dict[tuple[int, bool, bool], bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class _Caller:
    teams: frozenset[int]
    starred: frozenset[int]


_STATEMENT: list[Any] = []


def _statement() -> Any:
    if not _STATEMENT:
        _STATEMENT.append(
            _reader_query(bindparam("org_id"), bindparam("uid")).add_columns(
                folder.c.parent_uid.label("f_parent")
            )
        )
    return _STATEMENT[0]


def permission(
    entry_items: tuple[tuple[int, int, str, int], ...], who: Identity, teams: frozenset[int]
) -> int:
    """The caller's permission from the items on the dashboard, its folder and the folder's
    ancestors: the highest item naming the caller, one of their teams or a basic role their org
    role includes; org admins have Admin everywhere."""
    if who.org_role == "Admin":
        return ADMIN
    roles = included_roles(who.org_role)
    best = 0
    uid = who.user_id
    for user_id, team_id, role, perm in entry_items:
        if perm > best and (user_id == uid or team_id in teams or role in roles):
            best = perm
    return best


class DashboardReadCache:
    def __init__(self, db: Database, bus: ChangeBus, max_bytes: int) -> None:
        self.db = db
        self.bus = bus
        self.max_bytes = max_bytes
        self._entries: dict[tuple[int, str], _Entry] = {}
        self._callers: dict[tuple[int, int], _Caller] = {}
        self._granted: dict[tuple[int, int, str, int], frozenset[str]] = {}
        self._bytes = 0
        self._generation = 0
        self.hits = 0
        self.misses = 0
        self.invalidations = 0
        if max_bytes > 0:
            bus.on_writes(WATCHED, TOPIC, self._on_change)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self.bus.started

    # -- invalidation -----------------------------------------------------------------------------

    def _on_change(self, _topic: str, _key: str) -> None:
        self.clear()

    def clear(self) -> None:
        self.invalidations += 1
        self._generation += 1
        self._entries.clear()
        self._callers.clear()
        self._granted.clear()
        self._bytes = 0

    # -- search -----------------------------------------------------------------------------------

    async def granted_folders(self, conn: AsyncConnection, who: Access, needed: int) -> frozenset[str] | None:
        """Uids of the folders where the caller holds ``needed`` or more (own items or inherited),
        for search to filter on; None when the cache is off (search then decides in SQL)."""
        if not self.enabled:
            return None
        await self.bus.sync()
        key = (who.org_id, who.user_id, who.org_role, needed)
        found = self._granted.get(key)
        if found is None:
            generation = self._generation
            fresh = Access(who.org_id, who.user_id, who.org_role, [], teams_in_sql=True)
            perms = await folder_permissions(conn, fresh)
            found = frozenset(uid for uid, p in perms.items() if p >= needed)
            if generation == self._generation:
                if len(self._granted) >= 10_000:
                    self._granted.clear()
                self._granted[key] = found
        return found

    # -- reads ------------------------------------------------------------------------------------

    async def body(self, who: Identity, uid: str) -> bytes | None:
        """The reply to ``GET /api/dashboards/uid/:uid`` for ``who``, or None when the cache is off
        (then the caller reads the database itself). Raises 404/403 as the uncached read does."""
        if not self.enabled:
            return None
        if not plausible_uid(uid):
            raise AppError(404, "Dashboard not found")
        await self.bus.sync()
        org_id = who.org_id
        entry = self._entries.get((org_id, uid))
        caller = self._callers.get((org_id, who.user_id))
        if entry is None or caller is None:
            self.misses += 1
            entry, caller = await self._load(who, uid, entry, caller)
        else:
            self.hits += 1
        perm = permission(entry.items, who, caller.teams)
        if perm < VIEW:
            raise AppError.forbidden("Access denied to this dashboard")
        d = entry.dashboard
        editor = ROLE_RANK.get(who.org_role, 0) >= _EDITOR
        starred = d.id in caller.starred
        key = (perm, editor, starred)
        meta = entry.metas.get(key)
        if meta is None:
            meta = dumps(dashboard_meta(entry.row, d, perm, who.org_role, starred))
            if len(entry.metas) < 16:
                entry.metas[key] = meta
        return entry.head + meta + b"}"

    async def _load(
        self, who: Identity, uid: str, entry: _Entry | None, caller: _Caller | None
    ) -> tuple[_Entry, _Caller]:
        generation = self._generation
        async with self.db.read() as conn:
            if entry is None:
                entry = await self._load_entry(conn, who.org_id, uid)
            if caller is None:
                caller = await self._load_caller(conn, who)
        if generation == self._generation:  # nothing changed while we read: keep it
            self._store_entry((who.org_id, uid), entry)
            if len(self._callers) >= 10_000:
                self._callers.clear()
            self._callers[(who.org_id, who.user_id)] = caller
        return entry, caller

    def _store_entry(self, key: tuple[int, str], entry: _Entry) -> None:
        if entry.size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        while self._entries and self._bytes + entry.size > self.max_bytes:
            oldest = next(iter(self._entries))
            self._bytes -= self._entries.pop(oldest).size
        self._entries[key] = entry
        self._bytes += entry.size

    async def _load_entry(self, conn: AsyncConnection, org_id: int, uid: str) -> _Entry:
        row = (await conn.execute(_statement(), {"org_id": org_id, "uid": uid})).first()
        if row is None:
            raise AppError(404, "Dashboard not found")
        d = Dashboard.from_row(row)
        chain: list[str] = []
        if d.folder_uid and row.f_id is not None:
            chain.append(d.folder_uid)
            if row.f_parent:  # nested: permissions inherited from every ancestor
                tree = await folder_tree(conn, org_id)
                chain += [f.uid for f in ancestors(tree, d.folder_uid)]
        conds = [and_(dashboard_acl.c.kind == DASHBOARD, dashboard_acl.c.resource_uid == uid)]
        if chain:
            conds.append(and_(dashboard_acl.c.kind == FOLDER, dashboard_acl.c.resource_uid.in_(chain)))
        rows = await conn.execute(
            select(
                dashboard_acl.c.user_id,
                dashboard_acl.c.team_id,
                dashboard_acl.c.role,
                dashboard_acl.c.permission,
            ).where(and_(dashboard_acl.c.org_id == org_id, or_(*conds)))
        )
        items = tuple((int(u or 0), int(t or 0), r or "", int(p)) for u, t, r, p in rows)
        head = b'{"dashboard":' + d.data_raw.encode("utf-8") + b',"meta":'
        return _Entry(
            dashboard=replace(d, data_raw=""), row=row, head=head, items=items, size=len(head) * 2 + 2048
        )

    async def _load_caller(self, conn: AsyncConnection, who: Identity) -> _Caller:
        # loaded whatever the role: the role is the identity's and may change under a cached caller
        rows = await conn.execute(
            select(team_member.c.team_id).where(
                and_(team_member.c.user_id == who.user_id, team_member.c.org_id == who.org_id)
            )
        )
        teams = frozenset(int(r[0]) for r in rows)
        starred = frozenset(await hooks.starred_ids(conn, who.org_id, who.user_id))
        return _Caller(teams=teams, starred=starred)
