"""Sessions on local disk, one JSON file per session: the provider that needs sticky sessions.

Layout under the folder of ``[session] provider_config`` (default ``<[paths] data>/sessions``):

- ``s/<id>.json``   the session record;
- ``t/<hash>``      the id of the session a token hash (current or previous) belongs to;
- ``u/<user>/<id>`` empty markers: a user's sessions, for revoking them all;
- ``c/<sha256>``    small cached values with their expiry (auth-proxy user sync; local only);
- ``locks/<id>``    ``fcntl`` lock files.

Every write goes to a temporary file in the same folder and is renamed over the target, so a reader
sees the old or the new file, never half of one. Rotation and revocation hold an exclusive ``flock``
on the session's lock file and compare the current token under it, so several worker processes (or
several replicas sharing one host's folder) rotate a session exactly once. Lookups take no lock.
Files have no native expiry: ``cleanup()`` (run periodically by every replica) deletes ended
sessions, orphaned token files and stale locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson

from vigil.clock import Clock
from vigil.sessions.base import (
    Session,
    SessionPolicy,
    SessionStoreUnavailable,
    hash_token,
    is_valid,
    new_record,
    new_token,
    record_is_valid,
    session_from_record,
)
from vigil.storage import now_ms

T = TypeVar("T")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.parent / f".tmp-{os.getpid()}-{secrets.token_hex(6)}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _unlink(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


class FileSessionStore:
    name = "file"

    def __init__(self, folder: str | Path, clock: Clock, secret_key: str, policy: SessionPolicy) -> None:
        self.root = Path(folder).absolute()
        self.clock = clock
        self.secret_key = secret_key
        self.policy = policy

    # -- plumbing -----------------------------------------------------------------------------

    def _now(self) -> int:
        return now_ms(self.clock)

    def _s(self, sid: str) -> Path:
        return self.root / "s" / f"{sid}.json"

    def _t(self, h: str) -> Path:
        return self.root / "t" / h

    def _u(self, uid: int | str) -> Path:
        return self.root / "u" / str(uid)

    @contextlib.contextmanager
    def _locked(self, sid: str) -> Iterator[None]:
        with open(self.root / "locks" / sid, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except OSError as exc:
            raise SessionStoreUnavailable(f"session folder {self.root}: {exc}") from None

    async def _blocking(self, fn: Callable[[], T]) -> T:
        """Work that may wait for another process's lock runs off the event loop."""
        return await asyncio.to_thread(self._guard, fn)

    def _record(self, sid: str) -> dict[str, Any] | None:
        raw = _read(self._s(sid))
        if raw is None:
            return None
        rec: dict[str, Any] = orjson.loads(raw)
        return rec

    def _drop_locked(self, rec: dict[str, Any], extra_hash: str | None = None) -> None:
        paths = [self._t(rec["c"]), self._t(rec["p"]), self._u(rec["u"]) / rec["id"], self._s(rec["id"])]
        if extra_hash:
            paths.append(self._t(extra_hash))
        _unlink(*paths)

    def _ensure(self) -> None:
        for sub in ("s", "t", "u", "c", "locks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- protocol -----------------------------------------------------------------------------

    async def create(self, user_id: int, client_ip: str, user_agent: str) -> tuple[str, Session]:
        token = new_token()
        h = hash_token(self.secret_key, token)
        now = self._now()
        rec = new_record(user_id, h, client_ip, user_agent, now)
        sid = rec["id"]

        def write() -> None:
            self._ensure()
            udir = self._u(user_id)
            udir.mkdir(exist_ok=True)
            (udir / sid).touch()
            _write_atomic(self._s(sid), orjson.dumps(rec))
            _write_atomic(self._t(h), sid.encode())

        self._guard(write)
        return token, session_from_record(rec, False)

    async def lookup(self, token: str) -> Session | None:
        h = hash_token(self.secret_key, token)

        def read() -> Session | None:
            sid = _read(self._t(h))
            if sid is None:
                return None
            rec = self._record(sid.decode("ascii", "replace"))
            if rec is None or (rec["c"] != h and rec["p"] != h):
                return None
            return session_from_record(rec, rec["c"] != h)

        s = self._guard(read)
        return s if s is not None and is_valid(s, self._now(), self.policy) else None

    async def rotate(self, session: Session) -> str | None:
        token = new_token()
        h = hash_token(self.secret_key, token)
        now = self._now()

        def swap() -> bool:
            with self._locked(session.id):
                rec = self._record(session.id)
                if rec is None or rec["c"] != session.token_hash:
                    return False
                old, before = rec["c"], rec["p"]
                rec.update(c=h, p=old, ra=now, sa=now)
                _write_atomic(self._t(h), session.id.encode())
                _write_atomic(self._s(session.id), orjson.dumps(rec))
                if before != old:
                    _unlink(self._t(before))
                return True

        return token if await self._blocking(swap) else None

    async def revoke(self, session: Session) -> None:
        def drop() -> None:
            with self._locked(session.id):
                rec = self._record(session.id)
                if rec is None:
                    _unlink(self._t(session.token_hash))
                else:
                    self._drop_locked(rec, session.token_hash)

        await self._blocking(drop)

    async def revoke_user(self, user_id: int) -> int:
        def drop_all() -> int:
            udir = self._u(user_id)
            count = 0
            for marker in list(udir.iterdir()) if udir.is_dir() else []:
                with self._locked(marker.name):
                    rec = self._record(marker.name)
                    if rec is not None:
                        self._drop_locked(rec)
                        count += 1
                _unlink(marker)
            return count

        return await self._blocking(drop_all)

    def _all_records(self) -> list[dict[str, Any]]:
        out = []
        for path in (self.root / "s").glob("*.json"):
            raw = _read(path)
            if raw is not None:
                with contextlib.suppress(orjson.JSONDecodeError):
                    out.append(orjson.loads(raw))
        return out

    async def active_count(self) -> int:
        now = self._now()

        def count() -> int:
            return sum(1 for rec in self._all_records() if record_is_valid(rec, now, self.policy))

        return await self._blocking(count)

    async def cleanup(self) -> int:
        now = self._now()

        def sweep() -> int:
            self._ensure()
            removed = 0
            live: dict[str, dict[str, Any]] = {}
            for rec in self._all_records():
                if record_is_valid(rec, now, self.policy):
                    live[rec["id"]] = rec
                    continue
                with self._locked(rec["id"]):
                    current = self._record(rec["id"])
                    if current is not None and not is_valid(
                        session_from_record(current, False), now, self.policy
                    ):
                        self._drop_locked(current)
                        removed += 1
                    elif current is not None:
                        live[rec["id"]] = current
            for tfile in (self.root / "t").iterdir():
                if tfile.name.startswith(".tmp-"):
                    continue
                sid = (_read(tfile) or b"").decode("ascii", "replace")
                owner = live.get(sid)
                if owner is None and self._s(sid).exists():
                    continue  # created after the scan above
                if owner is None or tfile.name not in (owner["c"], owner["p"]):
                    _unlink(tfile)
            for udir in (self.root / "u").iterdir():
                for marker in udir.iterdir():
                    if marker.name not in live and not self._s(marker.name).exists():
                        _unlink(marker)
            for lock in (self.root / "locks").iterdir():
                if lock.name not in live and not self._s(lock.name).exists():
                    _unlink(lock)
            for cfile in (self.root / "c").iterdir():
                raw = _read(cfile)
                if raw is not None:
                    with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                        if orjson.loads(raw)["e"] <= now:
                            _unlink(cfile)
            return removed

        return await self._blocking(sweep)

    async def ping(self) -> None:
        def probe() -> None:
            self._ensure()
            _write_atomic(self.root / "locks" / ".probe", b"ok")
            _unlink(self.root / "locks" / ".probe")

        self._guard(probe)

    def _c(self, key: str) -> Path:
        return self.root / "c" / hashlib.sha256(key.encode()).hexdigest()

    async def cache_get(self, key: str) -> str | None:
        raw = self._guard(lambda: _read(self._c(key)))
        if raw is None:
            return None
        item = orjson.loads(raw)
        return str(item["v"]) if item["e"] > self._now() else None

    async def cache_set(self, key: str, value: str, ttl_seconds: float) -> None:
        item = orjson.dumps({"v": value, "e": self._now() + int(ttl_seconds * 1000)})

        def write() -> None:
            self._ensure()
            _write_atomic(self._c(key), item)

        self._guard(write)

    async def close(self) -> None:
        return None
