"""Users, orgs and membership: the queries every other identity feature builds on."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.auth import passwords
from vigil.auth.models import ROLES, User
from vigil.auth.tables import org, org_user, user
from vigil.clock import Clock
from vigil.errors import AppError
from vigil.storage import Database, now_ms

log = logging.getLogger("vigil.auth")
MAIN_ORG_ID = 1
MAIN_ORG_NAME = "Main Org."


class IdentityService:
    def __init__(self, db: Database, clock: Clock, hasher: passwords.Passwords | None = None) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher or passwords.Passwords()
        # credential digest -> the stored hash it was verified against: a client sending Basic auth
        # on every request pays argon2 once per password, and a changed hash verifies again.
        self._verified: dict[str, str] = {}
        self._salt = secrets.token_bytes(16)

    def now(self) -> int:
        return now_ms(self.clock)

    # -- seeding ------------------------------------------------------------------------------

    async def seed(self, admin_login: str, admin_password: str, admin_email: str) -> None:
        """Create org 1 and the server admin on an empty database. Idempotent; run under the
        migration lock so replicas starting together create them once."""
        now = self.now()
        async with self.db.write() as conn:
            if (await conn.execute(select(org.c.id).where(org.c.id == MAIN_ORG_ID))).first() is None:
                await conn.execute(
                    insert(org).values(id=MAIN_ORG_ID, name=MAIN_ORG_NAME, created=now, updated=now)
                )
            has_users = (
                await conn.execute(
                    select(func.count()).select_from(user).where(user.c.is_service_account.is_(False))
                )
            ).scalar_one()
            if has_users == 0:
                uid = await self._insert_user(
                    conn,
                    login=admin_login,
                    email=admin_email or admin_login,
                    name=admin_login,
                    password=admin_password,
                    is_admin=True,
                    org_id=MAIN_ORG_ID,
                    role="Admin",
                )
                log.info("created server admin %r (id %d)", admin_login, uid)
        if self.db.dialect == "postgresql":
            # explicit ids above do not advance PostgreSQL's sequence
            async with self.db.write() as conn:
                await conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('org', 'id'), "
                    "GREATEST((SELECT MAX(id) FROM org), 1))"
                )

    # -- users --------------------------------------------------------------------------------

    async def _insert_user(
        self,
        conn: AsyncConnection,
        *,
        login: str,
        email: str,
        name: str,
        password: str,
        is_admin: bool = False,
        org_id: int = MAIN_ORG_ID,
        role: str | None = "Viewer",
        is_service_account: bool = False,
    ) -> int:
        now = self.now()
        password_hash = await asyncio.to_thread(self.hasher.hash, password) if password else ""
        try:
            result = await conn.execute(
                insert(user).values(
                    uid=passwords.new_uid(),
                    login=login,
                    email=email,
                    name=name,
                    password_hash=password_hash,
                    org_id=org_id,
                    is_admin=is_admin,
                    is_service_account=is_service_account,
                    created=now,
                    updated=now,
                )
            )
        except IntegrityError:
            raise AppError(412, "User with same login or email already exists") from None
        user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if role is not None:
            await conn.execute(
                insert(org_user).values(org_id=org_id, user_id=user_id, role=role, created=now, updated=now)
            )
        return user_id

    async def create_user(
        self,
        *,
        login: str,
        password: str,
        email: str = "",
        name: str = "",
        is_admin: bool = False,
        org_id: int | None = None,
        role: str = "Viewer",
    ) -> User:
        login = login.strip() or email.strip()
        if not login:
            raise AppError.bad_request("login or email is required")
        if not password:
            raise AppError.bad_request("password is required")
        if role not in ROLES:
            raise AppError.bad_request(f"invalid role {role!r}: one of {', '.join(ROLES)}")
        target_org = org_id or MAIN_ORG_ID
        async with self.db.write() as conn:
            if (await conn.execute(select(org.c.id).where(org.c.id == target_org))).first() is None:
                raise AppError.not_found("organization not found")
            user_id = await self._insert_user(
                conn,
                login=login,
                email=email.strip() or login,
                name=name or login,
                password=password,
                is_admin=is_admin,
                org_id=target_org,
                role=role,
            )
        found = await self.get_user(user_id)
        assert found is not None
        return found

    async def get_user(self, user_id: int) -> User | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(user).where(user.c.id == user_id))).first()
        return User.from_row(row) if row else None

    async def find_user(self, login_or_email: str) -> User | None:
        value = login_or_email.strip()
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(user)
                    .where(or_(user.c.login == value, user.c.email == value))
                    .where(user.c.is_service_account.is_(False))
                    .order_by((user.c.login == value).desc())
                    .limit(1)
                )
            ).first()
        return User.from_row(row) if row else None

    async def authenticate(self, login_or_email: str, password: str) -> User | None:
        """The user when the password matches and the account is enabled; None otherwise."""
        found = await self.find_user(login_or_email)
        if found is None:
            await asyncio.to_thread(self.hasher.verify, "", password)
            return None
        digest = hashlib.blake2b(f"{found.id}\x00{password}".encode(), key=self._salt).hexdigest()
        if self._verified.get(digest) == found.password_hash and found.password_hash:
            return found
        if not await asyncio.to_thread(self.hasher.verify, found.password_hash, password):
            return None
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[digest] = found.password_hash
        return found

    async def set_password(self, user_id: int, password: str) -> None:
        if len(password) < 4:
            raise AppError(422, "New password is too short")
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        async with self.db.write() as conn:
            result = await conn.execute(
                update(user)
                .where(user.c.id == user_id)
                .values(password_hash=password_hash, updated=self.now())
            )
            if result.rowcount == 0:
                raise AppError.not_found("user not found")

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        async with self.db.write() as conn:
            result = await conn.execute(
                update(user).where(user.c.id == user_id).values(is_disabled=disabled, updated=self.now())
            )
            if result.rowcount == 0:
                raise AppError.not_found("user not found")

    # -- orgs and membership ------------------------------------------------------------------

    async def org_role(self, user_id: int, org_id: int) -> str | None:
        async with self.db.read() as conn:
            return (
                await conn.execute(
                    select(org_user.c.role).where(
                        and_(org_user.c.user_id == user_id, org_user.c.org_id == org_id)
                    )
                )
            ).scalar_one_or_none()

    async def user_orgs(self, user_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(org_user.c.org_id, org.c.name, org_user.c.role)
                    .join(org, org.c.id == org_user.c.org_id)
                    .where(org_user.c.user_id == user_id)
                    .order_by(org.c.name)
                )
            ).all()
        return [{"orgId": r.org_id, "name": r.name, "role": r.role} for r in rows]

    async def switch_org(self, user_id: int, org_id: int) -> None:
        if await self.org_role(user_id, org_id) is None:
            raise AppError(401, "Not a valid organization")
        async with self.db.write() as conn:
            await conn.execute(
                update(user).where(user.c.id == user_id).values(org_id=org_id, updated=self.now())
            )

    async def touch_seen(self, user_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(update(user).where(user.c.id == user_id).values(last_seen_at=self.now()))

    async def delete_user(self, user_id: int) -> None:
        async with self.db.write() as conn:
            result = await conn.execute(delete(user).where(user.c.id == user_id))
            if result.rowcount == 0:
                raise AppError.not_found("user not found")
            await conn.execute(delete(org_user).where(org_user.c.user_id == user_id))
