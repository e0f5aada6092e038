"""``vigil cluster up``: N replicas on one machine behind a real HAProxy or nginx, for trying HA out
and for the HA tests. ``vigil cluster status`` reads what a running ``up`` recorded.

Replicas are ``vigil server`` processes on consecutive ports after the load balancer's port. The
load balancer's configuration is rendered from the templates in ``deploy/`` (the same files an
operator starts from). Everything the command starts is recorded in ``<[paths] data>/cluster/
state.json`` and stopped on Ctrl-C (or SIGTERM): the load balancer first, then the replicas.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.errors import ConfigError

LOAD_BALANCERS = ("haproxy", "nginx")
BALANCES = ("roundrobin", "leastconn")
SESSION_PROVIDERS = ("database", "redis", "memcached", "file")
LogSink = Callable[[str, str], None]


def deploy_dir() -> Path:
    """The folder with the load-balancer templates: ``VIGIL_DEPLOY_DIR``, else the repository's
    ``deploy/`` next to the source tree."""
    env = os.environ.get("VIGIL_DEPLOY_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "deploy" for p in here.parents]
    for c in candidates:
        if (c / "haproxy" / "stateless.cfg").is_file():
            return c
    raise ConfigError(
        "cannot find the deploy/ templates: set VIGIL_DEPLOY_DIR to the folder holding haproxy/"
    )


def render(template: str, values: dict[str, str]) -> str:
    """Replace every ``{{name}}`` outside ``#`` comment lines (which document them); a placeholder
    without a value is an error, not a silent blank."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise ConfigError(f"template placeholder {{{{{key}}}}} has no value")
        return values[key]

    lines = template.splitlines(keepends=True)
    return "".join(
        line if line.lstrip().startswith("#") else re.sub(r"\{\{(\w+)\}\}", sub, line) for line in lines
    )


def parse_session(value: str) -> tuple[str, str]:
    """(provider, config) from ``redis://host:port/0``, ``redis``, ``memcached:127.0.0.1:11211``,
    ``file:/path`` or ``database``."""
    value = value.strip()
    for scheme, provider in (("redis://", "redis"), ("rediss://", "redis"), ("memcached://", "memcached")):
        if value.startswith(scheme):
            return provider, value
    provider, _, config = value.partition(":")
    if provider not in SESSION_PROVIDERS:
        raise ConfigError(
            f"--session {value!r}: accepted {', '.join(SESSION_PROVIDERS)}, optionally followed by :CONFIG"
        )
    return provider, config


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError, http.client.HTTPException):
        return None


def instance_of(url: str, timeout: float = 2.0) -> str | None:
    """The ``X-Vigil-Instance`` of the replica that answered ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            found = resp.headers.get("X-Vigil-Instance")
    except urllib.error.HTTPError as exc:
        found = exc.headers.get("X-Vigil-Instance")
    except (OSError, ValueError, http.client.HTTPException):
        return None
    return str(found) if found else None


def vigil_command() -> list[str]:
    script = Path(sys.executable).with_name("vigil")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vigil.cli"]


@dataclass
class ClusterSpec:
    replicas: int
    db_url: str
    session: str = "database"
    lb: str = "haproxy"
    sticky: bool = False
    port: int = 3000
    balance: str = "roundrobin"
    host: str = "127.0.0.1"
    run_dir: Path = Path("data/cluster")
    config_file: str | None = None
    settings: list[str] = field(default_factory=list)  # extra --set SECTION.KEY=VALUE for every replica
    env: dict[str, str] | None = None
    proxy_extra: str = ""  # extra nginx location directives (an auth proxy's header)

    def check(self) -> None:
        if self.replicas < 1:
            raise ConfigError("--replicas must be at least 1")
        if self.lb not in LOAD_BALANCERS:
            raise ConfigError(f"--lb {self.lb!r}: accepted {', '.join(LOAD_BALANCERS)}")
        if self.balance not in BALANCES:
            raise ConfigError(f"--balance {self.balance!r}: accepted {', '.join(BALANCES)}")
        if self.replicas > 1 and self.db_url.lower().startswith("sqlite"):
            raise ConfigError(
                "SQLite serves one replica only: it is a file on one machine, and replicas sharing it "
                "lock each other out (and corrupt it over network file systems). Give every replica the "
                "same PostgreSQL or MySQL database with --db postgresql://… or --db mysql://…"
            )
        provider, _ = parse_session(self.session)
        if provider == "file" and self.replicas > 1 and not self.sticky:
            raise ConfigError(
                "file sessions live on one replica's disk: with several replicas the load balancer must "
                "send each user back to the same one: add --sticky (or use database, redis or memcached)"
            )
        if not 1 <= self.port <= 65535 - self.replicas:
            raise ConfigError(f"--port {self.port} leaves no room for {self.replicas} replica ports after it")


@dataclass
class Member:
    name: str
    port: int
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class LocalCluster:
    def __init__(self, spec: ClusterSpec, sink: LogSink | None = None) -> None:
        spec.check()
        self.spec = spec
        self.run_dir = spec.run_dir.absolute()
        self.sink = sink or _print_sink
        self.replicas: list[Member] = []
        self.balancer: Member | None = None
        self._threads: list[threading.Thread] = []
        self.provider, self.provider_config = parse_session(spec.session)

    # -- layout -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.spec.host}:{self.spec.port}"

    def replica_url(self, i: int) -> str:
        return f"http://{self.spec.host}:{self.replicas[i].port}"

    def _replica(self, i: int) -> Member:
        name = f"replica-{i + 1}"
        port = self.spec.port + 1 + i
        data = self.run_dir / name
        sets = [f"session.provider={self.provider}"]
        config = self.provider_config
        if self.provider == "file":
            base = Path(config).absolute() if config else self.run_dir
            config = str(base / name / "sessions")
        if config:
            sets.append(f"session.provider_config={config}")
        argv = list(vigil_command())
        if self.spec.config_file:
            argv += ["--config", self.spec.config_file]
        for item in [*self.spec.settings, *sets]:
            argv += ["--set", item]
        argv += [
            "server",
            "--http-addr",
            self.spec.host,
            "--http-port",
            str(port),
            "--instance-name",
            name,
            "--data",
            str(data),
        ]
        if self.spec.db_url:
            argv += ["--database-url", self.spec.db_url]
        env = dict(self.spec.env if self.spec.env is not None else os.environ)
        return Member(name, port, argv, env)

    def render_balancer(self) -> tuple[Path, list[str]]:
        """Write the load balancer's configuration; its path and the command that runs it."""
        spec = self.spec
        mode = "sticky" if spec.sticky else "stateless"
        addrs = [f"{spec.host}:{m.port}" for m in self.replicas]
        if spec.lb == "haproxy":
            binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
            template = (deploy_dir() / "haproxy" / f"{mode}.cfg").read_text()
            servers = "\n".join(
                f"    server {m.name} {a} check" + (f" cookie {m.name}" if spec.sticky else "")
                for m, a in zip(self.replicas, addrs, strict=True)
            )
            text = render(
                template,
                {
                    "bind": f"{spec.host}:{spec.port}",
                    "balance": spec.balance,
                    "servers": servers,
                    "log": "stdout format raw local0 notice",
                },
            )
            path = self.run_dir / "haproxy.cfg"
            path.write_text(text)
            return path, [binary, "-db", "-q", "-f", str(path)]
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        template = (deploy_dir() / "nginx" / f"{mode}.conf").read_text()
        server_lines = "\n".join(f"        server {a} max_fails=1 fail_timeout=3s;" for a in addrs)
        pinned = []
        for i, a in enumerate(addrs):
            backups = "".join(f" server {b} backup;" for b in addrs if b != a)
            pinned.append(
                f"    upstream replica_{i + 1} {{ server {a} max_fails=1 fail_timeout=3s;{backups} }}"
            )
        values = {
            "user": "user root;" if os.geteuid() == 0 else "",
            "run_dir": str(self.run_dir),
            "listen": f"{spec.host}:{spec.port}",
            "balance": "least_conn;" if spec.balance == "leastconn" else "",
            "servers": server_lines,
            "proxy_extra": spec.proxy_extra,
            "pinned": "\n".join(pinned),
            "routes": "\n".join(f'        "{a}" replica_{i + 1};' for i, a in enumerate(addrs)),
        }
        path = self.run_dir / "nginx.conf"
        path.write_text(render(template, values))
        return path, [binary, "-c", str(path), "-g", "daemon off;"]

    # -- processes ----------------------------------------------------------------------------

    def _spawn(self, member: Member) -> None:
        member.proc = subprocess.Popen(
            member.argv,
            env=member.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches `cluster up` only; it stops everyone in order
        )
        t = threading.Thread(target=self._pump, args=(member.name, member.proc), daemon=True)
        t.start()
        self._threads.append(t)

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.sink(name, raw.decode("utf-8", "replace").rstrip("\n"))

    def start(self) -> None:
        spec = self.spec
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.replicas = [self._replica(i) for i in range(spec.replicas)]
        busy = [p for p in [spec.port, *(m.port for m in self.replicas)] if not port_free(p, spec.host)]
        if busy:
            raise ConfigError(
                f"port(s) {', '.join(map(str, busy))} on {spec.host} already in use: choose another --port"
            )
        cfg, argv = self.render_balancer()
        check = [*argv[:1], "-c", "-f", str(cfg)] if spec.lb == "haproxy" else [*argv, "-t"]
        probe = subprocess.run(check, capture_output=True, text=True, timeout=30)
        if probe.returncode != 0:
            raise ConfigError(f"{spec.lb} refused the generated {cfg}:\n{probe.stdout}{probe.stderr}")
        for m in self.replicas:
            self._spawn(m)
        self.balancer = Member(spec.lb, spec.port, argv, dict(os.environ))
        self._spawn(self.balancer)
        self.write_state()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {m.name: f"{self.replica_url(i)}/api/health" for i, m in enumerate(self.replicas)}
        pending["balancer"] = f"{self.url}/api/health"
        while pending and time.monotonic() < deadline:
            for m in [*self.replicas, *([self.balancer] if self.balancer else [])]:
                if m.proc is not None and m.proc.poll() is not None:
                    raise RuntimeError(f"{m.name} exited with status {m.proc.returncode} while starting")
            for name, url in list(pending.items()):
                code = http_status(url, timeout=1.0)
                # the balancer is up when it answers at all (an auth proxy in front may say 401)
                if code == 200 or (name == "balancer" and code is not None and code < 500):
                    del pending[name]
            if pending:
                time.sleep(0.1)
        if pending:
            raise RuntimeError(f"not healthy after {timeout:.0f}s: {', '.join(sorted(pending))}")
        if self.balancer is not None and not self.spec.sticky and not self.spec.proxy_extra:
            self._wait_in_rotation(deadline)

    def _wait_in_rotation(self, deadline: float) -> None:
        """Until the balancer sends requests to every replica: a replica whose first health checks
        failed while it started stays out of rotation for a few more checks (``rise``)."""
        names = {m.name for m in self.replicas}
        while time.monotonic() < deadline:
            seen = {instance_of(f"{self.url}/api/health") for _ in range(3 * len(names))}
            if names <= seen:
                return
            time.sleep(0.2)
        raise RuntimeError("the load balancer did not put every replica in rotation in time")

    def kill(self, i: int, sig: int = signal.SIGKILL) -> None:
        m = self.replicas[i]
        if m.proc is not None and m.proc.poll() is None:
            m.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                m.proc.wait(timeout=20)

    def restart(self, i: int) -> None:
        m = self.replicas[i]
        if m.alive():
            raise RuntimeError(f"{m.name} is still running")
        self._spawn(m)
        self.write_state()

    def stop(self, timeout: float = 15.0) -> None:
        """The load balancer first (no new traffic), then every replica (SIGTERM starts its drain, a
        second SIGTERM ends it: in-flight requests finish, exit status 0), then SIGKILL for anything
        still running after ``timeout``."""
        members = [self.balancer] if self.balancer else []
        if self.balancer is not None and self.balancer.alive():
            assert self.balancer.proc is not None
            self.balancer.proc.send_signal(signal.SIGTERM)
        for _ in range(2):
            for m in self.replicas:
                if m.alive():
                    assert m.proc is not None
                    m.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
        deadline = time.monotonic() + timeout
        for m in [*members, *self.replicas]:
            if m.proc is None:
                continue
            try:
                m.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait(timeout=10)
        for t in self._threads:
            t.join(timeout=2)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "state.json").unlink()

    def write_state(self) -> None:
        state: dict[str, Any] = {
            "started_at": time.time(),
            "supervisor_pid": os.getpid(),
            "load_balancer": {
                "kind": self.spec.lb,
                "url": self.url,
                "pid": self.balancer.pid if self.balancer else None,
                "sticky": self.spec.sticky,
                "balance": self.spec.balance,
            },
            "session": {"provider": self.provider, "config": self.provider_config},
            "database": _mask_url(self.spec.db_url),
            "replicas": [
                {"name": m.name, "url": f"http://{self.spec.host}:{m.port}", "pid": m.pid}
                for m in self.replicas
            ],
        }
        (self.run_dir / "state.json").write_text(json.dumps(state, indent=2))


def _mask_url(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:*****@", url)


def _print_sink(name: str, line: str) -> None:
    sys.stdout.write(f"{name:>10} | {line}\n")
    sys.stdout.flush()


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def status_rows(state: dict[str, Any]) -> list[tuple[str, ...]]:
    lb = state["load_balancer"]
    rows: list[tuple[str, ...]] = [("NAME", "URL", "PID", "PROCESS", "HEALTH")]
    members = [
        (lb["kind"], lb["url"], lb["pid"]),
        *((r["name"], r["url"], r["pid"]) for r in state["replicas"]),
    ]
    for name, url, pid in members:
        alive = _pid_alive(pid)
        code = http_status(f"{url}/api/health", timeout=2.0) if alive else None
        health = "healthy" if code == 200 else (f"failing ({code})" if code else "unreachable")
        rows.append((name, url, str(pid or "-"), "running" if alive else "stopped", health))
    return rows


def state_path(data_dir: str | Path) -> Path:
    return Path(data_dir).absolute() / "cluster" / "state.json"


def cluster_status(data_dir: str | Path) -> int:
    path = state_path(data_dir)
    if not path.is_file():
        print(f"vigil: no local cluster recorded in {path} (start one with `vigil cluster up`)")
        return 1
    state = json.loads(path.read_text())
    if not _pid_alive(state.get("supervisor_pid")):
        print(f"vigil: the cluster recorded in {path} is not running (its `vigil cluster up` has exited)")
    lb = state["load_balancer"]
    mode = "sticky" if lb["sticky"] else "stateless"
    print(
        f"load balancer {lb['kind']} ({mode}, {lb['balance']}) at {lb['url']}; "
        f"sessions: {state['session']['provider']}; database: {state['database'] or 'default'}"
    )
    rows = status_rows(state)
    print(table(rows))
    return 0 if all(r[3] == "running" and r[4] == "healthy" for r in rows[1:]) else 1


def cluster_up(spec: ClusterSpec, startup_timeout: float = 60.0) -> int:
    """Start everything, wait for health, print the table, follow the logs until Ctrl-C/SIGTERM."""
    cluster = LocalCluster(spec)
    stopping = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        cluster.start()
        try:
            cluster.wait_healthy(startup_timeout)
        except RuntimeError as exc:
            print(f"vigil: cluster did not come up: {exc}", file=sys.stderr)
            return 1
        rows = status_rows(json.loads((cluster.run_dir / "state.json").read_text()))
        print(table(rows), flush=True)
        print(f"vigil: cluster healthy at {cluster.url} — Ctrl-C stops it", flush=True)
        while not stopping.wait(0.5):
            dead = [m.name for m in cluster.replicas if not m.alive()]
            if cluster.balancer is not None and not cluster.balancer.alive():
                print(f"vigil: {spec.lb} exited; stopping the cluster", file=sys.stderr)
                return 1
            if dead and len(dead) == len(cluster.replicas):
                print("vigil: every replica exited; stopping the cluster", file=sys.stderr)
                return 1
        print("vigil: stopping the cluster…", flush=True)
        return 0
    finally:
        cluster.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
