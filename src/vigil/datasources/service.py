"""The data-source service: records, type instances, query execution, expressions, health.

One instance per replica (``services.datasources``). It keeps no state of value: records are read
from the shared database on every request; only connection pools and HTTP clients are cached, keyed
by the data source's uid *and version*, so an update on any replica is used at once everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from vigil.clock import Clock
from vigil.datasources import expressions
from vigil.datasources.frames import DataResponse, Frame
from vigil.datasources.registry import (
    DataQuery,
    DataSourcePlugin,
    Health,
    Instance,
    PluginContext,
    registered,
)
from vigil.datasources.secrets import SecretBox, SecretError
from vigil.datasources.store import DataSource, DataSourceStore
from vigil.datasources.timerange import TimeRange, calculate_interval_ms, format_duration_ms, parse_range
from vigil.datasources.variables import InterpolationError, Scope
from vigil.errors import AppError
from vigil.http.outbound import OutboundGuard
from vigil.storage.db import Database, now_ms

log = logging.getLogger("vigil.datasources")

EXPR_UID = "__expr__"
GRAFANA_UIDS = ("grafana", "-- Grafana --")
DEFAULT_MAX_DATA_POINTS = 1000


def _resolve_key(ref: Any, ds_id: Any) -> tuple[Any, ...] | None:
    """What a query's data source resolution depends on (None: has variables, not cached)."""
    if ds_id is not None and (not isinstance(ds_id, int) or isinstance(ds_id, bool)):
        return None
    if isinstance(ref, dict):
        uid, type_id = ref.get("uid"), ref.get("type")
        if not isinstance(uid, (str, type(None))) or not isinstance(type_id, (str, type(None))):
            return None
        if uid is not None and "$" in uid:
            return None
        return ("ref", uid, type_id, ds_id)
    if isinstance(ref, str):
        return None if ("$" in ref or "[[" in ref) else ("name", ref, ds_id)
    if ref is None:
        return ("none", ds_id)
    return None


def builtin_grafana_source() -> DataSource:
    """The built-in ``-- Grafana --`` data source (uid ``grafana``): random walks, like Grafana's."""
    return DataSource(
        id=0,
        org_id=0,
        uid="grafana",
        name="-- Grafana --",
        type="grafana",
        access="proxy",
        url="",
        user="",
        database="",
        basic_auth=False,
        basic_auth_user="",
        with_credentials=False,
        is_default=False,
        json_data={},
        secure_tokens={},
        read_only=True,
        version=1,
        created=0,
        updated=0,
    )


@dataclass
class QueryItem:
    """One entry of a query request, with its data source resolved (``ds`` None for expressions)."""

    ref_id: str
    model: dict[str, Any]
    time_range: TimeRange
    interval_ms: int
    max_data_points: int
    ds: DataSource | None = None
    is_expression: bool = False
    builtin: str | None = None


# (org id, {"uid", "type"}) -> (record, special): how a rule's data source reference is resolved.
RuleResolver = Callable[[int, dict[str, Any]], Awaitable[tuple[DataSource | None, str | None]]]


@dataclass
class RuleResult:
    """One refId of an alert rule evaluation: expression values, or an error."""

    values: list[expressions.Value] = field(default_factory=list)
    error: str | None = None
    frames: list[Frame] = field(default_factory=list)


class DataSourceService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        secret_key: str,
        timeout: float = 30.0,
        row_limit: int = 1_000_000,
        sqlite_allowed_dirs: list[str] | None = None,
        protected_paths: list[Path] | None = None,
        outbound: OutboundGuard | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.box = SecretBox(secret_key)
        self.store = DataSourceStore(db, clock, self.box)
        self.timeout = timeout
        self.row_limit = row_limit
        self._sqlite_dirs = [Path(d.strip()).resolve() for d in (sqlite_allowed_dirs or []) if d.strip()]
        self._protected = [p.resolve() for p in (protected_paths or [])]
        self._plugins: dict[type[DataSourcePlugin], DataSourcePlugin] = {}
        self._clients: dict[tuple[str, int, int], httpx.AsyncClient] = {}
        self._default_client: httpx.AsyncClient | None = None
        self.outbound = outbound or OutboundGuard.default()
        self.ctx = PluginContext(
            timeout=timeout,
            row_limit=row_limit,
            http_client=self.http_client,
            sqlite_allowed=self.check_sqlite_path,
            outbound=self.outbound,
        )

    # -- types ----------------------------------------------------------------------------------

    def plugin_for(self, type_id: str) -> DataSourcePlugin | None:
        cls = registered().get(type_id)
        if cls is None:
            return None
        plugin = self._plugins.get(cls)
        if plugin is None:
            plugin = cls(self.ctx)
            self._plugins[cls] = plugin
        return plugin

    def require_plugin(self, ds: DataSource) -> DataSourcePlugin:
        plugin = self.plugin_for(ds.type)
        if plugin is None:
            raise AppError.bad_request(f"data source type {ds.type!r} is not supported by this server")
        return plugin

    def describe_types(self) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        for cls in dict.fromkeys(registered().values()):
            plugin = self.plugin_for(cls.type_id)
            if plugin is not None:
                seen.append(plugin.describe())
        return sorted(seen, key=lambda d: d["name"].lower())

    def instance(self, ds: DataSource) -> Instance:
        try:
            secure = self.store.secrets(ds)
        except SecretError as exc:
            raise AppError(500, f"data source {ds.name}: {exc}") from None
        return Instance(ds, secure)

    def check_sqlite_path(self, path: str) -> None:
        resolved = Path(path).expanduser().resolve()
        for p in self._protected:
            if resolved == p or str(resolved).startswith(str(p) + "-"):
                raise AppError.bad_request(
                    "this SQLite file is Vigil's own database and cannot be a data source"
                )
        if self._sqlite_dirs and not any(resolved.is_relative_to(d) for d in self._sqlite_dirs):
            raise AppError.bad_request("SQLite path is outside [dataproxy] sqlite_allowed_dirs")

    # -- HTTP clients ---------------------------------------------------------------------------

    def http_client(self, inst: Instance) -> httpx.AsyncClient:
        """A client honouring the data source's TLS options (cached per uid and version)."""
        jd = inst.json
        tls = bool(jd.get("tlsSkipVerify") or jd.get("tlsAuth") or jd.get("tlsAuthWithCACert"))
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        if not tls:
            if self._default_client is None:
                self._default_client = self.outbound.client(
                    timeout=self.timeout, limits=limits, follow_redirects=False
                )
            return self._default_client
        key = (inst.ds.uid, inst.ds.org_id, inst.ds.version)
        client = self._clients.get(key)
        if client is None:
            client = self.outbound.client(
                timeout=self.timeout, limits=limits, verify=self._ssl_context(inst), follow_redirects=False
            )
            stale = [k for k in self._clients if k[:2] == key[:2]]
            for k in stale:
                old = self._clients.pop(k)
                asyncio.get_running_loop().create_task(old.aclose())
            self._clients[key] = client
        return client

    @staticmethod
    def _ssl_context(inst: Instance) -> ssl.SSLContext | bool:
        jd = inst.json
        if jd.get("tlsSkipVerify"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx = ssl.create_default_context()
        ca = inst.secure.get("tlsCACert")
        if jd.get("tlsAuthWithCACert") and ca:
            try:
                ctx.load_verify_locations(cadata=ca)
            except ssl.SSLError as exc:
                raise AppError.bad_request(f"invalid CA certificate: {exc}") from None
        cert, key = inst.secure.get("tlsClientCert"), inst.secure.get("tlsClientKey")
        if jd.get("tlsAuth") and cert and key:
            with tempfile.TemporaryDirectory() as tmp:
                cp, kp = Path(tmp) / "c.pem", Path(tmp) / "k.pem"
                cp.write_text(cert)
                kp.write_text(key)
                os.chmod(kp, 0o600)
                try:
                    ctx.load_cert_chain(str(cp), str(kp))
                except ssl.SSLError as exc:
                    raise AppError.bad_request(f"invalid client certificate or key: {exc}") from None
        return ctx

    async def close(self) -> None:
        for plugin in self._plugins.values():
            with contextlib.suppress(Exception):
                await plugin.close()
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()
        self._clients.clear()
        if self._default_client is not None:
            with contextlib.suppress(Exception):
                await self._default_client.aclose()
            self._default_client = None

    # -- health ---------------------------------------------------------------------------------

    async def health(self, ds: DataSource) -> Health:
        plugin = self.plugin_for(ds.type)
        if plugin is None:
            return Health(False, f"Plugin health check not implemented for data source type {ds.type}")
        inst = self.instance(ds)
        try:
            async with asyncio.timeout(self.timeout + 1):
                return await plugin.check_health(inst)
        except AppError as exc:
            return Health(False, exc.message)
        except TimeoutError:
            return Health(False, f"health check timed out after {self.timeout:g}s")
        except Exception as exc:  # a type's bug must not become a 500 with a trace
            log.exception("health check of %s failed", ds.uid)
            return Health(False, f"health check failed: {exc.__class__.__name__}")

    # -- resolving data sources -----------------------------------------------------------------

    async def resolve(
        self, org_id: int, ref: Any, ds_id: Any, scope: Scope
    ) -> tuple[DataSource | None, str | None]:
        """(record, special) where special is ``expr`` or ``grafana`` for the built-in ones."""
        from vigil.datasources.variables import interpolate_text

        uid: str | None = None
        type_id: str | None = None
        name: str | None = None
        if isinstance(ref, dict):
            uid = ref.get("uid") if isinstance(ref.get("uid"), str) else None
            type_id = ref.get("type") if isinstance(ref.get("type"), str) else None
        elif isinstance(ref, str):
            name = ref
        if uid == EXPR_UID or type_id == EXPR_UID or name == EXPR_UID or type_id == "__expr__":
            return None, "expr"
        if (
            uid in GRAFANA_UIDS
            or name in GRAFANA_UIDS
            or (type_id in ("grafana", "datasource") and uid in (None, "grafana"))
        ):
            if type_id == "datasource" and uid not in GRAFANA_UIDS:
                raise AppError.bad_request(
                    "the -- Dashboard -- and -- Mixed -- data sources are resolved by the client"
                )
            return None, "grafana"
        if uid is not None and "$" in uid:
            uid = interpolate_text(uid, scope)
        if name is not None and ("$" in name or "[[" in name):
            name = interpolate_text(name, scope)
        if uid:
            found = await self.store.by_uid(org_id, uid) or await self.store.by_name(org_id, uid)
            if found is None and uid == "default":
                found = await self.store.default(org_id)
            if found is None:
                raise AppError.not_found("Data source not found")
            return found, None
        if name:
            found = await self.store.by_name(org_id, name) or await self.store.by_uid(org_id, name)
            if found is None and name == "default":
                found = await self.store.default(org_id)
            if found is None:
                raise AppError.not_found("Data source not found")
            return found, None
        if isinstance(ds_id, int) and not isinstance(ds_id, bool) and ds_id > 0:
            found = await self.store.by_id(org_id, ds_id)
            if found is None:
                raise AppError.not_found("Data source not found")
            return found, None
        if type_id:
            cls = registered().get(type_id)
            types = (cls.type_id, *cls.aliases) if cls else (type_id,)
            found = await self.store.default(org_id, types)
            if found is None:
                raise AppError.not_found("Data source not found")
            return found, None
        found = await self.store.default(org_id)
        if found is None:
            raise AppError.bad_request("missing data source ID/UID")
        return found, None

    # -- the query path -------------------------------------------------------------------------

    async def parse_request(self, org_id: int, body: Any) -> tuple[list[QueryItem], Scope]:
        if not isinstance(body, dict):
            raise AppError.bad_request("bad request data")
        queries = body.get("queries")
        if not isinstance(queries, list):
            raise AppError.bad_request("bad request data: queries must be a list")
        if not queries:
            raise AppError.bad_request("No queries found")
        now = now_ms(self.clock)
        default_range = parse_range(body.get("from", "now-6h"), body.get("to", "now"), now)
        scope = Scope.from_json(body.get("scopedVars"), body.get("variables"))
        items: list[QueryItem] = []
        seen: set[str] = set()
        # a dashboard's batch names the same data source in every query: look each one up once
        resolved: dict[tuple[Any, ...], tuple[DataSource | None, str | None]] = {}
        for i, q in enumerate(queries):
            if not isinstance(q, dict):
                raise AppError.bad_request("bad request data: every query must be an object")
            ref_id = str(q.get("refId") or ("A" if i == 0 else f"Q{i}"))
            if ref_id in seen:
                raise AppError.bad_request(f"bad request data: duplicate refId {ref_id}")
            seen.add(ref_id)
            tr = default_range
            if isinstance(q.get("timeRange"), dict):
                tr = parse_range(q["timeRange"].get("from"), q["timeRange"].get("to"), now)
            q_scope = (
                Scope({**scope.vars, **Scope.from_json(q.get("scopedVars")).vars})
                if q.get("scopedVars")
                else scope
            )
            key = _resolve_key(q.get("datasource"), q.get("datasourceId"))
            if key is not None and key in resolved and not q.get("scopedVars"):
                ds, special = resolved[key]
            else:
                ds, special = await self.resolve(org_id, q.get("datasource"), q.get("datasourceId"), q_scope)
                if key is not None and not q.get("scopedVars"):
                    resolved[key] = (ds, special)
            items.append(self._item(ref_id, q, tr, ds, special))
        return items, scope

    @staticmethod
    def _item(
        ref_id: str, q: dict[str, Any], tr: TimeRange, ds: DataSource | None, special: str | None
    ) -> QueryItem:
        mdp = q.get("maxDataPoints")
        max_points = int(mdp) if isinstance(mdp, (int, float)) and mdp > 0 else DEFAULT_MAX_DATA_POINTS
        ims = q.get("intervalMs")
        interval = (
            int(ims) if isinstance(ims, (int, float)) and ims > 0 else calculate_interval_ms(tr, max_points)
        )
        model = dict(q)
        model["refId"] = ref_id
        return QueryItem(
            ref_id, model, tr, interval, max_points, ds, is_expression=special == "expr", builtin=special
        )

    def generic_builtins(self, item: QueryItem) -> dict[str, str]:
        tr = item.time_range
        return {
            "__interval": format_duration_ms(item.interval_ms),
            "__interval_ms": str(item.interval_ms),
            "__range": f"{tr.duration_ms // 1000}s",
            "__range_s": str(tr.duration_ms // 1000),
            "__range_ms": str(tr.duration_ms),
            "__from": str(tr.from_ms),
            "__to": str(tr.to_ms),
            "__rate_interval": format_duration_ms(max(item.interval_ms * 4, 60_000)),
        }

    async def execute(self, items: list[QueryItem], scope: Scope) -> dict[str, DataResponse]:
        """Run data-source queries (grouped per data source, concurrently), then expressions."""
        results: dict[str, DataResponse] = {}
        groups: dict[Any, list[QueryItem]] = {}
        for it in items:
            if it.is_expression:
                continue
            key = "grafana" if it.builtin == "grafana" else (it.ds.org_id, it.ds.id) if it.ds else None
            groups.setdefault(key, []).append(it)
        outcomes = await asyncio.gather(*(self._run_group(g, scope) for g in groups.values()))
        for out in outcomes:
            results.update(out)
        exprs = [it for it in items if it.is_expression]
        if exprs:
            results.update(expressions.run_expressions(exprs, results))
        ordered = {it.ref_id: results[it.ref_id] for it in items if it.ref_id in results}
        return ordered

    async def _run_group(self, group: list[QueryItem], scope: Scope) -> dict[str, DataResponse]:
        first = group[0]
        ds = first.ds if first.builtin != "grafana" else None
        plugin = self.plugin_for(ds.type if ds is not None else "grafana-testdata-datasource")
        if plugin is None:
            msg = f"data source type {ds.type if ds else '?'!r} is not supported by this server"
            return {it.ref_id: DataResponse.failure(msg, 400, "plugin") for it in group}
        out: dict[str, DataResponse] = {}
        prepared: list[DataQuery] = []
        try:
            inst = self.instance(ds) if ds is not None else Instance(builtin_grafana_source(), {})
        except AppError as exc:
            return {it.ref_id: DataResponse.failure(exc.message, exc.status_code, "plugin") for it in group}
        for it in group:
            q_scope = scope
            if it.model.get("scopedVars"):
                q_scope = Scope({**scope.vars, **Scope.from_json(it.model["scopedVars"]).vars})
            try:
                model = dict(it.model)
                if first.builtin == "grafana":
                    model.setdefault("scenarioId", "random_walk")
                prepared.append(
                    plugin.prepare(
                        inst,
                        DataQuery(it.ref_id, model, it.time_range, it.interval_ms, it.max_data_points),
                        q_scope,
                        self.generic_builtins(it),
                    )
                )
            except InterpolationError as exc:
                out[it.ref_id] = DataResponse.failure(str(exc), 400, "plugin")
            except AppError as exc:
                out[it.ref_id] = DataResponse.failure(exc.message, exc.status_code, "plugin")
        if not prepared:
            return out
        try:
            async with asyncio.timeout(self.timeout + 1):
                out.update(await plugin.query(inst, prepared))
        except TimeoutError:
            for q in prepared:
                out.setdefault(
                    q.ref_id, DataResponse.failure(f"query timed out after {self.timeout:g}s", 504)
                )
        except AppError as exc:
            for q in prepared:
                out.setdefault(q.ref_id, DataResponse.failure(exc.message, exc.status_code))
        except Exception as exc:
            log.exception("query on data source %s failed", inst.ds.uid)
            for q in prepared:
                out.setdefault(
                    q.ref_id, DataResponse.failure(f"query failed: {exc.__class__.__name__}", 500, "plugin")
                )
        for q in prepared:
            out.setdefault(q.ref_id, DataResponse(frames=[]))
        return out

    async def query(self, org_id: int, body: Any) -> dict[str, DataResponse]:
        """``POST /api/ds/query``: parse, resolve every data source, run; per-refId results."""
        items, scope = await self.parse_request(org_id, body)
        return await self.execute(items, scope)

    # -- variable queries -----------------------------------------------------------------------

    async def metric_find(
        self, org_id: int, ds: DataSource, query: Any, tr: TimeRange, scope: Scope
    ) -> list[dict[str, Any]]:
        plugin = self.require_plugin(ds)
        inst = self.instance(ds)
        async with asyncio.timeout(self.timeout + 1):
            return await plugin.metric_find(inst, query, tr, scope)

    # -- alerting -------------------------------------------------------------------------------

    async def evaluate_rule_queries(
        self,
        org_id: int,
        data: list[dict[str, Any]],
        now: int | None = None,
        resolver: RuleResolver | None = None,
    ) -> dict[str, RuleResult]:
        """Run an alert rule's ``data`` (Grafana's AlertQuery list) at ``now`` (epoch ms).

        Each entry: ``{refId, relativeTimeRange: {from: s, to: s}, datasourceUid, model}``;
        ``datasourceUid`` ``__expr__`` marks an expression. Returns refId → values (expression
        Numbers/Series) or an error. Raises AppError(404) when a data source is missing.
        ``resolver`` stands in for ``resolve`` (the alerting engine's per-replica record cache).
        """
        now_value = now if now is not None else now_ms(self.clock)
        items: list[QueryItem] = []
        for entry in data:
            model = dict(entry.get("model") or {})
            ref_id = str(entry.get("refId") or model.get("refId") or "A")
            rel = entry.get("relativeTimeRange") or {}
            frm = int(rel.get("from", 600) or 0)
            to = int(rel.get("to", 0) or 0)
            tr = TimeRange(now_value - frm * 1000, now_value - to * 1000)
            uid = entry.get("datasourceUid") or (model.get("datasource") or {}).get("uid")
            ref = {"uid": uid, "type": (model.get("datasource") or {}).get("type")}
            if resolver is not None:
                ds, special = await resolver(org_id, ref)
            else:
                ds, special = await self.resolve(org_id, ref, None, Scope())
            model.setdefault("intervalMs", 1000)
            model.setdefault("maxDataPoints", 43200)
            items.append(self._item(ref_id, model, tr, ds, special))
        responses = await self.execute(items, Scope())
        out: dict[str, RuleResult] = {}
        for ref_id, resp in responses.items():
            if resp.error is not None:
                out[ref_id] = RuleResult(error=resp.error, frames=resp.frames)
                continue
            try:
                values = expressions.frames_to_values(resp.frames)
            except expressions.ExpressionError as exc:
                out[ref_id] = RuleResult(error=str(exc), frames=resp.frames)
                continue
            out[ref_id] = RuleResult(values=values, frames=resp.frames)
        return out
