"""Login lock-out, shared by every replica through the login_attempt table."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from vigil.auth.tables import login_attempt
from vigil.clock import Clock
from vigil.errors import AppError
from vigil.storage import Database, now_ms


class BruteForceGuard:
    def __init__(
        self, db: Database, clock: Clock, enabled: bool, max_attempts: int, window_seconds: float
    ) -> None:
        self.db = db
        self.clock = clock
        self.enabled = enabled
        self.max_attempts = max_attempts
        self.window_ms = int(window_seconds * 1000)

    async def check(self, login: str, client_ip: str) -> None:
        """Refuse with 429 when the login or the client address has too many recent failures."""
        if not self.enabled:
            return
        since = now_ms(self.clock) - self.window_ms
        async with self.db.read() as conn:
            by_login = (
                await conn.execute(
                    select(func.count())
                    .select_from(login_attempt)
                    .where(login_attempt.c.username == login.lower()[:190], login_attempt.c.created > since)
                )
            ).scalar_one()
            by_ip = (
                await conn.execute(
                    select(func.count())
                    .select_from(login_attempt)
                    .where(login_attempt.c.ip_address == client_ip[:64], login_attempt.c.created > since)
                )
            ).scalar_one()
        if by_login >= self.max_attempts or by_ip >= self.max_attempts * 4:
            raise AppError(
                429,
                "Too many consecutive incorrect login attempts: login temporarily blocked, try again later",
            )

    async def failed(self, login: str, client_ip: str) -> None:
        if not self.enabled:
            return
        now = now_ms(self.clock)
        async with self.db.write() as conn:
            await conn.execute(
                insert(login_attempt).values(
                    username=login.lower()[:190], ip_address=client_ip[:64], created=now
                )
            )
            await conn.execute(delete(login_attempt).where(login_attempt.c.created < now - self.window_ms))

    async def succeeded(self, login: str, client_ip: str) -> None:
        if not self.enabled:
            return
        async with self.db.write() as conn:
            await conn.execute(delete(login_attempt).where(login_attempt.c.username == login.lower()[:190]))
