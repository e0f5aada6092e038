"""Extension points other features register on (stars, annotations, alert rules, provisioning).

Each hook runs inside the caller's connection/transaction, so its effect commits or rolls back
with the dashboard change. Register at import time of the feature's module (every module under
``vigil.api`` is imported when an app is built).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

# (conn, org_id, user_id) -> ids of the dashboards the user starred
StarredLookup = Callable[[AsyncConnection, int, int], Awaitable[set[int]]]
# (conn, org_id, dashboard_id, dashboard_uid)
DashboardDeleted = Callable[[AsyncConnection, int, int, str], Awaitable[None]]
# (conn, org_id, folder_uid, force_delete_rules): may raise AppError to refuse the deletion
FolderDeleted = Callable[[AsyncConnection, int, str, bool], Awaitable[None]]

_starred: list[StarredLookup] = []
dashboard_deleted: list[DashboardDeleted] = []
folder_deleted: list[FolderDeleted] = []


def register_starred_lookup(fn: StarredLookup) -> None:
    """The stars feature registers how to find a user's starred dashboards (one lookup wins)."""
    _starred.clear()
    _starred.append(fn)


def on_dashboard_deleted(fn: DashboardDeleted) -> None:
    if fn not in dashboard_deleted:
        dashboard_deleted.append(fn)


def on_folder_deleted(fn: FolderDeleted) -> None:
    if fn not in folder_deleted:
        folder_deleted.append(fn)


async def starred_ids(conn: AsyncConnection, org_id: int, user_id: int) -> set[int]:
    """The user's starred dashboard ids; empty while no stars feature is installed."""
    if _starred:
        return await _starred[0](conn, org_id, user_id)
    try:
        from vigil.preferences import service as prefs
    except ImportError:  # the stars feature is not installed: nobody has stars
        return set()
    return set(await prefs.starred_ids(conn, org_id, user_id))


def stars_available() -> bool:
    return bool(_starred)


# (org_id, user_id, dashboard uid column; ids or bound parameters) -> SQL condition "the user starred
# this dashboard", so a read can fold the star into its own query
StarredClause = Callable[[Any, Any, Any], ColumnElement[bool]]
_starred_clause: list[StarredClause] = []


def register_starred_clause(fn: StarredClause) -> None:
    _starred_clause.clear()
    _starred_clause.append(fn)


def starred_clause(org_id: int, user_id: int, uid_column: Any) -> ColumnElement[bool] | None:
    """The registered star condition, or None (then use ``starred_ids``)."""
    return _starred_clause[0](org_id, user_id, uid_column) if _starred_clause else None


def starred_clause_fn() -> StarredClause | None:
    """The registered star condition builder itself (for statements built once with bound
    parameters in place of the ids)."""
    return _starred_clause[0] if _starred_clause else None


# (conn, org_id, user_id, team_ids) -> uid of the caller's home dashboard ("" for the built-in one)
HomeLookup = Callable[[AsyncConnection, int, int, list[int]], Awaitable[str]]
_home: list[HomeLookup] = []


def register_home_lookup(fn: HomeLookup) -> None:
    """The preferences feature registers how to find the effective home dashboard uid."""
    _home.clear()
    _home.append(fn)


async def home_dashboard_uid(conn: AsyncConnection, org_id: int, user_id: int, team_ids: list[int]) -> str:
    if _home:
        return await _home[0](conn, org_id, user_id, team_ids)
    try:
        from vigil.preferences import service as prefs
    except ImportError:  # the preferences feature is not installed
        return ""
    found = await prefs.effective(conn, org_id, user_id, team_ids)
    return str(getattr(found, "home_dashboard_uid", "") or "")
