"""Service accounts (users with is_service_account) and their tokens (only a hash stored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from vigil.auth import passwords
from vigil.auth.models import ROLES
from vigil.auth.service import IdentityService
from vigil.auth.tables import api_token, org_user, user
from vigil.errors import AppError


@dataclass(frozen=True)
class NewToken:
    id: int
    name: str
    key: str


class ServiceAccounts:
    def __init__(self, identities: IdentityService) -> None:
        self.identities = identities
        self.db = identities.db

    async def create(self, org_id: int, name: str, role: str = "Viewer", is_disabled: bool = False) -> int:
        name = name.strip()
        if not name:
            raise AppError.bad_request("name is required")
        if role not in ROLES:
            raise AppError.bad_request(f"invalid role {role!r}: one of {', '.join(ROLES)}")
        slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower())
        login = f"sa-{slug}" if org_id == 1 else f"sa-{org_id}-{slug}"
        async with self.db.write() as conn:
            taken = (
                await conn.execute(
                    select(func.count())
                    .select_from(user)
                    .join(org_user, org_user.c.user_id == user.c.id)
                    .where(and_(user.c.is_service_account.is_(True), org_user.c.org_id == org_id))
                    .where(user.c.name == name)
                )
            ).scalar_one()
            if taken:
                raise AppError.conflict("service account already exists")
            try:
                user_id = await self.identities._insert_user(
                    conn,
                    login=login,
                    email=login,
                    name=name,
                    password="",
                    org_id=org_id,
                    role=role,
                    is_service_account=True,
                )
            except AppError:
                raise AppError.conflict("service account already exists") from None
            if is_disabled:
                await conn.execute(user.update().where(user.c.id == user_id).values(is_disabled=True))
        return user_id

    async def add_token(
        self, org_id: int, sa_id: int, name: str, seconds_to_live: int | None = None
    ) -> NewToken:
        name = name.strip()
        if not name:
            raise AppError.bad_request("token name is required")
        key = passwords.new_service_account_token()
        now = self.identities.now()
        expires = now + seconds_to_live * 1000 if seconds_to_live and seconds_to_live > 0 else None
        async with self.db.write() as conn:
            owner = (
                await conn.execute(
                    select(user.c.id)
                    .join(org_user, org_user.c.user_id == user.c.id)
                    .where(
                        user.c.id == sa_id, user.c.is_service_account.is_(True), org_user.c.org_id == org_id
                    )
                )
            ).first()
            if owner is None:
                raise AppError.not_found("service account not found")
            try:
                result = await conn.execute(
                    insert(api_token).values(
                        org_id=org_id,
                        service_account_id=sa_id,
                        name=name,
                        key_hash=passwords.token_hash(key),
                        created=now,
                        expires=expires,
                    )
                )
            except IntegrityError:
                raise AppError.conflict("service account token with the same name already exists") from None
        return NewToken(int(result.inserted_primary_key[0]), name, key)  # type: ignore[index]

    async def tokens(self, org_id: int, sa_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(api_token)
                    .where(api_token.c.service_account_id == sa_id, api_token.c.org_id == org_id)
                    .order_by(api_token.c.id)
                )
            ).all()
        return [dict(r._mapping) for r in rows]

    async def delete_token(self, org_id: int, sa_id: int, token_id: int) -> None:
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(api_token).where(
                    api_token.c.id == token_id,
                    api_token.c.service_account_id == sa_id,
                    api_token.c.org_id == org_id,
                )
            )
            if result.rowcount == 0:
                raise AppError.not_found("service account token not found")
