"""A small Go-template engine for rule annotations and labels (``{{ $labels.x }}``, ``{{ $values.B }}``,
``{{ $value }}``, ``{{ humanize $values.A.Value }}``, ``{{ if gt $values.B.Value 80.0 }}…{{ end }}``).

Covers the part of Go's text/template that alert templates use: variables with field access,
``.`` fields, string/number/bool literals, function calls, pipelines with ``|``, parentheses,
``if``/``else if``/``else``/``end``, ``range $k, $v := …``, ``with``, comments and ``{{-``/``-}}``
trimming, and named templates: ``define``, ``template "name" pipeline`` and ``block`` (notification
templates). ``parse`` raises ``TemplateError`` (a 400 at save time); ``render`` never raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NO_VALUE = "<no value>"


class TemplateError(Exception):
    pass


@dataclass(frozen=True)
class CaptureValue:
    """One refId's number for a series: prints as the number, exposes ``.Value`` and ``.Labels``."""

    value: float | None
    labels: Mapping[str, str] = field(default_factory=dict)

    def field(self, name: str) -> Any:
        if name == "Value":
            return self.value
        if name == "Labels":
            return dict(self.labels)
        raise TemplateError(f"can't evaluate field {name} in type CaptureValue")

    def __str__(self) -> str:
        return go_str(self.value)


@dataclass(frozen=True)
class Method:
    """A method that takes arguments, as a field of a value (``.StartsAt.Format``)."""

    name: str
    arity: int
    fn: Callable[..., Any]

    def call(self, args: list[Any]) -> Any:
        if len(args) != self.arity:
            raise TemplateError(f"wrong number of args for {self.name}: want {self.arity} got {len(args)}")
        try:
            return self.fn(*args)
        except TemplateError:
            raise
        except Exception as exc:
            raise TemplateError(f"error calling {self.name}: {exc}") from None


# Go's reference time layout elements -> how to print them (longest first where they overlap)
_LAYOUT = re.compile(
    r"January|Monday|Z07:00|-07:00|Z0700|-0700|2006|\.0+|\.9+|Jan|Mon|MST|_2|01|02|03|04|05|06|15|PM|pm|-07|1|2|3|4|5"
)


def _go_layout(t: datetime, layout: str) -> str:
    def one(m: re.Match[str]) -> str:
        tok = m.group(0)
        offset = t.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        hh, mm = divmod(abs(minutes), 60)
        if tok.startswith(".0"):
            return "." + f"{t.microsecond:06d}000"[: len(tok) - 1]
        if tok.startswith(".9"):
            digits = f"{t.microsecond:06d}000"[: len(tok) - 1].rstrip("0")
            return "." + digits if digits else ""
        if tok in ("Z07:00", "Z0700") and minutes == 0:
            return "Z"
        hour12 = t.hour % 12 or 12
        return {
            "January": t.strftime("%B"),
            "Monday": t.strftime("%A"),
            "Jan": t.strftime("%b"),
            "Mon": t.strftime("%a"),
            "2006": f"{t.year:04d}",
            "06": f"{t.year % 100:02d}",
            "01": f"{t.month:02d}",
            "1": str(t.month),
            "02": f"{t.day:02d}",
            "2": str(t.day),
            "_2": f"{t.day:2d}",
            "15": f"{t.hour:02d}",
            "03": f"{hour12:02d}",
            "3": str(hour12),
            "04": f"{t.minute:02d}",
            "4": str(t.minute),
            "05": f"{t.second:02d}",
            "5": str(t.second),
            "PM": "PM" if t.hour >= 12 else "AM",
            "pm": "pm" if t.hour >= 12 else "am",
            "MST": t.tzname() or "UTC",
            "-0700": f"{sign}{hh:02d}{mm:02d}",
            "Z0700": f"{sign}{hh:02d}{mm:02d}",
            "-07:00": f"{sign}{hh:02d}:{mm:02d}",
            "Z07:00": f"{sign}{hh:02d}:{mm:02d}",
            "-07": f"{sign}{hh:02d}",
        }[tok]

    return _LAYOUT.sub(one, layout)


@dataclass(frozen=True)
class GoTime:
    """A time as Go templates see one: prints as Go's ``time.Time`` does; ``.Format "layout"``
    (Go's reference-time layouts), ``.Unix``, ``.UnixMilli``, ``.UTC``."""

    t: datetime

    @classmethod
    def parse(cls, text: str) -> GoTime:
        return cls(datetime.fromisoformat(text.replace("Z", "+00:00")))

    def field(self, name: str) -> Any:
        if name == "Format":
            return Method("Format", 1, lambda layout: _go_layout(self.t, str(layout)))
        if name == "Unix":
            return int(self.t.timestamp()) if self.t.year > 1 else -62135596800
        if name == "UnixMilli":
            return int(self.t.timestamp() * 1000) if self.t.year > 1 else -62135596800000
        if name == "UTC":
            return GoTime(self.t.astimezone(UTC))
        if name == "IsZero":
            return self.t.year == 1 and self.t.month == 1 and self.t.day == 1 and self.t.hour == 0
        raise TemplateError(f"can't evaluate field {name} in type time.Time")

    def __str__(self) -> str:
        return _go_layout(self.t, "2006-01-02 15:04:05.999999999 -0700 MST")


def _tz(name: str, t: Any) -> GoTime:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(t, GoTime):
        raise TemplateError("tz needs a time")
    try:
        return GoTime(t.t.astimezone(ZoneInfo(str(name))))
    except (ZoneInfoNotFoundError, ValueError):
        raise TemplateError(f"unknown time zone {name}") from None


def _date(layout: str, t: Any) -> str:
    if not isinstance(t, GoTime):
        raise TemplateError("date needs a time")
    return _go_layout(t.t, str(layout))


def go_str(v: Any) -> str:
    """Print a value the way Go's ``%v`` would."""
    if v is None:
        return NO_VALUE
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "+Inf" if v > 0 else "-Inf"
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        r = repr(v)
        if "e" in r:
            mant, exp = r.split("e")
            sign = exp[0] if exp[0] in "+-" else "+"
            digits = exp.lstrip("+-").rjust(2, "0")
            return f"{mant}e{sign}{digits}"
        return r
    if isinstance(v, Mapping):
        return "map[" + " ".join(f"{k}:{go_str(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    return str(v)


# -- lexing -------------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
    | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>:=|[|(),=])
    )""",
    re.X,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"unexpected {text[pos:].strip()[:20]!r} in action")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_SIMPLE_ESCAPES |= {"\\": "\\", '"': '"', "'": "'"}
_ESCAPE = re.compile(
    r"\\(?:([abfnrtv\\\"'])|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|([0-7]{3})|(.?))", re.S
)


def unquote(quoted: str) -> str:
    """A Go double-quoted string literal's value; a bad escape is a TemplateError."""

    def one(m: re.Match[str]) -> str:
        simple, hex2, u4, u8, octal, bad = m.groups()
        if simple is not None:
            return _SIMPLE_ESCAPES[simple]
        if bad is not None:
            raise TemplateError(f"invalid escape \\{bad} in string {quoted}")
        code = int(hex2 or u4 or u8, 16) if octal is None else int(octal, 8)
        if hex2 is not None or octal is not None:
            if code > 255:
                raise TemplateError(f"octal escape out of range in string {quoted}")
            return chr(code)  # Go: a byte; as text, the Latin-1 character
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise TemplateError(f"invalid Unicode escape in string {quoted}")
        return chr(code)

    return _ESCAPE.sub(one, quoted[1:-1])


# -- parse tree ---------------------------------------------------------------------------------


@dataclass
class Pipe:
    decl: list[str]
    cmds: list[list[tuple[str, Any]]]


@dataclass
class Node:
    kind: str  # text, out, if, range, with, template (text: the name), define (only while parsing)
    text: str = ""
    pipe: Pipe | None = None
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)


def _parse_pipe(tokens: list[tuple[str, str]], funcs: Mapping[str, Callable[..., Any]]) -> Pipe:
    decl: list[str] = []
    # Variable declarations: $x := … or $k, $v := …
    if any(t == (("punct", ":=")) for t in tokens):
        idx = tokens.index(("punct", ":="))
        for kind, val in tokens[:idx]:
            if kind == "var":
                decl.append(val)
            elif (kind, val) != ("punct", ","):
                raise TemplateError("bad variable declaration")
        tokens = tokens[idx + 1 :]
    pos = 0

    def parse_cmds(stop: str | None) -> list[list[tuple[str, Any]]]:
        nonlocal pos
        cmds: list[list[tuple[str, Any]]] = [[]]
        while pos < len(tokens):
            kind, val = tokens[pos]
            if kind == "punct" and val == ")":
                if stop == ")":
                    return cmds
                raise TemplateError("unexpected )")
            pos += 1
            if kind == "punct" and val == "|":
                if not cmds[-1]:
                    raise TemplateError("missing command before |")
                cmds.append([])
            elif kind == "punct" and val == "(":
                inner = parse_cmds(")")
                if pos >= len(tokens):
                    raise TemplateError("unclosed (")
                pos += 1
                cmds[-1].append(("pipe", Pipe([], inner)))
            elif kind == "ident":
                if val in ("true", "false"):
                    cmds[-1].append(("lit", val == "true"))
                elif val == "nil":
                    cmds[-1].append(("lit", None))
                elif val in funcs:
                    cmds[-1].append(("func", val))
                else:
                    raise TemplateError(f'function "{val}" not defined')
            elif kind == "str":
                cmds[-1].append(("lit", unquote(val)))
            elif kind == "raw":
                cmds[-1].append(("lit", val[1:-1]))
            elif kind == "num":
                num = float(val)
                cmds[-1].append(("lit", int(num) if re.fullmatch(r"[-+]?\d+", val) else num))
            elif kind in ("var", "field"):
                cmds[-1].append((kind, val))
            else:
                raise TemplateError(f"unexpected {val!r}")
        if stop == ")":
            raise TemplateError("unclosed (")
        return cmds

    cmds = parse_cmds(None)
    if not cmds[-1]:
        raise TemplateError("missing value for command")
    return Pipe(decl, cmds)


Named = Mapping[str, "list[Node] | Callable[[Any], str]"]


def _template_call(rest: str, funcs: Mapping[str, Callable[..., Any]], word: str) -> Node:
    """``"name"`` or ``"name" pipeline`` after ``template`` / ``block``."""
    m = re.match(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(.*)$', rest, re.S)
    if m is None:
        raise TemplateError(f"{word}: a quoted template name is needed")
    name = unquote(m.group(1)) if m.group(1)[0] == '"' else m.group(1)[1:-1]
    pipe = _parse_pipe(_tokens(m.group(2)), funcs) if m.group(2).strip() else None
    return Node("template", text=name, pipe=pipe)


def parse(
    text: str,
    funcs: Mapping[str, Callable[..., Any]] | None = None,
    defines: dict[str, list[Node]] | None = None,
) -> list[Node]:
    """The nodes of ``text``; the bodies of its ``define`` and ``block`` actions go to ``defines``
    (a ``define`` redefines an earlier one of the same name, as in Go)."""
    funcs = funcs if funcs is not None else FUNCS
    defines = defines if defines is not None else {}
    root: list[Node] = []
    # Frames: (node owning the list, the list being filled, closed by its owner's {{end}}).
    stack: list[tuple[Node | None, list[Node], bool]] = [(None, root, False)]
    pos = 0
    pending_trim = False
    for m in _ACTION.finditer(text):
        chunk = text[pos : m.start()]
        if pending_trim:
            chunk = chunk.lstrip()
        if m.group(1):
            chunk = chunk.rstrip()
        if chunk:
            stack[-1][1].append(Node("text", chunk))
        pending_trim = bool(m.group(3))
        pos = m.end()
        body = m.group(2).strip()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        word = body.split(None, 1)[0] if body else ""
        rest = body[len(word) :].strip()
        if word in ("if", "range", "with"):
            node = Node(word, pipe=_parse_pipe(_tokens(rest), funcs))
            stack[-1][1].append(node)
            stack.append((node, node.body, False))
        elif word == "define" or word == "block":
            if word == "define" and len(stack) != 1:
                raise TemplateError("define is only allowed at the top level")
            call = _template_call(rest, funcs, word)
            if word == "define" and call.pipe is not None:
                raise TemplateError("define takes only a name")
            node = Node("define", text=call.text)
            if word == "block":  # defines the template and runs it here
                stack[-1][1].append(call)
            stack.append((node, node.body, False))
        elif word == "template":
            stack[-1][1].append(_template_call(rest, funcs, word))
        elif word == "else":
            owner, lst, chained = stack.pop()
            if owner is None or lst is owner.orelse or owner.kind == "define":
                raise TemplateError("unexpected {{else}}")
            stack.append((owner, owner.orelse, chained))
            if rest.startswith("if "):
                nested = Node("if", pipe=_parse_pipe(_tokens(rest[3:]), funcs))
                owner.orelse.append(nested)
                stack.append((nested, nested.body, True))
            elif rest:
                raise TemplateError(f"unexpected {rest!r} after else")
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("unexpected {{end}}")
            closed = stack.pop()
            while closed[2]:
                closed = stack.pop()
            if closed[0] is not None and closed[0].kind == "define":
                defines[closed[0].text] = closed[0].body
        elif not body:
            raise TemplateError("missing value for command")
        else:
            stack[-1][1].append(Node("out", pipe=_parse_pipe(_tokens(body), funcs)))
    if len(stack) != 1:
        raise TemplateError("unexpected EOF: missing {{end}}")
    tail = text[pos:]
    if pending_trim:
        tail = tail.lstrip()
    if tail:
        root.append(Node("text", tail))
    return root


# -- evaluation ---------------------------------------------------------------------------------


def _truth(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, CaptureValue):
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return bool(v)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    # values with Go methods or fields of their own (CaptureValue, notification data)
    own = getattr(obj, "field", None)
    if callable(own):
        return own(name)
    if isinstance(obj, Mapping):
        return obj.get(name)
    raise TemplateError(f"can't evaluate field {name} in type {type(obj).__name__}")


class _Budget:
    """What one render may do: a template can call others and range over data, so without a bound a
    few lines could keep the event loop busy for hours or fill the memory."""

    def __init__(self, steps: int, output: int) -> None:
        self.steps = steps
        self.output = output

    def step(self, n: int = 1) -> None:
        self.steps -= n
        if self.steps < 0:
            raise TemplateError("template too expensive: it ran too many actions")

    def emit(self, out: list[str], text: str) -> None:
        self.output -= len(text)
        if self.output < 0:
            raise TemplateError("template too expensive: its output is too long")
        out.append(text)


MAX_STEPS = 50_000
MAX_OUTPUT = 1_000_000


class _Scope:
    def __init__(
        self, variables: dict[str, Any], dot: Any, named: Named, budget: _Budget, depth: int = 0
    ) -> None:
        self.vars = variables
        self.dot = dot
        self.named = named
        self.budget = budget
        self.depth = depth

    def inner(self, dot: Any, variables: dict[str, Any] | None = None) -> _Scope:
        return _Scope(self.vars if variables is None else variables, dot, self.named, self.budget, self.depth)


_MAX_TEMPLATE_DEPTH = 50


def _operand(kind: str, val: Any, scope: _Scope) -> Any:
    if kind == "lit":
        return val
    if kind == "pipe":
        return _run_pipe(val, scope)
    if kind == "var":
        name, *path = val.split(".")
        if name not in scope.vars:
            raise TemplateError(f"undefined variable: {name}")
        obj = scope.vars[name]
        for p in path:
            obj = _get(obj, p)
        return obj
    if kind == "field":
        obj = scope.dot
        for p in [x for x in val.split(".") if x]:
            obj = _get(obj, p)
        return obj
    raise TemplateError(f"bad operand {val!r}")


def _run_pipe(pipe: Pipe, scope: _Scope) -> Any:
    result: Any = None
    for i, cmd in enumerate(pipe.cmds):
        head_kind, head = cmd[0]
        if head_kind == "func":
            args = [_operand(k, v, scope) for k, v in cmd[1:]]
            if i > 0:
                args.append(result)
            try:
                result = FUNCS[head](*args)
            except TemplateError:
                raise
            except Exception as exc:
                raise TemplateError(f"error calling {head}: {exc}") from None
        else:
            value = _operand(head_kind, head, scope)
            if isinstance(value, Method):  # a method with arguments: .StartsAt.Format "15:04"
                args = [_operand(k, v, scope) for k, v in cmd[1:]]
                if i > 0:
                    args.append(result)
                result = value.call(args)
            elif len(cmd) > 1 or i > 0:
                raise TemplateError("can't give argument to non-function")
            else:
                result = value
    if isinstance(result, Method):
        result.call([])  # raises: a method that needs arguments was given none
    return result


def _exec(nodes: list[Node], scope: _Scope, out: list[str]) -> None:
    budget = scope.budget
    for n in nodes:
        budget.step()
        if n.kind == "text":
            budget.emit(out, n.text)
            continue
        if n.kind == "template":
            _call_template(n, scope, out)
            continue
        assert n.pipe is not None
        value = _run_pipe(n.pipe, scope)
        if n.kind == "out":
            if n.pipe.decl:
                scope.vars[n.pipe.decl[0]] = value
            else:
                budget.emit(out, go_str(value))
        elif n.kind == "if":
            _exec(n.body if _truth(value) else n.orelse, scope, out)
        elif n.kind == "with":
            if _truth(value):
                _exec(n.body, scope.inner(value), out)
            else:
                _exec(n.orelse, scope, out)
        elif n.kind == "range":
            items: list[tuple[Any, Any]]
            if isinstance(value, Mapping):
                items = [(k, value[k]) for k in sorted(value)]
            elif isinstance(value, (list, tuple)):
                items = list(enumerate(value))
            elif value is None:
                items = []
            else:
                raise TemplateError(f"range can't iterate over {go_str(value)}")
            if not items:
                _exec(n.orelse, scope, out)
            for k, v in items:
                budget.step()
                inner = scope.inner(v, dict(scope.vars))
                if len(n.pipe.decl) == 1:
                    inner.vars[n.pipe.decl[0]] = v
                elif len(n.pipe.decl) == 2:
                    inner.vars[n.pipe.decl[0]] = k
                    inner.vars[n.pipe.decl[1]] = v
                _exec(n.body, inner, out)


def _call_template(n: Node, scope: _Scope, out: list[str]) -> None:
    """``{{ template "name" pipeline }}``: the named template runs with the pipeline's value as its
    dot and no variables but ``$`` (as in Go); a built-in one is a function of that value."""
    found = scope.named.get(n.text)
    if found is None:
        raise TemplateError(f'no such template "{n.text}"')
    dot = _run_pipe(n.pipe, scope) if n.pipe is not None else None
    if callable(found):
        scope.budget.emit(out, found(dot))
        return
    if scope.depth >= _MAX_TEMPLATE_DEPTH:
        raise TemplateError(f'template "{n.text}": templates nested too deeply')
    _exec(found, _Scope({"$": dot}, dot, scope.named, scope.budget, scope.depth + 1), out)


def render(
    text: str, variables: Mapping[str, Any], dot: Any = None, name: str = "", named: Named | None = None
) -> str:
    """Expand ``text``; a template error yields Grafana's ``[error executing template …]`` text.
    ``named``: the templates ``{{ template "…" }}`` can call (``text``'s own ``define``s added)."""
    if "{{" not in text:
        return text
    try:
        defines: dict[str, list[Node]] = {}
        nodes = parse(text, defines=defines)
        out: list[str] = []
        budget = _Budget(MAX_STEPS, MAX_OUTPUT)
        _exec(nodes, _Scope(dict(variables), dot, {**(named or {}), **defines}, budget), out)
        return "".join(out)
    except TemplateError as exc:
        return f"[error executing template {name}: {exc}]"
    except RecursionError:
        return f"[error executing template {name}: too deeply nested]"


def check(text: str) -> None:
    """Raise TemplateError when ``text`` does not parse."""
    if "{{" in text:
        parse(text)


def definitions(text: str) -> dict[str, list[Node]]:
    """The templates a notification template text defines (raises TemplateError). Text outside
    ``define`` blocks is allowed and ignored, as Grafana does with a template group's body."""
    defines: dict[str, list[Node]] = {}
    parse(text, defines=defines)
    return defines


# -- functions ----------------------------------------------------------------------------------


def _num(v: Any) -> float:
    if isinstance(v, CaptureValue):
        return float(v.value) if v.value is not None else math.nan
    if isinstance(v, str):
        return float(v)
    if v is None:
        raise TemplateError("invalid number: nil")
    return float(v)


def humanize(v: Any) -> str:
    x = _num(v)
    if x == 0 or math.isnan(x) or math.isinf(x):
        return _g4(x)
    if abs(x) >= 1:
        prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]
        i = 0
        while abs(x) >= 1000 and i < len(prefixes) - 1:
            x /= 1000
            i += 1
        return _g4(x) + prefixes[i]
    prefixes = ["", "m", "u", "n", "p", "f", "a", "z", "y"]
    i = 0
    while abs(x) < 1 and i < len(prefixes) - 1:
        x *= 1000
        i += 1
    return _g4(x) + prefixes[i]


def humanize1024(v: Any) -> str:
    x = _num(v)
    if abs(x) <= 1 or math.isnan(x) or math.isinf(x):
        return _g4(x)
    prefixes = ["", "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"]
    i = 0
    while abs(x) >= 1024 and i < len(prefixes) - 1:
        x /= 1024
        i += 1
    return _g4(x) + prefixes[i]


def _g4(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return f"{x:.4g}"


def humanize_percentage(v: Any) -> str:
    return _g4(_num(v) * 100) + "%"


def humanize_duration(v: Any) -> str:
    x = _num(v)
    if math.isnan(x) or math.isinf(x):
        return _g4(x)
    if x == 0:
        return "0s"
    if abs(x) < 1:
        return _g4(x * 1000) + "ms"
    sign = "-" if x < 0 else ""
    secs = abs(x)
    d, rem = divmod(int(secs), 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    frac = secs - int(secs)
    parts = []
    if d:
        parts.append(f"{d}d")
    if h:
        parts.append(f"{h}h")
    if m:
        parts.append(f"{m}m")
    parts.append(f"{s + frac:.4g}s" if frac else f"{s}s")
    return sign + " ".join(parts)


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdfgeqxXt%])")


MAX_PRINTF_WIDTH = 1000


def printf(fmt: str, *args: Any) -> str:
    it = iter(args)

    def sub(m: re.Match[str]) -> str:
        flags, width, prec, verb = m.groups()
        if verb == "%":
            return "%"
        if int(width or 0) > MAX_PRINTF_WIDTH or int(prec or 0) > MAX_PRINTF_WIDTH:
            raise TemplateError(f"printf: width or precision above {MAX_PRINTF_WIDTH}")
        try:
            a = next(it)
        except StopIteration:
            return f"%!{verb}(MISSING)"
        if isinstance(a, CaptureValue):
            a = a.value
        spec = flags + (width or "") + (f".{prec}" if prec is not None else "")
        if verb in "vs":
            return format(go_str(a), (flags.replace("-", "<") if "-" in flags else ">") + (width or ""))
        if verb == "q":
            return '"' + go_str(a).replace('"', '\\"') + '"'
        if verb == "t":
            return go_str(bool(a))
        if verb == "d":
            return format(int(_num(a)), spec.replace("-", "<"))
        if verb in "xX":
            return format(int(_num(a)), spec.replace("-", "<") + verb)
        return format(_num(a), spec.replace("-", "<") + verb)

    return _VERB.sub(sub, fmt)


def _cmp(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, CaptureValue):
        a = a.value
    if isinstance(b, CaptureValue):
        b = b.value
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a), float(b)
    if type(a) is not type(b):
        raise TemplateError(f"incompatible types for comparison: {go_str(a)} and {go_str(b)}")
    return a, b


def _eq(a: Any, *others: Any) -> bool:
    return any(x == y for x, y in (_cmp(a, o) for o in others))


def _and(*args: Any) -> Any:
    for a in args:
        if not _truth(a):
            return a
    return args[-1]


def _or(*args: Any) -> Any:
    for a in args:
        if _truth(a):
            return a
    return args[-1]


def _index(obj: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(obj, Mapping):
            obj = obj.get(k)
        elif isinstance(obj, (list, tuple)):
            obj = obj[int(k)]
        else:
            raise TemplateError(f"can't index item of type {type(obj).__name__}")
    return obj


FUNCS: dict[str, Callable[..., Any]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
    "printf": printf,
    "toUpper": lambda s: go_str(s).upper(),
    "toLower": lambda s: go_str(s).lower(),
    "title": lambda s: go_str(s).title(),
    "reReplaceAll": lambda pat, repl, s: re.sub(pat, re.sub(r"\$(\d+)", r"\\\1", repl), str(s)),
    "match": lambda pat, s: re.search(pat, str(s)) is not None,
    "index": _index,
    "len": lambda x: len(x),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": lambda a, b: _cmp(a, b)[0] < _cmp(a, b)[1],
    "le": lambda a, b: _cmp(a, b)[0] <= _cmp(a, b)[1],
    "gt": lambda a, b: _cmp(a, b)[0] > _cmp(a, b)[1],
    "ge": lambda a, b: _cmp(a, b)[0] >= _cmp(a, b)[1],
    "and": _and,
    "or": _or,
    "not": lambda a: not _truth(a),
    "print": lambda *a: "".join(go_str(x) for x in a),
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "join": lambda sep, items: sep.join(go_str(x) for x in items),
    "toTime": lambda v: v,
    "trimSpace": lambda s: go_str(s).strip(),
    "tz": _tz,
    "date": _date,
}
