"""Fail-over side by side: 3 Vigil replicas versus a 3-peer Prometheus Alertmanager cluster fed the
same alert stream, one peer/replica SIGKILLed mid-stream. Duplicates, losses and delivery latency.

``python bench/alerting_failover.py`` (heavy; not part of ``make test``; needs the Debian package
``prometheus-alertmanager``):

- Vigil: 3 ``vigil server`` processes on a fresh PostgreSQL database (``ha_mode = shard``),
  K pulsing TestData rules (5 s on, 5 s off, evaluated every second), one webhook receiver in this
  process. After ``BENCH_KILL_AT`` seconds the replica owning the most rules is SIGKILLed (not
  restarted). Expected notifications are the state changes Vigil recorded (alert annotations).
- Alertmanager: 3 peers gossiping on loopback, the same route (group by alertname, group_wait 0s,
  group_interval 1s); a feeder in this process plays Prometheus: every second it posts the same
  K pulses to every peer (firing with endsAt = now + 4 s, then resolved). After the same delay the
  first peer is SIGKILLed. Expected notifications are the transitions the feeder produced.

Reported for each: notifications expected, delivered, duplicates (deliveries beyond one per state
change, counted by state change; for Vigil also by X-Vigil-Notification-Id), lost, and p50/p99 from
the state change to the webhook delivered. Environment: VIGIL_TEST_POSTGRES_URL, BENCH_RULES
(default 20), BENCH_SECONDS (default 60), BENCH_KILL_AT (default 25). Results go to
bench/results/alerting_failover.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alerting import AUTH, Cluster, free_port, rule, setup

HERE = Path(__file__).resolve().parent
K = int(os.environ.get("BENCH_RULES", "20"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
KILL_AT = float(os.environ.get("BENCH_KILL_AT", "25"))
AM = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
SETTLE = 35.0  # after the stream: longer than Alertmanager's 2 x 15 s peer wait


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.got: list[tuple[float, dict[str, str], Any]] = []

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.got.append((time.time(), headers, json.loads(body)))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b"{}"})


def summarise(
    expected: dict[tuple[str, str, float], float], got: list[tuple[float, dict[str, Any]]]
) -> dict[str, Any]:
    """``expected``: (alertname, status, instant) -> instant; ``got``: (received at, alert entry)."""
    seen: dict[tuple[str, str, float], list[float]] = {}
    for at, a in got:
        stamp = ts(a["startsAt"] if a["status"] == "firing" else a["endsAt"])
        key = (a["labels"]["alertname"], a["status"], round(stamp, 1))
        seen.setdefault(key, []).append(at - stamp)
    exp = {(n, s, round(t, 1)) for (n, s, t) in expected}
    delivered = [k for k in seen if k in exp]
    lat = sorted(min(v) * 1000 for k, v in seen.items() if k in exp)
    return {
        "expected": len(exp),
        "delivered": len(delivered),
        "duplicates": sum(len(v) - 1 for k, v in seen.items() if k in exp),
        "unexpected": sum(len(v) for k, v in seen.items() if k not in exp),
        "lost": len(exp - set(seen)),
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
    }


async def vigil(tmp: Path, rec: Receiver) -> dict[str, Any]:
    async with Cluster(3, tmp / "vigil") as cl:
        async with httpx.AsyncClient(base_url=cl.bases[0], auth=AUTH, timeout=30) as c:
            await setup(c, f"http://127.0.0.1:{rec.port}/vigil")
            uids = []
            for i in range(K):
                body = {"interval": 1, "rules": [rule(f"P{i}", f"p{i}", fires=True)]}
                r = await c.put(f"/api/v1/provisioning/folder/bench/rule-groups/p{i}", json=body)
                r.raise_for_status()
                uids.append(r.json()["rules"][0])
            start = time.time()
            await asyncio.sleep(KILL_AT)
            status = (await c.get("/api/cluster/status")).json()
            victim = max(status["instances"], key=lambda i: len(i["rules"]))["name"]
            index = int(victim.rsplit("-", 1)[1]) - 1
            cl.procs[index][0].send_signal(signal.SIGKILL)
            killed_at = time.time()
            await asyncio.sleep(SECONDS - KILL_AT)
            alive = cl.bases[(index + 1) % 3]
        async with httpx.AsyncClient(base_url=alive, auth=AUTH, timeout=30) as c:
            for i, r in enumerate(uids):
                await c.put(
                    f"/api/v1/provisioning/folder/bench/rule-groups/p{i}",
                    json={"interval": 1, "rules": [{**r, "isPaused": True}]},
                )
            await asyncio.sleep(SETTLE)
            notes = (await c.get("/api/annotations", params={"type": "alert", "limit": 100000})).json()
    expected = {}
    for n in notes:
        if n["time"] / 1000 < start:
            continue
        status = {"Alerting": "firing", "Normal": "resolved"}.get(n["newState"])
        if status:
            expected[(n["alertName"], status, n["time"] / 1000)] = n["time"] / 1000
    got = [(at, a) for at, _, body in rec.got if body.get("receiver") == "hook" for a in body["alerts"]]
    out = summarise(expected, got)
    ids = [h.get("x-vigil-notification-id") for _, h, _ in rec.got]
    out["duplicate_notification_ids"] = len(ids) - len(set(ids))
    out["killed"] = victim
    out["killed_after_s"] = round(killed_at - start, 1)
    return out


async def alertmanager(tmp: Path, rec: Receiver) -> dict[str, Any]:
    if AM is None:
        return {
            "skipped": "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
        }
    cfg = tmp / "am.yml"
    cfg.write_text(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n"
        "  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n"
        f"      - url: http://127.0.0.1:{rec.port}/am\n        send_resolved: true\n"
    )
    web = [free_port() for _ in range(3)]
    gossip = [free_port() for _ in range(3)]
    procs = []
    for i in range(3):
        args = [
            AM,
            f"--config.file={cfg}",
            f"--storage.path={tmp / f'am{i}'}",
            f"--web.listen-address=127.0.0.1:{web[i]}",
            f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
            "--log.level=warn",
        ] + [f"--cluster.peer=127.0.0.1:{gossip[j]}" for j in range(3) if j != i]
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    expected: dict[tuple[str, str, float], float] = {}
    try:
        async with httpx.AsyncClient(timeout=2) as c:
            for p in web:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await c.get(f"http://127.0.0.1:{p}/-/ready")).status_code == 200:
                            break
                    await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # gossip settles
            episode: dict[int, float | None] = {}
            resolved_at: dict[int, float] = {}
            start = time.time()
            killed = False
            while time.time() - start < SECONDS:
                now = time.time()
                t = int(now)
                alerts = []
                for i in range(K):
                    on = (t % 10) < 5
                    if on and episode.get(i) is None:
                        episode[i] = float(t)
                        expected[(f"P{i}", "firing", float(t))] = float(t)
                    if not on and episode.get(i) is not None:
                        expected[(f"P{i}", "resolved", float(t))] = float(t)
                        resolved_at[i] = float(t)
                        episode[i] = None
                    labels = {"alertname": f"P{i}"}
                    if episode.get(i) is not None:
                        alerts.append({"labels": labels, "startsAt": iso(episode[i]), "endsAt": iso(now + 4)})  # type: ignore[arg-type]
                    elif i in resolved_at and now - resolved_at[i] < 10:
                        alerts.append(
                            {
                                "labels": labels,
                                "startsAt": iso(resolved_at[i] - 5),
                                "endsAt": iso(resolved_at[i]),
                            }
                        )
                if not killed and now - start >= KILL_AT:
                    procs[0].send_signal(signal.SIGKILL)
                    killed = True
                for i, p in enumerate(web):
                    if killed and i == 0:
                        continue
                    with contextlib.suppress(httpx.HTTPError):
                        await c.post(f"http://127.0.0.1:{p}/api/v2/alerts", json=alerts)
                await asyncio.sleep(max(0.0, t + 1 - time.time()))
            # Let the last transitions be delivered (a non-first peer waits its position x 15 s).
            await asyncio.sleep(SETTLE)
        cutoff = start + SECONDS - 2
        expected = {k: v for k, v in expected.items() if v < cutoff}
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
    got = [(at, a) for at, _, body in rec.got if body.get("version") == "4" for a in body["alerts"]]
    got = [(at, a) for at, a in got if ts(a["startsAt"] if a["status"] == "firing" else a["endsAt"]) < cutoff]
    out = summarise(expected, got)
    out["killed"] = "peer 1 (gossip position 0)"
    return out


async def main() -> None:
    rec = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(
            rec.app, host="127.0.0.1", port=rec.port, log_level="error", lifespan="off", interface="asgi3"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-failover-") as d:
            tmp = Path(d)
            results = {"rules": K, "seconds": SECONDS, "kill_at": KILL_AT}
            results["vigil"] = await vigil(tmp, rec)
            print("vigil       ", results["vigil"], flush=True)
            rec.got.clear()
            results["alertmanager"] = await alertmanager(tmp, rec)
            print("alertmanager", results["alertmanager"], flush=True)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
    out = HERE / "results" / "alerting_failover.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results in {out}")


if __name__ == "__main__":
    asyncio.run(main())
