"""Folder and dashboard permissions for one caller.

A caller's permission on a resource is the highest of: the items on the resource itself and the
items on every ancestor folder (folder permissions are inherited by contents and subfolders).
An item matches the caller when it names the caller's user, one of the caller's teams, or a basic
role the caller's org role includes (Admin ⊇ Editor ⊇ Viewer). Org admins have Admin everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import ROLE_RANK, Identity
from vigil.auth.tables import team_member
from vigil.dashboards.models import ADMIN, EDIT, VIEW, Dashboard, Folder
from vigil.dashboards.tables import dashboard_acl, folder

FOLDER, DASHBOARD = "folder", "dashboard"


def included_roles(org_role: str) -> list[str]:
    """The basic roles whose grants apply to a member with ``org_role``."""
    rank = ROLE_RANK.get(org_role, 0)
    return [r for r in ("Viewer", "Editor", "Admin") if 0 < ROLE_RANK[r] <= rank]


@dataclass
class Access:
    """Everything needed to decide permissions for one caller in one org (built per request)."""

    org_id: int
    user_id: int
    org_role: str
    teams: list[int]
    # the caller's teams are not loaded: ``grantee`` looks them up in SQL (one round trip fewer)
    teams_in_sql: bool = False
    # folder uid -> effective permission (own items and inherited); filled by ``folder_permissions``
    _folders: dict[str, int] | None = field(default=None, repr=False)
    _tree: dict[str, Folder] | None = field(default=None, repr=False)

    @property
    def is_org_admin(self) -> bool:
        return self.org_role == "Admin"

    @property
    def can_create_at_root(self) -> bool:
        """Editors and admins create folders and dashboards in General."""
        return ROLE_RANK.get(self.org_role, 0) >= ROLE_RANK["Editor"]

    def grantee(self) -> ColumnElement[bool]:
        """SQL condition: this ACL item applies to the caller."""
        conds: list[ColumnElement[bool]] = [dashboard_acl.c.user_id == self.user_id]
        if self.teams_in_sql:
            conds.append(
                dashboard_acl.c.team_id.in_(
                    select(team_member.c.team_id).where(
                        and_(team_member.c.user_id == self.user_id, team_member.c.org_id == self.org_id)
                    )
                )
            )
        elif self.teams:
            conds.append(dashboard_acl.c.team_id.in_(self.teams))
        roles = included_roles(self.org_role)
        if roles:
            conds.append(dashboard_acl.c.role.in_(roles))
        return or_(*conds) if conds else false()


async def load_access(conn: AsyncConnection, who: Identity, teams_in_sql: bool = False) -> Access:
    """The caller's access; with ``teams_in_sql`` their teams are left to ``grantee``'s subquery
    (for callers that only use ``grantee``, such as search)."""
    teams: list[int] = []
    if teams_in_sql and who.org_role != "Admin":
        return Access(who.org_id, who.user_id, who.org_role, teams, teams_in_sql=True)
    if who.org_role != "Admin":
        rows = await conn.execute(
            select(team_member.c.team_id).where(
                and_(team_member.c.user_id == who.user_id, team_member.c.org_id == who.org_id)
            )
        )
        teams = [int(r[0]) for r in rows]
    return Access(org_id=who.org_id, user_id=who.user_id, org_role=who.org_role, teams=teams)


async def folder_tree(conn: AsyncConnection, org_id: int) -> dict[str, Folder]:
    rows = await conn.execute(select(folder).where(folder.c.org_id == org_id))
    return {f.uid: f for f in (Folder.from_row(r) for r in rows)}


def ancestors(tree: dict[str, Folder], uid: str) -> list[Folder]:
    """The folder's parents, root first (the folder itself excluded). Stops on cycles."""
    chain: list[Folder] = []
    seen = {uid}
    current = tree.get(uid)
    while current is not None and current.parent_uid and current.parent_uid not in seen:
        seen.add(current.parent_uid)
        parent = tree.get(current.parent_uid)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    chain.reverse()
    return chain


def descendants(tree: dict[str, Folder], uid: str) -> list[str]:
    """Uids of every folder below ``uid`` (not including it)."""
    children: dict[str, list[str]] = {}
    for f in tree.values():
        children.setdefault(f.parent_uid, []).append(f.uid)
    out: list[str] = []
    stack = list(children.get(uid, []))
    seen = {uid}
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        out.append(u)
        stack.extend(children.get(u, []))
    return out


async def tree_of(conn: AsyncConnection, access: Access) -> dict[str, Folder]:
    if access._tree is None:
        access._tree = await folder_tree(conn, access.org_id)
    return access._tree


async def folder_permissions(conn: AsyncConnection, access: Access) -> dict[str, int]:
    """Effective permission of the caller on every folder of the org."""
    if access._folders is not None:
        return access._folders
    tree = await tree_of(conn, access)
    if access.is_org_admin:
        access._folders = dict.fromkeys(tree, ADMIN)
        return access._folders
    own: dict[str, int] = {}
    rows = await conn.execute(
        select(dashboard_acl.c.resource_uid, dashboard_acl.c.permission).where(
            and_(
                dashboard_acl.c.org_id == access.org_id,
                dashboard_acl.c.kind == FOLDER,
                access.grantee(),
            )
        )
    )
    for uid, perm in rows:
        own[uid] = max(own.get(uid, 0), int(perm))
    eff: dict[str, int] = {}

    def resolve(uid: str, depth: int = 0) -> int:
        if uid in eff:
            return eff[uid]
        f = tree.get(uid)
        value = own.get(uid, 0)
        if f is not None and f.parent_uid and depth < 64:
            value = max(value, resolve(f.parent_uid, depth + 1))
        eff[uid] = value
        return value

    for uid in tree:
        resolve(uid)
    access._folders = eff
    return eff


async def folder_permission(conn: AsyncConnection, access: Access, folder_uid: str) -> int:
    if access.is_org_admin:
        return ADMIN
    if not folder_uid:
        return 0
    return (await folder_permissions(conn, access)).get(folder_uid, 0)


async def dashboard_permission(conn: AsyncConnection, access: Access, dash: Dashboard) -> int:
    if access.is_org_admin:
        return ADMIN
    value = await folder_permission(conn, access, dash.folder_uid) if dash.folder_uid else 0
    if value >= ADMIN:
        return value
    rows = await conn.execute(
        select(dashboard_acl.c.permission).where(
            and_(
                dashboard_acl.c.org_id == access.org_id,
                dashboard_acl.c.kind == DASHBOARD,
                dashboard_acl.c.resource_uid == dash.uid,
                access.grantee(),
            )
        )
    )
    for (perm,) in rows:
        value = max(value, int(perm))
    return value


def permitted(value: int, needed: int) -> bool:
    return value >= needed


async def can_view_dashboard(conn: AsyncConnection, who: Identity | Access, dash: Dashboard) -> bool:
    access = who if isinstance(who, Access) else await load_access(conn, who)
    return await dashboard_permission(conn, access, dash) >= VIEW


async def can_edit_dashboard(conn: AsyncConnection, who: Identity | Access, dash: Dashboard) -> bool:
    access = who if isinstance(who, Access) else await load_access(conn, who)
    return await dashboard_permission(conn, access, dash) >= EDIT


async def can_view_folder(conn: AsyncConnection, who: Identity | Access, folder_uid: str) -> bool:
    access = who if isinstance(who, Access) else await load_access(conn, who)
    if not folder_uid:
        return True
    return await folder_permission(conn, access, folder_uid) >= VIEW


async def can_edit_folder(conn: AsyncConnection, who: Identity | Access, folder_uid: str) -> bool:
    """May the caller create or change content in this folder ("" = General)?"""
    access = who if isinstance(who, Access) else await load_access(conn, who)
    if not folder_uid:
        return access.can_create_at_root
    return await folder_permission(conn, access, folder_uid) >= EDIT


async def visible_folder_uids(conn: AsyncConnection, access: Access, needed: int = VIEW) -> Iterable[str]:
    perms = await folder_permissions(conn, access)
    return [uid for uid, p in perms.items() if p >= needed]
