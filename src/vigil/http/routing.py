"""Route lookup by path prefix, in front of FastAPI's linear route matching.

FastAPI tries every route (and every included router) in turn, with a regex each: with a few
hundred Grafana routes that costs more than the rest of a cached request. ``RouteIndex`` is one
route placed in front of the included routers: it buckets the API routes by their first two literal
path segments (``/api/dashboards``), so a request is matched only against its bucket plus the few
routes whose first segments are parameters, in the original order. A path the index does not serve
falls through to FastAPI's own matching (404s, mounts), so behaviour is unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from vigil.http.responses import JSON

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


# -- reads answered without FastAPI ------------------------------------------------------------

Reply = Callable[..., Awaitable[bytes]]
_REPLY_ATTR = "vigil_reply"


def json_read(router: APIRouter, path: str) -> Callable[[Reply], Reply]:
    """Declare ``GET path`` by its reply: ``async def reply(request, **path_params) -> bytes`` (the
    JSON body; raise ``AppError`` for an error, authenticate with ``await identity(request)``).

    The FastAPI route made from it serves the OpenAPI document (and any GET the fast path does not
    take, such as one under a root path); ``FastReads`` answers the GETs by calling the reply
    directly, without FastAPI's per-request dependency solving, request
    validation and middleware stack, which cost more than a cached read itself.
    """

    def register(reply: Reply) -> Reply:
        async def endpoint(request: Request) -> Response:
            return Response(await reply(request, **request.path_params), media_type=JSON)

        setattr(endpoint, _REPLY_ATTR, reply)
        endpoint.__doc__ = reply.__doc__
        router.add_api_route(path, endpoint, methods=["GET"], name=reply.__name__)
        return reply

    return register


class FastReads:
    """The ``json_read`` routes, matched by exact path or by literal prefix and pattern."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self._exact: dict[str, tuple[Route, Reply]] = {}
        self._patterns: list[tuple[str, Route, Reply]] = []
        # a literal GET path of another route is that route's, even where a pattern accepts it
        self._taken: set[str] = set()
        for route in routes:
            reply = getattr(getattr(route, "endpoint", None), _REPLY_ATTR, None)
            if not isinstance(route, Route) or reply is None:
                if isinstance(route, Route) and "{" not in route.path and "GET" in (route.methods or ()):
                    self._taken.add(route.path)
                continue
            if "{" in route.path:
                self._patterns.append((route.path.split("{", 1)[0], route, reply))
            else:
                self._exact[route.path] = (route, reply)

    def __len__(self) -> int:
        return len(self._exact) + len(self._patterns)

    def match(self, path: str) -> tuple[Route, Reply, dict[str, Any]] | None:
        found = self._exact.get(path)
        if found is not None:
            return found[0], found[1], {}
        if path in self._taken:
            return None
        for prefix, route, reply in self._patterns:
            if path.startswith(prefix):
                m = route.path_regex.match(path)
                if m is not None:
                    params = {k: route.param_convertors[k].convert(v) for k, v in m.groupdict().items()}
                    return route, reply, params
        return None
