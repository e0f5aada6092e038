"""Route lookup by path prefix, in front of FastAPI's linear route matching.

FastAPI tries every route (and every included router) in turn, with a regex each: with a few
hundred Grafana routes that costs more than the rest of a cached request. ``RouteIndex`` is one
route placed in front of the included routers: it buckets the API routes by their first two literal
path segments (``/api/dashboards``), so a request is matched only against its bucket plus the few
routes whose first segments are parameters, in the original order. A path the index does not serve
falls through to FastAPI's own matching (404s, mounts), so behaviour is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

_SELECTED = "vigil.route"


def _bucket(path: str) -> str:
    """The first two segments of a path: ``/api/dashboards/uid/x`` -> ``/api/dashboards``."""
    parts = path.split("/", 3)
    return "/".join(parts[:3])


class RouteIndex(BaseRoute):
    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        ordered = list(routes)
        buckets: dict[str, list[tuple[int, Route]]] = {}
        wildcard: list[tuple[int, BaseRoute]] = []
        for position, route in enumerate(ordered):
            if isinstance(route, Route) and "{" not in _bucket(route.path):
                buckets.setdefault(_bucket(route.path), []).append((position, route))
            else:
                wildcard.append((position, route))

        def in_order(entries: Iterable[tuple[int, BaseRoute]]) -> list[BaseRoute]:
            return [r for _, r in sorted(entries, key=lambda e: e[0])]

        self._buckets = {key: in_order([*entries, *wildcard]) for key, entries in buckets.items()}
        # The path of a route without parameters is matched, at build time, against every route of
        # its bucket: a request for exactly that path then tries only the routes whose pattern
        # accepts it (whether the method fits is still decided per request), and the wildcard ones.
        self._exact: dict[str, list[BaseRoute]] = {}
        for entries in buckets.values():
            for path in {r.path for _, r in entries if "{" not in r.path}:
                accepting = [e for e in entries if e[1].path_regex.match(path)]
                self._exact[path] = in_order([*accepting, *wildcard])
        self._wildcard = [r for _, r in wildcard]
        self.routes = ordered

    def candidates(self, path: str) -> list[BaseRoute]:
        found = self._exact.get(path)
        if found is not None:
            return found
        return self._buckets.get(_bucket(path), self._wildcard)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        partial: tuple[BaseRoute, Scope] | None = None
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # as Starlette's routes see it, behind a sub-path
            path = path[len(root) :]
        for route in self.candidates(path):
            match, child = route.matches(scope)
            if match == Match.FULL:
                child[_SELECTED] = route
                return match, child
            if match == Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is not None:
            route, child = partial
            child[_SELECTED] = route
            return Match.PARTIAL, child
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope.pop(_SELECTED)
        await route.handle(scope, receive, send)
