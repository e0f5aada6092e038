"""GET /api/search: folders and dashboards the caller may see, filtered, sorted, one page.

Folders come first (they are few: filtered in Python over the org's folder tree), then dashboards
(filtered, ordered and paged in SQL, permission included, so a page costs one dashboard query plus
one tag query whatever the size of the org).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.dashboards import hooks
from vigil.dashboards.access import DASHBOARD, Access, folder_permissions, tree_of
from vigil.dashboards.models import VIEW, Folder, dashboard_url, slugify
from vigil.dashboards.tables import dashboard, dashboard_acl, dashboard_tag

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


@dataclass
class SearchQuery:
    query: str = ""
    tags: list[str] = field(default_factory=list)
    type: str | None = None  # "dash-db", "dash-folder" or None for both
    dashboard_ids: list[int] | None = None
    dashboard_uids: list[str] | None = None
    folder_ids: list[int] | None = None
    folder_uids: list[str] | None = None  # "" is the root (General)
    starred: bool = False
    limit: int = DEFAULT_LIMIT
    page: int = 1
    descending: bool = False
    permission: int = VIEW


def _folder_fields(tree: dict[str, Folder], folder_uid: str) -> dict[str, Any]:
    f = tree.get(folder_uid) if folder_uid else None
    if f is None:
        return {}
    return {"folderId": f.id, "folderUid": f.uid, "folderTitle": f.title, "folderUrl": f.url}


def _sort_key(collate_c: bool, column: Any) -> Any:
    expr = func.lower(column)
    return expr.collate("C") if collate_c else expr


async def search(conn: AsyncConnection, access: Access, q: SearchQuery) -> list[dict[str, Any]]:
    tree = await tree_of(conn, access)
    perms = None if access.is_org_admin else await folder_permissions(conn, access)
    folder_filter: set[str] | None = None
    if q.folder_uids is not None:
        folder_filter = {("" if u in ("general",) else u) for u in q.folder_uids}
    elif q.folder_ids is not None:
        by_id = {f.id: f.uid for f in tree.values()}
        folder_filter = {("" if i == 0 else by_id.get(i, "#missing")) for i in q.folder_ids}
    needle = q.query.lower()
    starred = await hooks.starred_ids(conn, access.org_id, access.user_id)

    # -- folders ------------------------------------------------------------------------------
    folder_hits: list[Folder] = []
    if q.type in (None, "dash-folder") and not q.tags and not q.starred and q.dashboard_ids is None:
        for f in tree.values():
            if perms is not None and perms.get(f.uid, 0) < q.permission:
                continue
            if needle and needle not in f.title.lower():
                continue
            if folder_filter is not None and f.parent_uid not in folder_filter:
                continue
            if q.dashboard_uids is not None and f.uid not in q.dashboard_uids:
                continue
            folder_hits.append(f)
        folder_hits.sort(key=lambda f: (f.title.lower(), f.id), reverse=q.descending)

    start = (q.page - 1) * q.limit
    out: list[dict[str, Any]] = []
    for f in folder_hits[start : start + q.limit]:
        slug = f.slug
        out.append(
            {
                "id": f.id,
                "uid": f.uid,
                "title": f.title,
                "uri": f"db/{slug}",
                "url": f.url,
                "slug": slug,
                "type": "dash-folder",
                "tags": [],
                "isStarred": False,
                **_folder_fields(tree, f.parent_uid),
                "sortMeta": 0,
            }
        )
    remaining = q.limit - len(out)
    if remaining <= 0 or q.type == "dash-folder":
        return out
    dash_offset = max(0, start - len(folder_hits))

    # -- dashboards ---------------------------------------------------------------------------
    conds: list[ColumnElement[bool]] = [dashboard.c.org_id == access.org_id]
    if needle:
        conds.append(func.lower(dashboard.c.title).contains(needle, autoescape=True))
    for tag in q.tags:
        conds.append(
            exists().where(and_(dashboard_tag.c.dashboard_id == dashboard.c.id, dashboard_tag.c.term == tag))
        )
    if q.dashboard_ids is not None:
        conds.append(dashboard.c.id.in_(q.dashboard_ids))
    if q.dashboard_uids is not None:
        conds.append(dashboard.c.uid.in_(q.dashboard_uids))
    if folder_filter is not None:
        conds.append(dashboard.c.folder_uid.in_(folder_filter))
    if q.starred:
        conds.append(dashboard.c.id.in_(starred))
    if perms is not None:
        allowed_folders = [uid for uid, p in perms.items() if p >= q.permission]
        own = exists().where(
            and_(
                dashboard_acl.c.org_id == access.org_id,
                dashboard_acl.c.kind == DASHBOARD,
                dashboard_acl.c.resource_uid == dashboard.c.uid,
                dashboard_acl.c.permission >= q.permission,
                access.grantee(),
            )
        )
        conds.append(or_(dashboard.c.folder_uid.in_(allowed_folders), own) if allowed_folders else own)
    collate_c = conn.dialect.name == "postgresql"
    order = _sort_key(collate_c, dashboard.c.title)
    stmt = (
        select(dashboard.c.id, dashboard.c.uid, dashboard.c.title, dashboard.c.folder_uid)
        .where(and_(*conds))
        .order_by(order.desc() if q.descending else order.asc())
        .order_by(dashboard.c.id.desc() if q.descending else dashboard.c.id.asc())
        .limit(remaining)
        .offset(dash_offset)
    )
    rows = list(await conn.execute(stmt))
    tags: dict[int, list[str]] = {}
    if rows:
        tag_rows = await conn.execute(
            select(dashboard_tag.c.dashboard_id, dashboard_tag.c.term).where(
                dashboard_tag.c.dashboard_id.in_([r.id for r in rows])
            )
        )
        for dash_id, term in tag_rows:
            tags.setdefault(int(dash_id), []).append(term)
    for r in rows:
        slug = slugify(r.title)
        out.append(
            {
                "id": int(r.id),
                "uid": r.uid,
                "title": r.title,
                "uri": f"db/{slug}",
                "url": dashboard_url(r.uid, slug),
                "slug": slug,
                "type": "dash-db",
                "tags": sorted(tags.get(int(r.id), [])),
                "isStarred": int(r.id) in starred,
                **_folder_fields(tree, r.folder_uid),
                "sortMeta": 0,
            }
        )
    return out


async def tag_counts(conn: AsyncConnection, access: Access) -> list[dict[str, Any]]:
    """``[{"term", "count"}]`` over the dashboards the caller may see."""
    conds: list[ColumnElement[bool]] = [dashboard_tag.c.org_id == access.org_id]
    if not access.is_org_admin:
        perms = await folder_permissions(conn, access)
        allowed = [uid for uid, p in perms.items() if p >= VIEW]
        own = exists().where(
            and_(
                dashboard_acl.c.org_id == access.org_id,
                dashboard_acl.c.kind == DASHBOARD,
                dashboard_acl.c.resource_uid == dashboard.c.uid,
                dashboard_acl.c.permission >= VIEW,
                access.grantee(),
            )
        )
        conds.append(or_(dashboard.c.folder_uid.in_(allowed), own) if allowed else own)
    rows = await conn.execute(
        select(dashboard_tag.c.term, func.count().label("n"))
        .select_from(dashboard_tag.join(dashboard, dashboard.c.id == dashboard_tag.c.dashboard_id))
        .where(and_(*conds))
        .group_by(dashboard_tag.c.term)
        .order_by(dashboard_tag.c.term)
    )
    return [{"term": term, "count": int(n)} for term, n in rows]
