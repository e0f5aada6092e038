"""GET /api/search: folders and dashboards the caller may see, filtered, sorted, one page.

Folders come first (filtered in SQL, sorted and paged in Python), then dashboards (filtered, ordered
and paged in SQL, permission included through a recursive CTE over the folder tree, folder fields
joined, stars folded in), so a search costs a folder query, a dashboard query and a tag query
whatever the size of the org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, String, and_, any_, bindparam, exists, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.dashboards import hooks
from vigil.dashboards.access import DASHBOARD, FOLDER, Access, folder_permissions
from vigil.dashboards.models import VIEW, dashboard_url, folder_url, slugify
from vigil.dashboards.tables import dashboard, dashboard_acl, dashboard_tag, folder

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


def _folder_fields(folder_id: Any, folder_uid: str, folder_title: Any) -> dict[str, Any]:
    """The hit's folder fields, left out at the root (or when the folder row is gone)."""
    if folder_id is None or not folder_uid:
        return {}
    return {
        "folderId": int(folder_id),
        "folderUid": folder_uid,
        "folderTitle": folder_title,
        "folderUrl": folder_url(folder_uid, slugify(folder_title)),
    }


def _sort_key(collate_c: bool, column: Any) -> Any:
    expr = func.lower(column)
    return expr.collate("C") if collate_c else expr


def _granted_folders(access: Access, needed: int) -> Any:
    """Recursive CTE of the uids of the folders where the caller holds ``needed`` or more: an item
    of the caller's on the folder or on any ancestor (permissions are inherited downwards)."""
    base = select(dashboard_acl.c.resource_uid.label("uid")).where(
        and_(
            dashboard_acl.c.org_id == access.org_id,
            dashboard_acl.c.kind == FOLDER,
            dashboard_acl.c.permission >= needed,
            access.grantee(),
        )
    )
    granted = base.cte("granted_folders", recursive=True)
    child = folder.alias("child_folder")
    return granted.union(
        select(child.c.uid).where(and_(child.c.org_id == access.org_id, child.c.parent_uid == granted.c.uid))
    )


class _UidArray(list[str]):
    """Granted folder uids bound as one PostgreSQL array."""


def _among(column: Any, granted: Any) -> ColumnElement[bool]:
    cond: ColumnElement[bool]
    if isinstance(granted, _UidArray):
        cond = column == any_(bindparam("granted_uids", list(granted), type_=ARRAY(String())))
    else:
        cond = column.in_(granted)
    return cond


def _in_folders(
    column: ColumnElement[str], org_id: int, uids: set[str] | None, ids: list[int] | None
) -> ColumnElement[bool]:
    """``column`` (a folder uid, "" for the root) names one of the given folders."""
    if uids is not None:
        return column.in_(sorted(uids))
    assert ids is not None
    conds: list[ColumnElement[bool]] = [
        column.in_(select(folder.c.uid).where(and_(folder.c.org_id == org_id, folder.c.id.in_(ids))))
    ]
    if 0 in ids:
        conds.append(column == "")
    return or_(*conds)


async def search(
    conn: AsyncConnection, access: Access, q: SearchQuery, granted_uids: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Folders (all of them that match, sorted in Python), then one page of dashboards ordered and
    paged in SQL. Permissions are decided in SQL for both (a recursive CTE over the folder tree),
    so the cost does not grow with the number of folders the caller may see; or, given
    ``granted_uids`` (the folders where the caller holds ``q.permission``, from the replica's
    exact cache, ``DashboardReadCache.granted_folders``), from that list."""
    org_id = access.org_id
    granted: Any = None
    if access.is_org_admin:
        pass
    elif granted_uids is not None and conn.dialect.name == "postgresql":
        # one array parameter (= ANY): binding hundreds of IN parameters costs more than the query
        granted = _UidArray(sorted(granted_uids))
    elif granted_uids is not None:
        granted = sorted(granted_uids)
    else:
        granted = select(_granted_folders(access, q.permission).c.uid)
    folder_uids = None
    if q.folder_uids is not None:
        folder_uids = {("" if u in ("general",) else u) for u in q.folder_uids}
    filtering_folders = folder_uids is not None or q.folder_ids is not None
    needle = q.query.lower()
    star_clause = hooks.starred_clause(org_id, access.user_id, dashboard.c.uid)
    starred: set[int] = set()
    if star_clause is None:
        starred = await hooks.starred_ids(conn, org_id, access.user_id)

    # -- folders ------------------------------------------------------------------------------
    folder_rows: list[Any] = []
    if q.type in (None, "dash-folder") and not q.tags and not q.starred and q.dashboard_ids is None:
        parent = folder.alias("parent_folder")
        fconds: list[ColumnElement[bool]] = [folder.c.org_id == org_id]
        if needle:
            fconds.append(func.lower(folder.c.title).contains(needle, autoescape=True))
        if filtering_folders:
            fconds.append(_in_folders(folder.c.parent_uid, org_id, folder_uids, q.folder_ids))
        if q.dashboard_uids is not None:
            fconds.append(folder.c.uid.in_(q.dashboard_uids))
        if granted is not None:
            fconds.append(_among(folder.c.uid, granted))
        folder_rows = list(
            await conn.execute(
                select(
                    folder.c.id,
                    folder.c.uid,
                    folder.c.title,
                    parent.c.id.label("p_id"),
                    parent.c.uid.label("p_uid"),
                    parent.c.title.label("p_title"),
                )
                .select_from(
                    folder.outerjoin(
                        parent, and_(parent.c.org_id == folder.c.org_id, parent.c.uid == folder.c.parent_uid)
                    )
                )
                .where(and_(*fconds))
            )
        )
        folder_rows.sort(key=lambda f: (f.title.lower(), f.id), reverse=q.descending)

    start = (q.page - 1) * q.limit
    out: list[dict[str, Any]] = []
    for f in folder_rows[start : start + q.limit]:
        slug = slugify(f.title)
        out.append(
            {
                "id": int(f.id),
                "uid": f.uid,
                "title": f.title,
                "uri": f"db/{slug}",
                "url": folder_url(f.uid, slug),
                "slug": slug,
                "type": "dash-folder",
                "tags": [],
                "isStarred": False,
                **_folder_fields(f.p_id, f.p_uid or "", f.p_title),
                "sortMeta": 0,
            }
        )
    remaining = q.limit - len(out)
    if remaining <= 0 or q.type == "dash-folder":
        return out
    dash_offset = max(0, start - len(folder_rows))

    # -- dashboards ---------------------------------------------------------------------------
    conds: list[ColumnElement[bool]] = [dashboard.c.org_id == org_id]
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
    if filtering_folders:
        conds.append(_in_folders(dashboard.c.folder_uid, org_id, folder_uids, q.folder_ids))
    if q.starred:
        conds.append(star_clause if star_clause is not None else dashboard.c.id.in_(starred))
    if granted is not None:
        own = exists().where(
            and_(
                dashboard_acl.c.org_id == org_id,
                dashboard_acl.c.kind == DASHBOARD,
                dashboard_acl.c.resource_uid == dashboard.c.uid,
                dashboard_acl.c.permission >= q.permission,
                access.grantee(),
            )
        )
        conds.append(or_(_among(dashboard.c.folder_uid, granted), own))
    collate_c = conn.dialect.name == "postgresql"
    order = _sort_key(collate_c, dashboard.c.title)
    columns: list[Any] = [
        dashboard.c.id,
        dashboard.c.uid,
        dashboard.c.title,
        dashboard.c.folder_uid,
        folder.c.id.label("f_id"),
        folder.c.title.label("f_title"),
    ]
    if star_clause is not None:
        columns.append(star_clause.label("is_starred"))
    tags_inline = conn.dialect.name == "postgresql"  # array_agg: the tags come with the rows
    if tags_inline:
        columns.append(
            select(func.array_agg(dashboard_tag.c.term))
            .where(dashboard_tag.c.dashboard_id == dashboard.c.id)
            .scalar_subquery()
            .label("tag_list")
        )
    stmt = (
        select(*columns)
        .select_from(
            dashboard.outerjoin(
                folder, and_(folder.c.org_id == dashboard.c.org_id, folder.c.uid == dashboard.c.folder_uid)
            )
        )
        .where(and_(*conds))
        .order_by(order.desc() if q.descending else order.asc())
        .order_by(dashboard.c.id.desc() if q.descending else dashboard.c.id.asc())
        .limit(remaining)
        .offset(dash_offset)
    )
    rows = list(await conn.execute(stmt))
    tags: dict[int, list[str]] = {}
    if tags_inline:
        tags = {int(r.id): list(r.tag_list or []) for r in rows}
    elif rows:
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
                "isStarred": bool(r.is_starred) if star_clause is not None else int(r.id) in starred,
                **_folder_fields(r.f_id, r.folder_uid, r.f_title),
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
