"""Session validation cost per provider, and requests/s through HAProxy for 1 and 3 replicas.

``python bench/sessions.py`` (heavy; not part of ``make test``):

1. In process, one app per provider (database on PostgreSQL, redis, memcached, file) with
   ``[auth] token_cache_seconds = 0`` so that every request validates its cookie in the store:
   - the unauthenticated floor: ``GET /api/user`` without credentials (same routing, no store);
   - ``GET /api/user`` with a session cookie;
   - ``store.lookup(token)`` alone;
   each as µs p50/p99 over interleaved samples, and the store round trips per cookie request,
   counted at the store (Memcached ``stats``, SQL statements on
   the session table; Redis commands sent by the store's client, a Lua script counting once).
   Target: at most one round trip.
2. ``vigil cluster up`` machinery: 1 and then 3 replicas (Redis sessions, PostgreSQL) behind HAProxy,
   loaded by wrk with a session cookie on ``GET /api/user`` (default [auth] cache of 1 s).

Environment: VIGIL_TEST_POSTGRES_URL, VIGIL_TEST_REDIS_URL, BENCH_SAMPLES (default 2000),
BENCH_SECONDS (wrk duration, default 8), BENCH_CONNECTIONS (default 32). Results go to
bench/results/sessions.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import event

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from vigil.app import create_app  # noqa: E402
from vigil.cluster.local import ClusterSpec, LocalCluster, port_free  # noqa: E402
from vigil.config import Config  # noqa: E402

POSTGRES_URL = os.environ.get("VIGIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "2000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))


async def create_pg() -> tuple[str, Any]:
    import asyncpg

    name = "vigil_bench_" + secrets.token_hex(4)
    admin = POSTGRES_URL.replace("postgresql://", "postgres://", 1)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()

    async def drop() -> None:
        c = await asyncpg.connect(admin)
        await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await c.close()

    return urlsplit(POSTGRES_URL)._replace(path="/" + name).geturl(), drop


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class RoundTrips:
    """Counts a store's round trips from the store's own statistics."""

    def __init__(self, provider: str, app: Any) -> None:
        self.provider = provider
        self.app = app
        self.sql = 0
        self.redis_calls = 0
        if provider == "redis":
            client = app.services.sessions.client
            original = client.execute_command

            async def counted(*args: Any, **kwargs: Any) -> Any:
                self.redis_calls += 1  # one request/answer on the wire (a script counts once)
                return await original(*args, **kwargs)

            client.execute_command = counted
        if provider == "database":
            engine = app.services.db.engine.sync_engine

            @event.listens_for(engine, "before_cursor_execute")
            def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                if "user_auth_token" in statement:
                    self.sql += 1

    async def read(self) -> int:
        store = self.app.services.sessions
        if self.provider == "database":
            return self.sql
        if self.provider == "redis":
            return self.redis_calls
        if self.provider == "memcached":
            stats = await asyncio.to_thread(store.client.stats)
            keys = (b"cmd_get", b"cmd_set", b"cmd_touch", b"delete_hits", b"delete_misses")
            return sum(int(stats.get(k, 0)) for k in keys)
        return 0


async def provider_costs(db_url: str, tmp: Path, memcached_port: int) -> list[dict[str, Any]]:
    prefix = f"bench{secrets.token_hex(3)}:"
    providers = {
        "database": "",
        "redis": f"{REDIS_URL}?prefix={prefix}",
        "memcached": f"127.0.0.1:{memcached_port}?prefix={prefix}",
        "file": str(tmp / "file-sessions"),
    }
    out = []
    for provider, pconf in providers.items():
        cfg = Config.load(
            None,
            {},
            {
                "database.url": db_url,
                "paths.data": str(tmp),
                "session.provider": provider,
                "session.provider_config": pconf,
                "auth.token_cache_seconds": "0",
                "server.router_logging": "false",
                "security.admin_password": "admin",
            },
        )
        app = create_app(cfg)
        await app.startup()
        try:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            r = await client.post("/login", json={"user": "admin", "password": "admin"})
            token = r.cookies["vigil_session"]
            client.cookies.clear()
            store = app.services.sessions
            for _ in range(200):  # warm up pools and caches
                await client.get("/api/user", cookies={"vigil_session": token})
                await client.get("/api/user")
            floor: list[float] = []
            cookie: list[float] = []
            lookup: list[float] = []
            counter = RoundTrips(provider, app)
            before = await counter.read()
            for _ in range(SAMPLES):
                t0 = time.perf_counter()
                resp = await client.get("/api/user", cookies={"vigil_session": token})
                cookie.append((time.perf_counter() - t0) * 1e6)
                assert resp.status_code == 200, resp.text
            after = await counter.read()
            for _ in range(SAMPLES):
                t0 = time.perf_counter()
                resp = await client.get("/api/user")
                floor.append((time.perf_counter() - t0) * 1e6)
                assert resp.status_code == 401
                t0 = time.perf_counter()
                found = await store.lookup(token)
                lookup.append((time.perf_counter() - t0) * 1e6)
                assert found is not None
            stats_overhead = 1 if provider == "memcached" else 0  # the stats call itself
            row = {
                "provider": provider,
                "floor_p50_us": round(pct(floor, 0.5)),
                "floor_p99_us": round(pct(floor, 0.99)),
                "cookie_p50_us": round(pct(cookie, 0.5)),
                "cookie_p99_us": round(pct(cookie, 0.99)),
                "validation_p50_us": round(pct(cookie, 0.5) - pct(floor, 0.5)),
                "lookup_p50_us": round(pct(lookup, 0.5)),
                "lookup_p99_us": round(pct(lookup, 0.99)),
                "round_trips_per_request": round((after - before - stats_overhead) / SAMPLES, 2)
                if provider != "file"
                else 0.0,
            }
            out.append(row)
            print(
                f"{provider:>10}: floor p50 {row['floor_p50_us']:>6} µs p99 {row['floor_p99_us']:>6} | "
                f"cookie p50 {row['cookie_p50_us']:>6} µs p99 {row['cookie_p99_us']:>6} | "
                f"store lookup p50 {row['lookup_p50_us']:>5} µs p99 {row['lookup_p99_us']:>6} | "
                f"store round trips/request {row['round_trips_per_request']}",
                flush=True,
            )
            await client.aclose()
        finally:
            await app.shutdown()
    return out


def free_block(n: int) -> int:
    for base in range(24000, 32000, 17):  # below the ephemeral range
        if all(port_free(base + i) for i in range(n)):
            return base
    raise SystemExit("no free ports")


def wrk(url: str, cookie: str) -> dict[str, float]:
    out = subprocess.run(
        [
            shutil.which("wrk") or "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--latency",
            "-H",
            f"Cookie: vigil_session={cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": round(rps), "non_2xx": int(non2xx.group(1)) if non2xx else 0}


async def through_haproxy(db_url: str, tmp: Path) -> list[dict[str, Any]]:
    rows = []
    for replicas in (1, 3):
        spec = ClusterSpec(
            replicas=replicas,
            db_url=db_url,
            session=f"{REDIS_URL}?prefix=benchc{secrets.token_hex(3)}:",
            port=free_block(replicas + 1),
            run_dir=tmp / f"cluster-{replicas}",
            settings=["server.router_logging=false", "log.level=warning", "security.admin_password=admin"],
        )
        cluster = LocalCluster(spec, sink=lambda _n, _l: None)
        cluster.start()
        try:
            cluster.wait_healthy(90)
            r = httpx.post(f"{cluster.url}/login", json={"user": "admin", "password": "admin"})
            token = r.cookies["vigil_session"]
            wrk(f"{cluster.url}/api/user", token)  # warm-up
            result = wrk(f"{cluster.url}/api/user", token)
            rows.append({"replicas": replicas, **result})
            print(
                f"HAProxy → {replicas} replica(s), GET /api/user with a cookie: {result['rps']} req/s "
                f"({result['non_2xx']} non-2xx)",
                flush=True,
            )
        finally:
            cluster.stop()
    return rows


async def main() -> None:
    for tool in ("haproxy", "wrk", "memcached"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"bench: {tool} is missing (apt-get install {tool})")
    db_url, drop = await create_pg()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-sessions-"))
    port = free_block(1)
    mc = subprocess.Popen(["memcached", "-u", "root", "-l", "127.0.0.1", "-p", str(port), "-m", "64"])
    try:
        await asyncio.sleep(0.5)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"session validation, {SAMPLES} samples each, in process (cpus {os.cpu_count()}, load {load}):")
        costs = await provider_costs(db_url, tmp, port)
        print(f"wrk, {CONNECTIONS} connections, {SECONDS}s:")
        lb = await through_haproxy(db_url, tmp)
        results = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "samples": SAMPLES,
            "providers": costs,
            "haproxy": lb,
            "median_validation_us": statistics.median(r["validation_p50_us"] for r in costs),
            "load_average_after": os.getloadavg(),
        }
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "sessions.json").write_text(json.dumps(results, indent=2) + "\n")
    finally:
        mc.terminate()
        mc.wait()
        with contextlib.suppress(Exception):
            await drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
