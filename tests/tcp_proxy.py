"""A small asyncio TCP proxy on 127.0.0.1 that a test can cut and resume.

``cut()`` aborts every open connection (both sides see a reset) and stops listening, so new
connections are refused exactly as by a database that went away; ``resume()`` listens again on the
same port. Used to simulate database outages without touching the machine's shared servers.
"""

from __future__ import annotations

import asyncio
import contextlib


class TCPProxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = listen_port
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._server is not None

    async def start(self) -> TCPProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, upstream_w))
        pumps = [
            asyncio.create_task(self._pump(client_r, upstream_w)),
            asyncio.create_task(self._pump(upstream_r, client_w)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in pumps:
                t.cancel()
            for w in (client_w, upstream_w):
                self._writers.discard(w)
                w.transport.abort()
            self._tasks.difference_update(pumps)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    async def cut(self) -> None:
        """Drop every connection and refuse new ones until ``resume()``."""
        server, self._server = self._server, None
        if server is not None:
            server.close()  # stop listening first: from now on connections are refused
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        await asyncio.sleep(0)

    async def resume(self) -> None:
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.cut()
        for t in list(self._tasks):
            t.cancel()
