"""The session-store protocol, run unchanged against every backend: database (SQLite), Redis,
Memcached and file. Time is a FakeClock wherever the store judges it (all four do, by the shared
rules of ``sessions.base``); only the native-expiry tests wait on real time, briefly.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, require_service
from tests.sessions_support import Daemon, memcached_daemon, running
from vigil.clock import FakeClock
from vigil.config import Config
from vigil.errors import AppError, ConfigError
from vigil.sessions import build_store
from vigil.sessions.base import SessionPolicy, SessionStore, SessionStoreUnavailable, needs_rotation
from vigil.sessions.database import DatabaseSessionStore
from vigil.sessions.file import FileSessionStore
from vigil.sessions.memcached import MemcachedSessionStore
from vigil.sessions.memcached import parse_config as memcached_config
from vigil.sessions.redis import RedisSessionStore
from vigil.sessions.redis import parse_config as redis_config
from vigil.storage.db import Database, resolve_url
from vigil.storage.migrate import migrate

SECRET = "store-test-secret"
MINUTE = 60.0
HOUR = 3600.0
POLICY = SessionPolicy(
    inactive_ms=int(HOUR * 1000), absolute_ms=int(24 * HOUR * 1000), rotation_ms=600_000, grace_ms=60_000
)
BACKENDS = ["database", "redis", "memcached", "file"]


@pytest.fixture(scope="module")
def memcached() -> Iterator[Daemon]:
    with running(memcached_daemon()) as daemon:
        yield daemon


def _prefix() -> str:
    return f"vt{secrets.token_hex(5)}:"


async def make_store(
    backend: str, tmp_path: Path, clock: FakeClock, memcached: Daemon, policy: SessionPolicy = POLICY
) -> SessionStore:
    if backend == "database":
        db = Database(resolve_url(f"sqlite:///{tmp_path / 'sessions.db'}", tmp_path))
        await migrate(db, timeout=30)
        return DatabaseSessionStore(db, clock, SECRET, policy)
    if backend == "redis":
        require_service("Redis", REDIS_URL)
        return RedisSessionStore(f"{REDIS_URL}?prefix={_prefix()}", clock, SECRET, policy)
    if backend == "memcached":
        return MemcachedSessionStore(f"127.0.0.1:{memcached.port}?prefix={_prefix()}", clock, SECRET, policy)
    return FileSessionStore(tmp_path / "sessions", clock, SECRET, policy)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock, memcached: Daemon
) -> AsyncIterator[SessionStore]:
    s = await make_store(request.param, tmp_path, clock, memcached)
    await s.ping()
    try:
        yield s
    finally:
        if isinstance(s, DatabaseSessionStore):
            await s.db.dispose()
        await s.close()


async def test_a_new_session_is_found_by_its_token_and_nothing_else(store: SessionStore) -> None:
    token, created = await store.create(7, "10.0.0.1", "pytest")
    found = await store.lookup(token)
    assert found is not None
    assert (found.id, found.user_id, found.matched_previous) == (created.id, 7, False)
    assert found.client_ip == "10.0.0.1" and found.user_agent == "pytest"
    assert await store.lookup(token + "x") is None
    assert await store.lookup("never-issued") is None


async def test_rotation_is_due_after_the_interval_and_one_call_wins(
    store: SessionStore, clock: FakeClock
) -> None:
    token, _ = await store.create(1, "", "")
    s = await store.lookup(token)
    assert s is not None and not needs_rotation(s, int(clock.now() * 1000), store.policy)
    clock.advance(10 * MINUTE)
    s = await store.lookup(token)
    assert s is not None and needs_rotation(s, int(clock.now() * 1000), store.policy)
    winners = [t for t in await asyncio.gather(*(store.rotate(s) for _ in range(8))) if t]
    assert len(winners) == 1
    assert await store.rotate(s) is None  # the session it was handed is stale now
    new = await store.lookup(winners[0])
    assert new is not None and new.id == s.id and not new.matched_previous
    assert new.rotated_at == int(clock.now() * 1000)


async def test_the_previous_token_works_only_within_the_grace_window(
    store: SessionStore, clock: FakeClock
) -> None:
    old, _ = await store.create(1, "", "")
    clock.advance(10 * MINUTE)
    s = await store.lookup(old)
    assert s is not None
    new = await store.rotate(s)
    assert new is not None
    clock.advance(30)
    prev = await store.lookup(old)
    assert prev is not None and prev.matched_previous and prev.id == s.id
    assert not needs_rotation(prev, int(clock.now() * 1000), store.policy)
    clock.advance(31)
    assert await store.lookup(old) is None
    assert await store.lookup(new) is not None


async def test_a_token_two_rotations_old_is_dead(store: SessionStore, clock: FakeClock) -> None:
    first, _ = await store.create(1, "", "")
    tokens = [first]
    for _ in range(2):
        clock.advance(10 * MINUTE)
        s = await store.lookup(tokens[-1])
        assert s is not None
        t = await store.rotate(s)
        assert t is not None
        tokens.append(t)
    assert await store.lookup(tokens[0]) is None
    assert (await store.lookup(tokens[1])) is not None  # previous, still within grace
    assert (await store.lookup(tokens[2])) is not None


async def test_inactive_lifetime_ends_an_unused_session_and_rotation_counts_as_use(
    store: SessionStore, clock: FakeClock
) -> None:
    idle, _ = await store.create(1, "", "")
    busy, _ = await store.create(2, "", "")
    clock.advance(50 * MINUTE)
    s = await store.lookup(busy)
    assert s is not None
    busy = await store.rotate(s) or ""
    assert busy
    clock.advance(20 * MINUTE)  # 70 minutes after login, 20 after the rotation
    assert await store.lookup(idle) is None
    assert await store.lookup(busy) is not None


async def test_absolute_lifetime_ends_even_a_busy_session(store: SessionStore, clock: FakeClock) -> None:
    token, _ = await store.create(1, "", "")
    for _ in range(24):
        clock.advance(55 * MINUTE)
        s = await store.lookup(token)
        assert s is not None
        token = await store.rotate(s) or ""
        assert token
    clock.advance(61 * MINUTE)  # 23h + 61min after login, 61 min after the last use
    assert await store.lookup(token) is None


async def test_revoke_kills_current_and_previous_tokens(store: SessionStore, clock: FakeClock) -> None:
    old, _ = await store.create(1, "", "")
    clock.advance(10 * MINUTE)
    s = await store.lookup(old)
    assert s is not None
    new = await store.rotate(s)
    assert new is not None
    s = await store.lookup(new)
    assert s is not None
    await store.revoke(s)
    assert await store.lookup(new) is None
    assert await store.lookup(old) is None
    await store.revoke(s)  # idempotent


async def test_revoke_user_ends_every_session_of_that_user_only(store: SessionStore) -> None:
    mine = [(await store.create(5, "", ""))[0] for _ in range(3)]
    theirs, _ = await store.create(6, "", "")
    assert await store.revoke_user(5) == 3
    for t in mine:
        assert await store.lookup(t) is None
    assert await store.lookup(theirs) is not None
    assert await store.revoke_user(5) == 0
    again, _ = await store.create(5, "", "")  # logging in after a password change works
    assert await store.lookup(again) is not None


async def test_active_count_and_cleanup_agree_with_the_lifetimes(
    store: SessionStore, clock: FakeClock
) -> None:
    stale, _ = await store.create(1, "", "")
    clock.advance(2 * HOUR)
    live, _ = await store.create(2, "", "")
    gone, _ = await store.create(3, "", "")
    s = await store.lookup(gone)
    assert s is not None
    await store.revoke(s)
    assert await store.active_count() == 1
    assert await store.cleanup() >= 1
    assert await store.cleanup() == 0
    assert await store.active_count() == 1
    assert await store.lookup(live) is not None
    assert await store.lookup(stale) is None


async def test_cache_values_are_shared_until_they_expire(
    store: SessionStore, clock: FakeClock, tmp_path: Path, memcached: Daemon
) -> None:
    await store.cache_set("authproxy:alice", "42", 60)
    assert await store.cache_get("authproxy:alice") == "42"
    assert await store.cache_get("authproxy:bob") is None
    await store.cache_set("authproxy:alice", "43", 60)
    # a second instance of the same backend (another replica) sees the value
    if store.name in ("database", "file"):
        clock.advance(61)
        assert await store.cache_get("authproxy:alice") is None
    else:
        await store.cache_set("authproxy:short", "1", 1)
        assert await store.cache_get("authproxy:short") == "1"
        await asyncio.sleep(2.1)  # native expiry is real time (memcached counts whole seconds)
        assert await store.cache_get("authproxy:short") is None
        assert await store.cache_get("authproxy:alice") == "43"


async def test_two_instances_on_one_store_see_the_same_sessions(
    tmp_path: Path, clock: FakeClock, memcached: Daemon
) -> None:
    """What makes redis, memcached and database stateless: replica B sees replica A's writes."""
    prefix = _prefix()
    pairs: list[tuple[SessionStore, SessionStore]] = [
        (
            RedisSessionStore(f"{REDIS_URL}?prefix={prefix}", clock, SECRET, POLICY),
            RedisSessionStore(f"{REDIS_URL}?prefix={prefix}", clock, SECRET, POLICY),
        ),
        (
            MemcachedSessionStore(f"127.0.0.1:{memcached.port}?prefix={prefix}", clock, SECRET, POLICY),
            MemcachedSessionStore(f"127.0.0.1:{memcached.port}?prefix={prefix}", clock, SECRET, POLICY),
        ),
        (
            FileSessionStore(tmp_path / "shared", clock, SECRET, POLICY),
            FileSessionStore(tmp_path / "shared", clock, SECRET, POLICY),
        ),
    ]
    require_service("Redis", REDIS_URL)
    for a, b in pairs:
        token, _ = await a.create(9, "", "")
        clock.advance(10 * MINUTE)
        s = await b.lookup(token)
        assert s is not None, a.name
        new = await b.rotate(s)
        assert new is not None and await a.lookup(new) is not None, a.name
        assert await a.revoke_user(9) == 1, a.name
        assert await b.lookup(new) is None, a.name
        await a.close()
        await b.close()


async def test_redis_keys_expire_natively(tmp_path: Path) -> None:
    require_service("Redis", REDIS_URL)
    short = SessionPolicy(inactive_ms=1000, absolute_ms=5000, rotation_ms=600_000, grace_ms=500)
    from vigil.clock import SystemClock

    prefix = _prefix()
    store = RedisSessionStore(f"{REDIS_URL}?prefix={prefix}", SystemClock(), SECRET, short)
    try:
        token, s = await store.create(1, "", "")
        keys = await store.client.keys(prefix + "*")
        assert {str(k).split(":")[1] for k in keys} >= {"s", "t", "u", "z"}
        ttl = await store.client.pttl(f"{prefix}s:{s.id}")
        assert 0 < ttl <= 1000
        await asyncio.sleep(1.2)
        assert await store.lookup(token) is None
        assert not await store.client.exists(f"{prefix}s:{s.id}", f"{prefix}t:{s.token_hash}")
        assert await store.active_count() == 0
        assert await store.cleanup() == 1  # the index entry of the expired session
    finally:
        await store.client.delete(*(await store.client.keys(prefix + "*")) or ["-"])
        await store.close()


async def test_memcached_keys_expire_natively(memcached: Daemon) -> None:
    from vigil.clock import SystemClock

    short = SessionPolicy(inactive_ms=1000, absolute_ms=5000, rotation_ms=600_000, grace_ms=500)
    store = MemcachedSessionStore(
        f"127.0.0.1:{memcached.port}?prefix={_prefix()}", SystemClock(), SECRET, short
    )
    try:
        token, s = await store.create(1, "", "")
        assert store.client.get(f"{store.prefix}s:{s.id}") is not None
        await asyncio.sleep(2.1)
        assert store.client.get(f"{store.prefix}s:{s.id}") is None
        assert store.client.get(f"{store.prefix}t:{s.token_hash}") is None
        assert await store.lookup(token) is None
    finally:
        await store.close()


@pytest.mark.parametrize("backend", ["redis", "memcached", "file"])
async def test_an_unreachable_store_raises_session_store_unavailable(
    backend: str, tmp_path: Path, clock: FakeClock
) -> None:
    from tests.sessions_support import free_port

    port = free_port()  # nothing listens there
    if backend == "redis":
        store: SessionStore = RedisSessionStore(f"redis://127.0.0.1:{port}/0", clock, SECRET, POLICY)
    elif backend == "memcached":
        store = MemcachedSessionStore(f"127.0.0.1:{port}", clock, SECRET, POLICY)
    else:
        (tmp_path / "not-a-folder").write_text("x")
        store = FileSessionStore(tmp_path / "not-a-folder" / "sessions", clock, SECRET, POLICY)
    with pytest.raises(SessionStoreUnavailable) as err:
        await store.ping()
    assert str(err.value).startswith("session store unavailable: ")
    assert isinstance(err.value, AppError) and err.value.status_code == 503
    assert err.value.body() == {"message": "session store unavailable"}
    with pytest.raises(SessionStoreUnavailable):
        await store.create(1, "", "")
    with pytest.raises(SessionStoreUnavailable):
        await store.cache_get("k")
    await store.close()


async def test_a_restarted_memcached_is_used_again_without_a_restart(clock: FakeClock) -> None:
    with running(memcached_daemon()) as daemon:
        store = MemcachedSessionStore(f"127.0.0.1:{daemon.port}", clock, SECRET, POLICY)
        token, _ = await store.create(1, "", "")
        daemon.stop()
        with pytest.raises(SessionStoreUnavailable):
            await store.lookup(token)
        daemon.start()
        assert await store.lookup(token) is None  # memcached keeps nothing across a restart
        token, _ = await store.create(1, "", "")
        assert await store.lookup(token) is not None
        await store.close()


def _rotate_in_process(folder: str, session_id: str, token_hash: str, now: float) -> bool:
    from vigil.sessions.base import Session

    store = FileSessionStore(folder, FakeClock(now), SECRET, POLICY)
    s = Session(session_id, 1, token_hash, 0, 0, 0)
    return asyncio.run(store.rotate(s)) is not None


async def test_file_rotation_is_won_by_exactly_one_of_several_processes(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = FileSessionStore(tmp_path / "s", clock, SECRET, POLICY)
    token, s = await store.create(1, "", "")
    clock.advance(10 * MINUTE)
    with ProcessPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(_rotate_in_process, str(tmp_path / "s"), s.id, s.token_hash, clock.now())
            for _ in range(8)
        ]
        results = [f.result(timeout=60) for f in futures]
    assert results.count(True) == 1
    assert not [p for p in (tmp_path / "s").rglob(".tmp-*")]  # every write was renamed into place
    prev = await store.lookup(token)
    assert prev is not None and prev.matched_previous


async def test_file_sessions_survive_a_new_store_instance(tmp_path: Path, clock: FakeClock) -> None:
    """What sticky fail-back relies on: a restarted replica still knows its sessions."""
    token, _ = await FileSessionStore(tmp_path / "s", clock, SECRET, POLICY).create(3, "", "")
    again = FileSessionStore(tmp_path / "s", clock, SECRET, POLICY)
    found = await again.lookup(token)
    assert found is not None and found.user_id == 3


def test_provider_config_forms() -> None:
    assert redis_config("") == ("redis://127.0.0.1:6379/0", "vigil:")
    assert redis_config("redis://10.0.0.5:6380/2?prefix=grafana:") == ("redis://10.0.0.5:6380/2", "grafana:")
    assert redis_config("addr=127.0.0.1:6379,db=1,prefix=g:") == ("redis://127.0.0.1:6379/1", "g:")
    assert memcached_config("") == ("127.0.0.1", 11211, "vigil:")
    assert memcached_config("10.0.0.9:11212") == ("10.0.0.9", 11212, "vigil:")
    assert memcached_config("memcached://mc:11211?prefix=x:") == ("mc", 11211, "x:")
    with pytest.raises(ConfigError):
        redis_config("http://nope")
    with pytest.raises(ConfigError):
        memcached_config("memcached://:11211")


def test_build_store_follows_the_provider_setting(tmp_path: Path) -> None:
    db = Database(resolve_url(f"sqlite:///{tmp_path / 'x.db'}", tmp_path))
    expected = {
        "database": DatabaseSessionStore,
        "redis": RedisSessionStore,
        "memcached": MemcachedSessionStore,
        "file": FileSessionStore,
    }
    for provider, cls in expected.items():
        cfg = Config.load(None, {}, {"session.provider": provider, "paths.data": str(tmp_path)})
        store = build_store(cfg, db, FakeClock(), SECRET, POLICY)
        assert isinstance(store, cls) and store.name == provider
    cfg = Config.load(None, {}, {"session.provider": "file", "paths.data": str(tmp_path)})
    file_store = build_store(cfg, db, FakeClock(), SECRET, POLICY)
    assert isinstance(file_store, FileSessionStore) and file_store.root == (tmp_path / "sessions").absolute()
    with pytest.raises(ConfigError):
        build_store(Config.load(None, {}, {"session.provider": "memory"}), db, FakeClock(), SECRET, POLICY)


async def test_a_retried_redis_rotation_reports_its_own_win(clock: FakeClock) -> None:
    """redis-py retries a command once on a broken connection; if the first run of the rotation
    script happened and only its answer was lost, the retry must not report a lost race (the
    browser would never get its new token and be logged out when the grace window ends)."""
    require_service("Redis", REDIS_URL)
    store = RedisSessionStore(f"{REDIS_URL}?prefix={_prefix()}", clock, SECRET, POLICY)
    try:
        token, s = await store.create(1, "", "")
        clock.advance(10 * MINUTE)
        now = int(clock.now() * 1000)
        args = [s.token_hash, "f" * 64, now, 60_000, 60_000, store.prefix, now + 60_000, s.id]
        keys = [f"{store.prefix}s:{s.id}", f"{store.prefix}t:{'f' * 64}", f"{store.prefix}t:{s.token_hash}"]
        assert await store._rotate(keys=keys, args=args) == 1
        assert await store._rotate(keys=keys, args=args) == 1  # the same call again: still its win
        other = [s.token_hash, "e" * 64, now, 60_000, 60_000, store.prefix, now + 60_000, s.id]
        assert await store._rotate(keys=keys, args=other) == 0  # a different rotator lost
        assert await store.lookup(token) is not None  # previous token, within grace
    finally:
        await store.revoke_user(1)
        await store.close()
