"""Mute timings (Alertmanager time intervals): validation and "is this instant inside?".

``{"name": …, "time_intervals": [{"times": [{"start_time": "09:00", "end_time": "17:00"}],
"weekdays": ["monday:friday"], "days_of_month": ["1:5", "-1"], "months": ["1:3", "may"],
"years": ["2024:2026"], "location": "Europe/Berlin"}]}``. An interval matches when every field it
sets matches; a timing is active when any of its intervals matches.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil.errors import AppError

WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
FIELDS = ("times", "weekdays", "days_of_month", "months", "years", "location")


def _bad(msg: str) -> AppError:
    return AppError.bad_request(f"invalid mute timing: {msg}")


def _minutes(text: Any) -> int:
    if not isinstance(text, str):
        raise _bad(f"time {text!r} is not a string")
    m = _TIME.match(text)
    if not m:
        raise _bad(f"time {text!r} must be HH:MM")
    value = int(m.group(1)) * 60 + int(m.group(2))
    if value > 1440:
        raise _bad(f"time {text!r} is past 24:00")
    return value


def _ranges(items: Any, what: str, parse_one: Any) -> list[tuple[int, int]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise _bad(f"{what} must be a list")
    out = []
    for raw in items:
        if not isinstance(raw, str) or not raw.strip():
            raise _bad(f"{what} entry {raw!r} must be a non-empty string")
        text = raw.strip().lower()
        # Negative days of month ("-3:-1") must not be split on their sign.
        parts = re.split(r"(?<=[^:]):", text, maxsplit=1) if ":" in text else [text]
        lo = parse_one(parts[0].strip())
        hi = parse_one(parts[1].strip()) if len(parts) == 2 else lo
        out.append((lo, hi))
    return out


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise _bad(f"unknown weekday {text!r}")
    return WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    if text in MONTHS:
        return MONTHS.index(text) + 1
    raise _bad(f"unknown month {text!r}")


def _day(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise _bad(f"day of month {text!r} is not a number") from None
    if v == 0 or not -31 <= v <= 31:
        raise _bad(f"day of month {v} is out of range")
    return v


def _year(text: str) -> int:
    if not text.isdigit():
        raise _bad(f"year {text!r} is not a number")
    return int(text)


def _zone(name: Any) -> ZoneInfo | None:
    if name in (None, "", "UTC", "Local"):
        return None
    if not isinstance(name, str):
        raise _bad("location must be a string")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"unknown location {name!r}") from None


def validate(body: Any) -> dict[str, Any]:
    """Check a mute timing body; return it normalised (``name``, ``time_intervals``)."""
    if not isinstance(body, dict):
        raise AppError.bad_request("invalid mute timing: expected a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AppError.bad_request("invalid mute timing: name is required")
    if len(name) > 190:
        raise AppError.bad_request("invalid mute timing: name is longer than 190 characters")
    intervals = body.get("time_intervals") or []
    if not isinstance(intervals, list):
        raise _bad("time_intervals must be a list")
    clean = []
    for iv in intervals:
        if not isinstance(iv, dict):
            raise _bad("each time interval must be an object")
        unknown = set(iv) - set(FIELDS)
        if unknown:
            raise _bad(f"unknown field {sorted(unknown)[0]!r} in a time interval")
        for t in iv.get("times") or []:
            if not isinstance(t, dict):
                raise _bad("times entries must be objects with start_time and end_time")
            if _minutes(t.get("start_time")) >= _minutes(t.get("end_time")):
                raise _bad("start_time must be before end_time")
        _ranges(iv.get("weekdays"), "weekdays", _weekday)
        _ranges(iv.get("days_of_month"), "days_of_month", _day)
        _ranges(iv.get("months"), "months", _month)
        _ranges(iv.get("years"), "years", _year)
        _zone(iv.get("location"))
        clean.append({k: iv[k] for k in FIELDS if iv.get(k) not in (None, [], "")})
    return {"name": name.strip(), "time_intervals": clean}


def _in(value: int, ranges: list[tuple[int, int]]) -> bool:
    return any(lo <= value <= hi for lo, hi in ranges)


def interval_active(iv: dict[str, Any], ts: float) -> bool:
    zone = _zone(iv.get("location"))
    dt = datetime.fromtimestamp(ts, zone or UTC)
    times = iv.get("times") or []
    if times:
        minute = dt.hour * 60 + dt.minute
        if not any(_minutes(t["start_time"]) <= minute < _minutes(t["end_time"]) for t in times):
            return False
    weekdays = _ranges(iv.get("weekdays"), "weekdays", _weekday)
    if weekdays and not _in((dt.weekday() + 1) % 7, weekdays):
        return False
    days = _ranges(iv.get("days_of_month"), "days_of_month", _day)
    if days:
        last = calendar.monthrange(dt.year, dt.month)[1]
        norm = [(lo if lo > 0 else last + lo + 1, hi if hi > 0 else last + hi + 1) for lo, hi in days]
        if not _in(dt.day, norm):
            return False
    months = _ranges(iv.get("months"), "months", _month)
    if months and not _in(dt.month, months):
        return False
    years = _ranges(iv.get("years"), "years", _year)
    return not (years and not _in(dt.year, years))


def active(time_intervals: list[dict[str, Any]], ts: float) -> bool:
    return any(interval_active(iv, ts) for iv in time_intervals)
