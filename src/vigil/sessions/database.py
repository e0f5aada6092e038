"""Sessions in the shared SQL database (the default provider)."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from vigil.clock import Clock
from vigil.errors import AppError
from vigil.sessions.base import (
    Session,
    SessionPolicy,
    SessionStoreUnavailable,
    hash_token,
    is_valid,
    new_token,
)
from vigil.sessions.tables import session_cache as c
from vigil.sessions.tables import user_auth_token as t
from vigil.storage import Database, now_ms


class DatabaseSessionStore:
    name = "database"

    def __init__(self, db: Database, clock: Clock, secret_key: str, policy: SessionPolicy) -> None:
        self.db = db
        self.clock = clock
        self.secret_key = secret_key
        self.policy = policy

    def _now(self) -> int:
        return now_ms(self.clock)

    async def create(self, user_id: int, client_ip: str, user_agent: str) -> tuple[str, Session]:
        token = new_token()
        h = hash_token(self.secret_key, token)
        now = self._now()
        async with self.db.write() as conn:
            result = await conn.execute(
                insert(t).values(
                    user_id=user_id,
                    auth_token=h,
                    prev_auth_token=h,
                    user_agent=user_agent[:255],
                    client_ip=client_ip[:64],
                    seen_at=now,
                    rotated_at=now,
                    created_at=now,
                    revoked_at=0,
                )
            )
        sid = str(result.inserted_primary_key[0])  # type: ignore[index]
        return token, Session(sid, user_id, h, now, now, now, False, client_ip, user_agent)

    async def lookup(self, token: str) -> Session | None:
        h = hash_token(self.secret_key, token)
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(t)
                    .where(or_(t.c.auth_token == h, t.c.prev_auth_token == h))
                    .where(t.c.revoked_at == 0)
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        m = row._mapping
        s = Session(
            id=str(m["id"]),
            user_id=m["user_id"],
            token_hash=m["auth_token"],
            created_at=m["created_at"],
            rotated_at=m["rotated_at"],
            seen_at=m["seen_at"],
            matched_previous=m["auth_token"] != h,
            client_ip=m["client_ip"],
            user_agent=m["user_agent"],
        )
        return s if is_valid(s, self._now(), self.policy) else None

    async def rotate(self, session: Session) -> str | None:
        token = new_token()
        h = hash_token(self.secret_key, token)
        now = self._now()
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t)
                .where(
                    and_(t.c.id == int(session.id), t.c.auth_token == session.token_hash, t.c.revoked_at == 0)
                )
                .values(prev_auth_token=session.token_hash, auth_token=h, rotated_at=now, seen_at=now)
            )
        return token if result.rowcount == 1 else None

    async def revoke(self, session: Session) -> None:
        async with self.db.write() as conn:
            await conn.execute(update(t).where(t.c.id == int(session.id)).values(revoked_at=self._now()))

    async def revoke_user(self, user_id: int) -> int:
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t)
                .where(and_(t.c.user_id == user_id, t.c.revoked_at == 0))
                .values(revoked_at=self._now())
            )
        return int(result.rowcount)

    async def active_count(self) -> int:
        now = self._now()
        async with self.db.read() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(t)
                        .where(t.c.revoked_at == 0)
                        .where(t.c.created_at > now - self.policy.absolute_ms)
                        .where(t.c.seen_at > now - self.policy.inactive_ms)
                    )
                ).scalar_one()
            )

    async def cleanup(self) -> int:
        now = self._now()
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(t).where(
                    or_(
                        t.c.revoked_at > 0,
                        t.c.created_at < now - self.policy.absolute_ms,
                        t.c.seen_at < now - self.policy.inactive_ms,
                    )
                )
            )
            await conn.execute(delete(c).where(c.c.expires_at < now))
        return int(result.rowcount)

    async def cache_get(self, key: str) -> str | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(c.c.value, c.c.expires_at).where(c.c.cache_key == key))).first()
        if row is None or row.expires_at <= self._now():
            return None
        return str(row.value)

    async def cache_set(self, key: str, value: str, ttl_seconds: float) -> None:
        expires = self._now() + int(ttl_seconds * 1000)
        for _ in range(3):
            try:
                async with self.db.write() as conn:
                    changed = await conn.execute(
                        update(c).where(c.c.cache_key == key).values(value=value, expires_at=expires)
                    )
                    if changed.rowcount == 0:
                        await conn.execute(insert(c).values(cache_key=key, value=value, expires_at=expires))
                return
            except IntegrityError:
                continue  # another replica inserted the same key first: update it on the next pass

    async def ping(self) -> None:
        try:
            async with self.db.read() as conn:
                await conn.execute(select(1))
        except AppError as exc:
            raise SessionStoreUnavailable(str(exc)) from exc

    async def close(self) -> None:
        return None
