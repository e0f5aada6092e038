"""Data-source records: CRUD by id, uid and name, secrets encrypted at rest, Grafana's JSON shapes."""

from __future__ import annotations

import re
import secrets as _random
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from vigil.clock import Clock
from vigil.datasources.registry import type_logo, type_name
from vigil.datasources.secrets import SecretBox
from vigil.datasources.tables import data_source as t
from vigil.errors import AppError
from vigil.storage.db import Database, now_ms

_UID_OK = re.compile(r"^[A-Za-z0-9_\-]+$")
_ALNUM = string.ascii_letters + string.digits
NOT_FOUND = "Data source not found"


@dataclass(frozen=True)
class DataSource:
    id: int
    org_id: int
    uid: str
    name: str
    type: str
    access: str
    url: str
    user: str
    database: str
    basic_auth: bool
    basic_auth_user: str
    with_credentials: bool
    is_default: bool
    json_data: dict[str, Any]
    secure_tokens: dict[str, str]
    read_only: bool
    version: int
    created: int
    updated: int

    @classmethod
    def from_row(cls, row: Any) -> DataSource:
        m = row._mapping
        return cls(
            id=m["id"],
            org_id=m["org_id"],
            uid=m["uid"],
            name=m["name"],
            type=m["type"],
            access=m["access"],
            url=m["url"],
            user=m["user_name"],
            database=m["database_name"],
            basic_auth=bool(m["basic_auth"]),
            basic_auth_user=m["basic_auth_user"],
            with_credentials=bool(m["with_credentials"]),
            is_default=bool(m["is_default"]),
            json_data=_load(m["json_data"]),
            secure_tokens=_load(m["secure_json_data"]),
            read_only=bool(m["read_only"]),
            version=m["version"],
            created=m["created"],
            updated=m["updated"],
        )

    @property
    def secure_json_fields(self) -> dict[str, bool]:
        return {k: True for k in sorted(self.secure_tokens)}

    def list_item(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "orgId": self.org_id,
            "name": self.name,
            "type": self.type,
            "typeName": type_name(self.type),
            "typeLogoUrl": type_logo(self.type),
            "access": self.access,
            "url": self.url,
            "user": self.user,
            "database": self.database,
            "basicAuth": self.basic_auth,
            "isDefault": self.is_default,
            "jsonData": self.json_data,
            "readOnly": self.read_only,
        }

    def full(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "orgId": self.org_id,
            "name": self.name,
            "type": self.type,
            "typeLogoUrl": type_logo(self.type),
            "access": self.access,
            "url": self.url,
            "user": self.user,
            "database": self.database,
            "basicAuth": self.basic_auth,
            "basicAuthUser": self.basic_auth_user,
            "withCredentials": self.with_credentials,
            "isDefault": self.is_default,
            "jsonData": self.json_data,
            "secureJsonFields": self.secure_json_fields,
            "version": self.version,
            "readOnly": self.read_only,
        }

    def ref(self) -> dict[str, str]:
        return {"type": self.type, "uid": self.uid}


def _load(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def generate_uid() -> str:
    return "".join(_random.choice(_ALNUM) for _ in range(14))


def validate_uid(uid: str) -> None:
    if len(uid) > 40:
        raise AppError.bad_request("uid too long, max 40 characters")
    if not _UID_OK.match(uid):
        raise AppError.bad_request("uid contains illegal characters")


def validate_url(url: str) -> None:
    if not url:
        return
    candidate = url if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", url) else "http://" + url
    try:
        parts = urlsplit(candidate)
        _ = parts.port
    except ValueError:
        raise AppError.bad_request("Validation error, invalid URL") from None
    if any(c.isspace() for c in url) or (not parts.hostname and parts.scheme in ("http", "https")):
        raise AppError.bad_request("Validation error, invalid URL")


def _text(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise AppError.bad_request(f"bad request data: {key} must be a string")
    return str(value)


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _secrets_in(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("secureJsonData") or {}
    if not isinstance(raw, dict):
        raise AppError.bad_request("bad request data: secureJsonData must be an object")
    out = {str(k): "" if v is None else str(v) for k, v in raw.items()}
    # Legacy top-level password fields (Grafana < 7) move into the encrypted store.
    for legacy in ("password", "basicAuthPassword"):
        value = body.get(legacy)
        if isinstance(value, str) and value and legacy not in out:
            out[legacy] = value
    return out


class DataSourceStore:
    def __init__(self, db: Database, clock: Clock, box: SecretBox) -> None:
        self.db = db
        self.clock = clock
        self.box = box

    # -- reads ----------------------------------------------------------------------------------

    async def list(self, org_id: int) -> list[DataSource]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(t).where(t.c.org_id == org_id).order_by(func.lower(t.c.name), t.c.id)
            )
            return [DataSource.from_row(r) for r in rows]

    async def _one(self, *where: Any) -> DataSource | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(t).where(and_(*where)))).first()
        return DataSource.from_row(row) if row is not None else None

    async def by_id(self, org_id: int, ds_id: int) -> DataSource | None:
        return await self._one(t.c.org_id == org_id, t.c.id == ds_id)

    async def by_uid(self, org_id: int, uid: str) -> DataSource | None:
        return await self._one(t.c.org_id == org_id, t.c.uid == uid)

    async def by_name(self, org_id: int, name: str) -> DataSource | None:
        return await self._one(t.c.org_id == org_id, t.c.name == name)

    async def default(self, org_id: int, type_ids: tuple[str, ...] = ()) -> DataSource | None:
        """The org's default data source (restricted to ``type_ids`` when given), else the first."""
        rows = await self.list(org_id)
        if type_ids:
            rows = [r for r in rows if r.type in type_ids]
        for r in rows:
            if r.is_default:
                return r
        return rows[0] if rows else None

    async def require(
        self, org_id: int, *, ds_id: int | None = None, uid: str | None = None, name: str | None = None
    ) -> DataSource:
        found: DataSource | None = None
        if ds_id is not None:
            found = await self.by_id(org_id, ds_id)
        elif uid is not None:
            found = await self.by_uid(org_id, uid)
        elif name is not None:
            found = await self.by_name(org_id, name)
        if found is None:
            raise AppError.not_found(NOT_FOUND)
        return found

    def secrets(self, ds: DataSource) -> dict[str, str]:
        return self.box.decrypt_map(ds.secure_tokens, scope="datasource:")

    # -- writes ---------------------------------------------------------------------------------

    def _values(self, body: dict[str, Any], secure_tokens: dict[str, str]) -> dict[str, Any]:
        name = _text(body, "name").strip()
        if not name:
            raise AppError.bad_request("Name is required")
        if len(name) > 190:
            raise AppError.bad_request("Name is too long, max 190 characters")
        ds_type = _text(body, "type").strip()
        if not ds_type:
            raise AppError.bad_request("Type is required")
        url = _text(body, "url").strip()
        validate_url(url)
        access = _text(body, "access", "proxy") or "proxy"
        if access not in ("proxy", "direct"):
            raise AppError.bad_request("access must be proxy or direct")
        json_data = body.get("jsonData") or {}
        if not isinstance(json_data, dict):
            raise AppError.bad_request("bad request data: jsonData must be an object")
        return {
            "name": name,
            "type": ds_type,
            "access": access,
            "url": url,
            "user_name": _text(body, "user"),
            "database_name": _text(body, "database"),
            "basic_auth": _flag(body, "basicAuth"),
            "basic_auth_user": _text(body, "basicAuthUser"),
            "with_credentials": _flag(body, "withCredentials"),
            "is_default": _flag(body, "isDefault"),
            "json_data": orjson.dumps(json_data).decode(),
            "secure_json_data": orjson.dumps(secure_tokens).decode(),
        }

    async def _check_unique(self, conn: Any, org_id: int, name: str, uid: str, exclude: int | None) -> None:
        q = select(t.c.id, t.c.name, t.c.uid).where(
            t.c.org_id == org_id, (t.c.name == name) | (t.c.uid == uid)
        )
        for row in await conn.execute(q):
            if exclude is not None and row.id == exclude:
                continue
            if row.name == name:
                raise AppError.conflict("data source with the same name already exists")
            raise AppError.conflict("data source with the same uid already exists")

    async def create(self, org_id: int, body: dict[str, Any], read_only: bool = False) -> DataSource:
        uid = _text(body, "uid").strip() or generate_uid()
        validate_uid(uid)
        secure = self.box.encrypt_map(_secrets_in(body), scope="datasource:")
        values = self._values(body, secure)
        stamp = now_ms(self.clock)
        try:
            async with self.db.write() as conn:
                await self._check_unique(conn, org_id, values["name"], uid, None)
                if values["is_default"]:
                    await conn.execute(update(t).where(t.c.org_id == org_id).values(is_default=False))
                res = await conn.execute(
                    insert(t).values(
                        org_id=org_id,
                        uid=uid,
                        read_only=read_only,
                        version=1,
                        created=stamp,
                        updated=stamp,
                        **values,
                    )
                )
                new_id = res.inserted_primary_key[0] if res.inserted_primary_key else None
        except IntegrityError:
            raise AppError.conflict("data source with the same name already exists") from None
        found = (
            await self.by_id(org_id, int(new_id)) if new_id is not None else await self.by_uid(org_id, uid)
        )
        if found is None:  # pragma: no cover - the row was just written
            raise AppError.not_found(NOT_FOUND)
        return found

    async def update(
        self, org_id: int, existing: DataSource, body: dict[str, Any], allow_read_only: bool = False
    ) -> DataSource:
        if existing.read_only and not allow_read_only:
            raise AppError.forbidden("Cannot update read-only data source")
        incoming_version = body.get("version")
        if (
            isinstance(incoming_version, int)
            and not isinstance(incoming_version, bool)
            and incoming_version != existing.version
        ):
            raise AppError.conflict(
                "Datasource has already been updated by someone else. Please reload and try again"
            )
        uid = _text(body, "uid").strip() or existing.uid
        validate_uid(uid)
        secure = dict(existing.secure_tokens)
        secure.update(self.box.encrypt_map(_secrets_in(body), scope="datasource:"))
        values = self._values(body, secure)
        try:
            async with self.db.write() as conn:
                await self._check_unique(conn, org_id, values["name"], uid, existing.id)
                if values["is_default"]:
                    await conn.execute(
                        update(t).where(t.c.org_id == org_id, t.c.id != existing.id).values(is_default=False)
                    )
                res = await conn.execute(
                    update(t)
                    .where(t.c.id == existing.id, t.c.version == existing.version)
                    .values(uid=uid, version=existing.version + 1, updated=now_ms(self.clock), **values)
                )
                if res.rowcount != 1:
                    raise AppError.conflict(
                        "Datasource has already been updated by someone else. Please reload and try again"
                    )
        except IntegrityError:
            raise AppError.conflict("data source with the same name already exists") from None
        found = await self.by_id(org_id, existing.id)
        if found is None:
            raise AppError.not_found(NOT_FOUND)
        return found

    async def delete(self, org_id: int, ds: DataSource, allow_read_only: bool = False) -> None:
        if ds.read_only and not allow_read_only:
            raise AppError.forbidden("Cannot delete read-only data source")
        async with self.db.write() as conn:
            await conn.execute(delete(t).where(t.c.org_id == org_id, t.c.id == ds.id))
