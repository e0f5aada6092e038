"""Sessions in Memcached (pymemcache, run in a small thread pool): native expiry, one round trip
per lookup, rotation by compare-and-set.

Memcached has no index and no scripting, so the layout is:

- ``s:<id>``   the session record (JSON): the anchor that rotation and revocation compare-and-set;
- ``t:<hash>`` a copy of the record under each live token hash (current, and previous during the
               grace window), so a lookup is a single ``get``; rotation rewrites both copies;
- ``u:<user>`` space-separated ids of a user's sessions (``append``, atomic), for revoking them all;
- ``all``      space-separated ids of every session, for counting and the periodic clean-up, which
               also compacts these lists;
- ``c:<key>``  small shared values (the auth-proxy user-sync cache).

Every key expires natively at the end of its session's lifetime. Memcached may also evict keys when
its memory is full: size it so that it does not (an evicted session is a logout).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import orjson
from pymemcache.client.base import PooledClient
from pymemcache.exceptions import MemcacheError

from vigil.clock import Clock
from vigil.errors import ConfigError
from vigil.sessions.base import (
    Session,
    SessionPolicy,
    SessionStoreUnavailable,
    expires_at,
    hash_token,
    is_valid,
    new_record,
    new_token,
    record_is_valid,
    session_from_record,
)
from vigil.storage import now_ms

DEFAULT_PREFIX = "vigil:"
GRACE_SLACK_MS = 5_000
RELATIVE_EXPIRY_LIMIT = 30 * 86400  # memcached reads larger exptimes as absolute Unix times
T = TypeVar("T")


def parse_config(raw: str) -> tuple[str, int, str]:
    """``host:port`` or ``memcached://host:port?prefix=vigil:`` → (host, port, key prefix)."""
    raw = raw.strip() or "127.0.0.1:11211"
    if "://" not in raw:
        raw = "memcached://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("memcached", "memcache") or not parts.hostname:
        raise ConfigError(
            f"invalid value {raw!r} for [session] provider_config: accepted host:port or memcached://host:port"
        )
    try:
        port = parts.port or 11211
    except ValueError:
        raise ConfigError(f"invalid port in [session] provider_config {raw!r}") from None
    prefix = dict(parse_qsl(parts.query)).get("prefix", DEFAULT_PREFIX)
    if any(ch.isspace() for ch in prefix):
        raise ConfigError("the memcached key prefix of [session] provider_config must not contain spaces")
    return parts.hostname, port, prefix


def _exptime(ms: int) -> int:
    seconds = max(1, math.ceil(ms / 1000))
    if seconds > RELATIVE_EXPIRY_LIMIT:
        return int(time.time()) + seconds
    return seconds


def _ids(raw: Any) -> list[str]:
    if not raw:
        return []
    seen: dict[str, None] = {}
    for sid in bytes(raw).decode("ascii", "replace").split():
        seen[sid] = None
    return list(seen)


class MemcachedSessionStore:
    name = "memcached"

    def __init__(
        self,
        provider_config: str,
        clock: Clock,
        secret_key: str,
        policy: SessionPolicy,
        timeout: float = 1.0,
        threads: int = 8,
    ) -> None:
        host, port, self.prefix = parse_config(provider_config)
        self.where = f"{host}:{port}"
        self.clock = clock
        self.secret_key = secret_key
        self.policy = policy
        self.client = PooledClient(
            (host, port),
            connect_timeout=timeout,
            timeout=timeout,
            no_delay=True,
            max_pool_size=threads,
            default_noreply=False,
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vigil-memcached")

    # -- plumbing -----------------------------------------------------------------------------

    def _now(self) -> int:
        return now_ms(self.clock)

    def _k(self, kind: str, ident: str | int) -> str:
        return f"{self.prefix}{kind}:{ident}"

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run blocking client calls in the pool; one immediate retry, because a pooled connection
        broken by a memcached restart fails once before the pool replaces it (every operation here
        is safe to repeat: ids appended twice are read once, a repeated compare-and-set loses)."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                return await loop.run_in_executor(self._pool, fn)
            except (OSError, MemcacheError) as exc:
                if attempt == 2 or isinstance(exc, ConnectionRefusedError):
                    detail = str(exc) or type(exc).__name__
                    raise SessionStoreUnavailable(f"memcached at {self.where}: {detail}") from None
        raise AssertionError("unreachable")

    def _user_list_expiry(self) -> int:
        return _exptime(self.policy.absolute_ms)

    def _append(self, key: str, sid: str, expire: int) -> None:
        """Add `` sid`` to a list key (append is atomic in memcached; add creates it once)."""
        value = (" " + sid).encode()
        for _ in range(3):
            if self.client.append(key, value, expire=0):
                if expire:
                    self.client.touch(key, expire=expire)
                return
            if self.client.add(key, value, expire=expire):
                return

    def _drop(self, rec: dict[str, Any], extra_hash: str | None = None) -> None:
        keys = {self._k("s", rec["id"]), self._k("t", rec["c"]), self._k("t", rec["p"])}
        if extra_hash:
            keys.add(self._k("t", extra_hash))
        self.client.delete_many(list(keys))

    def _rewrite_list(self, key: str, remove: set[str], expire: int = 0) -> None:
        """Remove ids from a list key with compare-and-set, retrying when someone appended."""
        for _ in range(5):
            raw, cas = self.client.gets(key)
            if raw is None:
                return
            ids = _ids(raw)
            keep = [sid for sid in ids if sid not in remove]
            if len(keep) == len(ids):
                return
            if not keep:
                if self.client.cas(key, b" ", cas, expire=expire):
                    return
                continue
            if self.client.cas(key, (" " + " ".join(keep)).encode(), cas, expire=expire):
                return

    def _records(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 100):
            chunk = [self._k("s", sid) for sid in ids[i : i + 100]]
            for value in self.client.get_many(chunk).values():
                rec = orjson.loads(value)
                out[rec["id"]] = rec
        return out

    # -- protocol -----------------------------------------------------------------------------

    async def create(self, user_id: int, client_ip: str, user_agent: str) -> tuple[str, Session]:
        token = new_token()
        h = hash_token(self.secret_key, token)
        now = self._now()
        rec = new_record(user_id, h, client_ip, user_agent, now)
        sid = rec["id"]
        body = orjson.dumps(rec)
        expire = _exptime(expires_at(now, now, self.policy) - now)

        def write() -> None:
            failed = self.client.set_many({self._k("s", sid): body, self._k("t", h): body}, expire=expire)
            if failed:
                raise SessionStoreUnavailable(f"memcached at {self.where} did not store {failed}")
            self._append(self._k("u", user_id), sid, self._user_list_expiry())
            self._append(self.prefix + "all", sid, 0)

        await self._run(write)
        return token, session_from_record(rec, False)

    async def lookup(self, token: str) -> Session | None:
        h = hash_token(self.secret_key, token)
        raw = await self._run(lambda: self.client.get(self._k("t", h)))
        if raw is None:
            return None
        rec = orjson.loads(raw)
        if rec["c"] != h and rec["p"] != h:
            return None
        s = session_from_record(rec, rec["c"] != h)
        return s if is_valid(s, self._now(), self.policy) else None

    async def rotate(self, session: Session) -> str | None:
        token = new_token()
        h = hash_token(self.secret_key, token)
        now = self._now()
        expiry = expires_at(session.created_at, now, self.policy)
        skey = self._k("s", session.id)

        def swap() -> bool:
            raw, cas = self.client.gets(skey)
            if raw is None:
                return False
            rec = orjson.loads(raw)
            expire = _exptime(expiry - now)
            if rec["c"] == h:
                # this call's first attempt won before its connection broke: finish its writes
                old, before, body = rec["p"], rec["p"], bytes(raw)
            else:
                old, before = rec["c"], rec["p"]
                if old != session.token_hash:
                    return False
                rec.update(c=h, p=old, ra=now, sa=now)
                body = orjson.dumps(rec)
                if not self.client.cas(skey, body, cas, expire=expire):
                    return False  # another request (on any replica) rotated first
            self.client.set(self._k("t", h), body, expire=expire)
            self.client.set(
                self._k("t", old),
                body,
                expire=_exptime(min(self.policy.grace_ms + GRACE_SLACK_MS, expiry - now)),
            )
            if before != old:
                self.client.delete(self._k("t", before))
            # a revocation that ran between the compare-and-set and the writes above did not see the
            # new token's key: take it back rather than leave a live copy of a revoked session
            check = self.client.get(skey)
            if check is None or orjson.loads(check)["c"] != h:
                self.client.delete_many([self._k("t", h), self._k("t", old)])
                return False
            return True

        return token if await self._run(swap) else None

    async def revoke(self, session: Session) -> None:
        def drop() -> None:
            raw = self.client.get(self._k("s", session.id))
            if raw is None:
                self.client.delete(self._k("t", session.token_hash))
                return
            rec = orjson.loads(raw)
            self._drop(rec, session.token_hash)
            self._rewrite_list(self._k("u", rec["u"]), {session.id}, self._user_list_expiry())

        await self._run(drop)

    async def revoke_user(self, user_id: int) -> int:
        ukey = self._k("u", user_id)

        def drop_all() -> int:
            ids = _ids(self.client.get(ukey))
            records = self._records(ids)
            for rec in records.values():
                self._drop(rec)
            self._rewrite_list(ukey, set(ids), self._user_list_expiry())
            return len(records)

        return await self._run(drop_all)

    async def active_count(self) -> int:
        now = self._now()

        def count() -> int:
            records = self._records(_ids(self.client.get(self.prefix + "all")))
            return sum(1 for rec in records.values() if record_is_valid(rec, now, self.policy))

        return await self._run(count)

    async def cleanup(self) -> int:
        """Expired keys vanish natively; this drops sessions a (fake or skewed) clock says ended and
        compacts the id lists so they do not grow without end."""
        now = self._now()

        def sweep() -> int:
            ids = _ids(self.client.get(self.prefix + "all"))
            records = self._records(ids)
            dead = {sid for sid in ids if sid not in records}
            by_user: dict[int, set[str]] = {}
            for sid, rec in records.items():
                if not record_is_valid(rec, now, self.policy):
                    self._drop(rec)
                    dead.add(sid)
                by_user.setdefault(int(rec["u"]), set()).add(sid)
            for uid in by_user:
                ukey = self._k("u", uid)
                listed = set(_ids(self.client.get(ukey)))
                gone = listed - (set(records) - dead)
                if gone:
                    self._rewrite_list(ukey, gone, self._user_list_expiry())
            self._rewrite_list(self.prefix + "all", dead)
            return len(dead)

        return await self._run(sweep)

    async def ping(self) -> None:
        await self._run(self.client.version)

    async def cache_get(self, key: str) -> str | None:
        raw = await self._run(lambda: self.client.get(self._k("c", key)))
        return None if raw is None else bytes(raw).decode()

    async def cache_set(self, key: str, value: str, ttl_seconds: float) -> None:
        expire = _exptime(int(ttl_seconds * 1000))
        await self._run(lambda: self.client.set(self._k("c", key), value.encode(), expire=expire))

    async def close(self) -> None:
        await self._run(self.client.close)
        self._pool.shutdown(wait=False)
