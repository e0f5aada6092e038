"""Alerting throughput and latency across real ``vigil server`` replicas on PostgreSQL.

``python bench/alerting.py`` (heavy; not part of ``make test``):

1. Evaluation capacity in ``ha_mode = shard``: for each rule count (default 1,000 and 10,000
   TestData rules, one group each, interval 1 s so a replica saturates) and each replica count
   (default 1 and 3), rule evaluations per second per replica over a window, read from each
   replica's ``vigil_alerting_rule_evaluations_total``, their sum, the share of the due
   evaluations done, the rules each replica owns, and the 1 -> 3 replica ratio. The rules of one
   count are created once on one database: measured with 1 replica, then 2 more join it.
2. Latency: 3 replicas, pulsing rules evaluated every second, a webhook receiver in this
   process: p50/p99 from the evaluation that changed state (the alert's startsAt/endsAt, the
   evaluation's instant) to the webhook delivered. Target p50 < 100 ms. Twice: every rule 5 s on,
   5 s off (all of them change state in the same second: a burst of BENCH_PULSE_RULES changes),
   then periods of 7 to 15 s (``latency_spread``: changes spread over the seconds).

Environment: VIGIL_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test),
BENCH_RULES (default "1000,10000"), BENCH_REPLICAS (default "1,3"), BENCH_WINDOW (seconds,
default 20), BENCH_PULSE_RULES (default 30), BENCH_PULSE_SECONDS (default 30). Results go to
bench/results/alerting.json. Not measured here: the side-by-side Prometheus Alertmanager cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import uvicorn

HERE = Path(__file__).resolve().parent
VIGIL = Path(sys.executable).with_name("vigil")
POSTGRES_URL = os.environ.get("VIGIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
RULES = [int(x) for x in os.environ.get("BENCH_RULES", "1000,10000").split(",") if x]
REPLICAS = [int(x) for x in os.environ.get("BENCH_REPLICAS", "1,3").split(",") if x]
WINDOW = float(os.environ.get("BENCH_WINDOW", "20"))
PULSE_RULES = int(os.environ.get("BENCH_PULSE_RULES", "30"))
PULSE_SECONDS = float(os.environ.get("BENCH_PULSE_SECONDS", "30"))
AUTH = ("admin", "bench-admin-pw")
EVALS = re.compile(r'^vigil_alerting_rule_evaluations_total\{result="(\w+)"\} ([0-9.e+]+)$', re.M)
OWNED = re.compile(r"^vigil_alerting_rules_owned ([0-9.e+]+)$", re.M)
SKIPPED = re.compile(r"^vigil_alerting_rule_evaluations_skipped_total ([0-9.e+]+)$", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, replicas: int, tmp: Path) -> None:
        self.n = replicas
        self.tmp = tmp
        self.db = "vigil_bench_" + secrets.token_hex(4)
        self.url = ""
        self.procs: list[tuple[subprocess.Popen[bytes], str]] = []

    async def __aenter__(self) -> Cluster:
        admin = POSTGRES_URL.replace("postgresql://", "postgres://", 1)
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{self.db}"')
        await conn.close()
        self.url = urlsplit(POSTGRES_URL)._replace(path="/" + self.db).geturl()
        await self.add(self.n)
        return self

    async def add(self, count: int) -> None:
        """Start ``count`` more replicas on the cluster's database and wait until they are healthy."""
        new = []
        for _ in range(count):
            i = len(self.procs)
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
            env.update(
                VIGIL_DATABASE_URL=self.url,
                VIGIL_PATHS_DATA=str(self.tmp / f"r{i}"),
                VIGIL_SERVER_HTTP_ADDR="127.0.0.1",
                VIGIL_SERVER_HTTP_PORT=str(port),
                VIGIL_SECURITY_ADMIN_USER=AUTH[0],
                VIGIL_SECURITY_ADMIN_PASSWORD=AUTH[1],
                VIGIL_SECURITY_SECRET_KEY="bench-secret-key-0123456789",
                VIGIL_CLUSTER_INSTANCE_NAME=f"bench-{i + 1}",
                VIGIL_CLUSTER_HEARTBEAT_INTERVAL="500ms",
                VIGIL_CLUSTER_PEER_TIMEOUT="5s",
                VIGIL_ALERTING_MIN_INTERVAL="1s",
                VIGIL_ALERTING_HA_MODE="shard",
                VIGIL_SERVER_ROUTER_LOGGING="false",
                VIGIL_LOG_LEVEL="error",
                VIGIL_DATABASE_POOL_SIZE="20",
            )
            proc = subprocess.Popen(
                [str(VIGIL), "server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            self.procs.append((proc, f"http://127.0.0.1:{port}"))
            new.append(self.procs[-1])
        async with httpx.AsyncClient(timeout=5) as c:
            for proc, base in new:
                deadline = time.monotonic() + 120
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await c.get(base + "/api/health")).status_code == 200:
                            break
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"replica at {base} did not start")
                    await asyncio.sleep(0.2)

    async def __aexit__(self, *exc: object) -> None:
        for proc, _ in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        admin = POSTGRES_URL.replace("postgresql://", "postgres://", 1)
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        await conn.close()

    @property
    def bases(self) -> list[str]:
        return [b for _, b in self.procs]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rule(title: str, group: str, fires: bool, on: int = 5, off: int = 5) -> dict[str, Any]:
    return {
        "title": title,
        "ruleGroup": group,
        "folderUID": "bench",
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 10, "to": 0},
                "datasourceUid": "testdata",
                "model": {
                    "scenarioId": "predictable_pulse",
                    "pulseWave": {"timeStep": 1, "onCount": on, "offCount": off},
                },
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {"type": "reduce", "expression": "A", "reducer": "last"},
            },
            {
                "refId": "C",
                "datasourceUid": "__expr__",
                "model": {
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": "gt", "params": [0.5 if fires else 5]}}],
                },
            },
        ],
        "for": "0s",
    }


async def setup(c: httpx.AsyncClient, hook_url: str | None = None) -> None:
    r = await c.post("/api/folders", json={"uid": "bench", "title": "Bench"})
    r.raise_for_status()
    r = await c.post(
        "/api/datasources",
        json={"name": "TestData", "type": "grafana-testdata-datasource", "uid": "testdata"},
    )
    r.raise_for_status()
    if hook_url:
        r = await c.post(
            "/api/v1/provisioning/contact-points",
            json={"name": "hook", "type": "webhook", "settings": {"url": hook_url}},
        )
        r.raise_for_status()
        policy = {"receiver": "hook", "group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s"}
        (await c.put("/api/v1/provisioning/policies", json=policy)).raise_for_status()


def phase(i: int, spread: bool) -> tuple[int, int]:
    """(on, off) seconds of pulse rule ``i``: all 5/5 (every rule flips in the same second), or
    periods of 7 to 15 s so the rules' state changes fall in different seconds."""
    return (3 + i % 5, 4 + (i // 5) % 5) if spread else (5, 5)


async def create_rules(bases: list[str], count: int, fires: bool, prefix: str, spread: bool = False) -> None:
    sem = asyncio.Semaphore(8)
    clients = [httpx.AsyncClient(base_url=b, auth=AUTH, timeout=60) for b in bases]
    try:

        async def one(i: int) -> None:
            async with sem:
                group = f"{prefix}{i}"
                on, off = phase(i, spread)
                body = {"interval": 1, "rules": [rule(f"{prefix} {i}", group, fires, on, off)]}
                for attempt in range(5):
                    r = await clients[i % len(clients)].put(
                        f"/api/v1/provisioning/folder/bench/rule-groups/{group}", json=body
                    )
                    if r.status_code != 503 or attempt == 4:
                        break
                    await asyncio.sleep(0.5 * (attempt + 1))
                r.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        for c in clients:
            await c.aclose()


async def scrape(c: httpx.AsyncClient, base: str) -> tuple[float, float, float]:
    text = (await c.get(base + "/metrics")).text
    evals = sum(float(v) for _, v in EVALS.findall(text))
    owned = float(OWNED.search(text).group(1)) if OWNED.search(text) else 0.0  # type: ignore[union-attr]
    skipped = float(SKIPPED.search(text).group(1)) if SKIPPED.search(text) else 0.0  # type: ignore[union-attr]
    return evals, owned, skipped


async def measure(cl: Cluster, rules: int) -> dict[str, Any]:
    """Wait until the replicas own every rule between them, then count evaluations over WINDOW."""
    async with httpx.AsyncClient(timeout=30) as c:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            owned = [(await scrape(c, b))[1] for b in cl.bases]
            if sum(owned) == rules and all(owned):
                break
            await asyncio.sleep(1)
        await asyncio.sleep(5)
        before = [await scrape(c, b) for b in cl.bases]
        t0 = time.monotonic()
        await asyncio.sleep(WINDOW)
        after = [await scrape(c, b) for b in cl.bases]
        took = time.monotonic() - t0
    per = [(a[0] - b[0]) / took for a, b in zip(after, before, strict=True)]
    return {
        "rules": rules,
        "replicas": len(cl.bases),
        "evaluations_per_second_per_replica": [round(x, 1) for x in per],
        "evaluations_per_second": round(sum(per), 1),
        "share_of_due_evaluations": round(sum(per) / rules, 3),
        "owned": [int(a[1]) for a in after],
        "skipped_per_second": round(sum(a[2] - b[2] for a, b in zip(after, before, strict=True)) / took, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


async def capacity(rules: int, replicas: list[int], tmp: Path) -> list[dict[str, Any]]:
    """One database per rule count: the rules are created once, measured on the smallest replica
    count, then more replicas join the same database and the cluster is measured again."""
    results = []
    async with Cluster(replicas[0], tmp / f"cap-{rules}") as cl:
        async with httpx.AsyncClient(base_url=cl.bases[0], auth=AUTH, timeout=30) as c:
            await setup(c)
        started = time.monotonic()
        await create_rules(cl.bases, rules, fires=False, prefix="q")
        created_in = time.monotonic() - started
        for n in replicas:
            if n > len(cl.bases):
                await cl.add(n - len(cl.bases))
            res = await measure(cl, rules)
            res["rules_created_in_s"] = round(created_in, 1)
            results.append(res)
            print(
                f"{rules:>6} rules, {n} replica(s): {res['evaluations_per_second']:>8.1f} evaluations/s "
                f"(per replica {res['evaluations_per_second_per_replica']}, owned {res['owned']}, "
                f"{res['share_of_due_evaluations'] * 100:.0f}% of due, "
                f"skipped {res['skipped_per_second']}/s, load {res['load_average']})",
                flush=True,
            )
    return results


class Hook:
    def __init__(self) -> None:
        self.port = free_port()
        self.latencies: list[float] = []
        self.count = 0

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        now = time.time()
        data = json.loads(body)
        self.count += 1
        for a in data.get("alerts", []):
            stamp = a["startsAt"] if a["status"] == "firing" else a["endsAt"]
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            self.latencies.append(now - at)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b"{}"})


async def latency(tmp: Path, spread: bool) -> dict[str, Any]:
    hook = Hook()
    server = uvicorn.Server(
        uvicorn.Config(
            hook.app, host="127.0.0.1", port=hook.port, log_level="error", lifespan="off", interface="asgi3"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with Cluster(3, tmp / f"latency-{spread}") as cl:
            async with httpx.AsyncClient(base_url=cl.bases[0], auth=AUTH, timeout=30) as c:
                await setup(c, f"http://127.0.0.1:{hook.port}/hook")
            await create_rules(cl.bases, PULSE_RULES, fires=True, prefix="p", spread=spread)
            await asyncio.sleep(6)  # let the first, catch-up evaluations pass
            hook.latencies.clear()
            cpu0 = [cpu_seconds(p.pid) for p, _ in cl.procs]
            await asyncio.sleep(PULSE_SECONDS)
            cpu = [cpu_seconds(p.pid) - c for (p, _), c in zip(cl.procs, cpu0, strict=True)]
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
    lat = sorted(x * 1000 for x in hook.latencies)
    if not lat:
        return {"samples": 0}
    return {
        "samples": len(lat),
        "p50_ms": round(statistics.median(lat), 1),
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
        "max_ms": round(lat[-1], 1),
        "target_p50_ms": 100,
        "state_changes": "spread over seconds" if spread else "all rules in the same second",
        # CPU of the replicas over the window (evaluations and all else included), per change sent
        "replica_cpu_s": [round(x, 2) for x in cpu],
        "replica_cpu_ms_per_change": round(sum(cpu) * 1000 / len(lat), 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as d:
        tmp = Path(d)
        results: dict[str, Any] = {"capacity": [], "cores": os.cpu_count()}
        for n in RULES:
            results["capacity"] += await capacity(n, sorted(REPLICAS), tmp)
            runs = {x["replicas"]: x for x in results["capacity"] if x["rules"] == n}
            if 1 in runs and 3 in runs and runs[1]["evaluations_per_second"]:
                ratio = runs[3]["evaluations_per_second"] / runs[1]["evaluations_per_second"]
                results.setdefault("ratio_3_to_1", {})[str(n)] = round(ratio, 2)
                print(f"{n:>6} rules: 3 replicas / 1 replica = {ratio:.2f}x", flush=True)
        for key, spread in (("latency", False), ("latency_spread", True)):
            results[key] = await latency(tmp, spread)
            print(f"state change -> webhook delivered ({key}): {results[key]}", flush=True)
        out = HERE / "results" / "alerting.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results in {out}")


if __name__ == "__main__":
    asyncio.run(main())
