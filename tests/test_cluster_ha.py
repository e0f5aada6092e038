"""Three real ``vigil server`` processes behind a real HAProxy (or nginx) on PostgreSQL, a fresh
database per test: stateless sessions survive a replica's death, sticky file sessions behave as
documented, a Redis outage is a 503 (never a logout), and the auth proxy syncs a user once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, ADMIN_AUTH, REDIS_URL, SECRET, _create_database, require_service
from tests.sessions_support import memcached_daemon, redis_daemon, require_binary, running
from vigil.cluster.local import ClusterSpec, LocalCluster, port_free

pytestmark = pytest.mark.slow
COOKIE = "vigil_session"
SETTINGS = [
    f"security.admin_user={ADMIN[0]}",
    f"security.admin_password={ADMIN[1]}",
    f"security.secret_key={SECRET}",
    "server.router_logging=false",
    "log.level=warning",
]


def free_block(n: int) -> int:
    """A base port with n consecutive free ports, below the ephemeral range (32768+) so that polling
    a port nobody listens on yet cannot connect a client socket to itself."""
    for _ in range(200):
        base = random.randint(20000, 32000 - n)
        if all(port_free(base + i) for i in range(n)):
            return base
    raise AssertionError("no block of free ports")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url, drop = await _create_database("postgresql")
    try:
        yield url
    finally:
        await drop()


@contextlib.asynccontextmanager
async def cluster(tmp_path: Path, db_url: str, **spec: object) -> AsyncIterator[LocalCluster]:
    require_binary(str(spec.get("lb", "haproxy")))
    settings = [*SETTINGS, *spec.pop("settings", [])]  # type: ignore[misc]
    lines: list[str] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    c = LocalCluster(
        ClusterSpec(
            replicas=3,
            db_url=db_url,
            port=free_block(4),
            run_dir=tmp_path / "cluster",
            settings=settings,
            env=env,
            **spec,  # type: ignore[arg-type]
        ),
        sink=lambda name, line: lines.append(f"{name} | {line}"),
    )
    try:
        await asyncio.to_thread(c.start)
        await asyncio.to_thread(c.wait_healthy, 60)
        yield c
    except BaseException:
        print("\n".join(lines[-80:]))
        raise
    finally:
        await asyncio.to_thread(c.stop)
        tracebacks = [line for line in lines if "Traceback" in line]
        assert not tracebacks, "\n".join(lines[-80:])


async def login(client: httpx.AsyncClient, user: str = ADMIN[0], password: str = ADMIN[1]) -> str:
    r = await client.post("/login", json={"user": user, "password": password})
    assert r.status_code == 200, r.text
    token = r.cookies.get(COOKIE)
    assert token
    return token


Result = tuple[int, str]  # status (0: the client saw no answer), replica


async def load(
    fire: Callable[[], Awaitable[httpx.Response]],
    total: int,
    concurrency: int = 8,
    on_progress: Callable[[int], None] | None = None,
) -> list[Result]:
    results: list[Result] = []
    remaining = iter(range(total))

    async def worker() -> None:
        for _ in remaining:
            try:
                r = await fire()
                results.append((r.status_code, r.headers.get("x-vigil-instance", "")))
            except httpx.HTTPError as exc:
                results.append((0, f"{type(exc).__name__}: {exc}"))
            if on_progress is not None:
                on_progress(len(results))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


@pytest.mark.parametrize("provider", ["database", "redis", "memcached"])
async def test_stateless_sessions_survive_a_replica_killed_under_load(
    provider: str, tmp_path: Path, pg_url: str
) -> None:
    with contextlib.ExitStack() as stack:
        if provider == "redis":
            require_service("Redis", REDIS_URL)
            session = f"{REDIS_URL}?prefix=t{secrets.token_hex(4)}:"
        elif provider == "memcached":
            mc = stack.enter_context(running(memcached_daemon()))
            session = f"memcached:127.0.0.1:{mc.port}"
        else:
            session = "database"
        async with (
            cluster(tmp_path, pg_url, session=session) as c,
            httpx.AsyncClient(base_url=c.url, timeout=15) as client,
        ):
            token = await login(client)
            client.cookies.clear()

            def get() -> Awaitable[httpx.Response]:
                return client.get("/api/user", cookies={COOKIE: token})

            first = await load(get, 600)
            statuses = Counter(s for s, _ in first)
            assert statuses == {200: 600}, statuses
            per_replica = Counter(name for _, name in first)
            assert set(per_replica) == {"replica-1", "replica-2", "replica-3"}
            assert min(per_replica.values()) >= 150, per_replica

            killed = asyncio.Event()

            def progress(done: int) -> None:
                if done >= 200 and not killed.is_set():
                    killed.set()
                    c.kill(1, signal.SIGKILL)

            second = await load(get, 600, on_progress=progress)
            assert killed.is_set()
            statuses = Counter(s for s, _ in second)
            # zero 401, zero failures at the client (a failure's second field names the exception)
            assert statuses == {200: 600}, (statuses, [r for r in second if r[0] != 200])
            late = Counter(name for _, name in second[300:])
            assert "replica-2" not in late, late

            c.restart(1)
            deadline = time.monotonic() + 30
            seen = Counter[str]()
            while time.monotonic() < deadline and seen["replica-2"] < 3:
                r = await get()
                assert r.status_code == 200, r.text
                seen[r.headers["x-vigil-instance"]] += 1
                await asyncio.sleep(0.02)
            assert seen["replica-2"] >= 3, seen


async def test_sticky_file_sessions_stay_on_one_replica_and_fail_over_to_a_new_login(
    tmp_path: Path, pg_url: str
) -> None:
    async with cluster(tmp_path, pg_url, session="file", sticky=True) as c:
        async with httpx.AsyncClient(base_url=c.url, timeout=15, headers=ADMIN_AUTH) as admin:
            r = await admin.post(
                "/api/admin/users",
                json={"login": "bob", "password": "bob-pw-123", "email": "bob@example.com"},
            )
            assert r.status_code == 200, r.text
        a = httpx.AsyncClient(base_url=c.url, timeout=15)
        await login(a)
        home_a = Counter([(await a.get("/api/user")).headers["x-vigil-instance"] for _ in range(20)])
        assert len(home_a) == 1 and sum(home_a.values()) == 20, home_a
        replica_a = next(iter(home_a))
        b = httpx.AsyncClient(base_url=c.url, timeout=15)
        for _ in range(6):  # round robin places the next new user elsewhere; try a few fresh clients
            await login(b, "bob", "bob-pw-123")
            replica_b = (await b.get("/api/user")).headers["x-vigil-instance"]
            if replica_b != replica_a:
                break
            await b.aclose()
            b = httpx.AsyncClient(base_url=c.url, timeout=15)
        assert replica_b != replica_a
        statuses_b: Counter[tuple[int, str]] = Counter()
        for _ in range(20):
            r = await b.get("/api/user")
            statuses_b[(r.status_code, r.headers["x-vigil-instance"])] += 1
        assert statuses_b == {(200, replica_b): 20}, statuses_b

        c.kill(int(replica_a.split("-")[1]) - 1, signal.SIGKILL)
        r = await a.get("/api/user")
        assert r.status_code == 401  # the session file is on the dead replica's disk (documented)
        assert r.headers["x-vigil-instance"] not in ("", replica_a)
        r = await a.get("/api/user", headers=ADMIN_AUTH)
        assert r.status_code == 200  # Basic auth works on any replica
        for _ in range(20):
            r = await b.get("/api/user")
            assert (r.status_code, r.headers["x-vigil-instance"]) == (200, replica_b)
        await login(a)  # logging in again on the new replica sticks there
        moved = Counter([(await a.get("/api/user")).headers["x-vigil-instance"] for _ in range(10)])
        assert len(moved) == 1 and replica_a not in moved
        await a.aclose()
        await b.aclose()


async def test_redis_stopped_under_load_is_503_for_cookies_and_recovers(tmp_path: Path, pg_url: str) -> None:
    redis = redis_daemon(tmp_path, persist=True)
    with running(redis):
        async with (
            cluster(tmp_path, pg_url, session=f"redis://127.0.0.1:{redis.port}/0") as c,
            httpx.AsyncClient(base_url=c.url, timeout=15) as client,
        ):
            token = await login(client)
            client.cookies.clear()
            r = await client.post(
                "/api/serviceaccounts", json={"name": "ci", "role": "Viewer"}, headers=ADMIN_AUTH
            )
            assert r.status_code in (200, 201), r.text
            sa = r.json()["id"]
            r = await client.post(f"/api/serviceaccounts/{sa}/tokens", json={"name": "t"}, headers=ADMIN_AUTH)
            assert r.status_code == 200, r.text
            bearer = {"Authorization": f"Bearer {r.json()['key']}"}

            seen: list[tuple[str, int, bytes]] = []
            stop = asyncio.Event()

            async def background() -> None:
                while not stop.is_set():
                    for kind, kw in (
                        ("cookie", {"cookies": {COOKIE: token}}),
                        ("bearer", {"headers": bearer}),
                    ):
                        resp = await client.get("/api/user", **kw)  # type: ignore[arg-type]
                        seen.append((kind, resp.status_code, resp.content))

            loaders = [asyncio.create_task(background()) for _ in range(4)]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(1.5)  # past [auth] token_cache_seconds
            mark = len(seen)
            await asyncio.sleep(2.0)
            during = seen[mark:]
            await asyncio.to_thread(redis.start)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if (await client.get("/api/user", cookies={COOKIE: token})).status_code == 200:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*loaders)

            cookie_during = Counter(s for kind, s, _ in during if kind == "cookie")
            bearer_during = Counter(s for kind, s, _ in during if kind == "bearer")
            assert cookie_during and set(cookie_during) == {503}, cookie_during
            assert set(bearer_during) == {200} and bearer_during[200] >= 10, bearer_during
            bodies = {json.loads(body)["message"] for kind, s, body in during if kind == "cookie"}
            assert bodies == {"session store unavailable"}
            overall = Counter(s for _, s, _ in seen)
            assert set(overall) <= {200, 503}, overall  # never a 401 (logout) nor a 500
            after = [await client.get("/api/user", cookies={COOKIE: token}) for _ in range(9)]
            assert {r.status_code for r in after} == {200}  # the session made before the outage
            assert len({r.headers["x-vigil-instance"] for r in after}) == 3


async def test_auth_proxy_through_nginx_signs_up_once_and_refuses_direct_headers(
    tmp_path: Path, pg_url: str
) -> None:
    htpasswd = tmp_path / "htpasswd"
    digest = base64.b64encode(hashlib.sha1(b"pat-pw").digest()).decode()
    htpasswd.write_text(f"pat:{{SHA}}{digest}\n")
    extra = "\n".join(
        [
            "            proxy_bind 127.0.0.2;",
            '            auth_basic "vigil";',
            f"            auth_basic_user_file {htpasswd};",
            "            proxy_set_header X-WEBAUTH-USER $remote_user;",
            '            proxy_set_header Authorization "";',
        ]
    )
    proxy_settings = [
        "auth.proxy.enabled=true",
        "auth.proxy.whitelist=127.0.0.2",
        "auth.proxy.sync_ttl=15",
    ]
    async with (
        cluster(tmp_path, pg_url, lb="nginx", proxy_extra=extra, settings=proxy_settings) as c,
        httpx.AsyncClient(base_url=c.url, timeout=15, auth=("pat", "pat-pw")) as client,
    ):
        r = await client.get("/api/user")
        assert r.status_code == 200, r.text
        assert r.json()["login"] == "pat" and r.json()["isExternal"] is True
        assert (await client.get("/api/user", auth=("pat", "wrong"))).status_code == 401  # nginx said no

        async with httpx.AsyncClient(base_url=c.replica_url(0), timeout=15) as direct:
            r = await direct.get("/api/user", headers={"X-WEBAUTH-USER": "pat"})
            assert r.status_code == 407
            assert "not from the authentication proxy" in r.json()["message"]

        results = await load(lambda: client.get("/api/user"), 900)
        assert Counter(s for s, _ in results) == {200: 900}
        per_replica = Counter(name for _, name in results)
        assert set(per_replica) == {"replica-1", "replica-2", "replica-3"}
        assert min(per_replica.values()) >= 250, per_replica

        syncs = 0.0
        for i in range(3):
            async with httpx.AsyncClient(base_url=c.replica_url(i), timeout=15) as direct:
                text = (await direct.get("/metrics")).text
            for line in text.splitlines():
                if line.startswith("vigil_auth_proxy_user_syncs_total "):
                    syncs += float(line.split()[1])
        assert syncs == 1  # one sync for 901 requests on 3 replicas within sync_ttl


def test_cluster_up_comes_up_within_15s_and_stops_cleanly(tmp_path: Path) -> None:
    require_binary("haproxy")
    require_service("Redis", REDIS_URL)
    url, drop = asyncio.run(_create_database("postgresql"))
    port = free_block(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update({"VIGIL_PATHS_DATA": str(tmp_path), "VIGIL_SERVER_ROUTER_LOGGING": "false"})
    vigil = str(Path(sys.executable).with_name("vigil"))
    started = time.monotonic()
    command = ["cluster", "up", "--replicas", "3", "--session", "redis://127.0.0.1:6379/0"]
    proc = subprocess.Popen(
        [vigil, *command, "--db", url, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "cluster healthy" in line:
                break
        took = time.monotonic() - started
        assert "cluster healthy" in lines[-1], "".join(lines[-50:])
        assert took < 15, f"took {took:.1f}s"
        table = [line for line in lines if "running  healthy" in line]
        assert len(table) == 4, "".join(lines)
        status = subprocess.run(
            [vigil, "cluster", "status"], env=env, capture_output=True, text=True, timeout=30
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count("running  healthy") == 4, status.stdout
        state = json.loads((tmp_path / "cluster" / "state.json").read_text())
        pids = [state["load_balancer"]["pid"], *(r["pid"] for r in state["replicas"])]
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, rest
        assert "Traceback" not in "".join(lines) + rest
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert not (tmp_path / "cluster" / "state.json").exists()
        after = subprocess.run(
            [vigil, "cluster", "status"], env=env, capture_output=True, text=True, timeout=30
        )
        assert after.returncode == 1 and "no local cluster" in after.stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        asyncio.run(drop())  # type: ignore[arg-type]


def test_cluster_up_refuses_sqlite_for_several_replicas_and_file_sessions_without_sticky(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["VIGIL_PATHS_DATA"] = str(tmp_path)
    vigil = str(Path(sys.executable).with_name("vigil"))
    out = subprocess.run([vigil, "cluster", "up", "--replicas", "3"], env=env, capture_output=True, text=True)
    assert out.returncode == 2
    assert "SQLite serves one replica only" in out.stderr and "postgresql://" in out.stderr
    out = subprocess.run(
        [
            vigil,
            "cluster",
            "up",
            "--replicas",
            "2",
            "--db",
            "postgresql://x@127.0.0.1/x",
            "--session",
            "file",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "--sticky" in out.stderr
    assert "Traceback" not in out.stderr


def test_server_with_an_unreachable_session_store_exits_with_a_clear_message(tmp_path: Path) -> None:
    from tests.sessions_support import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        {
            "VIGIL_PATHS_DATA": str(tmp_path),
            "VIGIL_SESSION_PROVIDER": "redis",
            "VIGIL_SESSION_PROVIDER_CONFIG": f"redis://127.0.0.1:{free_port()}/0",
            "VIGIL_SERVER_HTTP_PORT": str(free_port()),
        }
    )
    vigil = str(Path(sys.executable).with_name("vigil"))
    out = subprocess.run([vigil, "server"], env=env, capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "session store unavailable: redis at 127.0.0.1:" in text, text
    assert "Traceback" not in text, text
