"""One replica's view of the cluster: its membership row, the leases and the change bus."""

from __future__ import annotations

import contextlib

from vigil.clock import Clock
from vigil.cluster.bus import ChangeBus
from vigil.cluster.leases import Leases
from vigil.cluster.membership import Membership
from vigil.storage.db import Database


class Cluster:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        name: str,
        address: str,
        version: str,
        heartbeat_interval: float,
        peer_timeout: float,
    ) -> None:
        self.name = name
        self.heartbeat_interval = heartbeat_interval
        self.peer_timeout = peer_timeout
        self.membership = Membership(db, clock, name, address, version, heartbeat_interval, peer_timeout)
        self.leases = Leases(db, clock)
        self.bus = ChangeBus(db, clock, name, poll_interval=min(0.5, heartbeat_interval))
        self.started = False

    async def start(self) -> None:
        await self.membership.register()
        self.membership.start()
        await self.bus.start()
        self.started = True

    async def drain(self) -> None:
        """Stop counting as live (peers take over at their next heartbeat read)."""
        await self.membership.drain()

    async def stop(self) -> None:
        """Graceful: leave the member table so peers react at once."""
        await self.bus.stop()
        await self.membership.stop(leave=True)
        self.started = False

    async def kill(self) -> None:
        """Abrupt, as a crash: stop heartbeating and polling, leave the row behind to go stale."""
        with contextlib.suppress(Exception):
            await self.bus.stop()
        await self.membership.stop(leave=False)
        self.started = False
