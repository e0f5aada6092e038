"""Pure scheduling and notification decisions (no I/O; time is passed in).

- ``due``: is a rule group evaluated at this tick?
- ``owned``: which rule groups this replica evaluates (``shard``: rendezvous hashing over the live
  members; ``all``: every group).
- ``needs_update``: does a dispatch group's current alert set warrant a notification to one
  integration, given what was last sent to it (Alertmanager's notification-log rule)?
- ``next_flush``: when a dispatch group must be looked at again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from vigil.cluster import shard


def group_offset(group_key: str, interval: int) -> int:
    """A stable per-group phase in ``[0, interval)`` so groups with one interval do not all fire together."""
    if interval <= 1:
        return 0
    h = int.from_bytes(hashlib.blake2b(group_key.encode(), digest_size=4).digest(), "big")
    return h % interval


def due(tick: int, interval: int, offset: int) -> bool:
    """Whether a group with ``interval`` seconds and ``offset`` is evaluated at whole second ``tick``."""
    return interval > 0 and (tick - offset) % interval == 0


def owned(group_keys: Iterable[str], live: Iterable[str], me: str, mode: str) -> set[str]:
    """The groups this replica should evaluate."""
    keys = list(group_keys)
    if mode == "all":
        return set(keys)
    members = sorted(set(live) | {me})
    return {k for k in keys if shard.owner(k, members) == me}


@dataclass(frozen=True)
class SentEntry:
    """What was last notified to one integration for one dispatch group."""

    firing: frozenset[str]
    resolved: frozenset[str]
    sent_at: float


def needs_update(
    entry: SentEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    send_resolved: bool,
    repeat_interval: float,
    now: float,
) -> tuple[bool, bool]:
    """``(record, send)``: whether to log a notification for this flush and whether to deliver it.

    A notification is due when something fires that was not notified as firing, when alerts
    resolve (all of them: always logged, delivered only with send_resolved; some of them:
    with send_resolved), or when ``repeat_interval`` passed since the last one.
    """
    if entry is None:
        hit = bool(firing)
        return hit, hit
    if not firing <= entry.firing:
        return True, True
    if not firing:
        hit = bool(entry.firing)
        return hit, hit and send_resolved and bool(resolved)
    if send_resolved and not resolved <= entry.resolved:
        return True, True
    if now - entry.sent_at >= repeat_interval:
        return True, True
    return False, False


def next_flush(
    has_firing: bool,
    held_back: bool,
    last_sent_at: float,
    now: float,
    group_interval: float,
    repeat_interval: float,
) -> float:
    """When to flush again: 0 (idle) with nothing firing; after ``group_interval`` while alerts are
    held back (silenced, muted, or outside active times) so their release is noticed; otherwise
    when the repeat is due."""
    if held_back:
        return now + group_interval
    if not has_firing:
        return 0.0
    return max(now + group_interval, last_sent_at + repeat_interval)
