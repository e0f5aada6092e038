"""Benchmark of the query path, printed side by side in one run.

1. A Prometheus range query of 10 series x 1,000 points through Vigil's ``POST /api/ds/query`` (a real
   ``vigil server`` process, signed in with a session cookie) versus the same query sent straight to
   the same Prometheus (Debian package, started here). Median and p90 of N alternating runs, and the
   ratio of the medians (target <= 1.15).
2. Frame encoding: 100 series x 1,000 points encoded in the wire format (schema, columns, NaN/Inf
   entities) versus plain ``orjson.dumps`` of the same numbers.

Run: ``.venv/bin/python bench/query.py [--runs 60]`` from the repository root. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.prom_support import PASSWORD, USER, PromServer, free_port  # noqa: E402

from vigil.datasources.frames import DataResponse, Field, Frame, encode_results  # noqa: E402

SERIES = 10
POINTS = 1000
STEP_S = 15
EXPR = " or ".join(
    f'label_replace(sin(vector(time()) / {60 + i}) * {i + 1}, "series", "s{i}", "", "")'
    for i in range(SERIES)
)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def start_vigil(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        {
            "VIGIL_DATABASE_URL": f"sqlite:///{data / 'vigil.db'}",
            "VIGIL_PATHS_DATA": str(data),
            "VIGIL_SERVER_HTTP_ADDR": "127.0.0.1",
            "VIGIL_SERVER_HTTP_PORT": str(port),
            "VIGIL_SECURITY_ADMIN_PASSWORD": "bench-pw",
            "VIGIL_SECURITY_SECRET_KEY": "bench-secret-key",
            "VIGIL_SERVER_ROUTER_LOGGING": "false",
            "VIGIL_LOG_LEVEL": "warning",
        }
    )
    vigil = Path(sys.executable).with_name("vigil")
    proc = subprocess.Popen(
        [str(vigil), "server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("vigil server did not start")


def bench_query(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        prom = PromServer(Path(tmp) / "prom")
        proc, url = start_vigil(Path(tmp))
        try:
            prom.wait_for_samples(minimum=1)
            vigil = httpx.Client(base_url=url, timeout=30)
            assert vigil.post("/login", json={"user": "admin", "password": "bench-pw"}).status_code == 200
            r = vigil.post(
                "/api/datasources",
                json={
                    "name": "prom",
                    "uid": "prom",
                    "type": "prometheus",
                    "url": prom.url,
                    "basicAuth": True,
                    "basicAuthUser": USER,
                    "secureJsonData": {"basicAuthPassword": PASSWORD},
                    "jsonData": {"timeInterval": f"{STEP_S}s"},
                },
            )
            assert r.status_code == 200, r.text
            direct = httpx.Client(base_url=prom.url, auth=(USER, PASSWORD), timeout=30)
            end_s = (int(time.time()) // STEP_S) * STEP_S
            start_s = end_s - (POINTS - 1) * STEP_S
            form = {"query": EXPR, "start": str(start_s), "end": str(end_s), "step": str(STEP_S)}
            body = {
                "from": str(start_s * 1000),
                "to": str(end_s * 1000 + 999),
                "queries": [
                    {
                        "refId": "A",
                        "datasource": {"uid": "prom"},
                        "expr": EXPR,
                        "intervalMs": STEP_S * 1000,
                        "maxDataPoints": POINTS,
                    }
                ],
            }
            # Check both answer the same shape before timing.
            d = direct.post("/api/v1/query_range", data=form).json()["data"]["result"]
            v = vigil.post("/api/ds/query", json=body).json()["results"]["A"]["frames"]
            assert len(d) == SERIES and all(len(s["values"]) == POINTS for s in d), "direct shape"
            assert len(v) == SERIES and all(len(f["data"]["values"][0]) == POINTS for f in v), "vigil shape"
            times_direct: list[float] = []
            times_vigil: list[float] = []
            for _ in range(5):  # warm-up
                direct.post("/api/v1/query_range", data=form)
                vigil.post("/api/ds/query", json=body)
            for _ in range(runs):
                t = time.perf_counter()
                r1 = direct.post("/api/v1/query_range", data=form)
                r1.json()
                times_direct.append(time.perf_counter() - t)
                t = time.perf_counter()
                r2 = vigil.post("/api/ds/query", json=body)
                r2.json()
                times_vigil.append(time.perf_counter() - t)
            md, mv = statistics.median(times_direct), statistics.median(times_vigil)
            print(
                f"range query, {SERIES} series x {POINTS} points, {runs} runs each (ms, client decodes JSON)"
            )
            print(f"  {'':24}{'median':>10}{'p90':>10}{'bytes':>10}")
            for label, runs_, resp in (
                ("Prometheus direct", times_direct, r1),
                ("Vigil /api/ds/query", times_vigil, r2),
            ):
                med, p90 = statistics.median(runs_) * 1000, pct(runs_, 0.9) * 1000
                print(f"  {label:24}{med:10.2f}{p90:10.2f}{len(resp.content):10d}")
            print(f"  ratio of medians: {mv / md:.2f}x (target <= 1.15x)")
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            prom.stop()


def bench_encoding(rounds: int = 50) -> None:
    import math
    import random

    rng = random.Random(1)
    t0 = 1_700_000_000_000
    times = [t0 + i * 15_000 for i in range(POINTS)]
    series = [[rng.random() * 100 for _ in range(POINTS)] for _ in range(100)]
    series[7][3] = math.nan
    frames = [
        Frame(
            [
                Field.time(times),
                Field.number(vals, "Value", {"series": f"s{i}"}, {"displayNameFromDS": f"s{i}"}),
            ],
            name=f"s{i}",
            ref_id="A",
        )
        for i, vals in enumerate(series)
    ]
    results = {"A": DataResponse(frames=frames)}
    plain = {"series": [[times, vals] for vals in series]}

    def timed(fn: object) -> tuple[float, float, int]:
        runs = []
        size = 0
        for _ in range(rounds):
            t = time.perf_counter()
            out = fn()  # type: ignore[operator]
            runs.append(time.perf_counter() - t)
            size = len(out)
        return statistics.median(runs), min(runs), size

    te, be, se = timed(lambda: encode_results(results))
    tp, bp, sp = timed(lambda: orjson.dumps(plain))
    points = 100 * POINTS
    print(f"frame encoding, 100 series x {POINTS} points ({rounds} rounds; best is the least disturbed)")
    print(f"  {'':24}{'median ms':>10}{'best ms':>10}{'Mpoints/s':>12}{'bytes':>10}")
    print(f"  {'wire-format frames':24}{te * 1000:10.2f}{be * 1000:10.2f}{points / be / 1e6:12.2f}{se:10d}")
    print(f"  {'plain orjson':24}{tp * 1000:10.2f}{bp * 1000:10.2f}{points / bp / 1e6:12.2f}{sp:10d}")
    print(f"  frames cost {te / tp:.2f}x (median) / {be / bp:.2f}x (best) plain orjson")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=60)
    args = ap.parse_args()
    bench_query(args.runs)
    bench_encoding()


if __name__ == "__main__":
    main()
