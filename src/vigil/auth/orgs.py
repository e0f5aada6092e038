"""Organisations and their members: create, rename, delete with everything in them, roles.

Rules kept here, whatever the route: an org name is unique (409), an org keeps at least one human
Admin (400), a user removed from the org they are using is moved to another org of theirs, and
deleting an org removes its memberships, teams and service accounts (with their tokens).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import ROLES, normalise_role
from vigil.auth.service import MAIN_ORG_ID, IdentityService
from vigil.auth.tables import api_token, org, org_user, team, team_member, user
from vigil.auth.users import contains_ci
from vigil.errors import AppError
from vigil.storage import Database

ORG_NOT_FOUND = "Organization not found"
NAME_TAKEN = "Organization name taken"
ADDRESS_FIELDS = {
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "zipCode": "zip_code",
    "state": "state",
    "country": "country",
}


@dataclass(frozen=True)
class OrgMember:
    org_id: int
    user_id: int
    uid: str
    login: str
    email: str
    name: str
    role: str
    last_seen_at: int
    is_disabled: bool

    @classmethod
    def from_row(cls, row: Any) -> OrgMember:
        m = row._mapping
        return cls(
            org_id=m["org_id"],
            user_id=m["user_id"],
            uid=m["uid"],
            login=m["login"],
            email=m["email"],
            name=m["name"],
            role=m["role"],
            last_seen_at=m["last_seen_at"] or 0,
            is_disabled=bool(m["is_disabled"]),
        )


def org_dto(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "name": m["name"],
        "address": {api: m[col] or "" for api, col in ADDRESS_FIELDS.items()},
    }


def parse_role(value: Any) -> str:
    role = normalise_role(value)
    if role is None:
        raise AppError.bad_request(f"invalid role {value!r}: one of {', '.join(ROLES)}")
    return role


OrgCleanup = Callable[[AsyncConnection, int], Awaitable[None]]


class Orgs:
    def __init__(self, identities: IdentityService, cleanups: Sequence[OrgCleanup] = ()) -> None:
        self.identities = identities
        self.db: Database = identities.db
        # Other features' "remove everything of this org", run inside the deleting transaction.
        self.cleanups = list(cleanups)

    # -- orgs ---------------------------------------------------------------------------------

    async def get(self, org_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (await conn.execute(select(org).where(org.c.id == org_id))).first()
        if row is None:
            raise AppError.not_found(ORG_NOT_FOUND)
        return org_dto(row)

    async def by_name(self, name: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (await conn.execute(select(org).where(org.c.name == name))).first()
        if row is None:
            raise AppError.not_found(ORG_NOT_FOUND)
        return org_dto(row)

    async def search(self, query: str, name: str, offset: int, limit: int) -> list[dict[str, Any]]:
        q = select(org.c.id, org.c.name)
        if name:
            q = q.where(org.c.name == name)
        if query:
            q = q.where(contains_ci(org.c.name, query))
        async with self.db.read() as conn:
            rows = (await conn.execute(q.order_by(org.c.name, org.c.id).offset(offset).limit(limit))).all()
        return [{"id": r.id, "name": r.name} for r in rows]

    async def create(self, name: str, creator_id: int | None) -> int:
        """A new org; its creator (when a user) becomes its Admin."""
        name = name.strip()
        if not name:
            raise AppError.bad_request("bad request data: name is required")
        now = self.identities.now()
        async with self.db.write() as conn:
            if (await conn.execute(select(org.c.id).where(org.c.name == name))).first() is not None:
                raise AppError.conflict(NAME_TAKEN)
            try:
                result = await conn.execute(insert(org).values(name=name, created=now, updated=now))
            except IntegrityError:
                raise AppError.conflict(NAME_TAKEN) from None
            org_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            if creator_id is not None:
                await conn.execute(
                    insert(org_user).values(
                        org_id=org_id, user_id=creator_id, role="Admin", created=now, updated=now
                    )
                )
        return org_id

    async def rename(self, org_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise AppError.bad_request("bad request data: name is required")
        async with self.db.write() as conn:
            await self._lock_org(conn, org_id)
            taken = (
                await conn.execute(select(org.c.id).where(org.c.name == name, org.c.id != org_id))
            ).first()
            if taken is not None:
                raise AppError.conflict(NAME_TAKEN)
            try:
                await conn.execute(
                    update(org).where(org.c.id == org_id).values(name=name, updated=self.identities.now())
                )
            except IntegrityError:
                raise AppError.conflict(NAME_TAKEN) from None

    async def update_address(self, org_id: int, body: dict[str, Any]) -> None:
        values: dict[str, Any] = {}
        for api, col in ADDRESS_FIELDS.items():
            value = body.get(api)
            if value is None:
                continue
            if not isinstance(value, str):
                raise AppError.bad_request(f"bad request data: {api} must be a string")
            values[col] = value.strip()
        async with self.db.write() as conn:
            await self._lock_org(conn, org_id)
            await conn.execute(
                update(org).where(org.c.id == org_id).values(**values, updated=self.identities.now())
            )

    async def delete(self, org_id: int) -> None:
        if org_id == MAIN_ORG_ID:
            raise AppError.bad_request("the main organization cannot be deleted: new users join it")
        async with self.db.write() as conn:
            await self._lock_org(conn, org_id)
            team_ids = select(team.c.id).where(team.c.org_id == org_id)
            await conn.execute(delete(team_member).where(team_member.c.team_id.in_(team_ids)))
            await conn.execute(delete(team).where(team.c.org_id == org_id))
            accounts = [
                r[0]
                for r in (
                    await conn.execute(
                        select(user.c.id).where(user.c.is_service_account.is_(True), user.c.org_id == org_id)
                    )
                ).all()
            ]
            await conn.execute(
                delete(api_token).where(
                    or_(api_token.c.org_id == org_id, api_token.c.service_account_id.in_(accounts or [-1]))
                )
            )
            await conn.execute(delete(org_user).where(org_user.c.org_id == org_id))
            if accounts:
                await conn.execute(delete(user).where(user.c.id.in_(accounts)))
            users_here = [
                r[0] for r in (await conn.execute(select(user.c.id).where(user.c.org_id == org_id))).all()
            ]
            for user_id in users_here:
                await self._move_away(conn, user_id, org_id)
            for cleanup in self.cleanups:
                await cleanup(conn, org_id)
            await conn.execute(delete(org).where(org.c.id == org_id))

    async def _lock_org(self, conn: AsyncConnection, org_id: int) -> None:
        """404 unless the org exists; lock its row so membership rules are checked one at a time."""
        found = (await conn.execute(select(org.c.id).where(org.c.id == org_id).with_for_update())).first()
        if found is None:
            raise AppError.not_found(ORG_NOT_FOUND)

    async def _move_away(self, conn: AsyncConnection, user_id: int, org_id: int) -> None:
        """If ``org_id`` is the user's current org, make another org of theirs current."""
        other = (
            await conn.execute(
                select(func.min(org_user.c.org_id)).where(
                    org_user.c.user_id == user_id, org_user.c.org_id != org_id
                )
            )
        ).scalar_one_or_none()
        if other is not None:
            await conn.execute(
                update(user)
                .where(user.c.id == user_id, user.c.org_id == org_id)
                .values(org_id=other, updated=self.identities.now())
            )

    # -- members ------------------------------------------------------------------------------

    def _members_query(self, org_id: int, query: str) -> Any:
        cond = and_(org_user.c.org_id == org_id, user.c.is_service_account.is_(False))
        if query:
            cond = and_(
                cond,
                or_(
                    contains_ci(user.c.login, query),
                    contains_ci(user.c.email, query),
                    contains_ci(user.c.name, query),
                ),
            )
        return cond

    async def members(
        self, org_id: int, query: str, offset: int, limit: int | None
    ) -> tuple[int, list[OrgMember]]:
        cond = self._members_query(org_id, query)
        base = select(
            org_user.c.org_id,
            org_user.c.user_id,
            org_user.c.role,
            user.c.uid,
            user.c.login,
            user.c.email,
            user.c.name,
            user.c.last_seen_at,
            user.c.is_disabled,
        ).join(user, user.c.id == org_user.c.user_id)
        async with self.db.read() as conn:
            if (await conn.execute(select(org.c.id).where(org.c.id == org_id))).first() is None:
                raise AppError.not_found(ORG_NOT_FOUND)
            total = (
                await conn.execute(
                    select(func.count())
                    .select_from(org_user.join(user, user.c.id == org_user.c.user_id))
                    .where(cond)
                )
            ).scalar_one()
            q = base.where(cond).order_by(user.c.login, user.c.id).offset(offset)
            if limit is not None:
                q = q.limit(limit)
            rows = (await conn.execute(q)).all()
        return int(total), [OrgMember.from_row(r) for r in rows]

    async def resolve_member(self, org_id: int, ref: str) -> int:
        """A member's user id from a numeric id or a user uid in a path; 404 when not a member."""
        ref = ref.strip()
        cond = user.c.id == int(ref) if ref.isdigit() else user.c.uid == ref
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(user.c.id)
                    .join(org_user, org_user.c.user_id == user.c.id)
                    .where(cond, org_user.c.org_id == org_id, user.c.is_service_account.is_(False))
                )
            ).first()
        if row is None:
            raise AppError.not_found("User not found in this organization")
        return int(row[0])

    async def add_member(self, org_id: int, login_or_email: str, role: str) -> int:
        found = await self.identities.find_user(login_or_email)
        if found is None:
            raise AppError.not_found("User not found")
        now = self.identities.now()
        async with self.db.write() as conn:
            await self._lock_org(conn, org_id)
            existing = (
                await conn.execute(
                    select(org_user.c.id).where(org_user.c.org_id == org_id, org_user.c.user_id == found.id)
                )
            ).first()
            if existing is not None:
                raise AppError.conflict("User is already member of this organization")
            try:
                await conn.execute(
                    insert(org_user).values(
                        org_id=org_id, user_id=found.id, role=role, created=now, updated=now
                    )
                )
            except IntegrityError:
                raise AppError.conflict("User is already member of this organization") from None
        return found.id

    async def _admins(self, conn: AsyncConnection, org_id: int) -> int:
        return int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(org_user.join(user, user.c.id == org_user.c.user_id))
                    .where(
                        org_user.c.org_id == org_id,
                        org_user.c.role == "Admin",
                        user.c.is_service_account.is_(False),
                    )
                )
            ).scalar_one()
        )

    async def _current_role(self, conn: AsyncConnection, org_id: int, user_id: int) -> str:
        role = (
            await conn.execute(
                select(org_user.c.role)
                .join(user, user.c.id == org_user.c.user_id)
                .where(
                    org_user.c.org_id == org_id,
                    org_user.c.user_id == user_id,
                    user.c.is_service_account.is_(False),
                )
            )
        ).scalar_one_or_none()
        if role is None:
            raise AppError.not_found("User not found in this organization")
        return str(role)

    async def set_role(self, org_id: int, user_id: int, role: str) -> None:
        async with self.db.write() as conn:
            await self._lock_org(conn, org_id)
            current = await self._current_role(conn, org_id, user_id)
            if current == "Admin" and role != "Admin" and await self._admins(conn, org_id) <= 1:
                raise AppError.bad_request("Cannot change role so that there is no organization admin left")
            await conn.execute(
                update(org_user)
                .where(org_user.c.org_id == org_id, org_user.c.user_id == user_id)
                .values(role=role, updated=self.identities.now())
            )

    async def remove_member(self, org_id: int, user_id: int) -> None:
        async with self.db.write() as conn:
            await self._lock_org(conn, org_id)
            current = await self._current_role(conn, org_id, user_id)
            if current == "Admin" and await self._admins(conn, org_id) <= 1:
                raise AppError.bad_request("Cannot remove last organization admin")
            await conn.execute(
                delete(team_member).where(
                    team_member.c.user_id == user_id,
                    team_member.c.team_id.in_(select(team.c.id).where(team.c.org_id == org_id)),
                )
            )
            await conn.execute(
                delete(org_user).where(org_user.c.org_id == org_id, org_user.c.user_id == user_id)
            )
            await self._move_away(conn, user_id, org_id)
