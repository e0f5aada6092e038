"""Browser-facing defences: security headers on every response, the CSRF origin check of
cookie-authenticated writes, and safe redirect targets.

Headers (``[security]``): ``X-Content-Type-Options: nosniff``, ``X-Frame-Options`` (``deny`` or
``sameorigin``, none when ``allow_embedding``), a ``Content-Security-Policy`` whose
``frame-ancestors`` follows the frame setting, and ``Strict-Transport-Security`` when enabled. A
route that sets one of these headers itself keeps its own value.

CSRF: a write (any method but GET, HEAD, OPTIONS) authenticated by the session cookie must come from
Vigil's own origin: its ``Origin`` (or, without one, ``Referer``) must name the host the request was
sent to, the host of ``root_url`` or one of ``csrf_trusted_origins``. A request that names no
origin at all is not a cross-site browser request (browsers send ``Origin`` on every cross-origin
write) unless ``Sec-Fetch-Site`` says so; the cookie's ``SameSite`` attribute is the second line.
Requests with an ``Authorization`` header (Basic, Bearer) carry no ambient credential and are exempt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request

from vigil.errors import AppError

if TYPE_CHECKING:
    from vigil.config import Config

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_IGNORED_IN_URLS = re.compile(r"[\t\n\r]")


def _netloc(url_or_host: str) -> str:
    """``host[:port]`` of an origin, URL or bare host, lower-cased, without a default port."""
    value = url_or_host.strip().lower()
    if "://" in value:
        parts = urlsplit(value)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        port = _DEFAULT_PORTS.get(parts.scheme)
        if port and netloc.endswith(":" + port):
            netloc = netloc[: -len(port) - 1]
        return netloc
    return value.rstrip("/")


def _host_netloc(host: str) -> str:
    host = host.strip().lower()
    for port in _DEFAULT_PORTS.values():
        if host.endswith(":" + port):
            return host[: -len(port) - 1]
    return host


def default_csp(frame_ancestors: str | None) -> str:
    from vigil.web import CSP

    directives = [d.strip() for d in CSP.split(";") if d.strip()]
    directives = [d for d in directives if not d.startswith("frame-ancestors")]
    if frame_ancestors:
        directives.append(f"frame-ancestors {frame_ancestors}")
    return "; ".join(directives)


# The interactive API documentation (FastAPI's Swagger UI) loads its script and styles from a CDN
# and starts with an inline script: it gets its own policy; every other response the strict one.
DOCS_PATHS = frozenset({"/api/docs"})
DOCS_SOURCES = "https://cdn.jsdelivr.net"


def docs_csp(frame_ancestors: str | None) -> str:
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {DOCS_SOURCES}",
        f"style-src 'self' 'unsafe-inline' {DOCS_SOURCES}",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
    ]
    if frame_ancestors:
        directives.append(f"frame-ancestors {frame_ancestors}")
    return "; ".join(directives)


@dataclass(frozen=True)
class SecurityPolicy:
    headers: tuple[tuple[bytes, bytes], ...]
    trusted_origins: frozenset[str]
    docs_headers: tuple[tuple[bytes, bytes], ...] = ()

    @classmethod
    def from_config(cls, config: Config, root_url: str) -> SecurityPolicy:
        headers: list[tuple[str, str]] = []
        if config.get_bool("security", "x_content_type_options"):
            headers.append(("x-content-type-options", "nosniff"))
        frame_ancestors: str | None = None
        if not config.get_bool("security", "allow_embedding"):
            frames = config.get_choice("security", "x_frame_options", ["deny", "sameorigin"])
            headers.append(("x-frame-options", frames.upper()))
            frame_ancestors = "'none'" if frames == "deny" else "'self'"
        docs = list(headers)
        if config.get_bool("security", "content_security_policy"):
            template = config.get("security", "content_security_policy_template").strip()
            headers.append(("content-security-policy", template or default_csp(frame_ancestors)))
            docs.append(("content-security-policy", template or docs_csp(frame_ancestors)))
        if config.get_bool("security", "strict_transport_security"):
            age = config.get_int("security", "strict_transport_security_max_age_seconds", minimum=0)
            headers.append(("strict-transport-security", f"max-age={age}"))
            docs.append(headers[-1])
        trusted = {_netloc(root_url)} if root_url else set()
        trusted.update(
            _netloc(o) for o in re.split(r"[\s,]+", config.get("security", "csrf_trusted_origins")) if o
        )
        return cls(
            tuple((k.encode(), v.encode("latin-1")) for k, v in headers),
            frozenset(t for t in trusted if t),
            tuple((k.encode(), v.encode("latin-1")) for k, v in docs),
        )

    def add_headers(self, headers: list[tuple[bytes, bytes]], path: str = "") -> None:
        """Append each security header the response does not set itself."""
        wanted = self.docs_headers if path in DOCS_PATHS else self.headers
        if not wanted:
            return
        present = {k.lower() for k, _ in headers}
        headers.extend(h for h in wanted if h[0] not in present)

    def check_origin(self, request: Request) -> None:
        """Refuse a cross-site write (403); call it for cookie-authenticated requests only."""
        if request.method in SAFE_METHODS:
            return
        source = request.headers.get("origin")
        if source is None:
            source = request.headers.get("referer")
        if source is None:
            if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
                raise _csrf_refused()
            return
        netloc = "" if source.strip().lower() == "null" else _netloc(source)
        if netloc and (
            netloc == _host_netloc(request.headers.get("host", "")) or netloc in self.trusted_origins
        ):
            return
        raise _csrf_refused()


def _csrf_refused() -> AppError:
    return AppError.forbidden(
        "origin not allowed: a write with the session cookie must come from Vigil's own pages "
        "(cross-site request refused; add the origin to [security] csrf_trusted_origins if it is yours)"
    )


def safe_redirect(target: object, default: str = "/") -> str:
    """``target`` if it is a path on this server, else ``default``: never another origin.

    Browsers drop tabs and newlines inside URLs and read ``\\`` as ``/``, so ``/\\evil.example`` and
    ``/\\t/evil.example`` are ``//evil.example`` to them: cleaned first, then checked.
    """
    if not isinstance(target, str) or not target:
        return default
    cleaned = _IGNORED_IN_URLS.sub("", target).replace("\\", "/")
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return default
    if any(ord(c) < 0x20 or c == "\x7f" for c in cleaned):
        return default
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return default
    return cleaned
