"""Outgoing connections refused to blocked addresses: the SSRF guard of every server-side request.

Data source queries, the data source proxy, health checks, webhooks and Slack messages are requests
Vigil makes on a user's behalf to a URL that user chose. Left alone, an editor could point one at
the cloud metadata service (``169.254.169.254``) or another link-local address and read the answer
back through the proxy. ``[security] outbound_blocked_ranges`` (CIDRs) and ``outbound_blocked_hosts``
(names) list what is refused; by default the link-local ranges and the metadata addresses.

The check is made where the connection is opened, after name resolution, on every address the name
resolves to, and the connection then goes to the checked address itself: a name that resolves to a
blocked address is refused, and a second, different DNS answer (rebinding) cannot slip in between
the check and the connect. Literal addresses and blocked names are also refused before the request
is sent at all (so a request through an environment HTTP proxy is checked too, as far as its URL
shows; a proxy resolves names itself).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

if TYPE_CHECKING:
    from vigil.config import Config

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Link-local (the metadata service of AWS, GCP, Azure, OpenStack and others lives at 169.254.169.254),
# Alibaba's metadata address, AWS's IPv6 metadata address and Azure's wire server.
DEFAULT_BLOCKED_RANGES = "169.254.0.0/16, fe80::/10, 100.100.100.200/32, fd00:ec2::254/128, 168.63.129.16/32"
DEFAULT_BLOCKED_HOSTS = "metadata.google.internal, metadata.goog, metadata.azure.internal"


_LEGACY_IPV4 = re.compile(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}", re.IGNORECASE)


class OutboundBlocked(httpx.ConnectError):
    """A request to a blocked address, refused before any connection was made."""


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.replace(";", ",").replace(" ", ",").split(",") if p.strip()]


def parse_ranges(value: str) -> tuple[Network, ...]:
    out: list[Network] = []
    for item in _split(value):
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            from vigil.errors import ConfigError

            raise ConfigError(
                f"[security] outbound_blocked_ranges: {item!r} is not an address range (CIDR)"
            ) from None
    return tuple(out)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    raw = host.strip("[]").split("%", 1)[0]  # an IPv6 zone id (fe80::1%eth0) is not part of the address
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        # the C resolver also reads 2852039166, 0xa9fea9fe, 0251.0376.0251.0376 and 169.254.43518
        # as IPv4 addresses (inet_aton): read them the same way, so they are checked, not looked up
        if not _LEGACY_IPV4.fullmatch(raw):
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(raw))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return mapped
    return ip


@dataclass(frozen=True)
class OutboundGuard:
    ranges: tuple[Network, ...]
    hosts: frozenset[str]

    @classmethod
    def default(cls) -> OutboundGuard:
        return cls(parse_ranges(DEFAULT_BLOCKED_RANGES), frozenset(_split(DEFAULT_BLOCKED_HOSTS)))

    @classmethod
    def from_config(cls, config: Config) -> OutboundGuard:
        names = _split(config.get("security", "outbound_blocked_hosts"))
        hosts = frozenset(h.lower().rstrip(".") for h in names)
        return cls(parse_ranges(config.get("security", "outbound_blocked_ranges")), hosts)

    def blocked_address(self, host: str) -> bool:
        ip = _address(host)
        if ip is None:
            return False
        return any(ip.version == net.version and ip in net for net in self.ranges)

    def check_host(self, host: str) -> None:
        """Refuse a blocked name or a literal blocked address (no DNS lookup)."""
        name = host.strip("[]").lower().rstrip(".")
        if name in self.hosts or self.blocked_address(name):
            raise OutboundBlocked(
                f"outgoing request to {host} refused: the address is blocked by "
                "[security] outbound_blocked_ranges / outbound_blocked_hosts"
            )

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, refusing the lot if any one is blocked."""
        self.check_host(host)
        if _address(host) is not None:
            return [host.strip("[]")]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for addr in addresses:
            if self.blocked_address(addr):
                raise OutboundBlocked(
                    f"outgoing request to {host} refused: it resolves to {addr}, which is blocked by "
                    "[security] outbound_blocked_ranges"
                )
        return addresses

    async def check_url(self, request: httpx.Request) -> None:
        """httpx request hook: refuses literal blocked addresses and names before anything is sent."""
        self.check_host(request.url.host)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx client whose direct connections go through this guard.

        Takes AsyncClient's arguments; ``verify``, ``cert``, ``limits`` and ``trust_env`` also configure
        the guarded transport.
        """
        transport = self.transport(
            verify=kwargs.get("verify", True),
            cert=kwargs.get("cert"),
            limits=kwargs.get("limits", httpx.Limits(max_connections=100, max_keepalive_connections=20)),
            trust_env=kwargs.get("trust_env", True),
        )
        hooks = kwargs.pop("event_hooks", None) or {}
        hooks = {**hooks, "request": [self.check_url, *hooks.get("request", [])]}
        return httpx.AsyncClient(transport=transport, event_hooks=hooks, **kwargs)

    def transport(self, **kwargs: Any) -> httpx.AsyncHTTPTransport:
        transport = httpx.AsyncHTTPTransport(**kwargs)
        pool = transport._pool
        # httpcore's pool opens every connection through its network backend: ours resolves, checks
        # and connects to the checked address (TLS still verifies the name the URL gave).
        if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
            raise RuntimeError("httpcore changed: the outbound guard cannot wrap its network backend")
        pool._network_backend = _GuardedBackend(pool._network_backend, self)
        return transport


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend, guard: OutboundGuard) -> None:
        self.inner = inner
        self.guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.guard.resolve(host, port)
        last: Exception | None = None
        for addr in addresses:
            try:
                return await self.inner.connect_tcp(
                    addr, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        if last is None:
            raise httpcore.ConnectError(f"{host} resolved to no address")
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


async def check_host_port(guard: OutboundGuard, host: str, port: int) -> None:
    """For non-HTTP connections (SQL data sources): refuse a host that is or resolves to a blocked
    address. The driver resolves the name again when it connects (a rebinding window remains)."""
    try:
        await guard.resolve(host, port)
    except OutboundBlocked:
        raise
    except httpx.ConnectError:
        return  # an unresolvable name is the driver's error to report; only a blocked answer is ours
