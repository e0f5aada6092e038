"""Chaos and load battery: 3 ``vigil server`` replicas behind HAProxy on PostgreSQL, under a realistic
request mix, while faults are injected one at a time.

``make chaos`` (``python -m bench.chaos``) runs the full form; ``python -m bench.chaos --short`` the
short one that ``tests/test_chaos_short.py`` runs inside ``make test`` (a few minutes).

Everything runs on 127.0.0.1 and is private to the run, so the machine's shared services are never
touched: a PostgreSQL cluster of its own (``initdb`` + ``pg_ctl`` from /usr/lib/postgresql/*/bin, as
the ``postgres`` user when run as root), a ``redis-server`` of its own (append-only file, so a
restart keeps what it had acknowledged), an ``haproxy`` rendered from ``deploy/haproxy/stateless.cfg``
(the file operators start from, health checks on ``/api/health``) plus a stats socket, the three
replicas (``vigil.cluster.local.LocalCluster``, the code behind ``vigil cluster up``) and a webhook
receiver for alert notifications.

The load: virtual users, each logged in with its own session cookie, loop over a mix of logins,
searches, dashboard reads, ``/api/ds/query`` (TestData), dashboard saves and annotation writes.
Three pulsing TestData alert rules change state every few seconds and notify the receiver.

Faults, one at a time, each followed by a quiet spell: SIGKILL of a replica (restarted a few seconds
later, as a supervisor would), SIGSTOP of a replica (hung) then SIGCONT, PostgreSQL restart
(``pg_ctl restart -m fast``), Redis stop and start, and a rolling restart of every replica (SIGTERM:
drain, exit; start; wait until HAProxy has it back; next).

For each fault: requests that succeeded, failed ones by cause (HTTP status, connection error,
timeout...), recovery time (fault to the first success after which nothing failed, through
HAProxy; and to every replica healthy again, both at the replicas and in HAProxy's view), sessions
lost (a logged-in cookie answered 401), acknowledged writes lost (every dashboard version and
annotation answered with 200 is read back through HAProxy at the end) and notifications duplicated
or missing (every alert state change Vigil recorded against what reached the receiver).

The run is repeated per session provider (``redis`` and ``database``). Results go to
``bench/results/chaos.json`` (short: ``chaos-short.json``) and a markdown report with plots,
``bench/results/chaos.md`` (short: ``chaos-short.md``).

Environment: CHAOS_USERS (virtual users, default 6 short / 8 full), CHAOS_PROVIDERS (default
``redis,database``), CHAOS_OUT (results folder, default bench/results).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from vigil.cluster.local import ClusterSpec, LocalCluster, port_free

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ADMIN = ("admin", "chaos-admin-pw")
SECRET = "chaos-secret-key-0123456789abcdef"
COOKIE = "vigil_session"
USER_PW = "chaos-user-pw-1"
CLIENT_TIMEOUT = 5.0  # a user's patience: a request slower than this counts as failed (timeout)
PULSE_ON, PULSE_OFF = 3, 3  # seconds a rule is firing / normal: a state change every 3 s per rule
RULES = 3
OPS = {  # the request mix (weights)
    "dashboard_read": 30,
    "ds_query": 22,
    "search": 20,
    "dashboard_save": 10,
    "annotation_write": 10,
    "login": 5,
    "user": 3,
}
WRITES = ("dashboard_save", "annotation_write")


class Missing(RuntimeError):
    """A program the battery needs is not installed."""


# -- small helpers --------------------------------------------------------------------------------


def now() -> float:
    return time.monotonic()


def free_block(n: int) -> int:
    """A base port with n consecutive free ports, below the ephemeral range (a client socket polling
    a port nobody listens on yet cannot then connect to itself)."""
    for _ in range(500):
        base = random.randint(20000, 32000 - n)
        if all(port_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no block of free ports")


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = now() + timeout
    while now() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def which(name: str, extra: str = "") -> str:
    path = shutil.which(name) or shutil.which(name, path=f"/usr/sbin:/usr/bin:/usr/local/bin{extra}")
    if path is None:
        raise Missing(f"{name} is not installed")
    return path


# -- private PostgreSQL, Redis, HAProxy -----------------------------------------------------------


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, restartable at will."""

    def __init__(self, base: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        pg_ctl = bins[-1] if bins else shutil.which("pg_ctl")
        if not pg_ctl:
            raise Missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bin = Path(pg_ctl).parent
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.port = free_block(1)
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
            runuser = shutil.which("runuser")
            if runuser is None:
                raise Missing("runuser (util-linux) is needed to run PostgreSQL as root")
            self.as_user = [runuser, "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/vigil"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        out = subprocess.run([*self.as_user, *argv], capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{out.stdout}{out.stderr}")

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        if self.as_user:
            shutil.chown(self.dir, "postgres")
            # the postgres user must reach it: add the search (x) bit where others lack it, on our own
            # temporary folders only; never take a bit away (/tmp must keep 1777)
            tmp_root = Path(tempfile.gettempdir()).resolve()
            for parent in self.dir.resolve().parents:
                if tmp_root not in parent.parents:
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, (mode & 0o7777) | 0o011)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
            "-c shared_buffers=64MB -c jit=off -c log_min_messages=warning"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "vigil"
        )

    def restart(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            "fast",
            "-l",
            str(self.dir / "log"),
            "-w",
            "restart",
        )

    def stop_nowait(self, mode: str = "fast") -> None:
        """Begin a shutdown (``smart`` waits for open sessions, refusing new ones meanwhile)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-W", "stop")

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(Exception):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def version(self) -> str:
        return self.bin.parent.name


class PrivateRedis:
    def __init__(self, base: Path) -> None:
        self.binary = which("redis-server")
        self.dir = base / "redis"
        self.port = free_block(1)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
        ]
        argv += ["--appendfsync", "always", "--dir", str(self.dir), "--daemonize", "no"]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


class ChaosCluster(LocalCluster):
    """``vigil cluster up``'s cluster, with an HAProxy stats socket so the battery sees which
    replicas the load balancer has in rotation."""

    @property
    def stats_socket(self) -> Path:
        return self.run_dir / "haproxy.sock"

    def render_balancer(self) -> tuple[Path, list[str]]:
        path, argv = super().render_balancer()
        text = path.read_text()
        text = text.replace(
            "global\n", f"global\n    stats socket {self.stats_socket} mode 600 level admin\n", 1
        )
        extra = os.environ.get("CHAOS_HAPROXY_SERVER_OPTIONS", "")
        if extra:  # try server options against the shipped file, e.g. "on-marked-down shutdown-sessions"
            text = re.sub(r"(\n\s*default-server [^\n]*)", lambda m: f"{m.group(1)} {extra}", text, count=1)
        path.write_text(text)
        return path, argv

    def haproxy_up(self) -> int | None:
        """How many replicas HAProxy has UP (None when its socket does not answer)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(str(self.stats_socket))
                s.sendall(b"show stat\n")
                chunks = []
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except OSError:
            return None
        up = 0
        for line in b"".join(chunks).decode().splitlines():
            cols = line.split(",")
            if len(cols) > 17 and cols[0] == "replicas" and cols[1].startswith("replica-"):
                up += cols[17].startswith("UP")
        return up

    def signal_replica(self, i: int, sig: int) -> None:
        proc = self.replicas[i].proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)

    def wait_exit(self, i: int, timeout: float) -> None:
        proc = self.replicas[i].proc
        if proc is None:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# -- webhook receiver -----------------------------------------------------------------------------


@dataclass
class Delivery:
    at: float
    notification_id: str
    status: str
    alerts: list[dict[str, Any]]
    client: str = ""


class Receiver:
    def __init__(self) -> None:
        self.port = free_block(1)
        self.got: list[Delivery] = []
        self.server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            msg = await receive()
            raw += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with contextlib.suppress(ValueError):
            body = json.loads(raw)
            self.got.append(
                Delivery(
                    time.time(),
                    headers.get("x-vigil-notification-id", ""),
                    body["status"],
                    body["alerts"],
                    ":".join(str(x) for x in scope.get("client") or ()),
                )
            )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b"{}"})

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
            access_log=False,
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)


# -- the load -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    start: float  # seconds since the run's t0
    end: float
    op: str
    result: str  # "ok" or the cause of the failure
    user: int


@dataclass
class Ledger:
    dashboards: list[tuple[str, int, str, float]] = field(default_factory=list)  # uid, version, marker, t
    annotations: list[tuple[int, str, float]] = field(default_factory=list)  # id, text, t


def cause(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect_error"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection_closed"
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__
    return f"client_{type(exc).__name__}"


def ds_query_body() -> dict[str, Any]:
    return {
        "queries": [
            {
                "refId": "A",
                "datasource": {"uid": "testdata", "type": "grafana-testdata-datasource"},
                "scenarioId": "random_walk",
                "seriesCount": 2,
                "intervalMs": 10000,
                "maxDataPoints": 200,
            }
        ],
        "from": "now-1h",
        "to": "now",
    }


def dashboard_json(uid: str, title: str, version: int | None, marker: str) -> dict[str, Any]:
    panels = [
        {
            "id": p + 1,
            "type": "timeseries",
            "title": f"Panel {p + 1}",
            "gridPos": {"x": (p % 2) * 12, "y": (p // 2) * 8, "w": 12, "h": 8},
            "datasource": {"uid": "testdata", "type": "grafana-testdata-datasource"},
            "targets": [{"refId": "A", "scenarioId": "random_walk"}],
        }
        for p in range(4)
    ]
    d: dict[str, Any] = {
        "uid": uid,
        "title": title,
        "tags": ["chaos"],
        "description": marker,
        "panels": panels,
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
    }
    if version is not None:
        d["version"] = version
    return d


class Load:
    """Virtual users through the load balancer; every request's outcome is recorded."""

    def __init__(self, base: str, users: int, t0: float, seed: int = 1) -> None:
        self.base = base
        self.users = users
        self.t0 = t0
        self.rng = random.Random(seed)
        self.outcomes: list[Outcome] = []
        self.ledger = Ledger()
        self.sessions_401: list[tuple[float, int, str]] = []  # t, user, op: a logged-in cookie refused
        self.extra_sessions: list[httpx.Cookies] = []  # sessions created by the login operation
        self.logins = 0
        self.stop = asyncio.Event()
        self.static_uids: list[str] = []
        self.clients: list[httpx.AsyncClient] = []
        self._seq = 0

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base,
            timeout=CLIENT_TIMEOUT,
            limits=httpx.Limits(max_keepalive_connections=2, max_connections=4),
        )

    async def login(self, c: httpx.AsyncClient, user: int) -> bool:
        r = await c.post("/login", json={"user": f"chaos{user}", "password": USER_PW})
        return r.status_code == 200 and bool(c.cookies.get(COOKIE))

    def record(self, start: float, op: str, result: str, user: int) -> None:
        self.outcomes.append(Outcome(start - self.t0, now() - self.t0, op, result, user))

    async def user_loop(self, user: int) -> None:
        c = self.client()
        self.clients.append(c)
        rng = random.Random(self.rng.random())
        own = f"chaos-u{user}"
        version: int | None = None
        stale = True
        names = list(OPS)
        weights = list(OPS.values())
        while not await self._login_until_ok(c, user):
            pass
        while not self.stop.is_set():
            op = rng.choices(names, weights)[0]
            t = now()
            try:
                if op == "dashboard_save" and stale:
                    r = await c.get(f"/api/dashboards/uid/{own}")
                    if r.status_code == 200:
                        version = int(r.json()["dashboard"]["version"])
                        stale = False
                    op = "dashboard_read"
                elif op == "dashboard_save":
                    self._seq += 1
                    marker = f"u{user}-s{self._seq}"
                    body = {
                        "dashboard": dashboard_json(own, f"Chaos user {user}", version, marker),
                        "folderUid": "chaos",
                        "overwrite": False,
                        "message": marker,
                    }
                    r = await c.post("/api/dashboards/db", json=body)
                    if r.status_code == 200:
                        version = int(r.json()["version"])
                        self.ledger.dashboards.append((own, version, marker, now() - self.t0))
                    else:
                        stale = True
                elif op == "annotation_write":
                    self._seq += 1
                    text = f"chaos u{user} a{self._seq}"
                    body = {
                        "dashboardUID": own,
                        "panelId": 1,
                        "time": int(time.time() * 1000),
                        "tags": ["chaos"],
                        "text": text,
                    }
                    r = await c.post("/api/annotations", json=body)
                    if r.status_code == 200:
                        self.ledger.annotations.append((int(r.json()["id"]), text, now() - self.t0))
                elif op == "dashboard_read":
                    uid = rng.choice(self.static_uids) if rng.random() < 0.7 else own
                    r = await c.get(f"/api/dashboards/uid/{uid}")
                elif op == "search":
                    q = rng.choice(["", "chaos", "Static 1", "user"])
                    r = await c.get("/api/search", params={"query": q, "limit": 50})
                elif op == "ds_query":
                    r = await c.post("/api/ds/query", json=ds_query_body())
                elif op == "user":
                    r = await c.get("/api/user")
                else:  # login: a new session on a fresh client, kept to be checked at the end
                    fresh = self.client()
                    try:
                        r = await fresh.post("/login", json={"user": f"chaos{user}", "password": USER_PW})
                        if r.status_code == 200 and len(self.extra_sessions) < 400:
                            self.extra_sessions.append(httpx.Cookies(fresh.cookies))
                            self.logins += 1
                    finally:
                        await fresh.aclose()
            except Exception as exc:
                self.record(t, op, cause(exc), user)
                if op == "dashboard_save":
                    stale = True
            else:
                self.record(t, op, "ok" if r.status_code == 200 else f"http_{r.status_code}", user)
                if r.status_code == 401 and op != "login":
                    self.sessions_401.append((now() - self.t0, user, op))
                    c.cookies.clear()
                    while not await self._login_until_ok(c, user):
                        pass
            await asyncio.sleep(rng.uniform(0.01, 0.06))

    async def _login_until_ok(self, c: httpx.AsyncClient, user: int) -> bool:
        t = now()
        try:
            ok = await self.login(c, user)
        except Exception as exc:
            self.record(t, "login", cause(exc), user)
            ok = False
        else:
            self.record(t, "login", "ok" if ok else "http_error", user)
        if not ok:
            if self.stop.is_set():
                return True
            await asyncio.sleep(0.2)
        return ok

    async def run(self) -> None:
        await asyncio.gather(*(self.user_loop(u) for u in range(self.users)))

    async def close(self) -> None:
        for c in self.clients:
            await c.aclose()


# -- monitoring -----------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    replicas_healthy: int
    haproxy_up: int | None


async def monitor(cluster: ChaosCluster, t0: float, out: list[Sample], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=0.8) as c:
        while not stop.is_set():
            t = now()

            async def health(i: int) -> bool:
                try:
                    r = await c.get(f"{cluster.replica_url(i)}/api/health")
                except httpx.HTTPError:
                    return False
                return r.status_code == 200

            states = await asyncio.gather(*(health(i) for i in range(len(cluster.replicas))))
            up = await asyncio.to_thread(cluster.haproxy_up)
            out.append(Sample(t - t0, sum(states), up))
            await asyncio.sleep(max(0.0, 0.2 - (now() - t)))


# -- faults ---------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    title: str
    injected: float = 0.0  # seconds since t0
    cleared: float = 0.0  # when the fault was undone (SIGCONT, Redis started, replica restarted...)
    ended: float = 0.0  # end of its observation window
    detail: str = ""


@dataclass
class Timing:
    steady: float  # quiet seconds before the first fault
    observe: float  # seconds kept watching after a fault is undone and the cluster is healthy again
    down: float  # seconds a killed replica stays dead / a replica stays stopped / Redis stays down


SHORT = Timing(steady=8, observe=4, down=4)
FULL = Timing(steady=60, observe=15, down=10)


class Battery:
    def __init__(self, provider: str, timing: Timing, users: int, faults: list[str], work: Path) -> None:
        self.provider = provider
        self.timing = timing
        self.users = users
        self.fault_names = faults
        self.work = work
        self.lines: list[str] = []
        self.faults: list[Fault] = []
        self.samples: list[Sample] = []
        self.t0 = 0.0

    def save_log(self, path: Path) -> None:
        path.write_text("\n".join(self.lines) + "\n")

    def t(self) -> float:
        return now() - self.t0

    async def wait_all_healthy(self, cluster: ChaosCluster, timeout: float = 60) -> None:
        deadline = now() + timeout
        while now() < deadline:
            s = self.samples[-1] if self.samples else None
            if s is not None and s.t > self.t() - 0.5 and s.replicas_healthy == 3 and s.haproxy_up == 3:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(
            f"replicas not all healthy {timeout}s after a fault:\n" + "\n".join(self.lines[-60:])
        )

    async def busiest_replica(self, cluster: ChaosCluster) -> int:
        """The replica that evaluates the most alert rules (its death moves them), else replica-2."""
        try:
            async with httpx.AsyncClient(base_url=cluster.url, auth=ADMIN, timeout=5) as c:
                status = (await c.get("/api/cluster/status")).json()
            best = max(status["instances"], key=lambda i: len(i.get("rules") or []))
            return int(str(best["name"]).rsplit("-", 1)[1]) - 1
        except (httpx.HTTPError, ValueError, KeyError, IndexError):
            return 1

    async def inject(
        self, name: str, cluster: ChaosCluster, pg: PrivatePostgres, redis: PrivateRedis | None
    ) -> Fault:
        tm = self.timing
        victim = await self.busiest_replica(cluster)
        f = Fault(name, FAULT_TITLES[name])
        f.injected = self.t()
        if name == "sigkill":
            cluster.signal_replica(victim, signal.SIGKILL)
            await asyncio.to_thread(cluster.wait_exit, victim, 10)
            await asyncio.sleep(tm.down)
            cluster.restart(victim)
            f.detail = f"replica-{victim + 1} SIGKILLed, started again after {tm.down:.0f} s"
        elif name == "sigstop":
            cluster.signal_replica(victim, signal.SIGSTOP)
            await asyncio.sleep(tm.down)
            cluster.signal_replica(victim, signal.SIGCONT)
            f.detail = f"replica-{victim + 1} SIGSTOPped for {tm.down:.0f} s, then SIGCONT"
        elif name == "postgres_restart":
            await asyncio.to_thread(pg.restart)
            f.detail = "pg_ctl restart -m fast (every connection cut, server down until it is back)"
        elif name == "redis_restart":
            assert redis is not None
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(tm.down)
            await asyncio.to_thread(redis.start)
            f.detail = (
                f"redis-server stopped (SIGTERM) for {tm.down:.0f} s, then started on its append-only file"
            )
        elif name == "rolling_restart":
            for i in range(len(cluster.replicas)):
                cluster.signal_replica(i, signal.SIGTERM)
                await asyncio.to_thread(cluster.wait_exit, i, 30)
                cluster.restart(i)
                await self.wait_all_healthy(cluster)
            f.detail = "each replica in turn: SIGTERM (drain, exit), start, wait until HAProxy has it back"
        else:
            raise ValueError(name)
        f.cleared = self.t()
        return f

    async def run(self) -> dict[str, Any]:
        self.work.mkdir(parents=True, exist_ok=True)
        pg = PrivatePostgres(self.work)
        redis = (
            PrivateRedis(self.work)
            if self.provider == "redis" or "redis_restart" in self.fault_names
            else None
        )
        rec = Receiver()
        cluster: ChaosCluster | None = None
        try:
            started = now()
            await asyncio.to_thread(pg.init)
            if redis is not None:
                await asyncio.to_thread(redis.start)
            await rec.start()
            session = redis.url if self.provider == "redis" and redis is not None else self.provider
            env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
            cluster = ChaosCluster(
                ClusterSpec(
                    replicas=3,
                    db_url=pg.url,
                    session=session,
                    port=free_block(4),
                    run_dir=self.work / "cluster",
                    settings=[
                        f"security.admin_user={ADMIN[0]}",
                        f"security.admin_password={ADMIN[1]}",
                        f"security.secret_key={SECRET}",
                        "server.router_logging=false",
                        "server.drain_seconds=2",
                        f"log.level={os.environ.get('CHAOS_LOG_LEVEL', 'warning')}",
                        "alerting.min_interval=1s",
                        "alerting.notification_timeout=2s",
                        "cluster.heartbeat_interval=500ms",
                        "cluster.peer_timeout=3s",
                        "auth.token_rotation_interval_minutes=1",
                    ],
                    env=env,
                ),
                sink=lambda name, line: self.lines.append(f"{name} | {line}"),
            )
            await asyncio.to_thread(cluster.start)
            await asyncio.to_thread(cluster.wait_healthy, 120)
            setup_s = now() - started
            load, rules = await self.setup(cluster, rec)
            return await self.exercise(cluster, pg, redis, rec, load, rules, setup_s)
        finally:
            if cluster is not None:
                for i in range(len(cluster.replicas)):  # a stopped replica cannot drain
                    with contextlib.suppress(Exception):
                        cluster.signal_replica(i, signal.SIGCONT)
                await asyncio.to_thread(cluster.stop)
            await rec.stop()
            if redis is not None:
                await asyncio.to_thread(redis.stop)
            await asyncio.to_thread(pg.stop)

    async def setup(self, cluster: ChaosCluster, rec: Receiver) -> tuple[Load, list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=cluster.url, auth=ADMIN, timeout=30) as c:

            async def ok(r: Awaitable[httpx.Response]) -> Any:
                resp = await r
                if resp.status_code not in (200, 201, 202):
                    raise RuntimeError(
                        f"setup: {resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
                    )
                return resp.json() if resp.content else None

            await ok(c.post("/api/folders", json={"uid": "chaos", "title": "Chaos"}))
            await ok(c.post("/api/folders", json={"uid": "chaos-alerts", "title": "Chaos alerts"}))
            await ok(
                c.post(
                    "/api/datasources",
                    json={
                        "name": "TestData",
                        "type": "grafana-testdata-datasource",
                        "uid": "testdata",
                        "access": "proxy",
                    },
                )
            )
            static = []
            for i in range(20):
                uid = f"chaos-static-{i}"
                await ok(
                    c.post(
                        "/api/dashboards/db",
                        json={
                            "dashboard": dashboard_json(uid, f"Static {i}", None, "static"),
                            "folderUid": "chaos",
                        },
                    )
                )
                static.append(uid)
            for u in range(self.users):
                created = await ok(
                    c.post(
                        "/api/admin/users",
                        json={"login": f"chaos{u}", "password": USER_PW, "email": f"chaos{u}@example.com"},
                    )
                )
                await ok(c.patch(f"/api/org/users/{created['id']}", json={"role": "Editor"}))
                await ok(
                    c.post(
                        "/api/dashboards/db",
                        json={
                            "dashboard": dashboard_json(f"chaos-u{u}", f"Chaos user {u}", None, "v1"),
                            "folderUid": "chaos",
                        },
                    )
                )
            await ok(
                c.post(
                    "/api/v1/provisioning/contact-points",
                    json={"name": "hook", "type": "webhook", "settings": {"url": rec.url}},
                )
            )
            policy = {
                "receiver": "hook",
                "group_by": ["alertname"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            }
            await ok(c.put("/api/v1/provisioning/policies", json=policy))
            rules = []
            for r in range(RULES):
                body = {"interval": 1, "rules": [pulse_rule(f"Chaos pulse {r}", f"pulse{r}")]}
                got = await ok(
                    c.put(f"/api/v1/provisioning/folder/chaos-alerts/rule-groups/pulse{r}", json=body)
                )
                rules.append(got["rules"][0])
        load = Load(cluster.url, self.users, self.t0)
        load.static_uids = static
        return load, rules

    async def exercise(
        self,
        cluster: ChaosCluster,
        pg: PrivatePostgres,
        redis: PrivateRedis | None,
        rec: Receiver,
        load: Load,
        rules: list[dict[str, Any]],
        setup_s: float,
    ) -> dict[str, Any]:
        tm = self.timing
        self.t0 = now()
        load.t0 = self.t0
        wall0 = time.time()
        stop_monitor = asyncio.Event()
        mon = asyncio.create_task(monitor(cluster, self.t0, self.samples, stop_monitor))
        runner = asyncio.create_task(load.run())
        try:
            await asyncio.sleep(tm.steady)
            for name in self.fault_names:
                f = await self.inject(name, cluster, pg, redis)
                await self.wait_all_healthy(cluster)
                await asyncio.sleep(tm.observe)
                f.ended = self.t()
                self.faults.append(f)
                print(
                    f"  [{self.provider}] {name}: injected at {f.injected:.1f}s, "
                    f"cleared {f.cleared:.1f}s, window to {f.ended:.1f}s",
                    flush=True,
                )
        finally:
            load.stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner, CLIENT_TIMEOUT + 10)
            runner.cancel()
        load_end = self.t()
        # Pause the rules, let the last notifications out, then read everything back.
        async with httpx.AsyncClient(base_url=cluster.url, auth=ADMIN, timeout=30) as c:
            for r, rule in enumerate(rules):
                body = {"interval": 1, "rules": [{**rule, "isPaused": True}]}
                resp = await c.put(
                    f"/api/v1/provisioning/folder/chaos-alerts/rule-groups/pulse{r}", json=body
                )
                if resp.status_code != 200:
                    raise RuntimeError(f"pausing rules: {resp.status_code} {resp.text}")
            await self.settle_notifications(rec)
            verification = await self.verify(c, cluster, load)
            notes = await self.alert_changes(c, wall0)
        stop_monitor.set()
        await mon
        await load.close()
        return self.summarise(cluster, load, rec, notes, verification, wall0, load_end, setup_s)

    async def settle_notifications(self, rec: Receiver) -> None:
        quiet_since, count = now(), len(rec.got)
        deadline = now() + 20
        while now() < deadline and now() - quiet_since < 4:
            await asyncio.sleep(0.25)
            if len(rec.got) != count:
                quiet_since, count = now(), len(rec.got)

    async def verify(self, c: httpx.AsyncClient, cluster: ChaosCluster, load: Load) -> dict[str, Any]:
        """Read back every acknowledged write through HAProxy; every stored session must still work."""
        sem = asyncio.Semaphore(12)
        lost_dash: list[tuple[str, int, str, float]] = []
        lost_annot: list[tuple[int, str, float]] = []
        errors: Counter[str] = Counter()

        async def get(path: str) -> httpx.Response | None:
            async with sem:
                for _ in range(5):
                    try:
                        r = await c.get(path)
                    except httpx.HTTPError as exc:
                        errors[cause(exc)] += 1
                        await asyncio.sleep(0.5)
                        continue
                    if r.status_code in (200, 404):
                        return r
                    errors[f"http_{r.status_code}"] += 1
                    await asyncio.sleep(0.5)
            return None

        async def dash(item: tuple[str, int, str, float]) -> None:
            uid, version, marker, _ = item
            r = await get(f"/api/dashboards/uid/{uid}/versions/{version}")
            if r is None or r.status_code != 200 or r.json().get("data", {}).get("description") != marker:
                lost_dash.append(item)

        async def annot(item: tuple[int, str, float]) -> None:
            aid, text, _ = item
            r = await get(f"/api/annotations/{aid}")
            if r is None or r.status_code != 200 or r.json().get("text") != text:
                lost_annot.append(item)

        await asyncio.gather(
            *(dash(d) for d in load.ledger.dashboards), *(annot(a) for a in load.ledger.annotations)
        )
        # the latest version of each user's dashboard is at least the highest acknowledged one
        behind = []
        for u in range(load.users):
            uid = f"chaos-u{u}"
            acked = [v for d, v, _, _ in load.ledger.dashboards if d == uid]
            r = await get(f"/api/dashboards/uid/{uid}")
            if acked and (
                r is None or r.status_code != 200 or int(r.json()["dashboard"]["version"]) < max(acked)
            ):
                behind.append(uid)
        # sessions: every virtual user's current cookie and every session the login operation made
        dead_sessions = 0
        jars = [cl.cookies for cl in load.clients] + load.extra_sessions
        for jar in jars:
            async with httpx.AsyncClient(base_url=cluster.url, timeout=10, cookies=jar) as s:
                r = await s.get("/api/user")
                if r.status_code == 401:
                    dead_sessions += 1
                elif r.status_code != 200:
                    errors[f"session_check_http_{r.status_code}"] += 1
        return {
            "lost_dashboards": lost_dash,
            "lost_annotations": lost_annot,
            "dashboards_behind": behind,
            "sessions_checked": len(jars),
            "sessions_dead_at_end": dead_sessions,
            "verify_errors": dict(errors),
        }

    async def alert_changes(self, c: httpx.AsyncClient, wall0: float) -> list[tuple[str, str, float]]:
        """The alert state changes Vigil recorded (its state history) since the load began."""
        r = await c.get("/api/annotations", params={"type": "alert", "limit": 100000})
        r.raise_for_status()
        out = []
        for n in r.json():
            status = {"Alerting": "firing", "Normal": "resolved"}.get(n.get("newState", ""))
            if status and n["time"] / 1000 >= wall0:
                out.append((n["alertName"], status, n["time"] / 1000))
        return out

    def summarise(
        self,
        cluster: ChaosCluster,
        load: Load,
        rec: Receiver,
        notes: list[tuple[str, str, float]],
        verification: dict[str, Any],
        wall0: float,
        load_end: float,
        setup_s: float,
    ) -> dict[str, Any]:
        # notifications: one delivery per recorded state change, none for anything else
        expected = {(name, status, round(at, 1)): at - wall0 for name, status, at in notes}
        seen: dict[tuple[str, str, float], list[Delivery]] = {}
        for d in rec.got:
            for a in d.alerts:
                stamp = a["startsAt"] if d.status == "firing" else a["endsAt"]
                at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                if at < wall0:
                    continue
                seen.setdefault((a["labels"]["alertname"], a["status"], round(at, 1)), []).append(d)
        # duplicated: one state change notified by distinct notifications (two claims: never allowed);
        # redelivered: the same notification (same X-Vigil-Notification-Id) received twice, the
        # documented at-least-once case of a sender stopped in the middle of its HTTP send
        dup_keys = {k: len({d.notification_id for d in v}) - 1 for k, v in seen.items() if len(v) > 1}
        redelivered = {k: len(v) - len({d.notification_id for d in v}) for k, v in seen.items() if len(v) > 1}
        last_delivery = {k: max(d.at for d in v) - wall0 for k, v in seen.items()}
        missing = [k for k in expected if k not in seen]
        unexpected = [k for k in seen if k not in expected]
        ids = Counter(d.notification_id for d in rec.got)

        windows: list[tuple[Fault | None, float, float]] = [
            (None, 0.0, self.faults[0].injected if self.faults else load_end)
        ]
        windows += [(f, f.injected, f.ended) for f in self.faults]
        windows[-1] = (windows[-1][0], windows[-1][1], max(windows[-1][2], load_end))

        def in_window(t: float, lo: float, hi: float) -> bool:
            return lo <= t < hi

        rows = []
        for f, lo, hi in windows:
            name, title = (f.name, f.title) if f else ("steady", "steady load, no fault")
            outs = [o for o in load.outcomes if in_window(o.end, lo, hi)]
            failed = [o for o in outs if o.result != "ok"]
            by_cause = Counter(o.result for o in failed)
            by_op = Counter(o.op for o in failed)
            recovery = last_seen = 0.0
            if failed:
                last_seen = max(0.0, max(o.end for o in failed) - lo)
                last_fail = max(o.start for o in failed)
                later_ok = [o.start for o in outs if o.result == "ok" and o.start > last_fail]
                recovery = max(0.0, (min(later_ok) if later_ok else hi) - lo)
            healthy_after = None
            if f is not None:
                ok_samples = [
                    s.t
                    for s in self.samples
                    if s.t >= f.cleared and s.replicas_healthy == 3 and s.haproxy_up == 3
                ]
                healthy_after = round(min(ok_samples) - f.injected, 2) if ok_samples else None
            min_up = min(
                (s.haproxy_up for s in self.samples if lo <= s.t < hi and s.haproxy_up is not None),
                default=None,
            )
            lost_users = {u for t, u, _ in load.sessions_401 if lo <= t < hi}
            acked = [d for d in load.ledger.dashboards if lo <= d[3] < hi] + [
                a for a in load.ledger.annotations if lo <= a[2] < hi
            ]
            lost = [d for d in verification["lost_dashboards"] if lo <= d[3] < hi]
            lost += [a for a in verification["lost_annotations"] if lo <= a[2] < hi]
            exp_w = [k for k, t in expected.items() if lo <= t < hi]
            lats = sorted(o.end - o.start for o in outs if o.result == "ok")
            rows.append(
                {
                    "fault": name,
                    "title": title,
                    "detail": f.detail if f else "",
                    "window_s": [round(lo, 2), round(hi, 2)],
                    "fault_duration_s": round(f.cleared - f.injected, 2) if f else 0.0,
                    "requests": len(outs),
                    "requests_ok": len(outs) - len(failed),
                    "requests_failed": len(failed),
                    "failed_by_cause": dict(by_cause.most_common()),
                    "failed_by_operation": dict(by_op.most_common()),
                    "latency_ok_p50_ms": round(statistics.median(lats) * 1000, 1) if lats else None,
                    "latency_ok_p99_ms": round(lats[min(len(lats) - 1, int(len(lats) * 0.99))] * 1000, 1)
                    if lats
                    else None,
                    "recovery_s": round(recovery, 2),
                    "last_failure_seen_s": round(last_seen, 2),
                    "all_replicas_healthy_after_s": healthy_after,
                    "haproxy_min_replicas_up": min_up,
                    "sessions_lost": len(lost_users),
                    "writes_acknowledged": len(acked),
                    "writes_lost": len(lost),
                    "notifications_expected": len(exp_w),
                    "notifications_missing": sum(1 for k in missing if lo <= expected[k] < hi),
                    # a repeat belongs to the window in which it arrived (the fault that caused it)
                    "notifications_redelivered": sum(
                        n for k, n in redelivered.items() if k in expected and lo <= last_delivery[k] < hi
                    ),
                    "notifications_duplicated": sum(
                        n for k, n in dup_keys.items() if k in expected and lo <= last_delivery[k] < hi
                    ),
                }
            )
        ok_total = sum(1 for o in load.outcomes if o.result == "ok")
        tracebacks = [line for line in self.lines if "Traceback" in line]
        errors_logged = Counter(
            line.split(" | ")[0]
            for line in self.lines
            if '"level": "error"' in line or '"level":"error"' in line
        )
        return {
            "session_provider": self.provider,
            "replicas": 3,
            "virtual_users": load.users,
            "client_timeout_s": CLIENT_TIMEOUT,
            "setup_s": round(setup_s, 1),
            "load_seconds": round(load_end, 1),
            "database": f"private PostgreSQL {pg_version_label()} on 127.0.0.1",
            "requests": len(load.outcomes),
            "requests_ok": ok_total,
            "requests_failed": len(load.outcomes) - ok_total,
            "requests_per_second": round(len(load.outcomes) / load_end, 1) if load_end else 0.0,
            "operations": dict(Counter(o.op for o in load.outcomes).most_common()),
            "faults": rows,
            "writes": {
                "dashboard_versions_acknowledged": len(load.ledger.dashboards),
                "annotations_acknowledged": len(load.ledger.annotations),
                "lost": len(verification["lost_dashboards"]) + len(verification["lost_annotations"]),
                "lost_items": [list(x) for x in verification["lost_dashboards"]]
                + [list(x) for x in verification["lost_annotations"]],
                "dashboards_behind_acknowledged_version": verification["dashboards_behind"],
                "verify_errors": verification["verify_errors"],
            },
            "sessions": {
                "logged_in_cookies_refused_during_run": len(load.sessions_401),
                "refusals": [list(x) for x in load.sessions_401],
                "checked_at_end": verification["sessions_checked"],
                "dead_at_end": verification["sessions_dead_at_end"],
                "logins_kept": load.logins,
            },
            "notifications": {
                "state_changes_recorded": len(expected),
                "deliveries": len(rec.got),
                "delivered_state_changes": sum(1 for k in expected if k in seen),
                "missing": len(missing),
                "duplicated": sum(n for k, n in dup_keys.items() if k in expected),
                "redelivered": sum(n for k, n in redelivered.items() if k in expected),
                "unexpected": len(unexpected),
                "repeated_notification_ids": sum(n - 1 for n in ids.values() if n > 1),
                "missing_items": [list(k) for k in missing],
                "duplicated_items": [
                    {
                        "state_change": list(k),
                        "at_s": round(expected.get(k, 0.0), 2),
                        "deliveries": [
                            {"at_s": round(d.at - wall0, 3), "id": d.notification_id, "from": d.client}
                            for d in seen[k]
                        ],
                    }
                    for k in seen
                    if len(seen[k]) > 1
                ],
                "unexpected_items": [list(k) for k in unexpected],
            },
            "replica_tracebacks": len(tracebacks),
            "replica_unhandled_errors": sum(1 for line in self.lines if "unhandled error on" in line),
            "http_500": sum(1 for o in load.outcomes if o.result == "http_500"),
            "replica_error_lines": dict(errors_logged),
            "series": self.series(load),
            "faults_timeline": [
                {
                    "fault": f.name,
                    "injected": round(f.injected, 2),
                    "cleared": round(f.cleared, 2),
                    "ended": round(f.ended, 2),
                }
                for f in self.faults
            ],
            "final_replicas_healthy": self.samples[-1].replicas_healthy if self.samples else 0,
            "final_haproxy_up": self.samples[-1].haproxy_up if self.samples else None,
            "log_tail": tracebacks[:20],
        }

    def series(self, load: Load) -> dict[str, list[float]]:
        """Per-second counts (by the request's end) for the plots."""
        if not load.outcomes:
            return {"ok": [], "failed": [], "haproxy_up": []}
        n = int(max(o.end for o in load.outcomes)) + 1
        ok = [0.0] * n
        bad = [0.0] * n
        for o in load.outcomes:
            (ok if o.result == "ok" else bad)[int(o.end)] += 1
        up = [3.0] * n
        for s in self.samples:
            if 0 <= int(s.t) < n and s.haproxy_up is not None:
                up[int(s.t)] = min(up[int(s.t)], float(s.haproxy_up))
        return {"ok": ok, "failed": bad, "haproxy_up": up}


FAULT_TITLES = {
    "sigkill": "SIGKILL of a replica",
    "sigstop": "SIGSTOP of a replica (hung), then SIGCONT",
    "postgres_restart": "PostgreSQL restart",
    "redis_restart": "Redis stop and start",
    "rolling_restart": "Rolling restart of every replica",
}
ALL_FAULTS = list(FAULT_TITLES)


def pg_version_label() -> str:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(bins[-1]).parent.parent.name if bins else "?"


def pulse_rule(title: str, group: str) -> dict[str, Any]:
    return {
        "title": title,
        "ruleGroup": group,
        "folderUID": "chaos-alerts",
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 10, "to": 0},
                "datasourceUid": "testdata",
                "model": {
                    "scenarioId": "predictable_pulse",
                    "pulseWave": {
                        "timeStep": 1,
                        "onCount": PULSE_ON,
                        "offCount": PULSE_OFF,
                        "onValue": 1,
                        "offValue": 0,
                    },
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
                    "conditions": [{"evaluator": {"type": "gt", "params": [0.5]}}],
                },
            },
        ],
        "noDataState": "NoData",
        "execErrState": "Error",
        "for": "0s",
    }


# -- report ---------------------------------------------------------------------------------------


def verdict(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "acknowledged_writes_lost": sum(
            r["writes"]["lost"] + len(r["writes"]["dashboards_behind_acknowledged_version"]) for r in runs
        ),
        "sessions_lost": sum(
            r["sessions"]["logged_in_cookies_refused_during_run"] + r["sessions"]["dead_at_end"] for r in runs
        ),
        "notifications_duplicated": sum(r["notifications"]["duplicated"] for r in runs),
        "notifications_redelivered": sum(r["notifications"]["redelivered"] for r in runs),
        "notifications_missing": sum(r["notifications"]["missing"] for r in runs),
        "notifications_unexpected": sum(r["notifications"]["unexpected"] for r in runs),
        "all_replicas_healthy_at_end": all(
            r["final_replicas_healthy"] == 3 and r["final_haproxy_up"] == 3 for r in runs
        ),
        "replica_tracebacks": sum(r["replica_tracebacks"] for r in runs),
        "http_500": sum(r["http_500"] for r in runs),
        "replica_unhandled_errors": sum(r["replica_unhandled_errors"] for r in runs),
    }


def plot(run: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed: no plots (pip install matplotlib, or the dev extras)",
            file=sys.stderr,
        )
        return False
    s = run["series"]
    xs = list(range(len(s["ok"])))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot(xs, s["ok"], color="tab:green", lw=1.2, label="succeeded / s")
    ax.bar(xs, s["failed"], color="tab:red", width=1.0, alpha=0.8, label="failed / s")
    colors = ["tab:purple", "tab:orange", "tab:blue", "tab:brown", "tab:gray"]
    for i, f in enumerate(run["faults_timeline"]):
        col = colors[i % len(colors)]
        for a in (ax, ax2):
            a.axvspan(f["injected"], max(f["cleared"], f["injected"] + 0.3), color=col, alpha=0.18)
        ax.annotate(f["fault"], (f["injected"], ax.get_ylim()[1] * 0.97), fontsize=8, color=col, va="top")
    ax.set_ylabel("requests / s")
    ax.set_title(f"Chaos under load: 3 replicas, HAProxy, PostgreSQL, {run['session_provider']} sessions")
    ax.legend(loc="lower left", fontsize=8)
    ax2.step(xs, s["haproxy_up"], where="post", color="tab:blue")
    ax2.set_ylim(-0.2, 3.4)
    ax2.set_ylabel("replicas UP\n(HAProxy)")
    ax2.set_xlabel("seconds since the load started (shaded: fault in progress)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


COUNTING = """\
## How the figures are counted

- A request belongs to the window (fault injection to the next injection) in which it ended.
- *recovery*: from the injection to the start of the first successful request after which no
  request started in the window failed (0 when nothing failed). *last failure seen*: from the
  injection to the moment the last failed request ended (a timeout ends 5 s after it started).
- *all replicas healthy after*: from the injection until every replica answers 200 on
  `/api/health` and HAProxy has all three UP again (sampled every 200 ms).
- *sessions lost*: virtual users whose logged-in cookie was answered 401 (each then logs in
  again); at the end every session (each user's and every one the login operation made) is
  checked once more.
- *writes lost*: every dashboard save answered 200 is read back as that version
  (`/api/dashboards/uid/:uid/versions/:n`, same description marker) and every annotation answered
  200 by its id, through HAProxy after the last fault.
- *notifications*: every alert state change Vigil recorded (its alert annotations) must reach the
  webhook receiver exactly once (matched on alert name, status and startsAt/endsAt). Expected and
  missing ones count in the window of the state change, repeats in the window they arrived in.
  *duplicated*: two distinct notifications for one state change (never allowed). *redelivered*:
  the same notification (same `X-Vigil-Notification-Id`) received twice, when the sender was
  killed after the receiver got it and before it recorded the delivery; a survivor sends it again
  once the claim's lease lapses (at-least-once there, by design; receivers can dedupe on the id).
"""

TABLE_HEAD = [
    "fault",
    "requests ok",
    "failed",
    "failed by cause",
    "recovery (s)",
    "last failure seen (s)",
    "all replicas healthy after (s)",
    "sessions lost",
    "writes acked / lost",
    "notifications expected / dup / missing",
    "p99 ok (ms)",
]


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown(result: dict[str, Any], plots: dict[str, str]) -> str:
    v = result["verdict"]
    host = result["host"]
    out = [
        f"# Chaos and load battery ({result['form']} form)",
        "",
        f"Run {result['finished']} on {host['machine']} ({host['cpus']} CPUs, load average "
        f"{host['load_before']} before, {host['load_after']} after) in {result['wall_seconds']:.0f} s, "
        f"by `{result['command']}`.",
        "",
        "3 `vigil server` replicas behind HAProxy (deploy/haproxy/stateless.cfg), a private PostgreSQL, "
        "a private Redis and a webhook receiver; virtual users logged in with session cookies run a mix "
        "of logins, searches, dashboard reads, `/api/ds/query`, dashboard saves and annotation writes "
        f"while faults are injected one at a time. A request slower than {CLIENT_TIMEOUT:.0f} s counts "
        "as failed (timeout).",
        "",
        "## Verdict",
        "",
        "| | |",
        "|---|---|",
        f"| acknowledged writes lost | **{v['acknowledged_writes_lost']}** |",
        f"| sessions lost (a logged-in cookie answered 401) | **{v['sessions_lost']}** |",
        f"| notifications duplicated (two notifications for one state change) "
        f"| **{v['notifications_duplicated']}** |",
        f"| notifications redelivered (one notification received twice: sender stopped mid-send, "
        f"same X-Vigil-Notification-Id) | {v['notifications_redelivered']} |",
        f"| notifications missing | **{v['notifications_missing']}** |",
        f"| notifications for no recorded state change | {v['notifications_unexpected']} |",
        f"| every replica healthy at the end | {'yes' if v['all_replicas_healthy_at_end'] else '**no**'} |",
        f"| requests answered 500 (unhandled errors) | {v['http_500']} |",
        "",
    ]
    for run in result["runs"]:
        w, s, n = run["writes"], run["sessions"], run["notifications"]
        behind = len(w["dashboards_behind_acknowledged_version"])
        out += [
            f"## Sessions: `{run['session_provider']}`",
            "",
            f"{run['requests']} requests in {run['load_seconds']:.0f} s ({run['requests_per_second']} /s), "
            f"{run['requests_failed']} failed; {run['virtual_users']} virtual users.",
            f"Writes acknowledged: {w['dashboard_versions_acknowledged']} dashboard versions, "
            f"{w['annotations_acknowledged']} annotations; lost: **{w['lost']}** "
            f"(dashboards behind their acknowledged version: {behind}).",
            f"Sessions: {s['logged_in_cookies_refused_during_run']} refusals of a logged-in cookie during "
            f"the run, {s['dead_at_end']} of {s['checked_at_end']} sessions dead at the end.",
            f"Notifications: {n['state_changes_recorded']} state changes recorded, "
            f"{n['delivered_state_changes']} delivered, {n['duplicated']} duplicated, "
            f"{n['redelivered']} redelivered, "
            f"{n['missing']} missing, {n['unexpected']} unexpected ({n['deliveries']} webhook deliveries).",
            "",
            _row(TABLE_HEAD),
            _row(["---"] * len(TABLE_HEAD)),
        ]
        for row in run["faults"]:
            causes = ", ".join(f"{k} {v}" for k, v in row["failed_by_cause"].items()) or "-"
            healthy = row["all_replicas_healthy_after_s"]
            again = (
                f" (+{row['notifications_redelivered']} redelivered)"
                if row["notifications_redelivered"]
                else ""
            )
            out.append(
                _row(
                    [
                        row["title"],
                        row["requests_ok"],
                        row["requests_failed"],
                        causes,
                        f"{row['recovery_s']:.2f}",
                        f"{row['last_failure_seen_s']:.2f}",
                        "-" if healthy is None else f"{healthy:.1f}",
                        row["sessions_lost"],
                        f"{row['writes_acknowledged']} / {row['writes_lost']}",
                        f"{row['notifications_expected']} / {row['notifications_duplicated']}{again} / "
                        f"{row['notifications_missing']}",
                        row["latency_ok_p99_ms"],
                    ]
                )
            )
        out += [""]
        for row in run["faults"]:
            if row["detail"]:
                by_op = row["failed_by_operation"] or "-"
                out.append(f"- **{row['fault']}**: {row['detail']}; failed by operation: {by_op}")
        if run["session_provider"] in plots:
            name = plots[run["session_provider"]]
            out += ["", f"![requests per second, {run['session_provider']} sessions]({name})"]
        out += [""]
    return "\n".join(out) + "\n" + COUNTING


async def run_all(
    short: bool,
    providers: list[str],
    users: int,
    out_dir: Path,
    logs: Path | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    for binary in ("haproxy", "redis-server"):
        which(binary)
    timing = SHORT if short else FULL
    timing = Timing(
        steady=float(os.environ.get("CHAOS_STEADY", timing.steady)),
        observe=float(os.environ.get("CHAOS_OBSERVE", timing.observe)),
        down=float(os.environ.get("CHAOS_DOWN", timing.down)),
    )
    started = now()
    load_before = os.getloadavg()[0]
    runs = []
    base = Path(tempfile.mkdtemp(prefix="vigil-chaos-"))
    try:
        for i, provider in enumerate(providers):
            faults = list(only or ALL_FAULTS)
            if only:
                pass
            elif provider != "redis":
                faults.remove("redis_restart")  # Vigil does not use Redis with these sessions
                if short:
                    faults.remove("rolling_restart")  # shown with redis sessions; keeps the short form short
            print(f"chaos: {provider} sessions, faults {', '.join(faults)}", flush=True)
            battery = Battery(provider, timing, users, faults, base / f"run{i}-{provider}")
            try:
                runs.append(await battery.run())
            finally:
                if logs is not None:
                    logs.mkdir(parents=True, exist_ok=True)
                    battery.save_log(logs / f"replicas-{provider}.log")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    stem = "chaos-short" if short else "chaos"
    result: dict[str, Any] = {
        "form": "short" if short else "full",
        "command": "python -m bench.chaos" + (" --short" if short else ""),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(now() - started, 1),
        "host": {
            "machine": platform.node() or "?",
            "cpus": os.cpu_count(),
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        "runs": runs,
    }
    result["verdict"] = verdict(runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {}
    for run in runs:
        name = f"{stem}-{run['session_provider']}.png"
        if plot(run, out_dir / name):
            plots[run["session_provider"]] = name
    (out_dir / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown(result, plots))
    return result


def print_summary(result: dict[str, Any]) -> None:
    cols = ["ok", "failed", "recovery_s", "last_fail", "healthy_s", "sess_lost", "w_acked", "w_lost"]
    cols += ["n_exp", "n_dup", "n_miss"]
    for run in result["runs"]:
        print(
            f"\n{run['session_provider']} sessions: {run['requests']} requests, "
            f"{run['requests_failed']} failed, {run['requests_per_second']}/s"
        )
        print(f"  {'fault':18} " + " ".join(f"{c:>10}" for c in cols) + "  causes")
        for row in run["faults"]:
            healthy = row["all_replicas_healthy_after_s"]
            cells = [
                row["requests_ok"],
                row["requests_failed"],
                f"{row['recovery_s']:.2f}",
                f"{row['last_failure_seen_s']:.2f}",
                "-" if healthy is None else f"{healthy:.2f}",
                row["sessions_lost"],
                row["writes_acknowledged"],
                row["writes_lost"],
                row["notifications_expected"],
                row["notifications_duplicated"],
                row["notifications_missing"],
            ]
            line = " ".join(f"{c!s:>10}" for c in cells)
            print(f"  {row['fault']:18} {line}  {row['failed_by_cause']}")
    print(f"\nverdict: {json.dumps(result['verdict'])}  ({result['wall_seconds']:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--short", action="store_true", help="the short form run inside make test")
    parser.add_argument("--providers", default=os.environ.get("CHAOS_PROVIDERS", "redis,database"))
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--faults", default="", help=f"comma-separated, from {', '.join(FAULT_TITLES)}")
    parser.add_argument("--logs", default=None, help="a folder for the replicas' logs (kept after the run)")
    parser.add_argument("--out", default=os.environ.get("CHAOS_OUT", str(HERE / "results")))
    args = parser.parse_args(argv)
    users = args.users or int(os.environ.get("CHAOS_USERS", "0")) or (6 if args.short else 8)
    providers = [p for p in re.split(r"[,\s]+", args.providers) if p]
    try:
        result = asyncio.run(
            run_all(
                args.short,
                providers,
                users,
                Path(args.out),
                Path(args.logs) if args.logs else None,
                [f for f in re.split(r"[,\s]+", args.faults) if f] or None,
            )
        )
    except Missing as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2
    print_summary(result)
    v = result["verdict"]
    good = (
        v["acknowledged_writes_lost"] == 0
        and v["sessions_lost"] == 0
        and v["notifications_duplicated"] == 0
        and v["notifications_missing"] == 0
        and v["all_replicas_healthy_at_end"]
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
