"""``vigil``: server, migrate, config show, admin commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from vigil.config import Config
from vigil.errors import AppError, ConfigError

_FLAG_KEYS = {
    "http_addr": "server.http_addr",
    "http_port": "server.http_port",
    "database_url": "database.url",
    "data": "paths.data",
    "instance_name": "cluster.instance_name",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vigil", description="Grafana-compatible dashboards and alerting, built for HA."
    )
    p.add_argument("--config", help="INI file with overrides (also VIGIL_CONFIG)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set server.http_port=3001 (repeatable)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("server", help="run one replica")
    srv.add_argument("--http-addr")
    srv.add_argument("--http-port")
    srv.add_argument("--database-url")
    srv.add_argument("--data", help="[paths] data folder")
    srv.add_argument("--instance-name")
    sub.add_parser("migrate", help="bring the database schema up to date (waits for other replicas' lock)")
    cfg = sub.add_parser("config", help="configuration")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    cfg_sub.add_parser("show", help="print the effective configuration, secrets masked")
    cl = sub.add_parser("cluster", help="local HA cluster: N replicas behind a real load balancer")
    cl_sub = cl.add_subparsers(dest="cluster_command", required=True)
    up = cl_sub.add_parser("up", help="start replicas and HAProxy or nginx in front; Ctrl-C stops them")
    up.add_argument("--replicas", type=int, default=3)
    up.add_argument("--db", help="database URL shared by the replicas (default [database] url)")
    up.add_argument("--session", default=None, help="PROVIDER[:CONFIG], e.g. redis://127.0.0.1:6379/0")
    up.add_argument("--lb", choices=["haproxy", "nginx"], default="haproxy")
    up.add_argument("--balance", choices=["roundrobin", "leastconn"], default="roundrobin")
    up.add_argument("--sticky", action="store_true", help="cookie stickiness (needed by file sessions)")
    up.add_argument("--port", type=int, default=3000, help="load balancer port; replicas use the next ones")
    cl_sub.add_parser("status", help="show the local cluster started by `vigil cluster up`")
    adm = sub.add_parser("admin", help="administration")
    adm_sub = adm.add_subparsers(dest="admin_command", required=True)
    rp = adm_sub.add_parser("reset-admin-password", help="set the password of the server admin")
    rp.add_argument("--password", help="new password (prompted when omitted)")
    rp.add_argument("--login", help="admin login (default [security] admin_user)")
    cu = adm_sub.add_parser("create-user", help="create a user")
    cu.add_argument("--login", required=True)
    cu.add_argument("--password", help="prompted when omitted")
    cu.add_argument("--email", default="")
    cu.add_argument("--name", default="")
    cu.add_argument("--role", default="Viewer", choices=["Viewer", "Editor", "Admin"])
    cu.add_argument("--org-id", type=int, default=1)
    cu.add_argument("--server-admin", action="store_true")
    return p


def load_config(args: argparse.Namespace, environ: dict[str, str]) -> Config:
    overrides: list[tuple[str, str]] = []
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE")
        overrides.append((key.strip(), value))
    for flag, dotted in _FLAG_KEYS.items():
        value = getattr(args, flag, None)
        if value is not None:
            overrides.append((dotted, str(value)))
    return Config.load(args.config, environ, overrides)


def _password(given: str | None, prompt: str) -> str:
    if given:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if line:
            return line
        raise ConfigError("no password given: use --password or type it on standard input")
    first = getpass.getpass(prompt)
    if first != getpass.getpass("again: "):
        raise ConfigError("the two passwords differ")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args, dict(os.environ))
        if args.command == "server":
            return _serve(config)
        if args.command == "cluster":
            return _cluster(args, config)
        if args.command == "config":
            for line in config.unknown:
                print(f"; warning: ignored unknown setting: {line}")
            print(config.show())
            return 0
        return asyncio.run(_offline(args, config))
    except ConfigError as exc:
        print(f"vigil: configuration error: {exc}", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"vigil: {exc.message}", file=sys.stderr)
        return 1


async def _offline(args: argparse.Namespace, config: Config) -> int:
    from vigil.app import build_services
    from vigil.storage.migrate import migrate

    s = build_services(config)
    try:

        async def seed() -> None:
            await s.identities.seed(
                config.get("security", "admin_user"),
                config.get("security", "admin_password"),
                config.get("security", "admin_email"),
            )

        print("vigil: waiting for the migration lock and migrating…", file=sys.stderr)
        applied = await migrate(
            s.db, timeout=config.get_duration("database", "migration_lock_timeout", minimum=1), after=seed
        )
        if args.command == "migrate":
            print("vigil: migrations applied" if applied else "vigil: schema already up to date")
            return 0
        if args.admin_command == "reset-admin-password":
            login = args.login or config.get("security", "admin_user")
            user = await s.identities.find_user(login)
            if user is None:
                print(f"vigil: no user {login!r}", file=sys.stderr)
                return 1
            await s.identities.set_password(user.id, _password(args.password, "new admin password: "))
            await s.sessions.revoke_user(user.id)
            print(f"vigil: password of {login!r} changed; their sessions were revoked")
            return 0
        user = await s.identities.create_user(
            login=args.login,
            password=_password(args.password, "password: "),
            email=args.email,
            name=args.name,
            is_admin=args.server_admin,
            org_id=args.org_id,
            role=args.role,
        )
        print(f"vigil: created user {user.login!r} (id {user.id})")
        return 0
    finally:
        await s.db.dispose()


def _cluster(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from vigil.cluster.local import ClusterSpec, cluster_status, cluster_up
    from vigil.storage.db import resolve_url

    data = Path(config.get("paths", "data")).absolute()
    if args.cluster_command == "status":
        return cluster_status(data)
    db_url = args.db if args.db is not None else config.get("database", "url")
    if not db_url:
        db_url = resolve_url("", data).set(drivername="sqlite").render_as_string(hide_password=False)
    session = args.session or config.get("session", "provider")
    if args.session is None and config.get("session", "provider_config"):
        session += ":" + config.get("session", "provider_config")
    spec = ClusterSpec(
        replicas=args.replicas,
        db_url=db_url,
        session=session,
        lb=args.lb,
        sticky=args.sticky,
        port=args.port,
        balance=args.balance,
        run_dir=data / "cluster",
        config_file=args.config,
        settings=list(args.set),
    )
    return cluster_up(spec)


def _serve(config: Config) -> int:
    import uvicorn

    from vigil import logs
    from vigil.app import create_app

    trusted_proxies = config.get_networks("server", "trusted_proxies")
    app = create_app(config)
    app.freeze_gc_after_startup = True
    s = app.services
    logs.setup(s.instance, config.get_choice("log", "level", ["debug", "info", "warning", "error"]))
    drain = config.get_duration("server", "drain_seconds")

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if sig == signal.SIGTERM and drain > 0 and not s.draining:
                s.draining = True
                logging.getLogger("vigil.app").info(
                    "SIGTERM: draining for %ss (health answers 503, requests still served)", drain
                )
                timer = threading.Timer(drain, self._end_drain)
                timer.daemon = True
                timer.start()
                return
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM:
                # A drained, graceful stop is a clean exit (0): uvicorn would re-raise the signal.
                self._captured_signals = [x for x in self._captured_signals if x != signal.SIGTERM]

        def _end_drain(self) -> None:
            self.should_exit = True

    server = DrainingServer(
        uvicorn.Config(
            app,
            host=config.get("server", "http_addr"),
            port=config.get_int("server", "http_port", minimum=0, maximum=65535),
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=30,
            server_header=False,
            proxy_headers=True,
            forwarded_allow_ips=trusted_proxies,
        )
    )
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
