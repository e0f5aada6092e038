"""The registry of data-source types and the contract every type implements.

A type declares its config schema (the UI renders its settings form from it), a health check, a
query method returning frames per refId, optionally variable queries (``metric_find``) and how
template variables are escaped inside its query language.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from vigil.datasources.frames import DataResponse
from vigil.datasources.timerange import TimeRange
from vigil.errors import AppError
from vigil.http.outbound import OutboundGuard

if TYPE_CHECKING:
    import httpx

    from vigil.datasources.store import DataSource
    from vigil.datasources.variables import Scope


@dataclass
class Instance:
    """A data source record with its secrets decrypted, handed to the type for one request."""

    ds: DataSource
    secure: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        return self.ds.json_data


@dataclass
class DataQuery:
    ref_id: str
    model: dict[str, Any]
    time_range: TimeRange
    interval_ms: int
    max_data_points: int

    @property
    def query_type(self) -> str:
        return str(self.model.get("queryType") or "")


@dataclass
class Health:
    ok: bool
    message: str
    details: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "OK" if self.ok else "ERROR", "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


@dataclass
class PluginContext:
    """What every type gets from the service: limits and shared resources."""

    timeout: float
    row_limit: int
    http_client: Callable[[Instance], httpx.AsyncClient]
    sqlite_allowed: Callable[[str], None]
    extra: dict[str, Any] = field(default_factory=dict)
    outbound: OutboundGuard = field(default_factory=OutboundGuard.default)


def config_field(
    key: str,
    label: str,
    kind: str = "string",
    target: str = "jsonData",
    *,
    required: bool = False,
    default: Any = None,
    options: list[str] | None = None,
    description: str = "",
    placeholder: str = "",
) -> dict[str, Any]:
    """One entry of a type's settings form. ``target`` is where the value is stored:
    ``root`` (url, user, database, basicAuth...), ``jsonData`` or ``secureJsonData``."""
    out: dict[str, Any] = {"key": key, "label": label, "type": kind, "target": target, "required": required}
    if default is not None:
        out["default"] = default
    if options:
        out["options"] = options
    if description:
        out["description"] = description
    if placeholder:
        out["placeholder"] = placeholder
    return out


class DataSourcePlugin(abc.ABC):
    type_id: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    name: ClassVar[str] = ""
    category: ClassVar[str] = "tsdb"
    logo: ClassVar[str] = "public/img/icn-datasource.svg"
    config_schema: ClassVar[list[dict[str, Any]]] = []
    needs_url: ClassVar[bool] = False
    # Proxy: types that speak HTTP allow it; POST paths listed here are reads a Viewer may send.
    supports_proxy: ClassVar[bool] = False
    proxy_read_posts: ClassVar[tuple[str, ...]] = ()
    # Model fields in which template variables are interpolated.
    interpolated_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    @abc.abstractmethod
    async def query(self, inst: Instance, queries: list[DataQuery]) -> dict[str, DataResponse]:
        """Run the queries; one response per refId."""

    @abc.abstractmethod
    async def check_health(self, inst: Instance) -> Health:
        """What "Save & test" shows."""

    async def metric_find(
        self, inst: Instance, query: Any, tr: TimeRange, scope: Scope
    ) -> list[dict[str, Any]]:
        raise AppError.bad_request(f"data source type {self.type_id} has no variable queries")

    def prepare(self, inst: Instance, q: DataQuery, scope: Scope, builtins: dict[str, str]) -> DataQuery:
        """The query as it will run: template variables interpolated with the built-ins added.
        Types that compute their own step (Prometheus) override the built-ins here."""
        q.model = self.interpolate(q.model, scope.with_builtins(builtins))
        return q

    def interpolate(self, model: dict[str, Any], scope: Scope) -> dict[str, Any]:
        """Interpolate template variables in ``interpolated_fields`` (the type's escaping)."""
        from vigil.datasources.variables import interpolate_text

        out = dict(model)
        for key in self.interpolated_fields:
            value = out.get(key)
            if isinstance(value, str) and ("$" in value or "[[" in value):
                out[key] = interpolate_text(value, scope, self.escape_context())
        return out

    def proxy_headers(self, inst: Instance) -> dict[str, str]:
        """Credentials of the data source for outgoing HTTP: basic auth and custom headers
        (``jsonData.httpHeaderName<n>`` with ``secureJsonData.httpHeaderValue<n>``)."""
        import base64

        ds = inst.ds
        headers: dict[str, str] = {}
        if ds.basic_auth:
            pw = inst.secure.get("basicAuthPassword", "")
            token = base64.b64encode(f"{ds.basic_auth_user}:{pw}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        i = 1
        while inst.json.get(f"httpHeaderName{i}"):
            headers[str(inst.json[f"httpHeaderName{i}"])] = inst.secure.get(f"httpHeaderValue{i}", "")
            i += 1
        return headers

    def escape_context(self) -> str:
        """Which escaping applies to variable values: ``text``, ``promql`` or ``sql-<dialect>``."""
        return "text"

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.type_id,
            "aliases": list(self.aliases),
            "name": self.name,
            "category": self.category,
            "logo": self.logo,
            "needsUrl": self.needs_url,
            "supportsProxy": self.supports_proxy,
            "config": self.config_schema,
        }

    async def close(self) -> None:
        return None


_TYPES: dict[str, type[DataSourcePlugin]] = {}
_LOADED: list[bool] = []
TYPE_MODULES = ("testdata", "prometheus", "sql")


def register(cls: type[DataSourcePlugin]) -> type[DataSourcePlugin]:
    for tid in (cls.type_id, *cls.aliases):
        _TYPES[tid] = cls
    return cls


def registered() -> dict[str, type[DataSourcePlugin]]:
    """Every known type id (aliases included) → its class. Importing the type modules registers them."""
    if not _LOADED:
        import importlib

        for module in TYPE_MODULES:
            importlib.import_module(f"vigil.datasources.{module}")
        _LOADED.append(True)
    return dict(_TYPES)


def type_name(type_id: str) -> str:
    cls = registered().get(type_id)
    return cls.name if cls else type_id


def type_logo(type_id: str) -> str:
    cls = registered().get(type_id)
    return cls.logo if cls else DataSourcePlugin.logo
