"""Server-wide user administration: listing, profile updates, server-admin flag, enable/disable, delete.

Service accounts are users in the table but never in these lists or routes: they have their own.
Revoking sessions and clearing credential caches is the caller's job (the HTTP edge), because the
session store and the authenticator live beside this service, not under it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth.models import User
from vigil.auth.service import IdentityService
from vigil.auth.tables import api_token, org, org_user, team, team_member, user
from vigil.errors import AppError
from vigil.storage import Database

USER_NOT_FOUND = "user not found"
LAST_ADMIN = "cannot remove last grafana admin"


def contains_ci(column: Any, text: str) -> Any:
    """Case-insensitive substring match, with LIKE wildcards in ``text`` taken literally."""
    return func.lower(column).contains(text.lower(), autoescape=True)


@dataclass(frozen=True)
class UserPage:
    total: int
    users: list[User]


UserCleanup = Callable[[AsyncConnection, int], Awaitable[None]]


class Users:
    def __init__(self, identities: IdentityService, cleanups: Sequence[UserCleanup] = ()) -> None:
        self.identities = identities
        self.db: Database = identities.db
        # Other features' "remove everything of this user" (stars, preferences, permission items),
        # run inside the deleting transaction.
        self.cleanups = list(cleanups)

    async def get(self, user_id: int) -> User:
        """A human user (not a service account); 404 otherwise."""
        found = await self.identities.get_user(user_id)
        if found is None or found.is_service_account:
            raise AppError.not_found(USER_NOT_FOUND)
        return found

    async def lookup(self, login_or_email: str) -> User:
        found = await self.identities.find_user(login_or_email) if login_or_email.strip() else None
        if found is None:
            raise AppError.not_found(USER_NOT_FOUND)
        return found

    async def search(self, query: str, offset: int, limit: int) -> UserPage:
        cond: Any = user.c.is_service_account.is_(False)
        if query:
            cond = and_(
                cond,
                or_(
                    contains_ci(user.c.login, query),
                    contains_ci(user.c.email, query),
                    contains_ci(user.c.name, query),
                ),
            )
        async with self.db.read() as conn:
            total = (await conn.execute(select(func.count()).select_from(user).where(cond))).scalar_one()
            rows = (
                await conn.execute(
                    select(user).where(cond).order_by(user.c.login, user.c.id).offset(offset).limit(limit)
                )
            ).all()
        return UserPage(int(total), [User.from_row(r) for r in rows])

    async def update_profile(
        self,
        user_id: int,
        *,
        login: str | None = None,
        email: str | None = None,
        name: str | None = None,
        theme: str | None = None,
    ) -> None:
        current = await self.get(user_id)
        new_login = (login or "").strip() or current.login
        new_email = (email or "").strip() or current.email
        values: dict[str, Any] = {"login": new_login, "email": new_email, "updated": self.identities.now()}
        if name is not None:
            values["name"] = name.strip()
        if theme is not None:
            values["theme"] = theme.strip()
        async with self.db.write() as conn:
            # a login may not equal someone else's email and the reverse (login by either must be unambiguous)
            clash = (
                await conn.execute(
                    select(user.c.id)
                    .where(user.c.id != user_id)
                    .where(
                        or_(
                            user.c.login.in_([new_login, new_email]),
                            user.c.email.in_([new_login, new_email]),
                        )
                    )
                    .limit(1)
                )
            ).first()
            if clash is not None:
                raise AppError.conflict("User with the same login or email already exists")
            try:
                await conn.execute(update(user).where(user.c.id == user_id).values(**values))
            except IntegrityError:
                raise AppError.conflict("User with the same login or email already exists") from None

    async def assert_creatable(self, login: str, email: str) -> None:
        """412 when a login or email is already used as either (the unique keys cover only same-column
        clashes)."""
        keys = [k for k in {login.strip(), email.strip()} if k]
        async with self.db.read() as conn:
            clash = (
                await conn.execute(
                    select(user.c.id).where(or_(user.c.login.in_(keys), user.c.email.in_(keys))).limit(1)
                )
            ).first()
        if clash is not None:
            raise AppError(412, "User with same login or email already exists")

    async def _lock_admins(self, conn: AsyncConnection) -> int:
        """Lock the enabled server admins' rows and count them (serialises last-admin checks)."""
        rows = (
            await conn.execute(
                select(user.c.id)
                .where(user.c.is_admin.is_(True), user.c.is_disabled.is_(False))
                .where(user.c.is_service_account.is_(False))
                .with_for_update()
            )
        ).all()
        return len(rows)

    async def set_server_admin(self, user_id: int, is_admin: bool) -> None:
        target = await self.get(user_id)
        async with self.db.write() as conn:
            if (
                target.is_admin
                and not is_admin
                and not target.is_disabled
                and await self._lock_admins(conn) <= 1
            ):
                raise AppError.bad_request(LAST_ADMIN)
            await conn.execute(
                update(user)
                .where(user.c.id == user_id)
                .values(is_admin=is_admin, updated=self.identities.now())
            )

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        target = await self.get(user_id)
        async with self.db.write() as conn:
            if disabled and target.is_admin and not target.is_disabled and await self._lock_admins(conn) <= 1:
                raise AppError.bad_request("cannot disable the last grafana admin")
            await conn.execute(
                update(user)
                .where(user.c.id == user_id)
                .values(is_disabled=disabled, updated=self.identities.now())
            )

    async def delete(self, user_id: int) -> None:
        """Delete a user with their org memberships, team memberships and any tokens they own."""
        target = await self.get(user_id)
        async with self.db.write() as conn:
            if target.is_admin and not target.is_disabled and await self._lock_admins(conn) <= 1:
                raise AppError.bad_request("cannot delete the last grafana admin")
            await delete_user_rows(conn, user_id)
            for cleanup in self.cleanups:
                await cleanup(conn, user_id)

    async def stats(self) -> dict[str, int]:
        """Counts of the identity feature for /api/admin/stats."""
        humans = user.c.is_service_account.is_(False)
        async with self.db.read() as conn:

            async def count(q: Any) -> int:
                return int((await conn.execute(q)).scalar_one())

            by_role = (
                await conn.execute(
                    select(org_user.c.role, func.count(func.distinct(org_user.c.user_id)))
                    .join(user, user.c.id == org_user.c.user_id)
                    .where(humans)
                    .group_by(org_user.c.role)
                )
            ).all()
            since = self.identities.now() - 30 * 86_400_000
            out = {
                "orgs": await count(select(func.count()).select_from(org)),
                "users": await count(select(func.count()).select_from(user).where(humans)),
                "grafanaAdmins": await count(
                    select(func.count()).select_from(user).where(humans, user.c.is_admin.is_(True))
                ),
                "disabledUsers": await count(
                    select(func.count()).select_from(user).where(humans, user.c.is_disabled.is_(True))
                ),
                "activeUsers": await count(
                    select(func.count()).select_from(user).where(humans, user.c.last_seen_at > since)
                ),
                "serviceAccounts": await count(
                    select(func.count()).select_from(user).where(user.c.is_service_account.is_(True))
                ),
                "serviceAccountTokens": await count(select(func.count()).select_from(api_token)),
                "teams": await count(select(func.count()).select_from(team)),
            }
        roles = {r[0]: int(r[1]) for r in by_role}
        out["admins"] = roles.get("Admin", 0)
        out["editors"] = roles.get("Editor", 0)
        out["viewers"] = roles.get("Viewer", 0)
        return out


async def delete_user_rows(conn: AsyncConnection, user_id: int) -> None:
    """Remove a user (or service account) and everything that hangs off it, inside ``conn``'s transaction."""
    await conn.execute(delete(team_member).where(team_member.c.user_id == user_id))
    await conn.execute(delete(org_user).where(org_user.c.user_id == user_id))
    await conn.execute(delete(api_token).where(api_token.c.service_account_id == user_id))
    result = await conn.execute(delete(user).where(user.c.id == user_id))
    if result.rowcount == 0:
        raise AppError.not_found(USER_NOT_FOUND)
