"""JSON log lines, one per event, each naming the replica."""

from __future__ import annotations

import functools
import logging
import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import orjson


@functools.lru_cache(maxsize=64)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def stamp(ts: float) -> str:
    """``ts`` as UTC with milliseconds (``2026-11-26T06:15:43.426Z``); the part up to the second is
    formatted once per second (every request writes a log line)."""
    whole = math.floor(ts)
    return f"{_second(whole)}.{int((ts - whole) * 1000):03d}Z"


class JSONFormatter(logging.Formatter):
    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "instance": self.instance,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return orjson.dumps(out).decode()


_direct: tuple[TextIO, str] | None = None  # (stream, instance) once setup() has run


def line_writer(logger_name: str, msg: str) -> Callable[[dict[str, Any]], None] | None:
    """A writer of one INFO line of ``logger_name``, the same JSON as JSONFormatter's, without the
    cost of a LogRecord (the per-request log is on the hot path). None before setup() or when that
    logger does not log INFO: the caller then uses logging as usual."""
    if _direct is None or not logging.getLogger(logger_name).isEnabledFor(logging.INFO):
        return None
    stream, instance = _direct

    def write(fields: dict[str, Any]) -> None:
        out: dict[str, Any] = {
            "ts": stamp(time.time()),
            "level": "info",
            "logger": logger_name,
            "instance": instance,
            "msg": msg,
        }
        out.update(fields)
        try:
            stream.write(orjson.dumps(out).decode() + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # like logging: a log line that cannot be written never fails the request

    return write


def setup(instance: str, level: str = "info") -> None:
    global _direct
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JSONFormatter(instance))
    _direct = (sys.stdout, instance)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
