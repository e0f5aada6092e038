"""Prometheus-style durations (``5m``, ``1h30m``, ``90s``, ``500ms``) as Grafana's rule JSON uses."""

from __future__ import annotations

import re

from vigil.errors import AppError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(raw: object, what: str = "duration") -> float:
    """Seconds; accepts a string like ``5m``/``1h30m``/``0`` or a number of seconds."""
    if isinstance(raw, bool):
        raise AppError.bad_request(f"invalid {what}: {raw!r}")
    if isinstance(raw, (int, float)):
        if raw < 0:
            raise AppError.bad_request(f"invalid {what}: must not be negative")
        return float(raw)
    if not isinstance(raw, str):
        raise AppError.bad_request(f"invalid {what}: {raw!r}")
    text = raw.strip()
    if text in ("", "0"):
        return 0.0
    pos = 0
    total = 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise AppError.bad_request(f"invalid {what} {raw!r}: use a duration such as 30s, 5m or 1h30m")
    return total


def format_duration(seconds: float) -> str:
    """``300`` -> ``5m``, ``5400`` -> ``1h30m``, ``0`` -> ``0s`` (Prometheus' model.Duration form)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit, size in (
        ("y", 31536000000),
        ("w", 604800000),
        ("d", 86400000),
        ("h", 3600000),
        ("m", 60000),
        ("s", 1000),
        ("ms", 1),
    ):
        if ms >= size:
            n, ms = divmod(ms, size)
            out.append(f"{n}{unit}")
    return "".join(out)
