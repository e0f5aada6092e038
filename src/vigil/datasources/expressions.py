"""Server-side expressions (data source ``__expr__``): math, reduce, resample, threshold, classic
conditions. The alerting engine evaluates rules with these.

Values are lists of ``Number`` (one value with labels) or ``Series`` (points with labels). Data-source
frames become values with ``frames_to_values``; results go back to frames with ``values_to_frames``.
Binary operations pair items by labels: equal label sets, or one a subset of the other, or a single
item on either side.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vigil.datasources.frames import DataResponse, Field, Frame, timeseries_meta
from vigil.datasources.timerange import TimeRange, parse_duration_ms

if TYPE_CHECKING:
    from vigil.datasources.service import QueryItem

NAN = math.nan


class ExpressionError(ValueError):
    pass


@dataclass
class Number:
    labels: dict[str, str]
    value: float | None


@dataclass
class Series:
    labels: dict[str, str]
    times: list[int]
    values: list[float | None]
    name: str = ""


Value = Number | Series


@dataclass
class Result:
    values: list[Value] = field(default_factory=list)
    meta: dict[str, Any] | None = None


# -- frames ↔ values ----------------------------------------------------------------------------


def _float(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def frames_to_values(frames: list[Frame]) -> list[Value]:
    out: list[Value] = []
    for frame in frames:
        if not frame.fields:
            continue
        tf = frame.time_field()
        nums = [f for f in frame.fields if f.type == "number"]
        strs = [f for f in frame.fields if f.type == "string"]
        if tf is not None:
            if strs:  # long format: one series per distinct string-column tuple and number column
                groups: dict[tuple[Any, ...], dict[str, tuple[list[int], list[float | None]]]] = {}
                for i, t in enumerate(tf.values):
                    key = tuple(s.values[i] for s in strs)
                    g = groups.setdefault(key, {})
                    for nf in nums:
                        times, vals = g.setdefault(nf.name, ([], []))
                        times.append(int(t))
                        vals.append(_float(nf.values[i]))
                for key, per_field in groups.items():
                    for fname, (times, vals) in per_field.items():
                        labels = {s.name: "" if v is None else str(v) for s, v in zip(strs, key, strict=True)}
                        if len(nums) > 1:
                            labels["__field__"] = fname
                        out.append(Series(labels, times, vals, fname))
                continue
            for nf in nums:
                times = [int(t) for t in tf.values]
                out.append(Series(dict(nf.labels or {}), times, [_float(v) for v in nf.values], nf.name))
            continue
        for i in range(frame.length):
            row_labels = {s.name: "" if s.values[i] is None else str(s.values[i]) for s in strs}
            for nf in nums:
                labels = {**(nf.labels or {}), **row_labels}
                if len(nums) > 1:
                    labels["__field__"] = nf.name
                out.append(Number(labels, _float(nf.values[i])))
    return out


def values_to_frames(ref_id: str, values: list[Value], meta: dict[str, Any] | None = None) -> list[Frame]:
    frames: list[Frame] = []
    for v in values:
        if isinstance(v, Number):
            frames.append(
                Frame(
                    [Field.number([v.value if v.value is not None else None], ref_id, v.labels or None)],
                    ref_id=ref_id,
                    meta=meta or {"type": "numeric-multi", "typeVersion": [0, 1]},
                )
            )
        else:
            frames.append(
                Frame(
                    [Field.time(list(v.times)), Field.number(list(v.values), ref_id, v.labels or None)],
                    ref_id=ref_id,
                    meta=meta or timeseries_meta(),
                )
            )
    return frames


# -- math ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(?P<ref>\$\{[^}]+\}|\$[A-Za-z0-9_]+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|==|!=|>=|<=|&&|\|\||[-+*/%^()<>!,]))"
)
_PREC = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
    "**": 8,
    "^": 8,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"math: unexpected character at position {pos}: {text[pos : pos + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("math: unexpected end of expression")
        self.i += 1
        return tok

    def parse(self) -> Any:
        node = self.expr(0)
        if self.peek() is not None:
            raise ExpressionError(f"math: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def expr(self, min_prec: int) -> Any:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "op" or tok[1] not in _PREC or _PREC[tok[1]] < min_prec:
                return left
            op = self.take()[1]
            prec = _PREC[op]
            right = self.expr(prec if op in ("**", "^") else prec + 1)
            left = ("bin", op, left, right)

    def unary(self) -> Any:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("-", "!", "+"):
            self.take()
            operand = self.unary()
            return operand if tok[1] == "+" else ("un", tok[1], operand)
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return ("num", float(text))
        if kind == "ref":
            return ("ref", text[2:-1] if text.startswith("${") else text[1:])
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take()
                args = [self.expr(0)]
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expr(0))
                if self.take() != ("op", ")"):
                    raise ExpressionError("math: missing ')'")
                return ("call", text, args)
            lowered = text.lower()
            if lowered in ("nan", "inf", "infinity"):
                return ("num", NAN if lowered == "nan" else math.inf)
            raise ExpressionError(f"math: unknown name {text!r} (refer to queries as ${text})")
        if (kind, text) == ("op", "("):
            node = self.expr(0)
            if self.take() != ("op", ")"):
                raise ExpressionError("math: missing ')'")
            return node
        raise ExpressionError(f"math: unexpected {text!r}")


def math_refs(text: str) -> set[str]:
    return {t[2:-1] if t.startswith("${") else t[1:] for kind, t in _tokens(text) if kind == "ref"}


def _binop(op: str, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return NAN if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
            return a / b
        if op == "%":
            return NAN if b == 0 else math.fmod(a, b)
        if op in ("**", "^"):
            return float(a**b) if not (a < 0 and not float(b).is_integer()) else NAN
        if op == "==":
            return 1.0 if a == b else 0.0
        if op == "!=":
            return 1.0 if a != b else 0.0
        if op == ">":
            return 1.0 if a > b else 0.0
        if op == "<":
            return 1.0 if a < b else 0.0
        if op == ">=":
            return 1.0 if a >= b else 0.0
        if op == "<=":
            return 1.0 if a <= b else 0.0
        if op == "&&":
            return 1.0 if a != 0 and b != 0 else 0.0
        if op == "||":
            return 1.0 if a != 0 or b != 0 else 0.0
    except OverflowError:
        return math.inf
    raise ExpressionError(f"math: unknown operator {op}")


def _round(x: float) -> float:
    return float(math.floor(x + 0.5)) if x >= 0 else -float(math.floor(-x + 0.5))


_FUNCS: dict[str, Callable[[float | None], float | None]] = {
    "abs": lambda x: None if x is None else abs(x),
    "ceil": lambda x: None if x is None or not math.isfinite(x) else float(math.ceil(x)),
    "floor": lambda x: None if x is None or not math.isfinite(x) else float(math.floor(x)),
    "round": lambda x: None if x is None or not math.isfinite(x) else _round(x),
    "log": lambda x: None if x is None else (math.log(x) if x > 0 else (-math.inf if x == 0 else NAN)),
    "exp": lambda x: None if x is None else (math.exp(x) if x < 709 else math.inf),
    "is_nan": lambda x: 1.0 if x is not None and math.isnan(x) else 0.0,
    "is_inf": lambda x: 1.0 if x is not None and math.isinf(x) else 0.0,
    "is_null": lambda x: 1.0 if x is None else 0.0,
    "is_number": lambda x: 1.0 if x is not None and math.isfinite(x) else 0.0,
}

Operand = float | list[Value]


def _labels_match(a: dict[str, str], b: dict[str, str]) -> dict[str, str] | None:
    if a == b:
        return dict(a)
    if all(b.get(k) == v for k, v in a.items()):
        return dict(b)
    if all(a.get(k) == v for k, v in b.items()):
        return dict(a)
    return None


def _apply_unary(fn: Callable[[float | None], float | None], v: Operand) -> Operand:
    if isinstance(v, float):
        r = fn(v)
        return NAN if r is None else r
    out: list[Value] = []
    for item in v:
        if isinstance(item, Number):
            out.append(Number(dict(item.labels), fn(item.value)))
        else:
            out.append(Series(dict(item.labels), list(item.times), [fn(x) for x in item.values], item.name))
    return out


def _pair(op: str, a: Value, b: Value, labels: dict[str, str]) -> Value:
    if isinstance(a, Number) and isinstance(b, Number):
        return Number(labels, _binop(op, a.value, b.value))
    if isinstance(a, Series) and isinstance(b, Number):
        return Series(labels, list(a.times), [_binop(op, x, b.value) for x in a.values])
    if isinstance(a, Number) and isinstance(b, Series):
        return Series(labels, list(b.times), [_binop(op, a.value, x) for x in b.values])
    assert isinstance(a, Series) and isinstance(b, Series)
    right = dict(zip(b.times, b.values, strict=False))
    times, vals = [], []
    for t, x in zip(a.times, a.values, strict=False):
        if t in right:
            times.append(t)
            vals.append(_binop(op, x, right[t]))
    return Series(labels, times, vals)


def _apply_binary(op: str, a: Operand, b: Operand) -> Operand:
    if isinstance(a, float) and isinstance(b, float):
        r = _binop(op, a, b)
        return NAN if r is None else r
    if isinstance(a, float):
        return [_pair(op, Number({}, a), item, dict(item.labels)) for item in b]  # type: ignore[union-attr]
    if isinstance(b, float):
        return [_pair(op, item, Number({}, b), dict(item.labels)) for item in a]
    out: list[Value] = []
    if len(a) == 1 and len(b) == 1:
        labels = _labels_match(a[0].labels, b[0].labels)
        if labels is None:
            labels = {**b[0].labels, **a[0].labels}
        return [_pair(op, a[0], b[0], labels)]
    for x in a:
        for y in b:
            labels = _labels_match(x.labels, y.labels)
            if labels is not None:
                out.append(_pair(op, x, y, labels))
    return out


def _eval(node: Any, env: dict[str, list[Value]]) -> Operand:
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "ref":
        if node[1] not in env:
            raise ExpressionError(f"math: unknown query ${node[1]}")
        return env[node[1]]
    if kind == "un":
        inner = _eval(node[2], env)
        if node[1] == "-":
            return _apply_unary(lambda x: None if x is None else -x, inner)
        return _apply_unary(lambda x: None if x is None else (1.0 if x == 0 else 0.0), inner)
    if kind == "bin":
        return _apply_binary(node[1], _eval(node[2], env), _eval(node[3], env))
    if kind == "call":
        name, args = node[1].lower(), node[2]
        if name not in _FUNCS:
            raise ExpressionError(f"math: unknown function {node[1]}")
        if len(args) != 1:
            raise ExpressionError(f"math: {name} takes one argument")
        return _apply_unary(_FUNCS[name], _eval(args[0], env))
    raise ExpressionError("math: bad expression")


def run_math(expression: str, env: dict[str, list[Value]]) -> list[Value]:
    if not expression.strip():
        raise ExpressionError("math: expression is empty")
    result = _eval(_Parser(expression).parse(), env)
    if isinstance(result, float):
        return [Number({}, result)]
    return result


# -- reduce -------------------------------------------------------------------------------------


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def reduce_values(fn: str, values: list[float | None]) -> float | None:
    fn = fn.lower()
    if fn == "count":
        return float(len(values))
    if not values:
        return 0.0 if fn == "sum" else NAN
    if any(v is None or math.isnan(v) for v in values):
        return NAN
    nums = [float(v) for v in values if v is not None]
    if fn in ("mean", "avg"):
        return math.fsum(nums) / len(nums) if all(math.isfinite(x) for x in nums) else sum(nums) / len(nums)
    if fn == "min":
        return min(nums)
    if fn == "max":
        return max(nums)
    if fn == "sum":
        return math.fsum(nums) if all(math.isfinite(x) for x in nums) else sum(nums)
    if fn == "last":
        return nums[-1]
    if fn == "median":
        s = sorted(nums)
        mid = len(s) // 2
        return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    raise ExpressionError(f"reduce: unknown reducer {fn!r}")


def run_reduce(inputs: list[Value], reducer: str, mode: str, replace_with: float | None) -> list[Value]:
    out: list[Value] = []
    for item in inputs:
        if isinstance(item, Number):
            out.append(Number(dict(item.labels), item.value))
            continue
        vals = list(item.values)
        if mode == "dropNN":
            vals = [v for v in vals if _finite(v)]
        elif mode == "replaceNN":
            vals = [v if _finite(v) else replace_with for v in vals]
        elif mode not in ("", "strict"):
            raise ExpressionError(f"reduce: unknown mode {mode!r} (strict, dropNN, replaceNN)")
        if reducer.lower() == "last" and mode in ("", "strict") and vals:
            v = vals[-1]
            out.append(Number(dict(item.labels), NAN if v is None else v))
            continue
        out.append(Number(dict(item.labels), reduce_values(reducer, vals)))
    return out


# -- resample -----------------------------------------------------------------------------------


def run_resample(inputs: list[Value], window: str, down: str, up: str, tr: TimeRange) -> list[Value]:
    try:
        step = parse_duration_ms(window)
    except ValueError:
        raise ExpressionError(f"resample: invalid window {window!r}") from None
    if step <= 0:
        raise ExpressionError("resample: window must be positive")
    if (tr.to_ms - tr.from_ms) // step > 100_000:
        raise ExpressionError("resample: window too small for the time range")
    out: list[Value] = []
    for item in inputs:
        if isinstance(item, Number):
            raise ExpressionError("resample: can only resample time series")
        points = sorted(zip(item.times, item.values, strict=False))
        times: list[int] = []
        vals: list[float | None] = []
        t = tr.from_ms
        j = 0
        last: float | None = None
        while t <= tr.to_ms:
            bucket: list[float | None] = []
            while j < len(points) and points[j][0] <= t:
                if points[j][0] > t - step:
                    bucket.append(points[j][1])
                last = points[j][1]
                j += 1
            if bucket:
                value = reduce_values(down, bucket)
            elif up == "pad":
                value = last
            elif up == "backfilling":
                value = points[j][1] if j < len(points) else None
            elif up == "fillna":
                value = NAN
            else:
                raise ExpressionError(f"resample: unknown upsampler {up!r} (pad, backfilling, fillna)")
            times.append(t)
            vals.append(value)
            t += step
        out.append(Series(dict(item.labels), times, vals, item.name))
    return out


# -- threshold and classic conditions -----------------------------------------------------------


def evaluate(kind: str, params: list[float], x: float | None) -> bool:
    if kind == "no_value":
        return x is None or math.isnan(x)
    if x is None or math.isnan(x):
        return False
    need = (
        2
        if kind in ("within_range", "outside_range", "within_range_included", "outside_range_included")
        else 1
    )
    if len(params) < need:
        raise ExpressionError(f"evaluator {kind} needs {need} parameter(s)")
    if kind == "gt":
        return x > params[0]
    if kind == "lt":
        return x < params[0]
    if kind == "gte":
        return x >= params[0]
    if kind == "lte":
        return x <= params[0]
    if kind == "eq":
        return x == params[0]
    if kind == "ne":
        return x != params[0]
    lo, hi = sorted(params[:2])
    if kind == "within_range":
        return lo < x < hi
    if kind == "within_range_included":
        return lo <= x <= hi
    if kind == "outside_range":
        return x < lo or x > hi
    if kind == "outside_range_included":
        return x <= lo or x >= hi
    raise ExpressionError(f"unknown evaluator type {kind!r}")


def _params(raw: Any) -> list[float]:
    if not isinstance(raw, list):
        return []
    out = []
    for p in raw:
        try:
            out.append(float(p))
        except (TypeError, ValueError):
            raise ExpressionError(f"evaluator parameter {p!r} is not a number") from None
    return out


def run_threshold(inputs: list[Value], conditions: list[dict[str, Any]]) -> list[Value]:
    if not conditions:
        raise ExpressionError("threshold: no condition given")
    ev = conditions[0].get("evaluator") or {}
    kind = str(ev.get("type") or "gt")
    params = _params(ev.get("params"))

    def one(x: float | None) -> float | None:
        if x is None:
            return None
        return 1.0 if evaluate(kind, params, x) else 0.0

    out: list[Value] = []
    for item in inputs:
        if isinstance(item, Number):
            out.append(Number(dict(item.labels), one(item.value)))
        else:
            out.append(Series(dict(item.labels), list(item.times), [one(v) for v in item.values], item.name))
    return out


def classic_reduce(kind: str, values: list[float | None]) -> float | None:
    nums = [v for v in values if v is not None and not math.isnan(v)]
    kind = kind.lower()
    if kind == "count":
        return float(len(values))
    if kind == "count_non_null":
        return float(len(nums)) if nums else None
    if not nums:
        return None
    if kind == "avg":
        return sum(nums) / len(nums)
    if kind == "min":
        return min(nums)
    if kind == "max":
        return max(nums)
    if kind == "sum":
        return sum(nums)
    if kind == "last":
        return nums[-1]
    if kind == "median":
        s = sorted(nums)
        mid = len(s) // 2
        return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    first, last = nums[0], nums[-1]
    if kind == "diff":
        return last - first
    if kind == "diff_abs":
        return abs(last - first)
    if kind == "percent_diff":
        return NAN if first == 0 else (last - first) / abs(first) * 100
    if kind == "percent_diff_abs":
        return NAN if first == 0 else abs((last - first) / first * 100)
    raise ExpressionError(f"classic condition: unknown reducer {kind!r}")


def run_classic(conditions: list[dict[str, Any]], env: dict[str, list[Value]]) -> Result:
    if not conditions:
        raise ExpressionError("classic condition: no conditions")
    firing: bool | None = None
    no_data_all = True
    matches: list[dict[str, Any]] = []
    for i, cond in enumerate(conditions):
        ref = ((cond.get("query") or {}).get("params") or [None])[0]
        if ref not in env:
            raise ExpressionError(f"classic condition: unknown query {ref!r}")
        reducer = str((cond.get("reducer") or {}).get("type") or "avg")
        ev = cond.get("evaluator") or {}
        kind = str(ev.get("type") or "gt")
        params = _params(ev.get("params"))
        items = env[ref]
        fired = False
        if not items:
            fired = kind == "no_value"
        else:
            no_data_all = False
            for item in items:
                value = item.value if isinstance(item, Number) else classic_reduce(reducer, item.values)
                if evaluate(kind, params, value):
                    fired = True
                    matches.append(
                        {"metric": item.labels.get("__name__", ref), "labels": item.labels, "value": value}
                    )
        op = str((cond.get("operator") or {}).get("type") or "and").lower()
        if i == 0 or firing is None:
            firing = fired
        elif op == "or":
            firing = firing or fired
        else:
            firing = firing and fired
    if no_data_all:
        return Result(
            [Number({}, None)], {"type": "numeric-multi", "typeVersion": [0, 1], "custom": {"noData": True}}
        )
    return Result(
        [Number({}, 1.0 if firing else 0.0)],
        {"type": "numeric-multi", "typeVersion": [0, 1], "custom": {"matches": matches}},
    )


# -- dependency order and execution ---------------------------------------------------------------


def _check_shape(model: dict[str, Any]) -> None:
    """Refuse a model whose parts have the wrong JSON types: that query fails with a 400 message
    instead of the request failing with a TypeError (found by tests/test_fuzz_bodies.py)."""
    settings = model.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise ExpressionError("expression settings must be an object")
    conditions = model.get("conditions")
    if conditions is None:
        return
    if not isinstance(conditions, list) or not all(isinstance(c, dict) for c in conditions):
        raise ExpressionError("expression conditions must be a list of objects")
    for cond in conditions:
        for key in ("query", "evaluator", "reducer", "operator"):
            part = cond.get(key)
            if part is not None and not isinstance(part, dict):
                raise ExpressionError(f"condition {key} must be an object")
        params = (cond.get("query") or {}).get("params")
        if params is not None and not isinstance(params, list):
            raise ExpressionError("condition query params must be a list")


def dependencies(model: dict[str, Any]) -> set[str]:
    _check_shape(model)
    kind = str(model.get("type") or "")
    if kind == "math":
        return math_refs(str(model.get("expression") or ""))
    if kind == "classic_conditions":
        refs = set()
        for cond in model.get("conditions") or []:
            params = (cond.get("query") or {}).get("params") or []
            if params:
                refs.add(str(params[0]))
        return refs
    expr = str(model.get("expression") or "").strip()
    if expr.startswith("${") and expr.endswith("}"):
        expr = expr[2:-1]
    elif expr.startswith("$"):
        expr = expr[1:]
    return {expr} if expr else set()


def run_one(model: dict[str, Any], env: dict[str, list[Value]], tr: TimeRange) -> Result:
    kind = str(model.get("type") or "")
    if kind == "math":
        return Result(run_math(str(model.get("expression") or ""), env))
    if kind == "classic_conditions":
        return run_classic(list(model.get("conditions") or []), env)
    deps = dependencies(model)
    if not deps:
        raise ExpressionError(f"{kind or 'expression'}: no input query given in 'expression'")
    inputs = env[next(iter(deps))]
    if kind == "reduce":
        settings = model.get("settings") or {}
        replace = settings.get("replaceWithValue")
        return Result(
            run_reduce(
                inputs,
                str(model.get("reducer") or "mean"),
                str(settings.get("mode") or ""),
                float(replace) if isinstance(replace, (int, float)) else None,
            )
        )
    if kind == "resample":
        return Result(
            run_resample(
                inputs,
                str(model.get("window") or ""),
                str(model.get("downsampler") or "mean"),
                str(model.get("upsampler") or "fillna"),
                tr,
            )
        )
    if kind == "threshold":
        return Result(run_threshold(inputs, list(model.get("conditions") or [])))
    raise ExpressionError(
        f"unknown expression type {kind!r} (math, reduce, resample, threshold, classic_conditions)"
    )


def run_expressions(items: list[QueryItem], results: dict[str, DataResponse]) -> dict[str, DataResponse]:
    """Evaluate expression queries in dependency order over the data-source results."""
    pending = {it.ref_id: it for it in items}
    env: dict[str, list[Value]] = {}
    errors: dict[str, str] = {}
    for ref, resp in results.items():
        if resp.error is not None:
            errors[ref] = resp.error
            continue
        try:
            env[ref] = frames_to_values(resp.frames)
        except ExpressionError as exc:
            errors[ref] = str(exc)
    out: dict[str, DataResponse] = {}
    progress = True
    while pending and progress:
        progress = False
        for ref, it in list(pending.items()):
            try:
                deps = dependencies(it.model)
            except ExpressionError as exc:
                out[ref] = DataResponse.failure(str(exc), 400, "plugin")
                errors[ref] = str(exc)
                del pending[ref]
                progress = True
                continue
            if any(d in pending and d != ref for d in deps):
                continue
            del pending[ref]
            progress = True
            missing = [d for d in deps if d not in env and d not in errors]
            failed = [d for d in deps if d in errors]
            if ref in deps:
                msg = f"expression {ref} refers to itself"
            elif missing:
                msg = f"expression {ref} refers to unknown query {missing[0]}"
            elif failed:
                msg = f"expression {ref} depends on {failed[0]}, which failed: {errors[failed[0]]}"
            else:
                try:
                    res = run_one(it.model, env, it.time_range)
                except ExpressionError as exc:
                    msg = str(exc)
                else:
                    env[ref] = res.values
                    out[ref] = DataResponse(frames=values_to_frames(ref, res.values, res.meta))
                    continue
            errors[ref] = msg
            out[ref] = DataResponse.failure(msg, 400, "plugin")
    for ref in pending:
        out[ref] = DataResponse.failure(f"expression {ref} is part of a dependency cycle", 400, "plugin")
    return out
