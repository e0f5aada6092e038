"""The web UI's built files (from ``frontend/``) and safe access to them.

``make build`` (or ``npm run build`` in ``frontend/``) writes ``static/``; wheels ship it, so an
installed Vigil needs no Node.js. Nothing outside ``static/`` is ever served.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Pages the single-page app answers, at Grafana's URLs (prefixes end with "/").
SPA_PAGES = (
    "/",
    "/login",
    "/profile",
    "/dashboards",
    "/dashboard/new",
    "/dashboard/import",
    "/connections",
    "/alerting",
    "/admin",
    "/org",
)
SPA_PREFIXES = ("/d/", "/dashboards/", "/connections/", "/alerting/", "/admin/", "/org/")


@dataclass(frozen=True)
class Asset:
    path: Path
    media_type: str
    immutable: bool


_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}


def resolve_asset(relative: str, root: Path = STATIC_DIR) -> Asset | None:
    """The file under ``root`` that ``relative`` names, or None.

    Refuses anything that could leave the folder: empty or absolute paths, ``..`` segments,
    backslashes, NUL bytes, hidden files, and symlinks that resolve elsewhere.
    """
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        return None
    parts = relative.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    try:
        base = root.resolve(strict=True)
        candidate = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    media = _TYPES.get(candidate.suffix.lower())
    if media is None:
        return None
    immutable = len(parts) > 1 and parts[0] == "assets"
    return Asset(candidate, media, immutable)


def is_spa_page(path: str) -> bool:
    return path in SPA_PAGES or path.startswith(SPA_PREFIXES)


class IndexPage:
    """index.html read from disk, re-read when the file changes (a rebuild during development)."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.file = root / "index.html"
        self._cache: tuple[float, bytes] | None = None

    def body(self) -> bytes | None:
        try:
            mtime = self.file.stat().st_mtime
        except OSError:
            return None
        if self._cache is None or self._cache[0] != mtime:
            self._cache = (mtime, self.file.read_bytes())
        return self._cache[1]


NOT_BUILT = (
    b"<!doctype html><meta charset=utf-8><title>Vigil</title>"
    b"<h1>The web UI is not built</h1><p>Run <code>make build</code> (Node.js 20 or newer) in the "
    b"source tree, or install Vigil from a wheel, which ships the built UI. The HTTP API works "
    b"without it.</p>"
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
