"""Sessions in Redis: native expiry, one round trip per lookup, atomic rotation in Lua.

Keys (all under the configured prefix, ``vigil:`` by default):

- ``s:<id>``   hash with the session (user, current and previous token hash, timestamps, client);
               expires natively when the earlier of the two lifetimes ends;
- ``t:<hash>`` the session id a token hash belongs to; the previous token's key is cut down to the
               grace window when the session rotates;
- ``u:<user>`` set of a user's session ids, for revoking them all;
- ``z``        sorted set of live session ids scored by expiry, for counting and clean-up;
- ``c:<key>``  small shared values (the auth-proxy user-sync cache).

Lifetimes are judged with the injected clock by the rules of ``base`` (like every backend); the
native TTLs only make sure nothing outlives them. Connection failures raise
``SessionStoreUnavailable`` quickly (one immediate retry, short socket timeouts).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from vigil.clock import Clock
from vigil.errors import ConfigError
from vigil.sessions.base import (
    Session,
    SessionPolicy,
    SessionStoreUnavailable,
    expires_at,
    hash_token,
    is_valid,
    new_session_id,
    new_token,
)
from vigil.storage import now_ms

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "vigil:"
GRACE_SLACK_MS = 5_000

_LOOKUP = """
local sid = redis.call('GET', KEYS[1])
if not sid then return false end
local fields = redis.call('HGETALL', ARGV[1] .. 's:' .. sid)
if #fields == 0 then return false end
table.insert(fields, 'id')
table.insert(fields, sid)
return fields
"""

# KEYS: s:<id>, t:<new>, t:<expected>. ARGV: expected, new, now, ttl_ms, grace_ms, prefix, expiry, id.
# Idempotent: a retry after a lost answer (the client retries once on a broken connection) finds its
# own new token already current and reports the win again.
_ROTATE = """
local cur = redis.call('HGET', KEYS[1], 'cur')
if cur == ARGV[2] then return 1 end
if cur ~= ARGV[1] then return 0 end
local prev = redis.call('HGET', KEYS[1], 'prev')
if prev and prev ~= ARGV[1] then redis.call('DEL', ARGV[6] .. 't:' .. prev) end
redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'ra', ARGV[3], 'sa', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[8], 'PX', ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('ZADD', ARGV[6] .. 'z', ARGV[7], ARGV[8])
return 1
"""

_REVOKE_ONE = """
local function revoke(prefix, sid)
  local v = redis.call('HMGET', prefix .. 's:' .. sid, 'cur', 'prev', 'uid')
  redis.call('ZREM', prefix .. 'z', sid)
  if not v[1] then return 0 end
  redis.call('DEL', prefix .. 's:' .. sid, prefix .. 't:' .. v[1], prefix .. 't:' .. v[2])
  redis.call('SREM', prefix .. 'u:' .. v[3], sid)
  return 1
end
"""

# ARGV: prefix, id
_REVOKE = _REVOKE_ONE + "return revoke(ARGV[1], ARGV[2])"

# KEYS: u:<user>. ARGV: prefix
_REVOKE_USER = (
    _REVOKE_ONE
    + """
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do n = n + revoke(ARGV[1], sid) end
redis.call('DEL', KEYS[1])
return n
"""
)

# KEYS: z. ARGV: prefix, now. Drops index entries of sessions that ended (their keys expired natively).
_CLEANUP = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
for _, sid in ipairs(dead) do
  local v = redis.call('HMGET', ARGV[1] .. 's:' .. sid, 'cur', 'prev', 'uid')
  if v[1] then
    redis.call('DEL', ARGV[1] .. 's:' .. sid, ARGV[1] .. 't:' .. v[1], ARGV[1] .. 't:' .. v[2])
    redis.call('SREM', ARGV[1] .. 'u:' .. v[3], sid)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
return #dead
"""


def parse_config(raw: str) -> tuple[str, str]:
    """``redis://host:port/db?prefix=vigil:`` (also rediss:// and unix://) → (URL for redis-py, prefix).

    Grafana's old ``addr=host:port,db=0,password=…,prefix=…`` form is accepted too.
    """
    raw = raw.strip() or DEFAULT_URL
    if "://" not in raw:
        opts = dict(part.split("=", 1) for part in raw.split(",") if "=" in part)
        if "addr" not in opts:
            raise ConfigError(
                f"invalid value {raw!r} for [session] provider_config: accepted redis://host:port/db"
            )
        auth = f":{opts['password']}@" if opts.get("password") else ""
        raw = f"redis://{auth}{opts['addr']}/{opts.get('db', '0')}"
        if opts.get("prefix"):
            raw += "?prefix=" + opts["prefix"]
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"invalid value {raw!r} for [session] provider_config: accepted redis://host:port/db"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class RedisSessionStore:
    name = "redis"

    def __init__(
        self,
        provider_config: str,
        clock: Clock,
        secret_key: str,
        policy: SessionPolicy,
        timeout: float = 1.0,
    ) -> None:
        url, self.prefix = parse_config(provider_config)
        parts = urlsplit(url)
        self.where = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else url
        self.clock = clock
        self.secret_key = secret_key
        self.policy = policy
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=0,
            decode_responses=True,
        )
        self._lookup = self.client.register_script(_LOOKUP)
        self._rotate = self.client.register_script(_ROTATE)
        self._revoke = self.client.register_script(_REVOKE)
        self._revoke_user = self.client.register_script(_REVOKE_USER)
        self._cleanup = self.client.register_script(_CLEANUP)

    def _now(self) -> int:
        return now_ms(self.clock)

    def _k(self, kind: str, ident: str | int) -> str:
        return f"{self.prefix}{kind}:{ident}"

    def _down(self, exc: Exception) -> SessionStoreUnavailable:
        return SessionStoreUnavailable(f"redis at {self.where}: {exc}")

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise self._down(exc) from None
        except RedisError as exc:
            # Redis answered with an error (read-only replica, out of memory...): not usable either.
            raise self._down(exc) from None

    async def create(self, user_id: int, client_ip: str, user_agent: str) -> tuple[str, Session]:
        token = new_token()
        h = hash_token(self.secret_key, token)
        sid = new_session_id()
        now = self._now()
        ttl = expires_at(now, now, self.policy) - now
        pipe = self.client.pipeline(transaction=True)
        skey = self._k("s", sid)
        pipe.hset(
            skey,
            mapping={
                "uid": user_id,
                "cur": h,
                "prev": h,
                "ca": now,
                "ra": now,
                "sa": now,
                "ip": client_ip[:64],
                "ua": user_agent[:255],
            },
        )
        pipe.pexpire(skey, ttl)
        pipe.set(self._k("t", h), sid, px=ttl)
        pipe.sadd(self._k("u", user_id), sid)
        pipe.pexpire(self._k("u", user_id), self.policy.absolute_ms)
        pipe.zadd(self.prefix + "z", {sid: now + ttl})
        await self._call(pipe.execute())
        return token, Session(sid, user_id, h, now, now, now, False, client_ip, user_agent)

    async def lookup(self, token: str) -> Session | None:
        h = hash_token(self.secret_key, token)
        raw = await self._call(self._lookup(keys=[self._k("t", h)], args=[self.prefix]))
        if not raw:
            return None
        m = dict(zip(raw[::2], raw[1::2], strict=True))
        if m.get("cur") != h and m.get("prev") != h:
            return None
        s = Session(
            id=m["id"],
            user_id=int(m["uid"]),
            token_hash=m["cur"],
            created_at=int(m["ca"]),
            rotated_at=int(m["ra"]),
            seen_at=int(m["sa"]),
            matched_previous=m["cur"] != h,
            client_ip=m.get("ip", ""),
            user_agent=m.get("ua", ""),
        )
        return s if is_valid(s, self._now(), self.policy) else None

    async def rotate(self, session: Session) -> str | None:
        token = new_token()
        h = hash_token(self.secret_key, token)
        now = self._now()
        expiry = expires_at(session.created_at, now, self.policy)
        ttl = max(expiry - now, 1)
        won = await self._call(
            self._rotate(
                keys=[self._k("s", session.id), self._k("t", h), self._k("t", session.token_hash)],
                args=[
                    session.token_hash,
                    h,
                    now,
                    ttl,
                    min(self.policy.grace_ms + GRACE_SLACK_MS, ttl),
                    self.prefix,
                    expiry,
                    session.id,
                ],
            )
        )
        return token if int(won) == 1 else None

    async def revoke(self, session: Session) -> None:
        await self._call(self._revoke(keys=[self._k("s", session.id)], args=[self.prefix, session.id]))

    async def revoke_user(self, user_id: int) -> int:
        return int(await self._call(self._revoke_user(keys=[self._k("u", user_id)], args=[self.prefix])))

    async def active_count(self) -> int:
        return int(await self._call(self.client.zcount(self.prefix + "z", f"({self._now()}", "+inf")))

    async def cleanup(self) -> int:
        """Native TTLs expire the sessions; this trims the index of ended ones (and any a fake clock
        ended before Redis's real-time TTL did)."""
        return int(await self._call(self._cleanup(keys=[self.prefix + "z"], args=[self.prefix, self._now()])))

    async def ping(self) -> None:
        await self._call(self.client.ping())

    async def cache_get(self, key: str) -> str | None:
        value = await self._call(self.client.get(self._k("c", key)))
        return None if value is None else str(value)

    async def cache_set(self, key: str, value: str, ttl_seconds: float) -> None:
        await self._call(self.client.set(self._k("c", key), value, px=max(int(ttl_seconds * 1000), 1)))

    async def close(self) -> None:
        await self.client.aclose()
