"""Helpers for the session-store tests: private Redis and Memcached servers on free ports.

The machine's shared Redis (6379) is used with a key prefix unique to each test; tests that stop
their store run their own server so other tests (and other people's tests) are not disturbed.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI


def free_port() -> int:
    """A free port below the ephemeral range (32768+): polling a port nobody listens on yet can
    otherwise connect a client socket to itself and look like a server."""
    for _ in range(500):
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


def require_binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/bin")
    if path is None:
        reason = f"PROGRAM MISSING: {name} (apt-get install it; .ci/run does)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Daemon:
    """A store server of our own, on a fixed free port, that tests may stop and start again."""

    def __init__(self, argv_for_port: list[str], port: int) -> None:
        self.argv = argv_for_port
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


def redis_daemon(tmp: Path, persist: bool = False) -> Daemon:
    """A private redis-server; ``persist`` keeps its data across a stop and start (append-only file)."""
    binary = require_binary("redis-server")
    port = free_port()
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes" if persist else "no",
        "--appendfsync",
        "always",
        "--dir",
        str(tmp),
        "--daemonize",
        "no",
    ]
    return Daemon(argv, port)


def memcached_daemon() -> Daemon:
    binary = require_binary("memcached")
    port = free_port()
    return Daemon([binary, "-u", "root", "-l", "127.0.0.1", "-p", str(port), "-m", "32", "-U", "0"], port)


@contextlib.contextmanager
def running(daemon: Daemon) -> Iterator[Daemon]:
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
