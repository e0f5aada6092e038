"""``make bench``: Vigil's hot paths against the floor of any Python server here, in the same run.

Starts, all on 127.0.0.1:
- the floor: a bare Starlette app on uvicorn (one worker) serving the exact bytes of /api/health;
- one ``vigil server`` replica (default settings, one worker) on a fresh PostgreSQL database that
  this script creates and drops;
then loads each with wrk (32 connections, one wrk thread) and prints requests/s, p50 and p99 for the
floor, ``GET /api/health`` and ``GET /api/user`` with a service-account Bearer token, the ratios to
the floor (targets: health >= 50 %, /api/user >= 25 %) and the resident memory of an idle replica
(target <= 120 MB). The figures go to bench/results/foundation.json.

Environment: VIGIL_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test),
BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 32), BENCH_ROUNDS (default 3). The three
targets are measured in interleaved rounds and the medians reported; besides requests/s, each run
records the server's CPU time, since on a shared machine requests per CPU-second are the steadier
figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VIGIL = Path(sys.executable).with_name("vigil")
POSTGRES_URL = os.environ.get("VIGIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGETS = {"health_ratio": 0.50, "user_ratio": 0.25, "idle_rss_mb": 120.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen[bytes] | None = None) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"bench: server exited with {proc.returncode} before answering {url}")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return r
        time.sleep(0.1)
    raise SystemExit(f"bench: {url} did not answer 200 within {timeout}s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, headers: dict[str, str] | None, pid: int) -> dict[str, Any]:
    """One wrk run, plus the server's CPU time: requests per CPU-second do not depend on what
    else the machine is doing, requests per second do."""
    before = cpu_seconds(pid)
    run = wrk(url, headers)
    used = cpu_seconds(pid) - before
    run["server_cpu_s"] = round(used, 2)
    run["requests_per_cpu_s"] = round(run["requests"] / used, 1) if used > 0 else None
    return run


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if m is None:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, headers: dict[str, str] | None = None, seconds: int = SECONDS) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "requests": total,
        "requests_per_s": round(rps, 1),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


async def create_database() -> tuple[str, str]:
    import asyncpg

    name = "vigil_bench_" + secrets.token_hex(4)
    admin = POSTGRES_URL.replace("postgresql://", "postgres://", 1)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlsplit(POSTGRES_URL)._replace(path="/" + name).geturl(), name


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def service_account_token(env: dict[str, str]) -> str:
    """A Viewer service account and token, made with Vigil's own services on the bench database."""
    from vigil.app import build_services
    from vigil.config import Config

    s = build_services(Config.load(None, env, []))
    try:
        sa_id = await s.service_accounts.create(1, "bench")
        return (await s.service_accounts.add_token(1, sa_id, "bench")).key
    finally:
        await s.db.dispose()


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_vigil(db_url: str, tmp: Path, instance: str) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """One ``vigil server`` on a free loopback port, logging to ``tmp/vigil.log``; returns the
    process, its base URL and its environment, once ``/api/health`` answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        {
            "VIGIL_DATABASE_URL": db_url,
            "VIGIL_PATHS_DATA": str(tmp / "data"),
            "VIGIL_SERVER_HTTP_ADDR": "127.0.0.1",
            "VIGIL_SERVER_HTTP_PORT": str(port),
            "VIGIL_SERVER_DRAIN_SECONDS": "0",
            "VIGIL_CLUSTER_INSTANCE_NAME": instance,
        }
    )
    log = (tmp / "vigil.log").open("wb")
    vigil = subprocess.Popen([str(VIGIL), "server"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/health", proc=vigil)
    except BaseException:
        stop(vigil)
        raise
    return vigil, base, env


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench: wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    db_url, db_name = asyncio.run(create_database())
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        vigil, base, env = start_vigil(db_url, tmp, "bench")
        procs.append(vigil)
        health_body = httpx.get(f"{base}/api/health").content
        time.sleep(2)  # settle: nothing else is asked of the replica
        idle_rss = rss_mb(vigil.pid)

        body_file = tmp / "health.json"
        body_file.write_bytes(health_body)
        floor_port = free_port()
        floor = subprocess.Popen(
            [sys.executable, str(HERE / "floor.py"), str(floor_port), str(body_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        procs.append(floor)
        floor_url = f"http://127.0.0.1:{floor_port}/api/health"
        assert wait_http(floor_url, proc=floor).content == health_body

        token = asyncio.run(service_account_token(env))
        bearer = {"Authorization": f"Bearer {token}"}
        r = httpx.get(f"{base}/api/user", headers=bearer)
        assert r.status_code == 200 and r.json()["login"] == "sa-bench", r.text

        pids = {"floor": floor.pid, "health": vigil.pid, "user": vigil.pid}
        targets = {
            "floor": (floor_url, None),
            "health": (f"{base}/api/health", None),
            "user": (f"{base}/api/user", bearer),
        }
        for url, headers in targets.values():
            wrk(url, headers, seconds=1)  # warm-up
        rounds: list[dict[str, dict[str, Any]]] = []
        for i in range(ROUNDS):  # interleaved, so a busy moment on the machine hits all three alike
            runs = {name: measure(url, headers, pids[name]) for name, (url, headers) in targets.items()}
            rounds.append(runs)
            print(
                f"  round {i + 1}: " + "  ".join(f"{k} {v['requests_per_s']:.0f}/s" for k, v in runs.items())
            )
        loaded_rss = rss_mb(vigil.pid)

        def summary(name: str) -> dict[str, Any]:
            keys = ("requests_per_s", "p50_ms", "p99_ms", "requests_per_cpu_s")
            out = {k: round(median([r[name][k] for r in rounds if r[name][k] is not None]), 3) for k in keys}
            out["non_2xx"] = sum(r[name]["non_2xx"] for r in rounds)
            return out

        def ratio(name: str, key: str) -> float:
            return round(median([r[name][key] / r["floor"][key] for r in rounds if r[name][key]]), 3)

        result: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average": os.getloadavg()[0],
            },
            "wrk": {"connections": CONNECTIONS, "threads": 1, "seconds": SECONDS, "rounds": ROUNDS},
            "database": "postgresql",
            "floor": summary("floor"),
            "health": summary("health"),
            "user_bearer": summary("user"),
            "health_ratio": ratio("health", "requests_per_s"),
            "user_ratio": ratio("user", "requests_per_s"),
            "health_ratio_per_cpu_s": ratio("health", "requests_per_cpu_s"),
            "user_ratio_per_cpu_s": ratio("user", "requests_per_cpu_s"),
            "idle_rss_mb": round(idle_rss, 1),
            "rss_after_load_mb": round(loaded_rss, 1),
            "targets": TARGETS,
            "rounds": rounds,
        }
        result["meets_targets"] = {
            "health": result["health_ratio"] >= TARGETS["health_ratio"],
            "user": result["user_ratio"] >= TARGETS["user_ratio"],
            "idle_rss": result["idle_rss_mb"] <= TARGETS["idle_rss_mb"],
        }
        out = HERE / "results" / "foundation.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")

        def row(label: str, run: dict[str, Any], name: str | None = None, target: float = 0) -> str:
            text = (
                f"{label:36} {run['requests_per_s']:>8.0f} req/s  p50 {run['p50_ms']:7.2f} ms"
                f"  p99 {run['p99_ms']:7.2f} ms  {run['requests_per_cpu_s']:>8.0f} req/CPU-s"
            )
            if name is not None:
                text += (
                    f"  {result[name + '_ratio']:6.1%} of floor (target >= {target:.0%});"
                    f" per CPU-s {result[name + '_ratio_per_cpu_s']:6.1%}"
                )
            return text

        print()
        print(
            f"wrk -t1 -c{CONNECTIONS} -d{SECONDS}s x {ROUNDS} rounds (medians), 127.0.0.1,"
            f" {os.cpu_count()} cores, load average {result['machine']['load_average']:.1f};"
            " one uvicorn worker each"
        )
        print(row("floor (bare Starlette, same bytes)", result["floor"]))
        print(row("GET /api/health", result["health"], "health", TARGETS["health_ratio"]))
        print(row("GET /api/user (Bearer, PostgreSQL)", result["user_bearer"], "user", TARGETS["user_ratio"]))
        print(
            f"{'idle replica resident memory':36} {idle_rss:>8.1f} MB"
            f" (target <= {TARGETS['idle_rss_mb']:.0f} MB); after the load {loaded_rss:.1f} MB"
        )
        print(f"written to {out.relative_to(ROOT)}")
        return 0
    finally:
        for p in reversed(procs):
            stop(p)
        asyncio.run(drop_database(db_name))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
