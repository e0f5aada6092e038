"""One clock, passed in. Tests drive time with ``FakeClock``."""

from __future__ import annotations

import functools
import math
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall clock, shared meaning across replicas)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic clock, for durations inside one process."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 1000.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds


def iso(ts: float) -> str:
    """RFC 3339 in UTC with a Z, as Grafana's JSON."""
    return _iso_second(math.floor(ts))


@functools.lru_cache(maxsize=4096)
def _iso_second(whole: int) -> str:
    # Formatting costs microseconds and the same stamps (a user's created/updated) recur per request.
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
