"""Posting one webhook message (Standard Webhooks): the body signed with the endpoint's
secret, the address checked when the connection is made (API7: a name that now resolves to
a loopback, private or link-local address is refused, and the socket goes to the address
that was checked, so DNS cannot change between the check and the connect), no redirects
followed, every POST timed out."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpcore
import httpx
from standardwebhooks import Webhook

from casebridge.sharing.endpoints import host_allowed, webhook_url_problem

# host, port -> the addresses it resolves to now
Resolver = Callable[[str, int], Awaitable[list[str]]]
USER_AGENT = "Casebridge-Webhooks/1"


class AddressRefused(httpcore.ConnectError):
    """The endpoint's host resolves to an address webhooks may not reach."""


@dataclass(frozen=True)
class Outcome:
    """What one POST came to: a status (2xx is success), or the error that stopped it."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


def address_problem(address: str, *, allow_loopback: bool) -> str | None:
    """Why webhooks may not connect to this address, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is a private, link-local or reserved address"
    return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses it if any address is refused, and connects to the
    checked address (TLS still verifies the certificate for the host's name)."""

    def __init__(self, resolve: Resolver, allow_loopback: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._resolve = resolve
        self._allow_loopback = allow_loopback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self._resolve(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            problem = address_problem(address, allow_loopback=self._allow_loopback)
            if problem is not None:
                raise AddressRefused(f"refused: {host} resolves to {problem}")
        return await self._inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose every connection is checked."""

    def __init__(self, *, resolve: Resolver = system_resolver, allow_loopback: bool) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(resolve, allow_loopback),
        )


def new_client(
    *, allow_loopback: bool, connect_timeout: float, timeout: float, resolve: Resolver | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=GuardedTransport(
            resolve=resolve or system_resolver, allow_loopback=allow_loopback
        ),
        follow_redirects=False,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def signed(
    *, message_id: str, secret: str, event_type: str, data: Mapping[str, Any], now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body ({type, timestamp, data}) and the three Standard Webhooks headers."""
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    return body.encode(), headers


async def post(
    client: httpx.AsyncClient,
    *,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    allow_loopback: bool,
    allowed_hosts: Sequence[str] = (),
) -> Outcome:
    """One attempt. Any answer but a 2xx, and any error, is a failure with its reason."""
    started = time.perf_counter()

    def done(status: int | None, error: str | None) -> Outcome:
        elapsed = int((time.perf_counter() - started) * 1000)
        return Outcome(status, error[:500] if error else None, elapsed)

    problem = webhook_url_problem(url, allow_loopback=allow_loopback)
    if problem is not None:
        return done(None, f"refused: the URL {problem}")
    if not host_allowed(url, allowed_hosts):
        return done(None, "refused: the host is not on the webhook allow-list")
    try:
        # Streamed and never read: only the status matters, and a receiver cannot make us
        # hold a large body in memory.
        async with client.stream("POST", url, content=body, headers=dict(headers)) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        return done(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if 300 <= status < 400:
        return done(status, f"HTTP {status}: redirects are not followed")
    if not 200 <= status < 300:
        return done(status, f"HTTP {status}")
    return done(status, None)
