"""Prometheus: instant and range queries with Grafana's step rules, legends, variable queries.

Step (Grafana's rules): the minimum interval is the query's ``interval`` if set, else the request's
``intervalMs``, else the data source's scrape interval (``jsonData.timeInterval``, default 15s);
the step is max(range / maxDataPoints rounded to a nice value — never below that minimum — ,
range / 11000) times ``intervalFactor``, and range queries are aligned to it. ``$__interval`` is
the step, ``$__rate_interval`` is max(intervalMs + scrape, 4 x scrape), ``$__range`` the range in
seconds. Template variables are escaped for PromQL (see ``variables``).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson

from vigil.datasources.frames import DataResponse, Field, Frame, timeseries_meta
from vigil.datasources.registry import (
    DataQuery,
    DataSourcePlugin,
    Health,
    Instance,
    config_field,
    register,
)
from vigil.datasources.timerange import (
    TimeRange,
    calculate_interval_ms,
    format_duration_ms,
    parse_duration_ms,
    safe_interval_ms,
)
from vigil.datasources.variables import InterpolationError, Scope, interpolate_text
from vigil.errors import AppError

_LEGEND = re.compile(r"\{\{\s*(.+?)\s*\}\}")
_RATE_VARS = ("$__rate_interval", "${__rate_interval}")
_INTERVAL_VARS = ("$__interval", "${__interval}")
_STEP_KEY = "_vigilStepMs"


class PromError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _float(v: Any) -> float:
    return float(v)


def series_name(labels: dict[str, str], legend: str, expr: str) -> str:
    if legend and legend != "__auto":
        return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), legend)
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    if not name and not inner:
        return expr
    return f"{name}{{{inner}}}" if inner else name


@register
class PrometheusPlugin(DataSourcePlugin):
    type_id = "prometheus"
    name = "Prometheus"
    category = "tsdb"
    logo = "public/app/plugins/datasource/prometheus/img/prometheus_logo.svg"
    needs_url = True
    supports_proxy = True
    proxy_read_posts = (
        "api/v1/query",
        "api/v1/query_range",
        "api/v1/series",
        "api/v1/labels",
        "api/v1/query_exemplars",
        "api/v1/format_query",
        "api/v1/parse_query",
    )
    config_schema = [
        config_field(
            "url",
            "Prometheus server URL",
            "string",
            "root",
            required=True,
            placeholder="http://localhost:9090",
        ),
        config_field("basicAuth", "Basic authentication", "boolean", "root", default=False),
        config_field("basicAuthUser", "User", "string", "root"),
        config_field("basicAuthPassword", "Password", "secret", "secureJsonData"),
        config_field(
            "timeInterval",
            "Scrape interval",
            "duration",
            default="15s",
            description="Lower bound of $__interval and the base of $__rate_interval",
        ),
        config_field("queryTimeout", "Query timeout", "duration", default="60s"),
        config_field("timeout", "HTTP timeout (seconds)", "number"),
        config_field("httpMethod", "HTTP method", "select", default="POST", options=["POST", "GET"]),
        config_field("customQueryParameters", "Custom query parameters", "string", placeholder="a=b&c=d"),
        config_field("tlsSkipVerify", "Skip TLS certificate verification", "boolean", default=False),
        config_field("tlsAuthWithCACert", "With CA certificate", "boolean", default=False),
        config_field("tlsCACert", "CA certificate (PEM)", "secret", "secureJsonData"),
        config_field("tlsAuth", "TLS client authentication", "boolean", default=False),
        config_field("tlsClientCert", "Client certificate (PEM)", "secret", "secureJsonData"),
        config_field("tlsClientKey", "Client key (PEM)", "secret", "secureJsonData"),
        config_field("httpHeaderName1", "Custom header name (httpHeaderName1…N)", "string"),
        config_field(
            "httpHeaderValue1", "Custom header value (httpHeaderValue1…N)", "secret", "secureJsonData"
        ),
    ]

    def escape_context(self) -> str:
        return "promql"

    # -- HTTP -----------------------------------------------------------------------------------

    def _timeout(self, inst: Instance) -> float:
        t = inst.json.get("timeout")
        if isinstance(t, (int, float)) and t > 0:
            return float(t)
        if isinstance(t, str) and t.strip():
            try:
                return float(t)
            except ValueError:
                pass
        return self.ctx.timeout

    async def call(self, inst: Instance, path: str, params: dict[str, Any] | list[tuple[str, Any]]) -> Any:
        """Call the Prometheus HTTP API; the ``data`` member of a success, else PromError."""
        url = inst.ds.url.rstrip("/") + "/" + path
        items = list(params.items()) if isinstance(params, dict) else list(params)
        custom = inst.json.get("customQueryParameters")
        if isinstance(custom, str) and custom:
            items.extend(parse_qsl(custom))
        qt = inst.json.get("queryTimeout")
        if qt and path in ("api/v1/query", "api/v1/query_range"):
            items.append(("timeout", str(qt)))
        method = str(inst.json.get("httpMethod") or "POST").upper()
        client = self.ctx.http_client(inst)
        headers = self.proxy_headers(inst)
        timeout = self._timeout(inst)
        try:
            if method == "GET" or path.startswith("api/v1/label/"):
                resp = await client.get(url, params=items, headers=headers, timeout=timeout)
            else:
                resp = await client.post(
                    url,
                    content=urlencode(items).encode(),
                    headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
                    timeout=timeout,
                )
        except httpx.InvalidURL as exc:
            raise PromError(f"invalid Prometheus URL {inst.ds.url!r}: {exc}", 400) from None
        except httpx.TimeoutException:
            raise PromError(f"Prometheus did not answer within {timeout:g}s", 504) from None
        except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
            raise PromError(
                f"cannot reach Prometheus at {inst.ds.url}: {exc.__class__.__name__}: {exc}", 502
            ) from None
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            snippet = resp.text[:200].strip()
            raise PromError(
                f"Prometheus answered {resp.status_code} with a non-JSON body: {snippet}", 502
            ) from None
        if not isinstance(body, dict):
            raise PromError("Prometheus answered with an unexpected body", 502)
        if body.get("status") != "success":
            status = resp.status_code if 400 <= resp.status_code < 600 else 400
            if status in (422,):
                status = 400
            raise PromError(str(body.get("error") or f"Prometheus answered {resp.status_code}"), status)
        return body.get("data")

    # -- preparing ------------------------------------------------------------------------------

    def _scrape_ms(self, inst: Instance) -> int:
        try:
            return parse_duration_ms(inst.json.get("timeInterval") or "15s")
        except ValueError:
            return 15_000

    def prepare(self, inst: Instance, q: DataQuery, scope: Scope, builtins: dict[str, str]) -> DataQuery:
        model = dict(q.model)
        scrape = self._scrape_ms(inst)
        raw_interval = str(model.get("interval") or "").strip()
        rate_step = raw_interval in _RATE_VARS
        if raw_interval in _RATE_VARS or raw_interval in _INTERVAL_VARS:
            raw_interval = ""
        if raw_interval:
            raw_interval = interpolate_text(raw_interval, scope, "text")
        try:
            if raw_interval:
                min_interval = parse_duration_ms(raw_interval)
            elif isinstance(model.get("intervalMs"), (int, float)) and model["intervalMs"] > 0:
                min_interval = int(model["intervalMs"])
            else:
                min_interval = scrape
        except ValueError:
            raise InterpolationError(f"invalid interval {raw_interval!r}") from None
        tr = q.time_range
        calculated = calculate_interval_ms(tr, q.max_data_points, min_interval)
        adjusted = max(calculated, safe_interval_ms(tr))
        rate_interval = max(q.interval_ms + scrape, 4 * scrape)
        if rate_step:
            step = rate_interval
        else:
            factor = model.get("intervalFactor")
            factor_n = int(factor) if isinstance(factor, (int, float)) and factor >= 1 else 1
            step = adjusted * factor_n
        range_s = round(tr.duration_ms / 1000)
        local = {
            **builtins,
            "__interval": format_duration_ms(step),
            "__interval_ms": str(step),
            "__rate_interval": format_duration_ms(rate_interval),
            "__rate_interval_ms": str(rate_interval),
            "__range": f"{range_s}s",
            "__range_s": str(range_s),
            "__range_ms": str(tr.duration_ms),
        }
        full = scope.with_builtins(local)
        model["expr"] = interpolate_text(str(model.get("expr") or ""), full, "promql")
        if isinstance(model.get("legendFormat"), str):
            model["legendFormat"] = interpolate_text(model["legendFormat"], full, "text")
        model[_STEP_KEY] = step
        q.model = model
        return q

    # -- querying -------------------------------------------------------------------------------

    async def query(self, inst: Instance, queries: list[DataQuery]) -> dict[str, DataResponse]:
        results = await asyncio.gather(*(self._one(inst, q) for q in queries))
        return {q.ref_id: r for q, r in zip(queries, results, strict=True)}

    async def _one(self, inst: Instance, q: DataQuery) -> DataResponse:
        m = q.model
        expr = str(m.get("expr") or "").strip()
        if not expr:
            return DataResponse(frames=[])
        instant = bool(m.get("instant"))
        rng = bool(m.get("range")) or not instant
        step = int(m.get(_STEP_KEY) or 15_000)
        frames: list[Frame] = []
        try:
            if rng:
                start = (q.time_range.from_ms // step) * step
                end = (q.time_range.to_ms // step) * step
                data = await self.call(
                    inst,
                    "api/v1/query_range",
                    {"query": expr, "start": _secs(start), "end": _secs(end), "step": _secs(step)},
                )
                frames.extend(self.to_frames(q, data, expr, step, "range"))
            if instant:
                data = await self.call(
                    inst, "api/v1/query", {"query": expr, "time": _secs(q.time_range.to_ms)}
                )
                frames.extend(self.to_frames(q, data, expr, step, "instant"))
        except PromError as exc:
            return DataResponse.failure(exc.message, exc.status)
        return DataResponse(frames=frames)

    def to_frames(self, q: DataQuery, data: Any, expr: str, step: int, kind: str) -> list[Frame]:
        if not isinstance(data, dict):
            raise PromError("Prometheus answered without data", 502)
        rtype = data.get("resultType")
        result = data.get("result")
        legend = str(q.model.get("legendFormat") or "")
        fmt = str(q.model.get("format") or "time_series")
        executed = f"Expr: {expr}\nStep: {format_duration_ms(step)}"
        meta = timeseries_meta(
            "timeseries-multi" if kind == "range" else "numeric-multi",
            executed,
            custom={"resultType": rtype},
        )
        if rtype in ("scalar", "string"):
            t, v = (
                result if isinstance(result, list) and len(result) == 2 else (q.time_range.to_ms / 1000, None)
            )
            value = _float(v) if rtype == "scalar" and v is not None else v
            field = Field.number([value], "Value") if rtype == "scalar" else Field.string([value], "Value")
            return [
                Frame([Field.time([round(float(t) * 1000)]), field], name=expr, ref_id=q.ref_id, meta=meta)
            ]
        if not isinstance(result, list):
            raise PromError("Prometheus answered with an unexpected result", 502)
        if not result:
            return [Frame([], ref_id=q.ref_id, meta=meta)]
        if fmt == "table":
            return [self._table(q, result, rtype, meta)]
        if fmt == "heatmap" and rtype == "matrix":
            return [self._heatmap(q, result, meta)]
        frames: list[Frame] = []
        for series in result:
            labels = {str(k): str(v) for k, v in (series.get("metric") or {}).items()}
            if rtype == "matrix":
                points = series.get("values") or []
            else:
                points = [series.get("value")] if series.get("value") else []
            times = [round(p[0] * 1000) for p in points]
            values = [float(p[1]) for p in points]
            name = series_name(labels, legend, expr)
            frames.append(
                Frame(
                    [
                        Field.time(times),
                        Field.number(values, "Value", labels or None, {"displayNameFromDS": name}),
                    ],
                    name=name,
                    ref_id=q.ref_id,
                    meta=meta
                    if not frames
                    else {k: v for k, v in meta.items() if k != "executedQueryString"},
                )
            )
        return frames

    def _table(self, q: DataQuery, result: list[Any], rtype: Any, meta: dict[str, Any]) -> Frame:
        keys = sorted({str(k) for s in result for k in (s.get("metric") or {})})
        times: list[int] = []
        values: list[float] = []
        cols: dict[str, list[str]] = {k: [] for k in keys}
        for s in result:
            labels = s.get("metric") or {}
            points = (
                s.get("values") or [] if rtype == "matrix" else ([s.get("value")] if s.get("value") else [])
            )
            for p in points:
                times.append(round(p[0] * 1000))
                values.append(_float(p[1]))
                for k in keys:
                    cols[k].append(str(labels.get(k, "")))
        fields = [Field.time(times)] + [Field.string(cols[k], k) for k in keys]
        fields.append(Field.number(values, f"Value #{q.ref_id}"))
        return Frame(fields, ref_id=q.ref_id, meta={**meta, "type": "table"})

    def _heatmap(self, q: DataQuery, result: list[Any], meta: dict[str, Any]) -> Frame:
        def le(s: Any) -> float:
            try:
                return float((s.get("metric") or {}).get("le", "+Inf"))
            except ValueError:
                return float("inf")

        ordered = sorted(result, key=le)
        times = sorted({round(p[0] * 1000) for s in ordered for p in s.get("values") or []})
        index = {t: i for i, t in enumerate(times)}
        fields = [Field.time(times)]
        previous: list[float | None] = [0.0] * len(times)
        for s in ordered:
            cum: list[float | None] = [None] * len(times)
            for p in s.get("values") or []:
                cum[index[round(p[0] * 1000)]] = float(p[1])
            # Buckets are cumulative: a row's count is its bucket minus the one below (never < 0).
            counts: list[float | None] = [
                None if c is None else max(0.0, c - (prev or 0.0))
                for c, prev in zip(cum, previous, strict=True)
            ]
            previous = [c if c is not None else prev for c, prev in zip(cum, previous, strict=True)]
            name = str((s.get("metric") or {}).get("le", "+Inf"))
            fields.append(Field.number(counts, name, {"le": name}))
        return Frame(fields, ref_id=q.ref_id, meta={**meta, "type": "heatmap-rows"})

    # -- health and variables -------------------------------------------------------------------

    async def check_health(self, inst: Instance) -> Health:
        if not inst.ds.url:
            return Health(False, "Prometheus: no URL configured")
        try:
            data = await self.call(inst, "api/v1/query", {"query": "1+1", "time": _secs(_now_ms())})
        except PromError as exc:
            return Health(False, f"There was an error returned querying the Prometheus API: {exc.message}")
        if not isinstance(data, dict) or data.get("resultType") != "scalar":
            return Health(False, "Prometheus answered 1+1 with an unexpected result")
        return Health(True, "Successfully queried the Prometheus API.")

    async def metric_find(
        self, inst: Instance, query: Any, tr: TimeRange, scope: Scope
    ) -> list[dict[str, Any]]:
        text = query.get("query") if isinstance(query, dict) else query
        if not isinstance(text, str):
            raise AppError.bad_request("bad request data: query must be a string")
        builtins = {
            "__range": f"{round(tr.duration_ms / 1000)}s",
            "__range_s": str(round(tr.duration_ms / 1000)),
            "__range_ms": str(tr.duration_ms),
        }
        try:
            expr = interpolate_text(text.strip(), scope.with_builtins(builtins), "promql")
        except InterpolationError as exc:
            raise AppError.bad_request(str(exc)) from None
        window = [("start", _secs(tr.from_ms)), ("end", _secs(tr.to_ms))]
        try:
            values = await self._find(inst, expr, window, tr)
        except PromError as exc:
            raise AppError(400 if exc.status < 500 else 502, f"Prometheus: {exc.message}") from None
        return [{"text": v, "value": v} for v in values]

    async def _find(
        self, inst: Instance, expr: str, window: list[tuple[str, str]], tr: TimeRange
    ) -> list[str]:
        m = re.fullmatch(r"label_names\(\s*(.*?)\s*\)", expr, re.S)
        if m:
            params = list(window) + ([("match[]", m.group(1))] if m.group(1) else [])
            return [str(v) for v in (await self.call(inst, "api/v1/labels", params) or [])]
        m = re.fullmatch(r"label_values\((?:(.+),)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", expr, re.S)
        if m:
            selector, label = (m.group(1) or "").strip(), m.group(2)
            params = list(window) + ([("match[]", selector)] if selector else [])
            data = await self.call(inst, f"api/v1/label/{label}/values", params)
            return [str(v) for v in (data or [])]
        m = re.fullmatch(r"metrics\((.*)\)", expr, re.S)
        if m:
            pattern = m.group(1).strip()
            names = await self.call(inst, "api/v1/label/__name__/values", list(window))
            try:
                rx = re.compile(pattern)
            except re.error:
                raise PromError(f"invalid regular expression {pattern!r}") from None
            return [str(n) for n in names or [] if rx.search(str(n))]
        m = re.fullmatch(r"query_result\((.+)\)", expr, re.S)
        if m:
            data = await self.call(inst, "api/v1/query", {"query": m.group(1), "time": _secs(tr.to_ms)})
            return _query_result_texts(data)
        # Anything else is a series selector: the names of matching series.
        data = await self.call(inst, "api/v1/series", [*window, ("match[]", expr)])
        out = []
        for s in data or []:
            labels = {k: v for k, v in s.items() if k != "__name__"}
            out.append(series_name({**labels, "__name__": s.get("__name__", "")}, "", expr))
        return out


def _query_result_texts(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    rtype, result = data.get("resultType"), data.get("result")
    if rtype in ("scalar", "string") and isinstance(result, list) and len(result) == 2:
        return [f"{rtype} {result[1]} {round(float(result[0]) * 1000)}"]
    out = []
    for s in result or []:
        metric = dict(s.get("metric") or {})
        name = metric.pop("__name__", "")
        inner = ",".join(f'{k}="{v}"' for k, v in metric.items())
        point = s.get("value") or (s.get("values") or [[0, ""]])[-1]
        out.append(f"{name}{{{inner}}} {point[1]} {round(float(point[0]) * 1000)}")
    return out


def _secs(ms: int) -> str:
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".")


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
