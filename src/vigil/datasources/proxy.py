"""The data-source proxy: ``/api/datasources/proxy/uid/:uid/*`` and ``/proxy/:id/*``.

Forwards a request to the data source's own URL with its credentials injected, after stripping the
caller's Authorization, cookies and Grafana headers. The target can only be under the configured
URL: ``.``/``..`` segments, encoded slashes, dots or backslashes are refused, and a redirect to
another origin is not relayed. Viewers may read (GET, HEAD, and the POSTs the type lists as reads,
such as Prometheus queries) but not change anything.
"""

from __future__ import annotations

import re
import ssl
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response

from vigil.auth.models import Identity
from vigil.datasources.service import DataSourceService
from vigil.datasources.store import DataSource
from vigil.errors import AppError
from vigil.http.outbound import OutboundBlocked

_ENCODED_BAD = re.compile(r"%(2f|5c|2e|00)", re.I)
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "cookie",
}
_DROP_RESPONSE = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "set-cookie",
}
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def proxy_path(raw_path: str, prefix_segments: int) -> str:
    """The path after ``/api/datasources/proxy/uid/<uid>`` (or ``/<id>``), checked for escapes."""
    parts = raw_path.split("/")
    rest = parts[prefix_segments:]
    if any(_ENCODED_BAD.search(p) for p in rest):
        raise AppError.bad_request(
            "invalid proxy path: encoded slashes, dots and backslashes are not allowed"
        )
    from urllib.parse import unquote

    decoded = [unquote(p) for p in rest]
    if any(p in (".", "..") or "\\" in p for p in decoded):
        raise AppError.bad_request("invalid proxy path: '.' and '..' segments are not allowed")
    return "/".join(rest)


def target_url(ds: DataSource, path: str, query: str) -> str:
    base = ds.url.rstrip("/")
    if not base:
        raise AppError.bad_request("the data source has no URL to proxy to")
    url = base + ("/" + path if path else "")
    if query:
        url += "?" + query
    b, t = urlsplit(base), urlsplit(url)
    if (b.scheme, b.hostname, b.port) != (t.scheme, t.hostname, t.port) or not t.path.startswith(b.path):
        raise AppError.bad_request("invalid proxy path: the target is outside the data source URL")
    return url


async def forward(
    service: DataSourceService, who: Identity, ds: DataSource, path: str, request: Request
) -> Response:
    plugin = service.plugin_for(ds.type)
    if plugin is None or not plugin.supports_proxy:
        raise AppError.bad_request(f"data source type {ds.type} cannot be reached through the proxy")
    method = request.method.upper()
    is_read = method in READ_METHODS or (method == "POST" and path.strip("/") in plugin.proxy_read_posts)
    if not who.has_role("Editor") and not is_read:
        raise AppError.forbidden("Access denied: Viewers may only read through the data source proxy")
    url = target_url(ds, path, request.url.query)
    inst = service.instance(ds)
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() not in _HOP and not k.lower().startswith(("x-grafana", "x-vigil"))
    }
    headers.pop("accept-encoding", None)
    headers.update(plugin.proxy_headers(inst))
    body = await request.body()
    client = service.http_client(inst)
    try:
        upstream = await client.request(
            method, url, headers=headers, content=body or None, timeout=service.timeout
        )
    except OutboundBlocked as exc:
        raise AppError.forbidden(str(exc)) from None
    except httpx.InvalidURL as exc:
        raise AppError.bad_request(f"the data source URL is not valid: {exc}") from None
    except httpx.TimeoutException:
        raise AppError(504, f"data source did not answer within {service.timeout:g}s") from None
    except (httpx.HTTPError, ssl.SSLError, OSError) as exc:  # TLS alerts can surface as raw SSLError
        raise AppError(502, f"cannot reach the data source: {exc.__class__.__name__}") from None
    location = upstream.headers.get("location")
    if location and 300 <= upstream.status_code < 400:
        resolved = urlsplit(str(upstream.url.join(location)))
        base = urlsplit(ds.url)
        if (resolved.scheme, resolved.hostname, resolved.port) != (base.scheme, base.hostname, base.port):
            raise AppError(502, "the data source redirected outside its URL; the redirect is not followed")
    out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROP_RESPONSE}
    return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)
