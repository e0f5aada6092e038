"""Listing, reading, updating and deleting service accounts (creation and tokens: serviceaccounts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update

from vigil.auth.service import IdentityService
from vigil.auth.tables import api_token, org_user, user
from vigil.auth.users import contains_ci, delete_user_rows
from vigil.errors import AppError
from vigil.storage import Database

SA_NOT_FOUND = "service account not found"


@dataclass(frozen=True)
class ServiceAccount:
    id: int
    uid: str
    name: str
    login: str
    org_id: int
    is_disabled: bool
    role: str
    tokens: int


class ServiceAccountAdmin:
    def __init__(self, identities: IdentityService) -> None:
        self.identities = identities
        self.db: Database = identities.db

    def _select(self, org_id: int) -> Any:
        tokens = (
            select(api_token.c.service_account_id, func.count().label("n"))
            .group_by(api_token.c.service_account_id)
            .subquery("token_counts")
        )
        return (
            select(
                user.c.id,
                user.c.uid,
                user.c.name,
                user.c.login,
                user.c.is_disabled,
                org_user.c.org_id,
                org_user.c.role,
                func.coalesce(tokens.c.n, 0).label("tokens"),
            )
            .join(org_user, and_(org_user.c.user_id == user.c.id, org_user.c.org_id == org_id))
            .outerjoin(tokens, tokens.c.service_account_id == user.c.id)
            .where(user.c.is_service_account.is_(True))
        )

    @staticmethod
    def _account(row: Any) -> ServiceAccount:
        m = row._mapping
        return ServiceAccount(
            id=m["id"],
            uid=m["uid"],
            name=m["name"],
            login=m["login"],
            org_id=m["org_id"],
            is_disabled=bool(m["is_disabled"]),
            role=m["role"],
            tokens=int(m["tokens"]),
        )

    async def get(self, org_id: int, sa_id: int) -> ServiceAccount:
        async with self.db.read() as conn:
            row = (await conn.execute(self._select(org_id).where(user.c.id == sa_id))).first()
        if row is None:
            raise AppError.not_found(SA_NOT_FOUND)
        return self._account(row)

    async def search(
        self, org_id: int, query: str, offset: int, limit: int, disabled: bool | None = None
    ) -> tuple[int, list[ServiceAccount]]:
        conds: list[Any] = []
        if query:
            conds.append(contains_ci(user.c.name, query) | contains_ci(user.c.login, query))
        if disabled is not None:
            conds.append(user.c.is_disabled.is_(disabled))
        base = self._select(org_id).where(*conds)
        async with self.db.read() as conn:
            total = (await conn.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
            rows = (
                await conn.execute(base.order_by(user.c.name, user.c.id).offset(offset).limit(limit))
            ).all()
        return int(total), [self._account(r) for r in rows]

    async def update(
        self, org_id: int, sa_id: int, *, name: str | None, role: str | None, is_disabled: bool | None
    ) -> ServiceAccount:
        await self.get(org_id, sa_id)
        now = self.identities.now()
        async with self.db.write() as conn:
            values: dict[str, Any] = {"updated": now}
            if name is not None:
                name = name.strip()
                if not name:
                    raise AppError.bad_request("bad request data: name must not be empty")
                taken = (
                    await conn.execute(
                        select(user.c.id)
                        .join(org_user, org_user.c.user_id == user.c.id)
                        .where(
                            user.c.is_service_account.is_(True),
                            org_user.c.org_id == org_id,
                            user.c.name == name,
                            user.c.id != sa_id,
                        )
                    )
                ).first()
                if taken is not None:
                    raise AppError.conflict("service account already exists")
                values["name"] = name
            if is_disabled is not None:
                values["is_disabled"] = is_disabled
            await conn.execute(update(user).where(user.c.id == sa_id).values(**values))
            if role is not None:
                await conn.execute(
                    update(org_user)
                    .where(org_user.c.user_id == sa_id, org_user.c.org_id == org_id)
                    .values(role=role, updated=now)
                )
        return await self.get(org_id, sa_id)

    async def delete(self, org_id: int, sa_id: int) -> None:
        await self.get(org_id, sa_id)
        async with self.db.write() as conn:
            await delete_user_rows(conn, sa_id)
