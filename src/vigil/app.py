"""The one wiring point: ``create_app(config)`` builds every service of one replica.

Nothing connects or reads the environment at import time; tests build as many apps (replicas) as
they like in one process. The returned ``VigilApp`` is an ASGI app: it serves the health check
and metrics itself (pre-serialised, no routing), adds the replica header, logs and measures every
request, and hands everything else to the FastAPI router.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import logging
import pkgutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from vigil import __version__, logs
from vigil.alerting.cleanup import delete_alerting_of_org
from vigil.alerting.service import AlertingService
from vigil.auth.authenticate import Authenticator
from vigil.auth.bruteforce import BruteForceGuard
from vigil.auth.orgs import Orgs
from vigil.auth.passwords import Passwords
from vigil.auth.service import IdentityService
from vigil.auth.serviceaccount_admin import ServiceAccountAdmin
from vigil.auth.serviceaccounts import ServiceAccounts
from vigil.auth.teams import Teams
from vigil.auth.users import Users
from vigil.clock import Clock, SystemClock
from vigil.cluster.service import Cluster
from vigil.config import Config
from vigil.content_cleanup import delete_content_of_org, delete_content_of_team, delete_content_of_user
from vigil.dashboards.cache import DashboardReadCache
from vigil.dashboards.service import delete_org_content
from vigil.datasources.service import DataSourceService
from vigil.http import errors as http_errors
from vigil.http.metrics import Metrics
from vigil.http.outbound import OutboundGuard
from vigil.http.routing import FastReads, Reply, RouteIndex
from vigil.http.security import SecurityPolicy
from vigil.sessions import build_store
from vigil.sessions.base import SessionPolicy, SessionStore
from vigil.storage.db import Database, DatabaseOptions, resolve_url
from vigil.storage.migrate import migrate

GRAFANA_COMPAT_VERSION = "11.6.0"
log = logging.getLogger("vigil.app")
request_log = logging.getLogger("vigil.request")


@dataclass(frozen=True)
class CookieSettings:
    name: str
    secure: bool
    samesite: str  # lax, strict, none, disabled
    max_age: int


@dataclass
class Services:
    config: Config
    clock: Clock
    db: Database
    identities: IdentityService
    service_accounts: ServiceAccounts
    service_account_admin: ServiceAccountAdmin
    users: Users
    orgs: Orgs
    teams: Teams
    sessions: SessionStore
    auth: Authenticator
    bruteforce: BruteForceGuard
    metrics: Metrics
    datasources: DataSourceService
    instance: str
    cookie: CookieSettings
    root_url: str
    commit: str
    version: str = GRAFANA_COMPAT_VERSION
    vigil_version: str = __version__
    draining: bool = False
    started_at: float = 0.0
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    cluster: Cluster = field(init=False)
    alerting: AlertingService = field(init=False)
    security: SecurityPolicy = field(init=False)
    dashboard_cache: DashboardReadCache = field(init=False)


def _commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=2,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_services(config: Config, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    data_dir = config.get("paths", "data")
    db = Database(
        resolve_url(config.get("database", "url"), data_dir),
        DatabaseOptions(
            pool_size=config.get_int("database", "pool_size", minimum=1),
            max_overflow=config.get_int("database", "max_overflow", minimum=0),
            conn_max_lifetime=config.get_int("database", "conn_max_lifetime", minimum=1),
            connect_timeout=config.get_duration("database", "connect_timeout", minimum=0.1),
            query_timeout=config.get_duration("database", "query_timeout", minimum=0.1),
        ),
    )
    secret_key = config.get("security", "secret_key")
    if not secret_key:
        from vigil.errors import ConfigError

        raise ConfigError("[security] secret_key must not be empty: every replica needs the same secret")
    policy = SessionPolicy(
        inactive_ms=int(
            config.get_duration("auth", "login_maximum_inactive_lifetime_duration", minimum=60) * 1000
        ),
        absolute_ms=int(config.get_duration("auth", "login_maximum_lifetime_duration", minimum=60) * 1000),
        rotation_ms=config.get_int("auth", "token_rotation_interval_minutes", minimum=1) * 60_000,
        grace_ms=int(config.get_duration("auth", "token_rotation_grace_seconds", minimum=1) * 1000),
    )
    sessions = build_store(config, db, clock, secret_key, policy)
    identities = IdentityService(
        db,
        clock,
        Passwords(
            memory_kib=config.get_int("security", "password_hash_memory_kib", minimum=8),
            iterations=config.get_int("security", "password_hash_iterations", minimum=1),
        ),
    )
    root_url = config.get("server", "root_url") or "http://localhost:3000/"
    port = config.get_int("server", "http_port", minimum=0, maximum=65535)
    instance = config.get("cluster", "instance_name") or f"{socket.gethostname()}:{port}"
    services = Services(
        config=config,
        clock=clock,
        db=db,
        identities=identities,
        service_accounts=ServiceAccounts(identities),
        service_account_admin=ServiceAccountAdmin(identities),
        users=Users(identities, cleanups=[delete_content_of_user]),
        orgs=Orgs(identities, cleanups=[delete_org_content, delete_content_of_org]),
        teams=Teams(identities, cleanups=[delete_content_of_team]),
        sessions=sessions,
        auth=Authenticator(
            db, identities, sessions, clock, secret_key, config.get_duration("auth", "token_cache_seconds")
        ),
        bruteforce=BruteForceGuard(
            db,
            clock,
            enabled=not config.get_bool("security", "disable_brute_force_login_protection"),
            max_attempts=config.get_int("security", "brute_force_max_attempts", minimum=1),
            window_seconds=config.get_duration("security", "brute_force_window", minimum=1),
        ),
        metrics=Metrics(),
        datasources=DataSourceService(
            db,
            clock,
            secret_key,
            timeout=config.get_duration("dataproxy", "timeout", minimum=0.1),
            row_limit=config.get_int("dataproxy", "row_limit", minimum=1),
            sqlite_allowed_dirs=config.get("dataproxy", "sqlite_allowed_dirs").split(","),
            protected_paths=[db.sqlite_path] if db.sqlite_path else [],
            outbound=OutboundGuard.from_config(config),
        ),
        instance=instance,
        cookie=CookieSettings(
            name=config.get("session", "cookie_name") or "vigil_session",
            secure=config.get_bool("security", "cookie_secure") or root_url.lower().startswith("https://"),
            samesite=config.get_choice("security", "cookie_samesite", ["lax", "strict", "none", "disabled"]),
            max_age=policy.absolute_ms // 1000,
        ),
        root_url=root_url,
        commit=_commit(),
    )
    services.security = SecurityPolicy.from_config(config, root_url)
    services.auth.bruteforce = services.bruteforce
    _wire_alerting(services, port)
    services.orgs.cleanups.append(functools.partial(delete_alerting_of_org, bus=services.cluster.bus))
    services.dashboard_cache = DashboardReadCache(
        db, services.cluster.bus, config.get_int("dashboards", "read_cache_mb", minimum=0) * 1024 * 1024
    )
    return services


def _wire_alerting(s: Services, port: int) -> None:
    config = s.config
    addr = config.get("server", "http_addr")
    address = config.get("cluster", "advertise_address") or (
        f"{socket.gethostname() if addr in ('', '0.0.0.0', '::') else addr}:{port}"
    )
    s.cluster = Cluster(
        s.db,
        s.clock,
        s.instance,
        address,
        s.vigil_version,
        heartbeat_interval=config.get_duration("cluster", "heartbeat_interval", minimum=0.05),
        peer_timeout=config.get_duration("cluster", "peer_timeout", minimum=0.1),
    )
    s.alerting = AlertingService(
        config,
        s.db,
        s.clock,
        s.cluster,
        s.metrics.registry,
        s.root_url,
        s.version,
        config.get("security", "secret_key"),
        s.datasources,
        is_draining=lambda: s.draining,
    )


def build_api(services: Services) -> FastAPI:
    api = FastAPI(
        title="Vigil",
        version=services.vigil_version,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        redirect_slashes=False,
    )
    api.state.vigil = services
    http_errors.install(api)
    import vigil.api as routes

    first_included = len(api.router.routes)
    indexed: list[APIRoute] = []
    for mod in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"vigil.api.{mod.name}")
        router = getattr(module, "router", None)
        if router is not None:
            api.include_router(router)  # kept for the OpenAPI document and as the fallback
            if all(isinstance(r, APIRoute) for r in router.routes):
                indexed.extend(router.routes)
    # matched first, by path prefix, instead of FastAPI's scan of every route (vigil.http.routing)
    api.router.routes.insert(first_included, RouteIndex(indexed))
    return api


class VigilApp:
    """ASGI entry of one replica."""

    def __init__(self, services: Services, run_migrations: bool = True) -> None:
        self.services = services
        self.api = build_api(services)
        index = next(r for r in self.api.router.routes if isinstance(r, RouteIndex))
        self._fast_reads = FastReads(index.routes)
        self.run_migrations = run_migrations
        self._health_cache: tuple[float, bool] = (0.0, False)
        self._health_lock = asyncio.Lock()
        self._sessions_cache: tuple[float, float] = (0.0, 0.0)
        self._instance_header = (b"x-vigil-instance", services.instance.encode("latin-1", "replace"))
        self._log_requests = services.config.get_bool("server", "router_logging")
        self._request_line: Callable[[dict[str, Any]], None] | None = None
        # `vigil server` sets it: after startup, the objects alive then are never collected (gc.freeze)
        self.freeze_gc_after_startup = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def startup(self) -> None:
        s = self.services
        config = s.config
        await s.sessions.ping()  # an unreachable store stops startup before anything else
        if self.run_migrations:
            await migrate(
                s.db,
                timeout=config.get_duration("database", "migration_lock_timeout", minimum=1),
                after=lambda: s.identities.seed(
                    config.get("security", "admin_user"),
                    config.get("security", "admin_password"),
                    config.get("security", "admin_email"),
                ),
            )
        s.started_at = s.clock.now()
        from vigil.provisioning.runner import start as start_provisioning

        await start_provisioning(s)
        await s.cluster.start()
        await s.alerting.start()
        s.tasks.append(asyncio.create_task(self._housekeeping(), name="vigil-housekeeping"))
        if self._log_requests:
            self._request_line = logs.line_writer("vigil.request", "request")
        if self.freeze_gc_after_startup:
            # the app's long-lived objects leave the collector's generations: each collection then
            # scans only what requests allocate (about 10% of a cached request's CPU otherwise)
            gc.collect()
            gc.freeze()

    async def shutdown(self) -> None:
        s = self.services
        with contextlib.suppress(Exception):
            await s.alerting.stop()
        with contextlib.suppress(Exception):
            await s.cluster.stop()
        for task in s.tasks:
            task.cancel()
        for task in s.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        s.tasks.clear()
        with contextlib.suppress(Exception):
            await s.sessions.close()
        with contextlib.suppress(Exception):
            await s.datasources.close()
        await s.db.dispose()

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(600)
            with contextlib.suppress(Exception):
                await self.services.sessions.cleanup()

    # -- built-in fast routes -----------------------------------------------------------------

    async def database_ok(self) -> bool:
        stamp, ok = self._health_cache
        now = time.monotonic()
        if now - stamp < 1.0:
            return ok
        async with self._health_lock:
            stamp, ok = self._health_cache
            if time.monotonic() - stamp < 1.0:
                return ok
            ok = await self.services.db.ping()
            self._health_cache = (time.monotonic(), ok)
            self.services.metrics.db_up.set(1 if ok else 0)
            return ok

    async def _health(self) -> tuple[int, bytes]:
        s = self.services
        ok = await self.database_ok()
        body: dict[str, Any] = {
            "database": "ok" if ok else "failing",
            "version": s.version,
            "commit": s.commit,
        }
        if s.draining:
            body["message"] = "draining: this replica is shutting down"
            return 503, orjson.dumps(body)
        return (200 if ok else 503), orjson.dumps(body)

    async def _metrics(self) -> tuple[int, bytes]:
        s = self.services
        pool = s.db.pool_status()
        s.metrics.db_pool_checked_out.set(pool["checked_out"])
        s.metrics.db_pool_size.set(pool["size"])
        s.metrics.draining.set(1 if s.draining else 0)
        stamp, _count = self._sessions_cache
        if time.monotonic() - stamp > 15:
            with contextlib.suppress(Exception):
                count = await s.sessions.active_count()
                self._sessions_cache = (time.monotonic(), count)
                s.metrics.active_sessions.set(count)
        await self.database_ok()
        return 200, s.metrics.render()

    async def _fast_read(
        self, scope: Scope, receive: Receive, send: Send, reply: Reply, params: dict[str, Any]
    ) -> None:
        """A ``json_read`` GET (vigil.http.routing), answered by calling its reply directly."""
        scope["app"] = self.api
        scope["path_params"] = params
        request = Request(scope, receive)
        try:
            status, body = 200, await reply(request, **params)
        except Exception as exc:
            response = http_errors.error_response(request, exc)
            if response is None:
                raise
            status, body = response.status_code, bytes(response.body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
            scope["path"] = path
            scope["raw_path"] = path.encode()
        started = time.perf_counter()
        status_holder = [500]
        instance_header = self._instance_header
        security = self.services.security

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append(instance_header)
                security.add_headers(headers, path)
                state = scope.get("state") or {}
                cookie = state.get("set_cookie")
                if cookie:
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        route = path
        if path == "/api/health" or path == "/metrics":
            if path == "/api/health":
                status, body = await self._health()
                ctype = b"application/json"
            else:
                status, body = await self._metrics()
                ctype = b"text/plain; version=0.0.4; charset=utf-8"
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", ctype),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send_wrapper({"type": "http.response.body", "body": body})
        else:
            fast = self._fast_reads.match(path) if scope["method"] == "GET" else None
            try:
                if fast is not None:
                    scope["route"] = fast[0]
                    await self._fast_read(scope, receive, send_wrapper, fast[1], fast[2])
                else:
                    await self.api(scope, receive, send_wrapper)
            except Exception:
                log.exception("unhandled error on %s %s", scope.get("method"), path)
                if status_holder[0] == 500:
                    body = b'{"message":"Internal server error"}'
                    with contextlib.suppress(Exception):
                        await send_wrapper(
                            {
                                "type": "http.response.start",
                                "status": 500,
                                "headers": [
                                    (b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                ],
                            }
                        )
                        await send_wrapper({"type": "http.response.body", "body": body})
            matched = scope.get("route")
            route = getattr(matched, "path", None) or "unmatched"
        elapsed = time.perf_counter() - started
        self.services.metrics.observe(route, scope.get("method", ""), status_holder[0], elapsed)
        if self._log_requests:
            fields = {
                "method": scope.get("method"),
                "route": route,
                "path": path,
                "status": status_holder[0],
                "duration_ms": round(elapsed * 1000, 2),
            }
            if self._request_line is not None:
                self._request_line(fields)
            else:
                request_log.info("request", extra={"fields": fields})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.error("startup failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(config: Config, clock: Clock | None = None, run_migrations: bool = True) -> VigilApp:
    return VigilApp(build_services(config, clock), run_migrations=run_migrations)
