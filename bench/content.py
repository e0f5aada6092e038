"""Content API at scale: /api/search over 10,000 dashboards in 500 folders, and GET of one dashboard.

Starts, all on 127.0.0.1:
- one ``vigil server`` replica (default settings, one worker) on a fresh PostgreSQL database that
  this script creates and drops, filled through the HTTP API with 500 folders and 10,000 dashboards
  (each with tags and a few panels, 20 to a folder);
- the floor: bare Starlette on uvicorn (bench/floor.py) serving the exact bytes of one dashboard's
  GET reply.
Then it prints, and writes to bench/results/content.json:
- p50/p99 latency of ``GET /api/search`` by title substring (50 hits), by tag (about 100 hits) and by
  folder (20 hits), one request at a time on a kept-alive connection, as a Viewer (permission
  filtering on, every folder readable through the default role items) and as an Admin (target p50 <
  20 ms);
- requests/s of ``GET /api/dashboards/uid/:uid`` with a Viewer's Bearer token, wrk cycling over 1,000
  dashboards, as a ratio of the floor measured in the same run, in interleaved rounds after a warm-up
  (each dashboard read once, then 2 seconds of wrk on each; target >= 25 %),
  with requests per server CPU-second, which depend less on what else the machine is doing.

Environment: VIGIL_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test),
BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 32), BENCH_ROUNDS (default 3),
BENCH_DASHBOARDS (default 10000), BENCH_FOLDERS (default 500), BENCH_SEARCHES (default 200 a kind).
BENCH_DATABASE_URL names a PostgreSQL database to use instead of a fresh one: it is filled only if it
holds no bench dashboards yet, and kept afterwards (for repeated runs while optimising).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
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

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from run import (  # noqa: E402
    CONNECTIONS,
    ROUNDS,
    SECONDS,
    _ms,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    median,
    start_vigil,
    stop,
    wait_http,
)

DASHBOARDS = int(os.environ.get("BENCH_DASHBOARDS", "10000"))
FOLDERS = int(os.environ.get("BENCH_FOLDERS", "500"))
SEARCHES = int(os.environ.get("BENCH_SEARCHES", "200"))
TARGETS = {"search_p50_ms": 20.0, "get_ratio": 0.25}
TEAMS = [
    "payments", "checkout", "search", "identity", "billing", "catalog", "shipping", "ledger", "gateway",
    "storage", "network", "compute", "mobile", "web", "data", "ml", "security", "support", "growth", "infra",
]  # fmt: skip
KINDS = [
    "api",
    "database",
    "queue",
    "cache",
    "workers",
    "frontend",
    "cluster",
    "latency",
    "errors",
    "capacity",
]
TAGS = [f"tag-{n:03d}" for n in range(200)]  # two a dashboard: about 100 dashboards a tag


def title_of(n: int) -> str:
    # TEAMS x KINDS = 200 pairs, 50 dashboards each; n keeps titles unique in a folder
    return f"{TEAMS[n % 20].title()} {KINDS[(n // 20) % 10]} {n:05d}"


def dashboard_model(n: int) -> dict[str, Any]:
    ds = {"type": "prometheus", "uid": "prom"}
    steps = [{"color": "green", "value": None}, {"color": "red", "value": 80}]
    panels = [
        {
            "id": p + 1,
            "type": "timeseries" if p % 2 == 0 else "stat",
            "title": f"Panel {p + 1}",
            "gridPos": {"x": (p % 2) * 12, "y": (p // 2) * 8, "w": 12, "h": 8},
            "datasource": ds,
            "targets": [
                {"refId": "A", "datasource": ds, "expr": f'sum(rate(http_requests_total{{n="{p}"}}[5m]))'}
            ],
            "fieldConfig": {
                "defaults": {"unit": "reqps", "thresholds": {"mode": "absolute", "steps": steps}},
                "overrides": [],
            },
            "options": {"legend": {"showLegend": True}, "tooltip": {"mode": "single"}},
        }
        for p in range(6)
    ]
    return {
        "title": title_of(n),
        "tags": [TAGS[n % 200], TAGS[(n * 7 + 3) % 200]],
        "timezone": "browser",
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "schemaVersion": 39,
        "templating": {
            "list": [{"name": "job", "type": "query", "datasource": ds, "query": "label_values(up, job)"}]
        },
        "panels": panels,
    }


async def tokens(env: dict[str, str]) -> tuple[str, str]:
    """An Admin and a Viewer service-account token, made with Vigil's services on the bench database."""
    from vigil.app import build_services
    from vigil.config import Config

    s = build_services(Config.load(None, env, []))
    try:
        out = []
        for role in ("Admin", "Viewer"):
            sa_id = await s.service_accounts.create(
                1, f"bench-{role.lower()}-{secrets.token_hex(3)}", role=role
            )
            out.append((await s.service_accounts.add_token(1, sa_id, "bench")).key)
        return out[0], out[1]
    finally:
        await s.db.dispose()


async def fill(base: str, admin: str) -> float:
    """500 folders and 10,000 dashboards through the HTTP API, 8 requests at a time."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:

        async def run(jobs: list[tuple[str, dict[str, Any]]]) -> None:
            queue = list(reversed(jobs))

            async def worker() -> None:
                while queue:
                    path, body = queue.pop()
                    r = await c.post(path, json=body)
                    if r.status_code != 200:
                        raise SystemExit(f"bench: {path} answered {r.status_code}: {r.text}")

            await asyncio.gather(*(worker() for _ in range(8)))

        folders = [
            ("/api/folders", {"uid": f"f{k:03d}", "title": f"{TEAMS[k % 20].title()} folder {k:03d}"})
            for k in range(FOLDERS)
        ]
        await run(folders)
        dashboards = [
            (
                "/api/dashboards/db",
                {"dashboard": {**dashboard_model(n), "uid": f"d{n:05d}"}, "folderUid": f"f{n % FOLDERS:03d}"},
            )
            for n in range(DASHBOARDS)
        ]
        await run(dashboards)
    return time.monotonic() - started


async def analyze(db_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(db_url.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def latencies(base: str, token: str, paths: list[str]) -> dict[str, Any]:
    """Each path requested once, one at a time on one kept-alive connection: p50/p99 in ms."""
    times: list[float] = []
    hits: list[int] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        for path in paths[:10]:  # warm-up
            c.get(path)
        for path in paths:
            t0 = time.perf_counter()
            r = c.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"bench: {path} answered {r.status_code}: {r.text}")
            hits.append(len(r.json()))
    times.sort()
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
        "mean_hits": round(statistics.mean(hits), 1),
    }


def wrk(
    url: str, headers: dict[str, str] | None, script: Path | None, pid: int, seconds: int = SECONDS
) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script is not None:
        cmd += ["-s", str(script)]
    before = cpu_seconds(pid)
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "requests": total,
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1),  # type: ignore[union-attr]
        "p50_ms": round(_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)), 3),  # type: ignore[union-attr]
        "p99_ms": round(_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)), 3),  # type: ignore[union-attr]
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "server_cpu_s": round(used, 2),
        "requests_per_cpu_s": round(total / used, 1) if used > 0 else None,
    }


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench: wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    given = os.environ.get("BENCH_DATABASE_URL")
    db_url, db_name = (given, None) if given else asyncio.run(create_database())
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-content-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        vigil, base, env = start_vigil(db_url, tmp, "bench-content")
        procs.append(vigil)
        admin, viewer = asyncio.run(tokens(env))
        filled = httpx.get(
            f"{base}/api/search",
            params={"dashboardUIDs": f"d{DASHBOARDS - 1:05d}"},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()
        fill_s: float | None = None
        if filled:
            print(f"reusing the {DASHBOARDS} dashboards of {db_url}", flush=True)
        else:
            print(f"filling: {FOLDERS} folders, {DASHBOARDS} dashboards through the API ...", flush=True)
            fill_s = asyncio.run(fill(base, admin))
            print(f"  filled in {fill_s:.0f} s", flush=True)
        # Table statistics, as autovacuum's analyze gives a real deployment (it is off on some test
        # servers, and would not have run yet right after the fill): without them the planner
        # guesses single-row tables and picks nested loops over 10,000 rows.
        asyncio.run(analyze(db_url))

        rnd = random.Random(7)
        searches = {
            "title": [
                f"/api/search?query={rnd.choice(TEAMS)}%20{rnd.choice(KINDS)}" for _ in range(SEARCHES)
            ],
            "tag": [f"/api/search?tag={rnd.choice(TAGS)}" for _ in range(SEARCHES)],
            "folder": [f"/api/search?folderUIDs=f{rnd.randrange(FOLDERS):03d}" for _ in range(SEARCHES)],
        }
        search: dict[str, dict[str, Any]] = {}
        for who, token in (("viewer", viewer), ("admin", admin)):
            for kind, paths in searches.items():
                search[f"{kind}_{who}"] = latencies(base, token, paths)

        # GET /api/dashboards/uid/:uid over 1,000 dashboards, and the floor serving one reply's bytes
        uids = [f"d{n:05d}" for n in rnd.sample(range(DASHBOARDS), min(1000, DASHBOARDS))]
        (tmp / "paths.txt").write_text("".join(f"/api/dashboards/uid/{u}\n" for u in uids))
        script = tmp / "paths.lua"
        script.write_text(
            "local paths = {}\n"
            f'for line in io.lines("{tmp / "paths.txt"}") do paths[#paths + 1] = line end\n'
            "local i = 0\n"
            "request = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n"
        )
        bearer = {"Authorization": f"Bearer {viewer}"}
        one = httpx.get(f"{base}/api/dashboards/uid/{uids[0]}", headers=bearer)
        assert one.status_code == 200, one.text
        (tmp / "dashboard.json").write_bytes(one.content)
        floor_port = free_port()
        floor = subprocess.Popen(
            [sys.executable, str(HERE / "floor.py"), str(floor_port), str(tmp / "dashboard.json")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        procs.append(floor)
        floor_url = f"http://127.0.0.1:{floor_port}/api/dashboards/uid/{uids[0]}"
        wait_http(floor_url, proc=floor)
        targets = {
            "floor": (floor_url, None, None, floor.pid),
            "get": (f"{base}/api/dashboards/uid/{uids[0]}", bearer, script, vigil.pid),
        }
        # warm-up, as in bench/run.py: the rounds measure a steady state (each dashboard read once,
        # so the replica's read cache holds the 1,000; a first read costs a few queries)
        with httpx.Client(base_url=base, headers=bearer, timeout=30) as c:
            for u in uids:
                assert c.get(f"/api/dashboards/uid/{u}").status_code == 200
        for args in targets.values():
            wrk(*args, seconds=2)
        rounds = []
        for i in range(ROUNDS):
            runs = {name: wrk(*args) for name, args in targets.items()}
            rounds.append(runs)
            print(
                f"  round {i + 1}: " + "  ".join(f"{k} {v['requests_per_s']:.0f}/s" for k, v in runs.items())
            )

        def summary(name: str) -> dict[str, Any]:
            keys = ("requests_per_s", "p50_ms", "p99_ms", "requests_per_cpu_s")
            out = {k: round(median([r[name][k] for r in rounds if r[name][k] is not None]), 3) for k in keys}
            out["non_2xx"] = sum(r[name]["non_2xx"] for r in rounds)
            return out

        def ratio(key: str) -> float:
            return round(median([r["get"][key] / r["floor"][key] for r in rounds if r["get"][key]]), 3)

        result: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average": os.getloadavg()[0],
            },
            "database": "postgresql",
            "content": {
                "dashboards": DASHBOARDS,
                "folders": FOLDERS,
                "fill_seconds": None if fill_s is None else round(fill_s, 1),
            },
            "search": search,
            "wrk": {"connections": CONNECTIONS, "threads": 1, "seconds": SECONDS, "rounds": ROUNDS},
            "dashboard_bytes": len(one.content),
            "floor": summary("floor"),
            "get_dashboard_bearer": summary("get"),
            "get_ratio": ratio("requests_per_s"),
            "get_ratio_per_cpu_s": ratio("requests_per_cpu_s"),
            "targets": TARGETS,
            "rounds": rounds,
        }
        result["meets_targets"] = {
            "search_p50": all(v["p50_ms"] < TARGETS["search_p50_ms"] for v in search.values()),
            "get_ratio": result["get_ratio"] >= TARGETS["get_ratio"],
        }
        out = HERE / "results" / "content.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")

        print()
        print(
            f"{DASHBOARDS} dashboards in {FOLDERS} folders, PostgreSQL, one uvicorn worker, 127.0.0.1,"
            f" {os.cpu_count()} cores, load average {result['machine']['load_average']:.1f}"
        )
        print(f"GET /api/search, one request at a time (target p50 < {TARGETS['search_p50_ms']:.0f} ms):")
        for name, v in search.items():
            print(
                f"  {name:16} p50 {v['p50_ms']:7.2f} ms  p99 {v['p99_ms']:7.2f} ms"
                f"  ({v['requests']} requests, {v['mean_hits']:.0f} hits on average)"
            )
        f, g = result["floor"], result["get_dashboard_bearer"]
        size = len(one.content)
        print(f"wrk -t1 -c{CONNECTIONS} -d{SECONDS}s x {ROUNDS} rounds (medians), {size}-byte dashboard:")

        def row(label: str, v: dict[str, Any]) -> str:
            return (
                f"  {label:38}{v['requests_per_s']:>8.0f} req/s  p50 {v['p50_ms']:7.2f} ms"
                f"  {v['requests_per_cpu_s']:>8.0f} req/CPU-s"
            )

        print(row("floor (bare Starlette, same bytes)", f))
        print(
            row("GET /api/dashboards/uid/:uid (Bearer)", g) + f"  {result['get_ratio']:6.1%} of floor"
            f" (target >= {TARGETS['get_ratio']:.0%}); per CPU-s {result['get_ratio_per_cpu_s']:6.1%}"
        )
        print(f"written to {out.relative_to(ROOT)}")
        return 0
    finally:
        for p in reversed(procs):
            stop(p)
        if db_name is not None:
            asyncio.run(drop_database(db_name))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
