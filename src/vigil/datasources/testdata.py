"""TestData (``grafana-testdata-datasource``, legacy ``testdata``): generated data, no backend.

Deterministic scenarios are aligned to the epoch, not to the request: ``predictable_pulse`` and
``predictable_csv_wave`` give the value at epoch second ``t`` (a multiple of ``timeStep``) as
``values[(t // timeStep) % len(values)]``, so an alert test can predict every transition.
``random_walk`` with a ``seed`` is reproducible: the same seed and time range give the same series.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from typing import Any

from vigil.datasources.frames import DataResponse, Field, Frame, infer_field
from vigil.datasources.registry import (
    DataQuery,
    DataSourcePlugin,
    Health,
    Instance,
    register,
)
from vigil.datasources.timerange import calculate_interval_ms

SCENARIOS = (
    "random_walk",
    "predictable_pulse",
    "predictable_csv_wave",
    "csv_metric_values",
    "csv_content",
    "no_data_points",
    "random_walk_table",
    "exponential_heatmap_bucket_data",
    "linear_heatmap_bucket_data",
)
_LABEL_PAIR = re.compile(r"\s*([A-Za-z_][\w.\-]*)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^,}]*)\s*")


class QueryError(ValueError):
    pass


def _num(model: dict[str, Any], key: str, default: float | None) -> float | None:
    value = model.get(key)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise QueryError(f"{key} must be a number") from None


def parse_labels(text: Any, index: int = 0) -> dict[str, str] | None:
    """``key=value, k2="v2"`` or ``{key="value"}``; ``$seriesIndex`` becomes the series number."""
    if isinstance(text, dict):
        return {str(k): str(v).replace("$seriesIndex", str(index)) for k, v in text.items()} or None
    if not isinstance(text, str) or not text.strip():
        return None
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    out: dict[str, str] = {}
    for part in _split_top(body):
        m = _LABEL_PAIR.fullmatch(part)
        if not m:
            raise QueryError(f"invalid labels {text!r}: use key=value, key2=value2")
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[m.group(1)] = value.replace("$seriesIndex", str(index))
    return out or None


def _split_top(body: str) -> list[str]:
    parts, buf, quote = [], [], ""
    for c in body:
        if quote:
            buf.append(c)
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
            buf.append(c)
        elif c == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
    if "".join(buf).strip():
        parts.append("".join(buf))
    return [p for p in parts if p.strip()]


def _csv_values(text: Any) -> list[float | None]:
    items = [str(v) for v in text] if isinstance(text, (list, tuple)) else str(text or "").split(",")
    out: list[float | None] = []
    for raw in items:
        v = raw.strip()
        if not v:
            continue
        low = v.lower()
        if low in ("null", "none"):
            out.append(None)
        elif low == "nan":
            out.append(math.nan)
        elif low in ("inf", "+inf"):
            out.append(math.inf)
        elif low == "-inf":
            out.append(-math.inf)
        else:
            try:
                out.append(float(v))
            except ValueError:
                raise QueryError(f"invalid number {v!r} in CSV values") from None
    return out


def series_name(q: DataQuery, index: int) -> str:
    alias = q.model.get("alias")
    if isinstance(alias, str) and alias:
        return alias.replace("$seriesIndex", str(index))
    return f"{q.ref_id}-series" + (str(index) if index > 0 else "")


def _step_ms(q: DataQuery) -> int:
    if q.interval_ms > 0:
        return q.interval_ms
    return calculate_interval_ms(q.time_range, q.max_data_points or 1000, 1)


def _aligned_times(start_ms: int, end_ms: int, step_ms: int, limit: int) -> list[int]:
    first = -(-start_ms // step_ms) * step_ms
    out: list[int] = []
    t = first
    while t < end_ms and len(out) < limit:
        out.append(t)
        t += step_ms
    return out


def random_walk(q: DataQuery, index: int) -> Frame:
    m = q.model
    seed = m.get("seed")
    rng = random.Random(f"{seed}:{index}") if seed not in (None, "") else random.Random()
    spread = _num(m, "spread", 1.0) or 0.0
    noise = _num(m, "noise", 0.0) or 0.0
    lo = _num(m, "min", None)
    hi = _num(m, "max", None)
    drop = (_num(m, "drop", 0.0) or 0.0) / 100.0
    start = _num(m, "startValue", None)
    walker = start if start is not None else rng.random() * 100
    limit = q.max_data_points if q.max_data_points > 0 else 100_000
    times: list[int] = []
    values: list[float] = []
    for t in _aligned_times(q.time_range.from_ms, q.time_range.to_ms, _step_ms(q), limit):
        value = walker + (rng.random() - 0.5) * noise * 2 if noise else walker
        if lo is not None and value < lo:
            value = lo
            walker = lo
        if hi is not None and value > hi:
            value = hi
            walker = hi
        if not (drop > 0 and rng.random() < drop):
            times.append(t)
            values.append(value)
        walker += (rng.random() - 0.5) * spread
    return Frame(
        [
            Field.time(times, "time"),
            Field.number(values, series_name(q, index), parse_labels(m.get("labels"), index)),
        ],
        ref_id=q.ref_id,
    )


def random_walk_table(q: DataQuery) -> Frame:
    m = q.model
    seed = m.get("seed")
    rng = random.Random(f"{seed}:table") if seed not in (None, "") else random.Random()
    walker = _num(m, "startValue", None)
    walker = walker if walker is not None else rng.random() * 100
    spread = _num(m, "spread", 1.0) or 0.0
    limit = q.max_data_points if q.max_data_points > 0 else 100_000
    times, vals, mins, maxs, infos = [], [], [], [], []
    for t in _aligned_times(q.time_range.from_ms, q.time_range.to_ms, _step_ms(q), limit):
        delta = (rng.random() - 0.5) * spread
        times.append(t)
        vals.append(walker)
        mins.append(walker - rng.random() * spread)
        maxs.append(walker + rng.random() * spread)
        infos.append("up" if delta > 0 else "down")
        walker += delta
    return Frame(
        [
            Field.time(times, "Time"),
            Field.number(vals, "Value"),
            Field.number(mins, "Min"),
            Field.number(maxs, "Max"),
            Field.string(infos, "Info"),
        ],
        ref_id=q.ref_id,
    )


def predictable(
    q: DataQuery, time_step_s: float, values: list[float | None], name: str, labels: Any
) -> Frame:
    if time_step_s <= 0:
        raise QueryError("timeStep must be positive")
    if not values:
        raise QueryError("no values given")
    step_ms = int(time_step_s * 1000)
    times = _aligned_times(q.time_range.from_ms, q.time_range.to_ms, step_ms, 1_000_000)
    n = len(values)
    vals = [values[(t // step_ms) % n] for t in times]
    return Frame([Field.time(times, "time"), Field.number(vals, name, parse_labels(labels))], ref_id=q.ref_id)


def predictable_pulse(q: DataQuery) -> Frame:
    pw = q.model.get("pulseWave") or {}
    if not isinstance(pw, dict):
        raise QueryError("pulseWave must be an object")
    step = _num(pw, "timeStep", 60.0) or 60.0
    on_count = int(_num(pw, "onCount", 3) or 0)
    off_count = int(_num(pw, "offCount", 6) or 0)
    if on_count < 0 or off_count < 0 or on_count + off_count == 0:
        raise QueryError("onCount and offCount must be positive")
    on_value = _csv_values([pw.get("onValue", 1)])[0] if pw.get("onValue") is not None else 1.0
    off_value = _csv_values([pw.get("offValue", 0)])[0] if pw.get("offValue") is not None else 0.0
    values = [on_value] * on_count + [off_value] * off_count
    return predictable(q, step, values, series_name(q, 0), q.model.get("labels"))


def predictable_csv_wave(q: DataQuery) -> list[Frame]:
    waves = q.model.get("csvWave")
    if isinstance(waves, dict):
        waves = [waves]
    if not isinstance(waves, list) or not waves:
        raise QueryError("csvWave must list at least one wave")
    frames = []
    for i, wave in enumerate(waves):
        if not isinstance(wave, dict):
            raise QueryError("csvWave entries must be objects")
        step = _num(wave, "timeStep", 60.0) or 60.0
        name = wave.get("name") or series_name(q, i)
        frames.append(predictable(q, step, _csv_values(wave.get("valuesCSV")), str(name), wave.get("labels")))
    return frames


def csv_metric_values(q: DataQuery) -> Frame:
    values = _csv_values(q.model.get("stringInput", "1,20,90,30,5,0"))
    if not values:
        raise QueryError("stringInput has no values")
    start, end = q.time_range.from_ms, q.time_range.to_ms
    if len(values) == 1:
        times = [start, end]
        values = values * 2
    else:
        step = (end - start) // (len(values) - 1)
        times = [start + step * i for i in range(len(values))]
    return Frame(
        [
            Field.time(times, "time"),
            Field.number(values, series_name(q, 0), parse_labels(q.model.get("labels"))),
        ],
        ref_id=q.ref_id,
    )


def heatmap_buckets(q: DataQuery, exponential: bool) -> list[Frame]:
    """Histogram buckets over time: one series per upper bound (``le`` label), counts that drift."""
    seed = q.model.get("seed")
    rng = random.Random(f"{seed}:heatmap") if seed not in (None, "") else random.Random()
    bounds = [2.0**i for i in range(10)] if exponential else [float(i * 10) for i in range(10)]
    limit = q.max_data_points if q.max_data_points > 0 else 100_000
    times = _aligned_times(q.time_range.from_ms, q.time_range.to_ms, _step_ms(q), limit)
    frames = []
    for i, bound in enumerate(bounds):
        level = rng.random() * 10 * (len(bounds) - i)
        values = []
        for _ in times:
            level = max(0.0, level + (rng.random() - 0.5) * 5)
            values.append(round(level))
        name = f"{bound:g}"
        frames.append(
            Frame(
                [Field.time(list(times), "time"), Field.number(values, name, {"le": name})],
                name=name,
                ref_id=q.ref_id,
            )
        )
    return frames


def _cell(raw: str) -> Any:
    v = raw.strip()
    if v == "" or v.lower() == "null":
        return None
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def csv_content(q: DataQuery) -> Frame:
    text = q.model.get("csvContent") or ""
    rows = list(csv.reader(io.StringIO(str(text))))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return Frame([], ref_id=q.ref_id)
    header = [h.strip() for h in rows[0]]
    columns: list[list[Any]] = [[] for _ in header]
    for r in rows[1:]:
        for i in range(len(header)):
            columns[i].append(_cell(r[i]) if i < len(r) else None)
    fields = []
    for name, col in zip(header, columns, strict=True):
        if name.lower() in ("time", "timestamp") and all(
            isinstance(v, (int, float)) or v is None for v in col
        ):
            fields.append(Field.time([None if v is None else int(v) for v in col], name, None in col))
        else:
            fields.append(infer_field(name, col))
    return Frame(fields, ref_id=q.ref_id)


@register
class TestDataPlugin(DataSourcePlugin):
    type_id = "grafana-testdata-datasource"
    aliases = ("testdata",)
    name = "TestData"
    category = "other"
    logo = "public/app/plugins/datasource/grafana-testdata-datasource/img/testdata.svg"
    config_schema = []
    interpolated_fields = ("alias", "labels", "stringInput", "csvContent", "seriesCount", "min", "max")

    async def query(self, inst: Instance, queries: list[DataQuery]) -> dict[str, DataResponse]:
        out: dict[str, DataResponse] = {}
        for q in queries:
            try:
                out[q.ref_id] = DataResponse(frames=self.run(q))
            except QueryError as exc:
                out[q.ref_id] = DataResponse.failure(str(exc), 400, "plugin")
        return out

    def run(self, q: DataQuery) -> list[Frame]:
        scenario = str(q.model.get("scenarioId") or "random_walk")
        if scenario == "random_walk":
            count = int(_num(q.model, "seriesCount", 1) or 1)
            if count < 1 or count > 1000:
                raise QueryError("seriesCount must be between 1 and 1000")
            return [random_walk(q, i) for i in range(count)]
        if scenario == "random_walk_table":
            return [random_walk_table(q)]
        if scenario == "predictable_pulse":
            return [predictable_pulse(q)]
        if scenario == "predictable_csv_wave":
            return predictable_csv_wave(q)
        if scenario == "csv_metric_values":
            return [csv_metric_values(q)]
        if scenario == "csv_content":
            return [csv_content(q)]
        if scenario == "no_data_points":
            return []
        if scenario in ("exponential_heatmap_bucket_data", "linear_heatmap_bucket_data"):
            return heatmap_buckets(q, scenario.startswith("exponential"))
        raise QueryError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")

    async def check_health(self, inst: Instance) -> Health:
        return Health(True, "Data source is working")
