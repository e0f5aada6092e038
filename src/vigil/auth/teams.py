"""Teams of an org and their members. A member's ``permission`` is 0 (member) or 4 (team admin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth import passwords
from vigil.auth.service import IdentityService
from vigil.auth.tables import org_user, team, team_member, user
from vigil.auth.users import contains_ci
from vigil.errors import AppError
from vigil.storage import Database

MEMBER = 0
ADMIN = 4
TEAM_NOT_FOUND = "Team not found"
NAME_TAKEN = "Team name taken"


@dataclass(frozen=True)
class Team:
    id: int
    uid: str
    org_id: int
    name: str
    email: str
    member_count: int
    created: int
    updated: int


@dataclass(frozen=True)
class TeamMember:
    org_id: int
    team_id: int
    team_uid: str
    user_id: int
    user_uid: str
    login: str
    email: str
    name: str
    permission: int


def parse_permission(value: Any) -> int:
    if value in (MEMBER, ADMIN) and not isinstance(value, bool):
        return int(value)
    raise AppError.bad_request("bad request data: permission must be 0 (member) or 4 (admin)")


TeamCleanup = Callable[[AsyncConnection, int, int], Awaitable[None]]


class Teams:
    def __init__(self, identities: IdentityService, cleanups: Sequence[TeamCleanup] = ()) -> None:
        self.identities = identities
        self.db: Database = identities.db
        # Other features' "remove everything of this team" (org_id, team_id), run inside the
        # deleting transaction.
        self.cleanups = list(cleanups)

    def _select(self) -> Any:
        counts = (
            select(team_member.c.team_id, func.count().label("n"))
            .group_by(team_member.c.team_id)
            .subquery("member_counts")
        )
        return select(team, func.coalesce(counts.c.n, 0).label("member_count")).outerjoin(
            counts, counts.c.team_id == team.c.id
        )

    @staticmethod
    def _team(row: Any) -> Team:
        m = row._mapping
        return Team(
            id=m["id"],
            uid=m["uid"],
            org_id=m["org_id"],
            name=m["name"],
            email=m["email"],
            member_count=int(m["member_count"]),
            created=m["created"],
            updated=m["updated"],
        )

    async def get(self, org_id: int, team_id: int) -> Team:
        async with self.db.read() as conn:
            row = (
                await conn.execute(self._select().where(team.c.id == team_id, team.c.org_id == org_id))
            ).first()
        if row is None:
            raise AppError.not_found(TEAM_NOT_FOUND)
        return self._team(row)

    async def search(
        self, org_id: int, *, query: str, name: str, offset: int, limit: int, member_id: int | None = None
    ) -> tuple[int, list[Team]]:
        """Teams of an org by substring ``query`` or exact ``name``; only ``member_id``'s teams when given."""
        conds: list[Any] = [team.c.org_id == org_id]
        if query:
            conds.append(contains_ci(team.c.name, query))
        if name:
            conds.append(team.c.name == name)
        if member_id is not None:
            conds.append(
                team.c.id.in_(select(team_member.c.team_id).where(team_member.c.user_id == member_id))
            )
        async with self.db.read() as conn:
            total = (await conn.execute(select(func.count()).select_from(team).where(*conds))).scalar_one()
            rows = (
                await conn.execute(
                    self._select().where(*conds).order_by(team.c.name, team.c.id).offset(offset).limit(limit)
                )
            ).all()
        return int(total), [self._team(r) for r in rows]

    async def of_user(self, org_id: int, user_id: int) -> list[Team]:
        _total, found = await self.search(
            org_id, query="", name="", offset=0, limit=100_000, member_id=user_id
        )
        return found

    async def create(self, org_id: int, name: str, email: str = "") -> Team:
        name = name.strip()
        if not name:
            raise AppError.bad_request("bad request data: name is required")
        now = self.identities.now()
        uid = passwords.new_uid()
        async with self.db.write() as conn:
            taken = (
                await conn.execute(select(team.c.id).where(team.c.org_id == org_id, team.c.name == name))
            ).first()
            if taken is not None:
                raise AppError.conflict(NAME_TAKEN)
            try:
                result = await conn.execute(
                    insert(team).values(
                        uid=uid, org_id=org_id, name=name, email=email.strip(), created=now, updated=now
                    )
                )
            except IntegrityError:
                raise AppError.conflict(NAME_TAKEN) from None
        team_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return Team(team_id, uid, org_id, name, email.strip(), 0, now, now)

    async def update(self, org_id: int, team_id: int, name: str | None, email: str | None) -> None:
        values: dict[str, Any] = {"updated": self.identities.now()}
        if name is not None:
            if not name.strip():
                raise AppError.bad_request("bad request data: name must not be empty")
            values["name"] = name.strip()
        if email is not None:
            values["email"] = email.strip()
        async with self.db.write() as conn:
            if "name" in values:
                taken = (
                    await conn.execute(
                        select(team.c.id).where(
                            team.c.org_id == org_id, team.c.name == values["name"], team.c.id != team_id
                        )
                    )
                ).first()
                if taken is not None:
                    raise AppError.conflict(NAME_TAKEN)
            try:
                result = await conn.execute(
                    update(team).where(team.c.id == team_id, team.c.org_id == org_id).values(**values)
                )
            except IntegrityError:
                raise AppError.conflict(NAME_TAKEN) from None
            if result.rowcount == 0:
                raise AppError.not_found(TEAM_NOT_FOUND)

    async def delete(self, org_id: int, team_id: int) -> None:
        async with self.db.write() as conn:
            result = await conn.execute(delete(team).where(team.c.id == team_id, team.c.org_id == org_id))
            if result.rowcount == 0:
                raise AppError.not_found(TEAM_NOT_FOUND)
            await conn.execute(delete(team_member).where(team_member.c.team_id == team_id))
            for cleanup in self.cleanups:
                await cleanup(conn, org_id, team_id)

    # -- members ------------------------------------------------------------------------------

    async def members(self, org_id: int, team_id: int) -> list[TeamMember]:
        found = await self.get(org_id, team_id)
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(
                        team_member.c.user_id,
                        team_member.c.permission,
                        user.c.uid,
                        user.c.login,
                        user.c.email,
                        user.c.name,
                    )
                    .join(user, user.c.id == team_member.c.user_id)
                    .where(team_member.c.team_id == team_id)
                    .order_by(user.c.login, user.c.id)
                )
            ).all()
        return [
            TeamMember(
                org_id, team_id, found.uid, r.user_id, r.uid, r.login, r.email, r.name, int(r.permission)
            )
            for r in rows
        ]

    async def permission_of(self, team_id: int, user_id: int) -> int | None:
        async with self.db.read() as conn:
            value = (
                await conn.execute(
                    select(team_member.c.permission).where(
                        team_member.c.team_id == team_id, team_member.c.user_id == user_id
                    )
                )
            ).scalar_one_or_none()
        return None if value is None else int(value)

    async def permissions_of(self, org_id: int, user_id: int) -> dict[int, int]:
        """{team id: permission} for every team of ``org_id`` the user belongs to."""
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(team_member.c.team_id, team_member.c.permission).where(
                        team_member.c.user_id == user_id, team_member.c.org_id == org_id
                    )
                )
            ).all()
        return {int(r[0]): int(r[1]) for r in rows}

    async def add_member(self, org_id: int, team_id: int, user_id: int, permission: int = MEMBER) -> None:
        await self.get(org_id, team_id)
        now = self.identities.now()
        async with self.db.write() as conn:
            target = (await conn.execute(select(user.c.id).where(user.c.id == user_id))).first()
            if target is None:
                raise AppError.not_found("User not found")
            in_org = (
                await conn.execute(
                    select(org_user.c.id).where(org_user.c.org_id == org_id, org_user.c.user_id == user_id)
                )
            ).first()
            if in_org is None:
                raise AppError.bad_request("User is not a member of this organization")
            already = (
                await conn.execute(
                    select(team_member.c.id).where(
                        team_member.c.team_id == team_id, team_member.c.user_id == user_id
                    )
                )
            ).first()
            if already is not None:
                raise AppError.bad_request("User is already added to this team")
            try:
                await conn.execute(
                    insert(team_member).values(
                        org_id=org_id,
                        team_id=team_id,
                        user_id=user_id,
                        permission=permission,
                        created=now,
                        updated=now,
                    )
                )
            except IntegrityError:
                raise AppError.bad_request("User is already added to this team") from None

    async def set_member_permission(self, org_id: int, team_id: int, user_id: int, permission: int) -> None:
        await self.get(org_id, team_id)
        async with self.db.write() as conn:
            result = await conn.execute(
                update(team_member)
                .where(team_member.c.team_id == team_id, team_member.c.user_id == user_id)
                .values(permission=permission, updated=self.identities.now())
            )
            if result.rowcount == 0:
                raise AppError.not_found("Team member not found")

    async def remove_member(self, org_id: int, team_id: int, user_id: int) -> None:
        await self.get(org_id, team_id)
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(team_member).where(team_member.c.team_id == team_id, team_member.c.user_id == user_id)
            )
            if result.rowcount == 0:
                raise AppError.not_found("Team member not found")
