"""Pure decisions: when a group is due, who owns it, whether a flush notifies, when to flush next."""

from __future__ import annotations

import itertools

from vigil.alerting.decisions import SentEntry, due, group_offset, needs_update, next_flush, owned
from vigil.clock import FakeClock
from vigil.cluster import shard


def test_groups_are_due_once_per_interval_at_a_stable_offset():
    offset = group_offset("1/f/g", 10)
    assert 0 <= offset < 10 and offset == group_offset("1/f/g", 10)
    ticks = [t for t in range(1_700_000_000, 1_700_000_060) if due(t, 10, offset)]
    assert len(ticks) == 6 and all(b - a == 10 for a, b in itertools.pairwise(ticks))
    assert all(due(t, 1, 0) for t in range(100, 110))


def test_shard_ownership_splits_300_groups_about_evenly_over_3_members():
    keys = [f"1/folder/group-{i}" for i in range(300)]
    members = ["replica-1", "replica-2", "replica-3"]
    shares = [owned(keys, members, m, "shard") for m in members]
    assert sum(len(s) for s in shares) == 300
    assert set().union(*shares) == set(keys)
    assert all(70 <= len(s) <= 130 for s in shares), [len(s) for s in shares]


def test_a_dead_members_groups_move_and_only_those():
    keys = [f"1/f/g{i}" for i in range(500)]
    before = shard.assignment(keys, ["a", "b", "c"])
    after = shard.assignment(keys, ["a", "b"])
    assert set(before["a"]) <= set(after["a"]) and set(before["b"]) <= set(after["b"])
    assert set(after["a"]) | set(after["b"]) == set(keys)
    joined = shard.assignment(keys, ["a", "b", "c", "d"])
    moved = sum(1 for k in keys if shard.owner(k, ["a", "b", "c"]) != shard.owner(k, ["a", "b", "c", "d"]))
    assert moved == len(joined["d"]) and 60 <= moved <= 190


def test_all_mode_owns_everything_and_self_is_always_a_member():
    keys = ["k1", "k2"]
    assert owned(keys, [], "me", "all") == {"k1", "k2"}
    assert owned(keys, [], "me", "shard") == {"k1", "k2"}


def test_needs_update_follows_the_notification_log_rules():
    clock = FakeClock()
    now = clock.now()
    a, b = "fp-a", "fp-b"
    fs = frozenset
    assert needs_update(None, fs([a]), fs(), True, 3600, now) == (True, True)
    assert needs_update(None, fs(), fs([a]), True, 3600, now) == (False, False)
    sent = SentEntry(fs([a]), fs(), now)
    clock.advance(60)
    now = clock.now()
    assert needs_update(sent, fs([a]), fs(), True, 3600, now) == (False, False)
    assert needs_update(sent, fs([a, b]), fs(), True, 3600, now) == (True, True)
    assert needs_update(sent, fs(), fs([a]), True, 3600, now) == (True, True)
    assert needs_update(sent, fs(), fs([a]), False, 3600, now) == (True, False)
    both = SentEntry(fs([a, b]), fs(), now)
    assert needs_update(both, fs([a]), fs([b]), True, 3600, now) == (True, True)
    assert needs_update(both, fs([a]), fs([b]), False, 3600, now) == (False, False)
    clock.advance(3600)
    assert needs_update(sent, fs([a]), fs(), True, 3600, clock.now()) == (True, True)


def test_next_flush_is_idle_repeat_or_a_group_interval_while_held_back():
    assert next_flush(False, False, 100.0, 200.0, 5, 3600) == 0.0
    assert next_flush(True, False, 100.0, 200.0, 5, 3600) == 3700.0
    assert next_flush(True, False, 100.0, 5000.0, 5, 3600) == 5005.0
    assert next_flush(True, True, 100.0, 200.0, 5, 3600) == 205.0
