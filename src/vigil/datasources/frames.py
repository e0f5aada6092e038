"""Data frames in Grafana's columnar JSON wire format (reference §7).

A frame is a list of equally long fields; a field is a typed column with optional labels and
config. Time values are epoch milliseconds; NaN and ±Inf leave as ``null`` with their row indexes
listed under ``entities`` (orjson writes non-finite floats as null, we only find the indexes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

_GO_TYPES = {
    "time": "time.Time",
    "number": "float64",
    "string": "string",
    "boolean": "bool",
    "other": "json.RawMessage",
}


class Field:
    __slots__ = ("config", "frame_type", "labels", "name", "nullable", "type", "values")

    def __init__(
        self,
        name: str,
        type: str,
        values: list[Any],
        labels: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
        frame_type: str | None = None,
        nullable: bool | None = None,
    ) -> None:
        self.name = name
        self.type = type
        self.values = values
        self.labels = labels
        self.config = config
        self.frame_type = frame_type or _GO_TYPES.get(type, "json.RawMessage")
        self.nullable = nullable

    @classmethod
    def time(cls, values: list[Any], name: str = "Time", nullable: bool = False) -> Field:
        return cls(name, "time", values, nullable=nullable)

    @classmethod
    def number(
        cls,
        values: list[Any],
        name: str = "Value",
        labels: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
    ) -> Field:
        return cls(name, "number", values, labels, config, nullable=True)

    @classmethod
    def string(cls, values: list[Any], name: str) -> Field:
        return cls(name, "string", values, nullable=True)

    def schema(self) -> dict[str, Any]:
        info: dict[str, Any] = {"frame": self.frame_type}
        nullable = self.nullable
        if nullable is None:
            nullable = any(v is None for v in self.values)
        if nullable:
            info["nullable"] = True
        out: dict[str, Any] = {"name": self.name, "type": self.type, "typeInfo": info}
        if self.labels:
            out["labels"] = self.labels
        if self.config:
            out["config"] = self.config
        return out

    def entities(self) -> dict[str, list[int]] | None:
        if self.type != "number" or self.frame_type != "float64":
            return None
        values = self.values
        try:
            if math.isfinite(sum(values)):
                return None
        except TypeError:  # None in the column: fall through to the scan
            pass
        nan: list[int] = []
        inf: list[int] = []
        neg: list[int] = []
        for i, v in enumerate(values):
            if v is None or type(v) is not float or math.isfinite(v):
                continue
            if v != v:
                nan.append(i)
            elif v > 0:
                inf.append(i)
            else:
                neg.append(i)
        if not (nan or inf or neg):
            return None
        return {"NaN": nan, "Inf": inf, "NegInf": neg}

    def display_name(self, frame_name: str = "") -> str:
        if self.config and self.config.get("displayNameFromDS"):
            return str(self.config["displayNameFromDS"])
        if self.labels:
            inner = ", ".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()) if k != "__name__")
            base = self.labels.get("__name__", self.name)
            return f"{base}{{{inner}}}" if inner else base
        return self.name or frame_name


@dataclass
class Frame:
    fields: list[Field]
    name: str = ""
    ref_id: str = ""
    meta: dict[str, Any] | None = None

    @property
    def length(self) -> int:
        return len(self.fields[0].values) if self.fields else 0

    def time_field(self) -> Field | None:
        for f in self.fields:
            if f.type == "time":
                return f
        return None

    def to_json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        if self.name:
            schema["name"] = self.name
        if self.ref_id:
            schema["refId"] = self.ref_id
        if self.meta:
            schema["meta"] = self.meta
        schema["fields"] = [f.schema() for f in self.fields]
        data: dict[str, Any] = {"values": [f.values for f in self.fields]}
        entities = [f.entities() for f in self.fields]
        if any(e is not None for e in entities):
            data["entities"] = entities
        return {"schema": schema, "data": data}


@dataclass
class DataResponse:
    """The answer to one refId: frames, or an error with its status and source."""

    frames: list[Frame] = field(default_factory=list)
    error: str | None = None
    status: int = 200
    error_source: str = "downstream"

    @classmethod
    def failure(cls, message: str, status: int = 400, source: str = "downstream") -> DataResponse:
        return cls(frames=[], error=message, status=status, error_source=source)

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            out: dict[str, Any] = {
                "error": self.error,
                "errorSource": self.error_source,
                "status": self.status,
            }
            if self.frames:
                out["frames"] = [f.to_json() for f in self.frames]
            return out
        return {"status": self.status, "frames": [f.to_json() for f in self.frames]}


def encode_results(results: dict[str, DataResponse]) -> bytes:
    return orjson.dumps({"results": {ref: r.to_json() for ref, r in results.items()}})


def frame_from_json(data: dict[str, Any]) -> Frame:
    """Parse a frame in wire format back (tests, and the ``-- Dashboard --`` style reuse)."""
    schema = data.get("schema", {})
    values = data.get("data", {}).get("values", [])
    entities = data.get("data", {}).get("entities") or []
    fields = []
    for i, fs in enumerate(schema.get("fields", [])):
        col = list(values[i]) if i < len(values) else []
        ent = entities[i] if i < len(entities) else None
        if ent:
            for idx in ent.get("NaN", []):
                col[idx] = math.nan
            for idx in ent.get("Inf", []):
                col[idx] = math.inf
            for idx in ent.get("NegInf", []):
                col[idx] = -math.inf
        fields.append(
            Field(
                fs.get("name", ""),
                fs.get("type", "other"),
                col,
                fs.get("labels"),
                fs.get("config"),
                (fs.get("typeInfo") or {}).get("frame"),
            )
        )
    return Frame(fields, schema.get("name", ""), schema.get("refId", ""), schema.get("meta"))


def timeseries_meta(
    kind: str = "timeseries-multi", executed: str | None = None, **extra: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"type": kind, "typeVersion": [0, 1]}
    if executed is not None:
        meta["executedQueryString"] = executed
    meta.update(extra)
    return meta


def infer_field(name: str, values: Sequence[Any]) -> Field:
    """A column of Python values as a typed field (SQL results, CSV content)."""
    kind = "other"
    frame_type = "json.RawMessage"
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            kind, frame_type = "boolean", "bool"
        elif isinstance(v, int):
            kind, frame_type = "number", "int64"
        elif isinstance(v, float):
            kind, frame_type = "number", "float64"
        elif isinstance(v, str):
            kind, frame_type = "string", "string"
        break
    if kind == "number" and frame_type == "int64" and any(isinstance(v, float) for v in values):
        frame_type = "float64"
    col = list(values)
    if kind == "number" and frame_type == "float64":
        col = [None if v is None else float(v) for v in col]
    return Field(name, kind, col, frame_type=frame_type, nullable=any(v is None for v in col))


def join_labels(labels: dict[str, str] | None) -> str:
    if not labels:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def concat(parts: Iterable[list[Frame]]) -> list[Frame]:
    out: list[Frame] = []
    for p in parts:
        out.extend(p)
    return out
