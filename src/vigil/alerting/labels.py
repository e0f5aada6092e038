"""Label sets: fingerprints and matchers (``=``, ``!=``, ``=~``, ``!~``) as Alertmanager defines them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vigil.errors import AppError

Labels = dict[str, str]
OPS = ("=", "!=", "=~", "!~")
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_.]*|"[^"]*")\s*(=~|!~|!=|=)\s*(.*?)\s*$')


def fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits identifying a label set, independent of key order."""
    h = hashlib.sha256()
    for k in sorted(labels):
        h.update(k.encode())
        h.update(b"\xff")
        h.update(str(labels[k]).encode())
        h.update(b"\xfe")
    return h.hexdigest()[:16]


def public(labels: Mapping[str, str]) -> Labels:
    """Labels without the private ``__x__`` ones (those never leave in notifications)."""
    return {k: v for k, v in labels.items() if not (k.startswith("__") and k.endswith("__"))}


def format_labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(f"^(?:{pattern})$")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise AppError.bad_request(f"invalid matcher operator {self.op!r}: use one of = != =~ !~")
        if not self.name:
            raise AppError.bad_request("invalid matcher: empty label name")
        if self.op in ("=~", "!~"):
            try:
                _compile(self.value)
            except re.error as exc:
                raise AppError.bad_request(f"invalid matcher regex {self.value!r}: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = _compile(self.value).match(v) is not None
        return hit if self.op == "=~" else not hit

    def as_list(self) -> list[str]:
        return [self.name, self.op, self.value]

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def parse_matcher(text: str) -> Matcher:
    """``team="db"``, ``severity=~"crit|warn"``, ``env!=prod`` (quotes optional)."""
    m = _MATCHER.match(text)
    if not m:
        raise AppError.bad_request(f"invalid matcher {text!r}: expected name, an operator and a value")
    name, op, value = m.group(1).strip('"'), m.group(2), m.group(3)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"')
    return Matcher(name, op, value)


def parse_object_matchers(raw: Any) -> list[Matcher]:
    """Grafana's ``object_matchers``: ``[["name", "=", "value"], ...]``."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise AppError.bad_request("object_matchers must be a list of [name, operator, value]")
    out = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item)):
            raise AppError.bad_request("object_matchers must be a list of [name, operator, value]")
        out.append(Matcher(item[0], item[1], item[2]))
    return out
