"""Notification policies: the route tree, its defaults and inheritance, and routing one alert.

Semantics follow Alertmanager: the root matches every alert; children are tried in order, an
alert goes to the first matching child (and on to later siblings when that child has
``continue``); a route with no matching child takes the alert itself. Children inherit
``receiver``, ``group_by`` and the three timers from their parent when they leave them unset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.alerting.durations import format_duration, parse_duration
from vigil.alerting.labels import Labels, Matcher, parse_matcher, parse_object_matchers
from vigil.errors import AppError

DEFAULT_RECEIVER = "grafana-default-email"
DEFAULT_GROUP_BY = ["grafana_folder", "alertname"]
DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 14400.0
ROUTE_KEYS = {
    "receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "routes", "object_matchers",
    "matchers", "match", "match_re", "continue", "mute_time_intervals", "active_time_intervals", "provenance",
}  # fmt: skip


def default_tree() -> dict[str, Any]:
    return {"receiver": DEFAULT_RECEIVER, "group_by": list(DEFAULT_GROUP_BY)}


@dataclass
class Route:
    path: str  # "0", "0.1", "0.1.0"…: position in the tree
    key: str  # Alertmanager's route key: "{}" then "{}/{team=\"db\"}" …
    receiver: str
    group_by: list[str]
    group_all: bool
    group_wait: float
    group_interval: float
    repeat_interval: float
    matchers: list[Matcher]
    cont: bool
    mute_time_intervals: list[str]
    active_time_intervals: list[str]
    routes: list[Route] = field(default_factory=list)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def options(self) -> dict[str, Any]:
        """What a dispatch group keeps of its route (so later policy edits do not strand it)."""
        return {
            "route": self.path,
            "group_wait": self.group_wait,
            "group_interval": self.group_interval,
            "repeat_interval": self.repeat_interval,
            "mute_time_intervals": self.mute_time_intervals,
            "active_time_intervals": self.active_time_intervals,
        }


def _matchers(node: Mapping[str, Any]) -> list[Matcher]:
    out = parse_object_matchers(node.get("object_matchers"))
    raw = node.get("matchers")
    if raw is not None:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise AppError.bad_request('invalid policy: matchers must be a list of strings like team="db"')
        out += [parse_matcher(x) for x in raw]
    for k, v in (node.get("match") or {}).items():
        out.append(Matcher(str(k), "=", str(v)))
    for k, v in (node.get("match_re") or {}).items():
        out.append(Matcher(str(k), "=~", str(v)))
    return out


def _strings(raw: Any, what: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise AppError.bad_request(f"invalid policy: {what} must be a list of strings")
    return list(raw)


def build(tree: Mapping[str, Any]) -> Route:
    """Parse a policy tree (raises AppError 400 on anything invalid)."""
    if not isinstance(tree, Mapping):
        raise AppError.bad_request("invalid policy: expected a JSON object")
    if not tree.get("receiver"):
        raise AppError.bad_request("invalid policy: the root route must have a receiver")
    if _matchers(tree):
        raise AppError.bad_request("invalid policy: the root route must not have matchers")
    root = _build(tree, None, "0", "{}")
    return root


def _build(node: Mapping[str, Any], parent: Route | None, path: str, parent_key: str) -> Route:
    if not isinstance(node, Mapping):
        raise AppError.bad_request("invalid policy: every route must be a JSON object")
    matchers = _matchers(node)
    key = parent_key if parent is None else parent_key + "/{" + ",".join(str(m) for m in matchers) + "}"
    group_by_raw = node.get("group_by")
    if group_by_raw is None:
        group_by = parent.group_by if parent else list(DEFAULT_GROUP_BY)
        group_all = parent.group_all if parent else False
    else:
        group_by = _strings(group_by_raw, "group_by")
        group_all = "..." in group_by
        if group_all and len(group_by) > 1:
            raise AppError.bad_request("invalid policy: group_by '...' must be the only entry")

    def timer(name: str, inherited: float, minimum: float) -> float:
        raw = node.get(name)
        if raw in (None, ""):
            return inherited
        value = parse_duration(raw, f"{name} of the policy")
        if value < minimum:
            raise AppError.bad_request(f"invalid policy: {name} must be at least {format_duration(minimum)}")
        return value

    receiver = node.get("receiver") or (parent.receiver if parent else "")
    if not isinstance(receiver, str):
        raise AppError.bad_request("invalid policy: receiver must be a string")
    route = Route(
        path=path,
        key=key,
        receiver=receiver,
        group_by=group_by,
        group_all=group_all,
        group_wait=timer("group_wait", parent.group_wait if parent else DEFAULT_GROUP_WAIT, 0),
        group_interval=timer(
            "group_interval", parent.group_interval if parent else DEFAULT_GROUP_INTERVAL, 1
        ),
        repeat_interval=timer(
            "repeat_interval", parent.repeat_interval if parent else DEFAULT_REPEAT_INTERVAL, 1
        ),
        matchers=matchers,
        cont=bool(node.get("continue", False)),
        mute_time_intervals=_strings(node.get("mute_time_intervals"), "mute_time_intervals"),
        active_time_intervals=_strings(node.get("active_time_intervals"), "active_time_intervals"),
    )
    children = node.get("routes") or []
    if not isinstance(children, list):
        raise AppError.bad_request("invalid policy: routes must be a list")
    route.routes = [_build(c, route, f"{path}.{i}", key) for i, c in enumerate(children)]
    return route


def walk(route: Route) -> list[Route]:
    out = [route]
    for r in route.routes:
        out += walk(r)
    return out


def find(route: Route, path: str) -> Route | None:
    """The route at ``path`` ("0.1.0"), or None."""
    return next((r for r in walk(route) if r.path == path), None)


def receivers_used(route: Route) -> set[str]:
    return {r.receiver for r in walk(route)}


def timings_used(route: Route) -> set[str]:
    out: set[str] = set()
    for r in walk(route):
        out.update(r.mute_time_intervals)
        out.update(r.active_time_intervals)
    return out


def match(route: Route, labels: Mapping[str, str]) -> list[Route]:
    """The routes an alert with ``labels`` is dispatched to."""
    if not route.matches(labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        hits = match(child, labels)
        if hits:
            found += hits
            if not child.cont:
                break
    return found or [route]


def group_labels(route: Route, labels: Mapping[str, str]) -> Labels:
    if route.group_all:
        return dict(labels)
    return {k: labels[k] for k in route.group_by if k in labels}


def group_key(route: Route, glabels: Mapping[str, str]) -> str:
    """Alertmanager's group key text: ``{}/{team="db"}:{alertname="X"}``."""
    return route.key + ":{" + ", ".join(f'{k}="{v}"' for k, v in sorted(glabels.items())) + "}"


def group_hash(org_id: int, receiver: str, key: str) -> str:
    return hashlib.sha256(f"{org_id}\x00{receiver}\x00{key}".encode()).hexdigest()[:40]


def export(tree: Mapping[str, Any]) -> dict[str, Any]:
    """The tree as the provisioning API returns it (only known keys, children recursively)."""
    out: dict[str, Any] = {}
    for k in ("receiver", "group_by", "object_matchers", "matchers", "match", "match_re", "continue",
              "group_wait", "group_interval", "repeat_interval", "mute_time_intervals",
              "active_time_intervals"):  # fmt: skip
        if tree.get(k) not in (None, [], {}):
            out[k] = tree[k]
    if tree.get("routes"):
        out["routes"] = [export(r) for r in tree["routes"]]
    return out


def normalise(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and keep only route keys (unknown keys are ignored, as clients send extras)."""
    build(tree)

    def clean(node: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in node.items() if k in ROUTE_KEYS and k not in ("routes", "provenance")}
        if node.get("matchers"):
            # Store matchers in one form: object_matchers.
            out["object_matchers"] = (out.get("object_matchers") or []) + [
                m.as_list() for m in (parse_matcher(x) for x in node["matchers"])
            ]
            del out["matchers"]
        if node.get("routes"):
            out["routes"] = [clean(r) for r in node["routes"]]
        return out

    return clean(tree)
