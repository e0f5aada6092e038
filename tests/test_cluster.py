"""Cluster plumbing on the real databases: leases (compare-and-swap, expiry, hand-off), membership
liveness after peer_timeout, the change bus between replicas. Time is a FakeClock."""

from __future__ import annotations

import asyncio

from vigil.clock import FakeClock
from vigil.cluster.bus import ChangeBus
from vigil.cluster.leases import Leases
from vigil.cluster.membership import Membership, is_alive
from vigil.storage.db import Database, resolve_url
from vigil.storage.migrate import migrate


async def migrated(url: str, tmp: str) -> Database:
    db = Database(resolve_url(url, tmp))
    await migrate(db, timeout=120)
    return db


async def test_leases_are_exclusive_until_expiry_or_release(db_url, tmp_path):
    db = await migrated(db_url, str(tmp_path))
    clock = FakeClock()
    leases = Leases(db, clock)
    try:
        results = await asyncio.gather(
            *(leases.acquire("alerting/group/1/f/g", f"r{i}", 10) for i in range(5))
        )
        assert sum(results) == 1
        holder = f"r{results.index(True)}"
        other = "r0" if holder != "r0" else "r1"
        assert await leases.acquire("alerting/group/1/f/g", holder, 10)  # renewing is fine
        fence = (await leases.get("alerting/group/1/f/g")).fence  # type: ignore[union-attr]
        assert not await leases.acquire("alerting/group/1/f/g", other, 10)
        clock.advance(11)
        assert await leases.held(holder, "alerting/") == set()
        assert await leases.acquire("alerting/group/1/f/g", other, 10)  # expired: taken over
        lease = await leases.get("alerting/group/1/f/g")
        assert lease is not None and lease.holder == other and lease.fence == fence + 1
        await leases.acquire("alerting/group/1/f/h", other, 10)
        clock.advance(8)
        assert await leases.renew(other, "alerting/", 10) == 2
        clock.advance(8)
        assert await leases.held(other, "alerting/") == {"alerting/group/1/f/g", "alerting/group/1/f/h"}
        assert await leases.holders("alerting/") == {other: ["alerting/group/1/f/g", "alerting/group/1/f/h"]}
        assert await leases.release(other, ["alerting/group/1/f/g"]) == 1
        assert await leases.acquire("alerting/group/1/f/g", holder, 10)  # released: free at once
        assert await leases.release_all(other, "alerting/") == 1
    finally:
        await db.dispose()


async def test_many_leases_taken_at_once_never_have_two_holders(db_url, tmp_path):
    db = await migrated(db_url, str(tmp_path))
    clock = FakeClock()
    leases = Leases(db, clock)
    names = [f"alerting/group/1/f/g{i}" for i in range(40)]
    try:
        assert await leases.acquire("alerting/group/1/f/g0", "c", 10)
        a, b = await asyncio.gather(
            leases.acquire_many(names[:30], "a", 10), leases.acquire_many(names[10:], "b", 10)
        )
        assert "alerting/group/1/f/g0" not in a | b
        assert not a & b
        assert a | b == set(names[1:])
        assert await leases.acquire_many(sorted(a), "a", 10) == a  # renewing is fine
        clock.advance(11)
        assert await leases.acquire_many(names, "c", 10) == set(names)  # all expired: taken over
    finally:
        await db.dispose()


async def test_members_are_dead_after_peer_timeout_and_gone_after_leaving(sqlite_url, tmp_path):
    db = await migrated(sqlite_url, str(tmp_path))
    clock = FakeClock()
    a = Membership(db, clock, "a", "127.0.0.1:3001", "1", heartbeat_interval=1, peer_timeout=5)
    b = Membership(db, clock, "b", "127.0.0.1:3002", "1", heartbeat_interval=1, peer_timeout=5)
    seen: list[tuple[str, ...]] = []
    a.on_change(seen.append)
    try:
        await a.register()
        await b.register()
        await a.beat()
        assert a.live() == ("a", "b")
        clock.advance(4)
        await a.beat()
        assert a.live() == ("a", "b")
        clock.advance(2)  # b last beat 6 s ago
        await a.beat()
        assert a.live() == ("a",)
        assert [m.alive for m in await a.fetch()] == [True, False]
        await b.beat()
        await a.beat()
        assert a.live() == ("a", "b")
        await b.drain()
        await a.beat()
        assert a.live() == ("a",)
        await b.leave()
        assert [m.name for m in await a.fetch()] == ["a"]
        assert seen[0] == ("a",) and ("a", "b") in seen
        assert (
            is_alive(1000, False, 6000, 5)
            and not is_alive(1000, False, 6001, 5)
            and not is_alive(1, True, 2, 5)
        )
    finally:
        await db.dispose()


async def test_changes_published_on_one_replica_reach_the_others(sqlite_url, tmp_path):
    db = await migrated(sqlite_url, str(tmp_path))
    clock = FakeClock()
    a, b = ChangeBus(db, clock, "a"), ChangeBus(db, clock, "b")
    heard_a: list[tuple[str, str]] = []
    heard_b: list[tuple[str, str]] = []
    a.subscribe("rules", lambda t, k: heard_a.append((t, k)))
    b.subscribe("rules", lambda t, k: heard_b.append((t, k)))
    b.subscribe("other", lambda t, k: heard_b.append((t, k)))
    try:
        await a.prime()
        await b.prime()
        await a.publish("rules", "uid-1")
        assert heard_a == [("rules", "uid-1")]  # the publisher's own subscribers at once
        assert heard_b == []
        assert await b.poll() == 1
        assert heard_b == [("rules", "uid-1")]
        assert await b.poll() == 0  # not delivered twice
        await b.publish("other", "x")
        assert heard_b[-1] == ("other", "x")
        await a.poll()  # a has no "other" subscriber; its own change comes back once, harmlessly
        assert heard_a == [("rules", "uid-1"), ("rules", "uid-1")]
        assert await a.poll() == 0
    finally:
        await a.stop()
        await b.stop()
        await db.dispose()
