"""Time ranges and durations as Grafana writes them: ``now-1h``, ``now/d``, epoch ms, ``1m30s``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigil.errors import AppError

_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "M": 2_592_000_000,
    "y": 31_536_000_000,
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)")
_RELATIVE = re.compile(r"^now(?P<ops>(?:[+-]\d+(?:ms|s|m|h|d|w|M|y))*)(?:/(?P<round>[smhdwMy]))?$")
_OP = re.compile(r"([+-])(\d+)(ms|s|m|h|d|w|M|y)")


@dataclass(frozen=True)
class TimeRange:
    from_ms: int
    to_ms: int

    @property
    def duration_ms(self) -> int:
        return max(0, self.to_ms - self.from_ms)


def parse_duration_ms(text: str | int | float | None, default: int | None = None) -> int:
    """``15s`` → 15000, ``1m30s`` → 90000, ``500ms``, a bare number means seconds."""
    if text is None or text == "":
        if default is None:
            raise ValueError("empty duration")
        return default
    if isinstance(text, (int, float)):
        return int(text * 1000)
    s = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return int(float(s) * 1000)
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            raise ValueError(f"invalid duration {text!r}")
        total += float(m.group(1)) * _UNITS_MS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"invalid duration {text!r}")
    return int(total)


def format_duration_ms(ms: int) -> str:
    """Grafana's short form: 15000 → ``15s``, 60000 → ``1m``, 500 → ``500ms``, 86400000 → ``1d``."""
    if ms <= 0:
        return "0s"
    for unit, size in (
        ("y", 31_536_000_000),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    if ms < 1000:
        return f"{ms}ms"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def _round_down(dt: datetime, unit: str) -> datetime:
    if unit == "s":
        return dt.replace(microsecond=0)
    if unit == "m":
        return dt.replace(second=0, microsecond=0)
    if unit == "h":
        return dt.replace(minute=0, second=0, microsecond=0)
    if unit == "d":
        return dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        d = dt.replace(hour=0, minute=0, second=0, microsecond=0)
        return d - timedelta(days=d.weekday())
    if unit == "M":
        return dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return dt.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def parse_time(value: object, now_ms: int, round_up: bool = False) -> int:
    """Epoch ms from ``"1700000000000"``, ``1700000000000``, ``now-6h``, ``now/d`` or an ISO date."""
    if isinstance(value, bool):
        raise AppError.bad_request("bad request data: invalid time")
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str) or not value.strip():
        raise AppError.bad_request("bad request data: time range 'from' and 'to' are required")
    s = value.strip()
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    m = _RELATIVE.fullmatch(s.replace(" ", ""))
    if m:
        dt = datetime.fromtimestamp(now_ms / 1000, UTC)
        for sign, num, unit in _OP.findall(m.group("ops") or ""):
            n = int(num) * (1 if sign == "+" else -1)
            if unit == "M":
                month = dt.month - 1 + n
                dt = dt.replace(year=dt.year + month // 12, month=month % 12 + 1)
            elif unit == "y":
                dt = dt.replace(year=dt.year + n)
            else:
                dt = dt + timedelta(milliseconds=n * _UNITS_MS[unit])
        if m.group("round"):
            unit = m.group("round")
            start = _round_down(dt, unit)
            if round_up:
                nxt = _round_down(start + timedelta(milliseconds=_UNITS_MS[unit] + 1000), unit)
                return int(nxt.timestamp() * 1000) - 1
            dt = start
        return int(dt.timestamp() * 1000)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise AppError.bad_request(f"bad request data: cannot parse time {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_range(frm: object, to: object, now_ms: int) -> TimeRange:
    start = parse_time(frm, now_ms)
    end = parse_time(to, now_ms, round_up=True)
    if end < start:
        raise AppError.bad_request("bad request data: 'to' is before 'from'")
    return TimeRange(start, end)


# Grafana's "nice" intervals: an interval is rounded to the first bound it is below.
_ROUNDING = [
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
]


def round_interval_ms(ms: int) -> int:
    for bound, value in _ROUNDING:
        if ms < bound:
            return value
    return 31_536_000_000


def calculate_interval_ms(tr: TimeRange, max_data_points: int, min_interval_ms: int = 0) -> int:
    """(to - from) / maxDataPoints rounded to a nice value; ``min_interval_ms`` when below it."""
    points = max_data_points if max_data_points > 0 else 1500
    raw = tr.duration_ms // points
    if raw < min_interval_ms:
        return max(min_interval_ms, 1)
    return max(round_interval_ms(raw), 1)


def safe_interval_ms(tr: TimeRange, resolution: int = 11_000) -> int:
    """The smallest step that keeps a range query under ``resolution`` points (Prometheus' limit)."""
    return round_interval_ms(tr.duration_ms // resolution)
