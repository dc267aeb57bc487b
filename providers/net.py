"""Outgoing HTTP on a user's behalf, checked when each connection is made (the SSRF guard).

A user's own provider key may come with a base URL of their choosing, so every connection made
with it goes through `CheckedTransport` (an httpx transport; every AI SDK we use takes an httpx
client). For each new connection it:

  1. refuses a port outside the policy's ports (80 and 443 by default);
  2. resolves the host once, with the policy's resolver;
  3. refuses the connection unless EVERY address the host resolves to is public (unless the
     policy allows private addresses): loopback, private, link-local (169.254.169.254 metadata),
     CGNAT 100.64/10, multicast, reserved, unspecified, documentation/benchmark ranges, NAT64
     64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16, Teredo and other 2001::/23 assignments,
     site-local and unique-local IPv6, and IPv4-mapped IPv6 forms of the refused IPv4 ranges;
  4. connects to the address it checked (no second lookup, so DNS rebinding cannot swap it),
     while the URL keeps the host name: Host header, TLS SNI and certificate checks use the name.

Redirects are off in `http_client` (and each hop would go through the same checks anyway); env
proxies are not used (the proxy, not the target, would be checked). A refusal raises
`OutboundRefusedError`, an httpx.ConnectError, so code that handles connection failures fails
closed. Its text names the address for logs; never show it to the user.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, overload

import anyio
import httpcore
import httpx

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> the host's IP addresses, as strings."""

DEFAULT_PORTS: frozenset[int] = frozenset({80, 443})

_V4_REFUSED = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V6_REFUSED = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: embeds any IPv4 address
        "3fff::/20",  # documentation
    )
)


def address_refusal(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a connection to this address is refused unless private addresses are allowed, or None
    for a public unicast address. Outside 2000::/3 every IPv6 address is refused (::1, ::, fe80::/10,
    fc00::/7, ff00::/8, 64:ff9b::/96, the IPv4-compatible ::/96...); IPv4-mapped ones are judged by
    the IPv4 address they carry."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_refusal(ip.ipv4_mapped)
        if ip not in _V6_GLOBAL_UNICAST:
            return "not a global unicast IPv6 address"
        if any(ip in net for net in _V6_REFUSED):
            return "special-purpose IPv6 range"
    elif any(ip in net for net in _V4_REFUSED):
        return "private, loopback, link-local, shared, multicast or reserved IPv4 range"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system (getaddrinfo on the event loop)."""
    import asyncio

    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for family, *_, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            seen.setdefault(str(sockaddr[0]).split("%", 1)[0])
    return list(seen)


class OutboundRefusedError(ConnectionError):
    """The outbound policy refuses this connection (address or port). The text is for logs."""


class UnresolvableHostError(OSError):
    """The host name has no address."""


@dataclass(frozen=True)
class OutboundPolicy:
    """Where connections may go. `allow_private` lifts the address rule (self-hosted setups);
    `ports` None means any port."""

    allow_private: bool = False
    ports: frozenset[int] | None = DEFAULT_PORTS
    resolver: Resolver | None = None

    def check_port(self, port: int) -> None:
        if self.ports is not None and port not in self.ports:
            raise OutboundRefusedError(f"port {port} is not allowed")

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for host:port, each checked: OutboundRefusedError when the
        port or any address the host resolves to is refused, UnresolvableHostError without one."""
        self.check_port(port)
        host = host.strip("[]")
        try:
            found = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                found = await (self.resolver or system_resolver)(host, port)
            except OSError as exc:
                raise UnresolvableHostError(f"could not resolve {host}") from exc
        if not found:
            raise UnresolvableHostError(f"{host} has no address")
        if not self.allow_private:
            for address in found:
                reason = address_refusal(address)
                if reason is not None:
                    raise OutboundRefusedError(f"{host} resolves to {address}: {reason}")
        return found


UNRESTRICTED = OutboundPolicy(allow_private=True, ports=None)


class _CheckedBackend:
    """An httpcore (or httpcore2) network backend with the policy applied to every new TCP
    connection; `core` is the httpcore module whose pool uses it."""

    def __init__(self, policy: OutboundPolicy, inner: Any, core: Any) -> None:
        self._policy = policy
        self._inner = inner
        self._core = core

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        last: BaseException | None = None
        try:
            with anyio.fail_after(timeout):
                try:
                    addresses = await self._policy.addresses(host, port)
                except UnresolvableHostError as exc:
                    raise self._core.ConnectError(str(exc)) from exc
                for address in addresses:  # each one checked; no other lookup happens
                    try:
                        return await self._inner.connect_tcp(
                            address, port, local_address=local_address, socket_options=socket_options
                        )
                    except (self._core.ConnectError, OSError) as exc:
                        last = exc
        except TimeoutError:
            raise self._core.ConnectTimeout(f"timed out connecting to {host}") from None
        raise self._core.ConnectError(f"could not connect to {host}") from last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        raise OutboundRefusedError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


Flavour = Literal["httpx", "httpx2"]
"""openai, anthropic and google-genai are built on httpx2 (pydantic's fork), elevenlabs on httpx."""


def _modules(flavour: Flavour) -> tuple[Any, Any]:
    if flavour == "httpx2":
        import httpcore2
        import httpx2

        return httpx2, httpcore2
    return httpx, httpcore


def checked_transport(
    policy: OutboundPolicy,
    *,
    flavour: Flavour = "httpx",
    verify: ssl.SSLContext | bool = True,
    backend: Any = None,
) -> Any:
    """The library's own async transport (HTTP/1.1, TLS, pooling) whose connection pool opens
    connections through the policy. `backend` is the network below the check (tests route it)."""
    lib, core = _modules(flavour)
    transport = lib.AsyncHTTPTransport(verify=verify, trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), core.AsyncConnectionPool):  # pragma: no cover
        raise RuntimeError(f"{flavour}'s transport layout changed: review providers/net.py")
    # The one departure from the library's transport: its connection pool gets our backend.
    transport._pool = core.AsyncConnectionPool(
        ssl_context=lib.create_ssl_context(verify=verify, trust_env=False),
        max_connections=20,
        max_keepalive_connections=10,
        keepalive_expiry=5.0,
        network_backend=_CheckedBackend(policy, backend or core.AnyIOBackend(), core),
    )
    return transport


@overload
def http_client(
    policy: OutboundPolicy,
    *,
    flavour: Literal["httpx"] = "httpx",
    timeout: float = 60.0,
    verify: ssl.SSLContext | bool = True,
    backend: Any = None,
) -> httpx.AsyncClient: ...


@overload
def http_client(
    policy: OutboundPolicy,
    *,
    flavour: Literal["httpx2"],
    timeout: float = 60.0,
    verify: ssl.SSLContext | bool = True,
    backend: Any = None,
) -> Any: ...


def http_client(
    policy: OutboundPolicy,
    *,
    flavour: Flavour = "httpx",
    timeout: float = 60.0,
    verify: ssl.SSLContext | bool = True,
    backend: Any = None,
) -> Any:
    """An async client whose every connection passes `policy`, with redirects off and no env
    proxies (the proxy, not the target, would be checked): give it to an SDK as its client."""
    lib, _ = _modules(flavour)
    return lib.AsyncClient(
        transport=checked_transport(policy, flavour=flavour, verify=verify, backend=backend),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


class _Refusing:
    """A synchronous transport (httpx's or httpx2's interface) that refuses every request."""

    def handle_request(self, request: Any) -> Any:
        raise OutboundRefusedError("synchronous requests are not allowed")

    def __enter__(self) -> _Refusing:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def close(self) -> None:
        pass


def refusing_sync_client(flavour: Flavour = "httpx") -> Any:
    """A synchronous client that connects nowhere, for SDKs that insist on building one we never
    use: any use of it fails closed instead of going out unchecked."""
    lib, _ = _modules(flavour)
    return lib.Client(transport=_Refusing(), trust_env=False)


def same_origin(url: str, base: str) -> bool:
    """Same scheme (http or https), host and effective port."""
    from urllib.parse import urlsplit

    def origin(value: str) -> tuple[str, str, int | None]:
        parts = urlsplit(value)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)

    try:
        mine, theirs = origin(url), origin(base)
    except ValueError:  # a malformed port
        return False
    return mine[0] in ("http", "https") and bool(mine[1]) and mine == theirs


class TooLargeError(Exception):
    pass


async def read_capped(response: Any, limit: int) -> bytes:
    """The body of a streamed response, refusing (TooLargeError) more than `limit` bytes
    before reading past it."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"declared {declared} bytes")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise TooLargeError(f"more than {limit} bytes")
    return bytes(body)
