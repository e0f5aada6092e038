"""The web UI's files: index.html at Grafana's page URLs, assets under /public/, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Replica
from vigil.web import STATIC_DIR, IndexPage, is_spa_page, resolve_asset


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=app></div>")
    (root / "boot.js").write_text("1")
    (root / "assets" / "index-abc.js").write_text("console.log(1)")
    (root / ".hidden.js").write_text("secret")
    (tmp_path / "outside.js").write_text("outside")
    os.symlink(tmp_path / "outside.js", root / "assets" / "link.js")
    return root


def test_assets_inside_the_static_folder_resolve_with_their_type(static_root: Path) -> None:
    asset = resolve_asset("assets/index-abc.js", static_root)
    assert asset is not None
    assert asset.media_type.startswith("text/javascript")
    assert asset.immutable
    boot = resolve_asset("boot.js", static_root)
    assert boot is not None and not boot.immutable


@pytest.mark.parametrize(
    "path",
    [
        "../outside.js",
        "assets/../../outside.js",
        "/etc/passwd",
        "assets\\..\\..\\outside.js",
        "assets/link.js",
        ".hidden.js",
        "assets/%2e%2e/x.js",
        "",
        "assets",
        "index.html\x00.js",
        "assets/./index-abc.js",
    ],
)
def test_paths_that_leave_the_static_folder_or_hide_are_refused(static_root: Path, path: str) -> None:
    assert resolve_asset(path, static_root) is None


def test_an_unknown_file_type_is_not_served(static_root: Path) -> None:
    (static_root / "notes.py").write_text("x = 1")
    assert resolve_asset("notes.py", static_root) is None


def test_index_page_is_reread_after_a_rebuild(static_root: Path) -> None:
    page = IndexPage(static_root)
    assert page.body() == b"<!doctype html><div id=app></div>"
    index = static_root / "index.html"
    index.write_text("<!doctype html>v2")
    os.utime(index, (index.stat().st_atime + 5, index.stat().st_mtime + 5))
    assert page.body() == b"<!doctype html>v2"
    assert IndexPage(static_root / "missing").body() is None


def test_page_urls_are_grafanas() -> None:
    for path in ["/", "/login", "/d/abc/slug", "/dashboards", "/dashboard/new", "/dashboard/import"]:
        assert is_spa_page(path)
    for path in ["/connections/datasources", "/alerting/list", "/admin/users", "/admin/cluster", "/profile"]:
        assert is_spa_page(path)
    assert not is_spa_page("/api/health")
    assert not is_spa_page("/public/boot.js")


built = pytest.mark.skipif(
    not (STATIC_DIR / "index.html").exists(), reason="web UI not built: run `make build` (make test does)"
)


@built
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/d/some-uid/some-slug",
        "/dashboards",
        "/dashboard/new",
        "/dashboard/import",
        "/connections/datasources",
        "/alerting/list",
        "/admin/users",
        "/admin/cluster",
        "/profile",
    ],
)
async def test_every_page_url_answers_the_app_with_a_strict_policy(
    sqlite_replica: Replica, path: str
) -> None:
    r = await sqlite_replica.client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<div id="app">' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["x-content-type-options"] == "nosniff"


@built
async def test_built_assets_are_served_cacheable_and_nothing_outside(sqlite_replica: Replica) -> None:
    index = (STATIC_DIR / "index.html").read_text()
    js = index.split('src="/public/assets/')[1].split('"')[0]
    r = await sqlite_replica.client.get(f"/public/assets/{js}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "immutable" in r.headers["cache-control"]
    for bad in [
        "/public/../defaults.ini",
        "/public/%2e%2e/defaults.ini",
        "/public/..%2fdefaults.ini",
        "/public/assets/../../__init__.py",
        "/public/web/__init__.py",
        "/public/nope.js",
    ]:
        r = await sqlite_replica.client.get(bad)
        assert r.status_code == 404, bad
        assert r.json() == {"message": "Not found"}


async def test_the_api_keeps_answering_json_beside_the_pages(sqlite_replica: Replica) -> None:
    r = await sqlite_replica.client.get("/api/user")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/json")
