"""Value types of the dashboards feature."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

VIEW, EDIT, ADMIN = 1, 2, 4
PERMISSION_NAMES = {VIEW: "View", EDIT: "Edit", ADMIN: "Admin"}
PERMISSION_BY_NAME = {v.lower(): k for k, v in PERMISSION_NAMES.items()}
GENERAL_TITLE = "General"
MAX_ID = 2**31 - 1  # ids are 32-bit integers on every database


UID_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def plausible_uid(uid: str) -> bool:
    """Could a stored folder or dashboard have this uid? (No need to ask the database otherwise;
    PostgreSQL refuses NUL characters in text parameters with an error.)"""
    return len(uid) <= 40 and UID_RE.match(uid) is not None


def check_text(value: str, what: str) -> str:
    """Text columns on PostgreSQL cannot hold NUL characters: a 400 instead of a database error."""
    if "\x00" in value:
        from vigil.errors import AppError

        raise AppError.bad_request(f"bad request data: {what} must not contain NUL characters")
    return value


def id_in_range(n: int) -> bool:
    """Ids beyond a 32-bit column cannot exist: treat them as unknown instead of erroring in SQL."""
    return -MAX_ID <= n <= MAX_ID


@lru_cache(maxsize=8192)
def slugify(title: str) -> str:
    """Grafana-style slug: lower case ASCII words joined by '-' (cached: search hits slug every
    title and folder title they show)."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9_\s-]", "", text)
    return re.sub(r"[\s_-]+", "-", text).strip("-")


def title_key(title: str) -> str:
    """The 'same name' key of a dashboard title within a folder (case-insensitive, trimmed)."""
    return hashlib.sha1(title.strip().casefold().encode("utf-8")).hexdigest()


def dashboard_url(uid: str, slug: str) -> str:
    return f"/d/{uid}/{slug}"


def folder_url(uid: str, slug: str) -> str:
    return f"/dashboards/f/{uid}/{slug}"


@dataclass(frozen=True)
class Dashboard:
    id: int
    uid: str
    org_id: int
    title: str
    folder_uid: str
    version: int
    data_raw: str
    plugin_id: str
    created: int
    updated: int
    created_by: int
    updated_by: int

    @classmethod
    def from_row(cls, row: Any) -> Dashboard:
        m = row._mapping
        return cls(
            id=int(m["id"]),
            uid=m["uid"],
            org_id=int(m["org_id"]),
            title=m["title"],
            folder_uid=m["folder_uid"] or "",
            version=int(m["version"]),
            data_raw=m["data"],
            plugin_id=m["plugin_id"] or "",
            created=int(m["created"]),
            updated=int(m["updated"]),
            created_by=int(m["created_by"]),
            updated_by=int(m["updated_by"]),
        )

    @property
    def slug(self) -> str:
        return slugify(self.title)

    @property
    def url(self) -> str:
        return dashboard_url(self.uid, self.slug)

    def data(self) -> dict[str, Any]:
        out = orjson.loads(self.data_raw)
        return out if isinstance(out, dict) else {}


@dataclass(frozen=True)
class Folder:
    id: int
    uid: str
    org_id: int
    title: str
    description: str
    parent_uid: str
    version: int
    created: int
    updated: int
    created_by: int
    updated_by: int

    @classmethod
    def from_row(cls, row: Any) -> Folder:
        m = row._mapping
        return cls(
            id=int(m["id"]),
            uid=m["uid"],
            org_id=int(m["org_id"]),
            title=m["title"],
            description=m["description"] or "",
            parent_uid=m["parent_uid"] or "",
            version=int(m["version"]),
            created=int(m["created"]),
            updated=int(m["updated"]),
            created_by=int(m["created_by"]),
            updated_by=int(m["updated_by"]),
        )

    @property
    def slug(self) -> str:
        return slugify(self.title)

    @property
    def url(self) -> str:
        return folder_url(self.uid, self.slug)
