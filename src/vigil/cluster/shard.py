"""Rendezvous (highest-random-weight) hashing: who owns a key among the live members.

Pure functions. Every replica that sees the same member list picks the same owner; when a member
joins or leaves, only the keys it wins or held move (about 1/N of them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def weight(member: str, key: str) -> int:
    digest = hashlib.blake2b(f"{member}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(key: str, members: Iterable[str]) -> str | None:
    """The member with the highest weight for ``key`` (ties broken by name), or None if none."""
    best: tuple[int, str] | None = None
    for m in members:
        w = (weight(m, key), m)
        if best is None or w > best:
            best = w
    return None if best is None else best[1]


def assignment(keys: Iterable[str], members: Iterable[str]) -> dict[str, list[str]]:
    """Map each member to the keys it owns."""
    names = sorted(set(members))
    out: dict[str, list[str]] = {m: [] for m in names}
    for k in keys:
        o = owner(k, names)
        if o is not None:
            out[o].append(k)
    return out
