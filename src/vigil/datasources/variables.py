"""Template variables interpolated on the server, escaped per query language.

Forms: ``$var``, ``${var}``, ``[[var]]``, ``${var:format}`` / ``[[var:format]]`` with the formats
csv, pipe, regex, glob, json, sqlstring, queryparam, raw (plus text, singlequote, doublequote,
percentencode); multi-value variables and All (``$__all``, with or without ``allValue``).

Safety rule (the point of doing this on the server): a variable's value can never become query
syntax. The text around each occurrence is scanned, so we know whether it sits inside a string
literal, a comment or bare code:

- inside a literal, the value is escaped for that literal (PromQL ``"…"``/``'…'``, SQL ``'…'``,
  MySQL backslashes, quoted identifiers);
- bare in PromQL, only an identifier, a number or a duration may be inserted, anything else is
  an error for that query;
- bare in SQL, an identifier or a number is inserted as is, anything else becomes a quoted
  string literal (multi-value: ``'a','b'``);
- in a comment, characters that could end the comment are replaced.

Built-in variables (``$__interval``, ``$__rate_interval``, ``$__range``…) are computed by the
server and inserted verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

ALL = "$__all"
_VAR = re.compile(
    r"\$\{(?P<b>\w+)(?::(?P<bf>\w+))?\}|\[\[(?P<k>\w+)(?::(?P<kf>\w+))?\]\]|\$(?P<p>[A-Za-z_]\w*)"
)
_PROM_IDENT = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
_SQL_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
_COMMENT_SAFE = re.compile(r"[^A-Za-z0-9_ .,:=@+\-]")
_REGEX_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


class InterpolationError(ValueError):
    """A variable value that would become syntax: reported as that query's error."""


@dataclass
class Variable:
    name: str
    values: list[str]
    texts: list[str] = field(default_factory=list)
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    options: list[str] = field(default_factory=list)
    builtin: bool = False

    @property
    def is_all(self) -> bool:
        return self.values == [ALL]

    def selected(self) -> list[str]:
        """The concrete values (All expands to every option, or stays the custom allValue)."""
        if self.is_all:
            if self.all_value is not None:
                return [self.all_value]
            return [o for o in self.options if o != ALL]
        return list(self.values)


def _strs(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return ["" if v is None else str(v) for v in value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def variable_from_json(name: str, raw: Any) -> Variable:
    """Accept Grafana's scopedVars entry ``{"text","value"}``, a dashboard variable (``current``,
    ``options``, ``multi``, ``includeAll``, ``allValue``), a bare string or a list."""
    if not isinstance(raw, Mapping):
        values = _strs(raw)
        return Variable(name, values, values, multi=len(values) > 1)
    current = raw.get("current") if isinstance(raw.get("current"), Mapping) else None
    src = current if current is not None and "value" not in raw else raw
    values = _strs(src.get("value"))
    texts = _strs(src.get("text")) or values
    if values == [] and texts:
        values = texts
    options: list[str] = []
    for opt in raw.get("options") or []:
        if isinstance(opt, Mapping):
            options.extend(_strs(opt.get("value")))
        else:
            options.extend(_strs(opt))
    all_value = raw.get("allValue")
    if all_value == "":
        all_value = None
    return Variable(
        name,
        values,
        texts,
        multi=bool(raw.get("multi")) or len(values) > 1,
        include_all=bool(raw.get("includeAll")) or values == [ALL],
        all_value=str(all_value) if all_value is not None else None,
        options=options,
    )


class Scope:
    """Variables visible to one query: the request's, then the built-ins of that query."""

    def __init__(self, variables: dict[str, Variable] | None = None) -> None:
        self.vars: dict[str, Variable] = dict(variables or {})

    @classmethod
    def from_json(cls, *sources: Any) -> Scope:
        out: dict[str, Variable] = {}
        for src in sources:
            if isinstance(src, Mapping):
                for name, raw in src.items():
                    out[str(name)] = variable_from_json(str(name), raw)
            elif isinstance(src, list):  # a dashboard's templating.list
                for item in src:
                    if isinstance(item, Mapping) and item.get("name"):
                        out[str(item["name"])] = variable_from_json(str(item["name"]), item)
        return cls(out)

    def with_builtins(self, values: Mapping[str, str]) -> Scope:
        out = dict(self.vars)
        for k, v in values.items():
            out[k] = Variable(k, [v], [v], builtin=True)
        return Scope(out)

    def get(self, name: str) -> Variable | None:
        return self.vars.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.vars


# -- formats ------------------------------------------------------------------------------------


def regex_escape(value: str) -> str:
    return _REGEX_SPECIAL.sub(r"\\\1", value)


def _sql_quote(value: str, dialect: str) -> str:
    value = value.replace("\x00", "")
    if dialect == "mysql":
        value = value.replace("\\", "\\\\")
    return "'" + value.replace("'", "''") + "'"


def format_value(var: Variable, fmt: str | None, context: str) -> tuple[str, bool]:
    """The variable's text in ``fmt`` and whether it is already safe SQL (built with quoting)."""
    values = var.selected()
    if var.builtin:
        return (values[0] if values else ""), True
    fmt = (fmt or "").lower()
    custom_all = var.is_all and var.all_value is not None
    if fmt == "raw":
        return ",".join(values), False
    if fmt == "csv":
        return ",".join(values), False
    if fmt == "pipe":
        return "|".join(values), False
    if fmt == "regex":
        if custom_all:
            return values[0], False
        escaped = [regex_escape(v) for v in values]
        return (escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"), False
    if fmt == "glob":
        return (values[0] if len(values) == 1 else "{" + ",".join(values) + "}"), False
    if fmt == "json":
        return json.dumps(values if (var.multi or var.include_all) else (values[0] if values else "")), False
    if fmt == "sqlstring":
        dialect = context[4:] if context.startswith("sql-") else "postgresql"
        return ",".join(_sql_quote(v, dialect) for v in values), context.startswith("sql-")
    if fmt == "queryparam":
        return urlencode([(f"var-{var.name}", v) for v in values]), False
    if fmt == "text":
        texts = var.texts if not var.is_all else ["All"]
        return " + ".join(texts), False
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values), False
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values), False
    if fmt == "percentencode":
        return quote(",".join(values), safe=""), False
    # Default formatting per language.
    if context == "promql":
        if not (var.multi or var.include_all):
            return (values[0] if values else ""), False
        if custom_all:
            return values[0], False
        if var.is_all and not values:  # All without the option list: match everything
            return ".*", False
        escaped = [regex_escape(v) for v in values]
        return (escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"), False
    if context.startswith("sql-"):
        if (var.multi or var.include_all) and not custom_all:
            return ",".join(_sql_quote(v, context[4:]) for v in values), True
        return ",".join(values), False
    return ",".join(values), False


# -- context-aware insertion --------------------------------------------------------------------


def _in_literal(value: str, quote_char: str, context: str) -> str:
    if context == "promql":
        if quote_char == '"':
            return json.dumps(value, ensure_ascii=False)[1:-1]
        if quote_char == "'":
            inner = json.dumps(value, ensure_ascii=False)[1:-1].replace('\\"', '"')
            return inner.replace("'", "\\'")
        if "`" in value:
            raise InterpolationError("a variable value with a backtick cannot go inside a raw string")
        return value
    if context.startswith("sql-"):
        dialect = context[4:]
        value = value.replace("\x00", "")
        if quote_char in ("'", "E'"):
            if dialect == "mysql" or quote_char == "E'":
                value = value.replace("\\", "\\\\")
            return value.replace("'", "''")
        if quote_char == '"':
            if dialect == "mysql":
                value = value.replace("\\", "\\\\")
            return value.replace('"', '""')
        if quote_char == "`":
            return value.replace("`", "``")
    return value


def _bare(name: str, value: str, prequoted: bool, context: str) -> str:
    if context == "promql":
        if value == "" or _PROM_IDENT.match(value) or _NUMBER.match(value) or _DURATION.match(value):
            return value
        raise InterpolationError(
            f"template variable ${name} has value {value!r}, which cannot be used outside a quoted string"
        )
    if context.startswith("sql-"):
        if prequoted or _SQL_IDENT.match(value) or _NUMBER.match(value):
            return value
        return _sql_quote(value, context[4:])
    return value


def _replacement(m: re.Match[str], scope: Scope, context: str, state: str | None) -> str | None:
    name = m.group("b") or m.group("k") or m.group("p")
    fmt = m.group("bf") or m.group("kf")
    var = scope.get(name)
    if var is None:
        return None
    text, prequoted = format_value(var, fmt, context)
    if var.builtin:
        return text
    if state is None:
        return _bare(name, text, prequoted, context)
    if state in ("--", "#", "/*"):
        return _COMMENT_SAFE.sub("_", text)
    return _in_literal(text, state, context)


def interpolate_text(text: str, scope: Scope, context: str = "text") -> str:
    """Replace every known variable in ``text``; unknown ``$names`` (SQL macros) stay as they are."""
    if "$" not in text and "[[" not in text:
        return text
    if context == "text":

        def plain(m: re.Match[str]) -> str:
            name = m.group("b") or m.group("k") or m.group("p")
            var = scope.get(name)
            if var is None:
                return m.group(0)
            return format_value(var, m.group("bf") or m.group("kf"), "text")[0]

        return _VAR.sub(plain, text)
    sql = context.startswith("sql-")
    mysql = context == "sql-mysql"
    out: list[str] = []
    state: str | None = None
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "$[":
            m = _VAR.match(text, i)
            if m is not None:
                rep = _replacement(m, scope, context, state)
                if rep is not None:
                    out.append(rep)
                    i = m.end()
                    continue
                out.append(m.group(0))
                i = m.end()
                continue
        if state is None:
            if c in "\"'`" and (c != "`" or context == "promql" or mysql):
                state = c
                if (
                    sql
                    and c == "'"
                    and i > 0
                    and text[i - 1] in "Ee"
                    and (i < 2 or not text[i - 2].isalnum())
                ):
                    state = "E'"
            elif context == "promql" and c == "#":
                state = "#"
            elif sql and text.startswith("--", i):
                state = "--"
                out.append("--")
                i += 2
                continue
            elif sql and text.startswith("/*", i):
                state = "/*"
                out.append("/*")
                i += 2
                continue
            elif mysql and c == "#":
                state = "#"
            out.append(c)
            i += 1
            continue
        # inside a literal or comment
        if state in ("--", "#"):
            if c == "\n":
                state = None
        elif state == "/*":
            if text.startswith("*/", i):
                out.append("*/")
                i += 2
                state = None
                continue
        elif c == "\\" and (
            (context == "promql" and state in ('"', "'")) or state == "E'" or (mysql and state in ("'", '"'))
        ):
            out.append(text[i : i + 2])
            i += 2
            continue
        elif c == state[-1]:
            state = None
        out.append(c)
        i += 1
    return "".join(out)


def interpolate_value(value: Any, scope: Scope, context: str = "text") -> Any:
    """Interpolate strings anywhere inside a JSON value (lists and objects too)."""
    if isinstance(value, str):
        return interpolate_text(value, scope, context)
    if isinstance(value, list):
        return [interpolate_value(v, scope, context) for v in value]
    if isinstance(value, dict):
        return {k: interpolate_value(v, scope, context) for k, v in value.items()}
    return value
