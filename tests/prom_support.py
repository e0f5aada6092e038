"""A real Prometheus (Debian package) started by the tests: own port, own config, own storage.

It scrapes itself every second behind basic auth (web config with a bcrypt hash), so queries have
real series (``up``, ``prometheus_build_info``, ``prometheus_http_requests_total``…) within seconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import Replica, make_config
from vigil.app import create_app

USER, PASSWORD = "scraper", "s3cr3t-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PromServer:
    def __init__(self, root: Path, extra_targets: tuple[str, ...] = ()) -> None:
        import bcrypt

        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        if not os.path.exists(binary):
            reason = "SERVICE MISSING: prometheus binary (apt-get install prometheus)"
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(reason)
            pytest.skip(reason)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        (root / "web.yml").write_text(f"basic_auth_users:\n  {USER}: {hashed}\n")
        (root / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: prometheus\n"
            f"    basic_auth: {{username: {USER}, password: {PASSWORD}}}\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{self.port}'], labels: {{group: self}}}}]\n"
            + "".join(
                f"  - job_name: vigil\n    static_configs: [{{targets: ['{t}']}}]\n" for t in extra_targets
            )
        )
        self.log = open(root / "prometheus.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--web.config.file={root / 'web.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.auth = (USER, PASSWORD)

    def wait_for_samples(self, minimum: int = 3, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(auth=self.auth, timeout=2) as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
                try:
                    r = c.get(f"{self.url}/api/v1/query", params={"query": "count_over_time(up[1m])"})
                    result = r.json()["data"]["result"]
                    if result and float(result[0]["value"][1]) >= minimum:
                        return
                except (httpx.HTTPError, KeyError, ValueError):
                    pass
                time.sleep(0.3)
        raise RuntimeError("prometheus has no samples in time")

    def wait_for(self, expr: str, timeout: float = 20.0) -> None:
        """Until ``expr`` has a result (series appear lazily, e.g. a handler's histogram)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(auth=self.auth, timeout=2) as c:
            while time.monotonic() < deadline:
                try:
                    if c.get(f"{self.url}/api/v1/query", params={"query": expr}).json()["data"]["result"]:
                        return
                except (httpx.HTTPError, KeyError, ValueError):
                    pass
                time.sleep(0.3)
        raise RuntimeError(f"prometheus has no result for {expr} in time")

    def wait_for_range(self, expr: str, step: int, timeout: float = 30.0) -> None:
        """Until a range query over the last two minutes, with start and end aligned down to
        ``step`` as the data source aligns them, returns at least two points for ``expr``: a
        series that exists for an instant query may not yet reach the last aligned step."""
        deadline = time.monotonic() + timeout
        with httpx.Client(auth=self.auth, timeout=2) as c:
            while time.monotonic() < deadline:
                end = int(time.time()) // step * step
                params = {"query": expr, "start": str(end - 120), "end": str(end), "step": str(step)}
                try:
                    result = c.get(f"{self.url}/api/v1/query_range", params=params).json()["data"]["result"]
                    if result and len(result[0]["values"]) >= 2:
                        return
                except (httpx.HTTPError, KeyError, ValueError):
                    pass
                time.sleep(0.3)
        raise RuntimeError(f"prometheus has no range result for {expr} at step {step}s in time")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@asynccontextmanager
async def module_replica(data_dir: Path, db_url: str | None = None) -> AsyncIterator[Replica]:
    """A started app with its in-process client, for module-scoped fixtures (the shared
    ``make_replica`` is per test; these modules only need one replica)."""
    cfg = make_config(db_url or f"sqlite:///{data_dir / 'vigil.db'}", data_dir, instance="ds-module")
    app = create_app(cfg)
    await app.startup()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40100)), base_url="http://vigil.test"
    )
    try:
        yield Replica(app, client)
    finally:
        await client.aclose()
        await app.shutdown()
