"""Dashboard versions: list, one version with its JSON, restore."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import Identity
from vigil.clock import iso
from vigil.dashboards.folders import logins
from vigil.dashboards.models import Dashboard
from vigil.dashboards.save import SaveRequest, save_dashboard
from vigil.dashboards.tables import dashboard_version
from vigil.errors import AppError
from vigil.storage.db import Database


def version_not_found() -> AppError:
    return AppError(404, "Dashboard version not found")


def _meta(row: Any, d: Dashboard, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "dashboardId": d.id,
        "uid": d.uid,
        "parentVersion": int(row.parent_version),
        "restoredFrom": int(row.restored_from),
        "version": int(row.version),
        "created": iso(int(row.created) / 1000),
        "createdBy": names.get(int(row.created_by), "Anonymous"),
        "message": row.message or "",
    }


async def list_versions(conn: AsyncConnection, d: Dashboard, limit: int, start: int) -> list[dict[str, Any]]:
    """Newest first, without ``data``."""
    rows = list(
        await conn.execute(
            select(
                dashboard_version.c.id,
                dashboard_version.c.parent_version,
                dashboard_version.c.restored_from,
                dashboard_version.c.version,
                dashboard_version.c.created,
                dashboard_version.c.created_by,
                dashboard_version.c.message,
            )
            .where(dashboard_version.c.dashboard_id == d.id)
            .order_by(dashboard_version.c.version.desc())
            .limit(limit)
            .offset(start)
        )
    )
    names = await logins(conn, {int(r.created_by) for r in rows})
    return [_meta(r, d, names) for r in rows]


async def get_version(conn: AsyncConnection, d: Dashboard, version: int) -> dict[str, Any]:
    row = (
        await conn.execute(
            select(dashboard_version).where(
                and_(dashboard_version.c.dashboard_id == d.id, dashboard_version.c.version == version)
            )
        )
    ).first()
    if row is None:
        raise version_not_found()
    names = await logins(conn, {int(row.created_by)})
    out = _meta(row, d, names)
    out["data"] = orjson.loads(row.data)
    return out


async def restore_version(db: Database, who: Identity, d: Dashboard, version: int, now: int) -> Dashboard:
    """Save version ``version``'s JSON as a new version (same uid, same folder)."""
    async with db.read() as conn:
        old = await get_version(conn, d, version)
    data = old["data"] if isinstance(old["data"], dict) else {}
    data = {**data, "id": d.id, "uid": d.uid, "version": d.version}
    req = SaveRequest(
        dashboard=data,
        folder_uid=d.folder_uid,
        overwrite=False,
        message=f"Restored from version {version}",
        restored_from=version,
    )
    return await save_dashboard(db, who.org_id, who, req, now)


def _changed_paths(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}/{k}"
            if k not in a:
                out.append(f"added {sub}")
            elif k not in b:
                out.append(f"removed {sub}")
            else:
                out += _changed_paths(a[k], b[k], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _changed_paths(x, y, f"{path}/{i}")
        ]
    return [] if a == b else [f"changed {path or '/'}"]


def render_diff(base: dict[str, Any], new: dict[str, Any], diff_type: str) -> str:
    """Grafana answers calculate-diff with HTML: a unified diff of the pretty JSON ("json"), or the
    list of changed paths ("basic")."""
    import difflib
    import html

    if diff_type == "basic":
        items = "".join(f"<li>{html.escape(p)}</li>" for p in _changed_paths(base, new))
        return f'<ul class="diff-basic">{items}</ul>'
    left = orjson.dumps(base, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode().splitlines()
    right = orjson.dumps(new, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode().splitlines()
    lines = difflib.unified_diff(left, right, "base", "new", lineterm="")
    return '<pre class="diff-json">' + html.escape("\n".join(lines)) + "</pre>"
