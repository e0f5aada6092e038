"""Real ``vigil`` processes for tests: the venv's console script, configured by VIGIL_* variables.

Each process gets its own free loopback port; its merged stdout/stderr is collected line by line
(JSON log lines) by a reader thread so tests can assert on what it logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN, SECRET

VIGIL = Path(sys.executable).with_name("vigil")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vigil_env(db_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The process environment: the caller's, minus any VIGIL_* of its own, plus these settings.

    ``settings`` keys are VIGIL_ variable names without the prefix, e.g. ``SERVER_HTTP_PORT``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        {
            "VIGIL_DATABASE_URL": db_url,
            "VIGIL_PATHS_DATA": str(data_dir),
            "VIGIL_SECURITY_ADMIN_USER": ADMIN[0],
            "VIGIL_SECURITY_ADMIN_PASSWORD": ADMIN[1],
            "VIGIL_SECURITY_SECRET_KEY": SECRET,
            "VIGIL_SERVER_HTTP_ADDR": "127.0.0.1",
        }
    )
    env.update({f"VIGIL_{k}": v for k, v in settings.items()})
    return env


class VigilProcess:
    """One ``vigil <args>`` process with its output captured."""

    def __init__(self, args: list[str], env: dict[str, str], name: str = "vigil") -> None:
        self.name = name
        self.args = args
        self.env = env
        self.lines: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> VigilProcess:
        self.proc = subprocess.Popen(
            [str(VIGIL), *self.args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def returncode(self) -> int | None:
        assert self.proc is not None
        return self.proc.poll()

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        rc = self.proc.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return rc

    async def wait_async(self, timeout: float) -> int:
        return await asyncio.to_thread(self.wait, timeout)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)

    def output(self) -> str:
        return "\n".join(self.lines)

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines:
            with contextlib.suppress(ValueError):
                obj = json.loads(line)
                if isinstance(obj, dict):
                    out.append(obj)
        return out

    def problems(self) -> list[str]:
        """Lines logged at level error (or worse) and any Python traceback."""
        bad = [line for line in self.lines if "Traceback" in line]
        bad += [json.dumps(obj) for obj in self.json_lines() if obj.get("level") in ("error", "critical")]
        return bad


class ServerProcess(VigilProcess):
    """``vigil server`` on its own free port."""

    def __init__(self, name: str, db_url: str, data_dir: Path, **settings: str) -> None:
        self.port = free_port()
        env = vigil_env(
            db_url,
            data_dir,
            SERVER_HTTP_PORT=str(self.port),
            CLUSTER_INSTANCE_NAME=name,
            **settings,
        )
        super().__init__(["server"], env, name)
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.returncode() is not None:
                    raise AssertionError(
                        f"{self.name} exited with {self.returncode()} before becoming healthy:\n"
                        + self.output()[-4000:]
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/api/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not healthy after {timeout}s:\n" + self.output()[-4000:])


def stop_all(procs: Sequence[VigilProcess]) -> None:
    """SIGTERM every process still running, then kill what has not exited after a while."""
    for p in procs:
        if p.proc is not None:
            p.signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        if p.proc is None:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        p.kill()
