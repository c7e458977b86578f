"""Per-client rate limiting of API POSTs: token buckets keyed by a keyed hash of the client.

The client address is the TCP peer, or, only when the peer is in ``OTS_TRUSTED_PROXIES``, the
right-most untrusted address of ``X-Forwarded-For``. An IPv4-mapped IPv6 address
(``::ffff:192.0.2.1``, what a dual-stack socket reports) is the IPv4 address it carries.

The *subject* of a limit is an IPv4 address, or the IPv6 network of ``OTS_RATE_LIMIT_IPV6_PREFIX``
bits (default /64) around an IPv6 address: one subscriber usually holds a whole /64 and could
otherwise take a fresh bucket per address. The subject is hashed with HMAC-SHA256 under a random
key made per process and never stored: the buckets hold 16 bytes of that hash, two floats, and
nothing else, only in memory. Nothing about a client address is logged.

Each bucket holds ``burst`` tokens and refills at ``per_minute / 60`` tokens per second; a
request takes one token or is answered 429 with ``Retry-After``. With the SQLite store limits
are per process (with N workers a client may get up to N times the rate); with the Redis store
the buckets live in Redis and every instance shares them (:mod:`ots_server.store.redis.limiter`,
the same bucket under the same keyed hash). GETs are not limited (they are static).

A shared limiter that cannot reach its store answers 503 ``unavailable`` (the request could
not have been served anyway); one whose store is full lets the request through (reveals and
burns free memory, and creates are refused by the store itself).

A request that authenticated with an account token (see :mod:`ots_server.middleware.auth`,
which runs first) is limited per *account* instead, with the account limits
(``OTS_ACCOUNT_RATE_LIMIT_*``): its subject is the account's random id, whatever address the
request comes from, hashed like an address.

Memory is bounded without ever handing anyone a reset: buckets are kept in the order they were
last used, and a bucket that has refilled completely (which is the same as having none) is
dropped from the front of that order. When ``max_buckets`` clients are all still refilling,
newcomers share one overflow bucket instead of evicting somebody's partly drained one, so a
flood of addresses can slow down newcomers but can never refill an exhausted client.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import secrets
import socket
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ots_server.errors import error_response
from ots_server.middleware.auth import principal
from ots_server.settings import Network
from ots_server.store import StoreFull, StoreUnavailable

logger = logging.getLogger("ots_server")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Clients tracked at once per process (about 230 bytes each); newcomers beyond share one bucket.
MAX_BUCKETS = 100_000


def parse_address(text: str) -> IPAddress | None:
    """An IP address, with IPv4-mapped IPv6 addresses turned into the IPv4 address."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(scope: Scope, trusted: Sequence[Network]) -> IPAddress | None:
    """The peer, or what trusted proxies say it forwarded for; ``None`` if unknown."""
    peer = scope.get("client")
    client = parse_address(peer[0]) if peer else None
    if client is None or not trusted:
        return client
    hops = [
        hop for value in Headers(scope=scope).getlist("x-forwarded-for") for hop in value.split(",")
    ]
    for hop in reversed(hops):
        if not any(client in network for network in trusted):
            break
        forwarded = parse_address(hop)
        if forwarded is None:
            break
        client = forwarded
    return client


def subject(address: IPAddress | None, ipv6_prefix: int) -> str:
    """What one bucket limits: an IPv4 address, or the IPv6 network around an IPv6 address."""
    if address is None:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(address), ipv6_prefix), strict=False))
    return str(address)


def subject_hash(key: bytes, subject: str) -> bytes:
    """The keyed hash a subject is known by in memory (16 bytes of HMAC-SHA256)."""
    # hmac.digest: the same HMAC in one C call, without an hmac.HMAC object per request.
    return hmac.digest(key, subject.encode(), "sha256")[:16]


#: The scope key under which a request's subject is kept once worked out (the rate limit and
#: the upload slots both need it; it lives only as long as the request's scope).
SUBJECT = "ots.subject"


def _ipv4_peer(scope: Scope) -> str | None:
    """The peer as canonical dotted-quad text when it is a plain IPv4 address, else ``None``:
    what ``subject(parse_address(peer))`` gives for it, with one C call instead of the
    ``ipaddress`` parser (anything else takes the general path)."""
    peer = scope.get("client")
    if not peer:
        return None
    try:
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, peer[0]))
    except (OSError, TypeError, ValueError):
        return None


def limit_subject(scope: Scope, trusted: Sequence[Network], ipv6_prefix: int) -> str:
    """Whom a request counts against: its account if it sent a valid token, else its client's
    address (its IPv6 network). Worked out once per request (kept in the scope under
    :data:`SUBJECT`): the callers all pass the app's own settings."""
    cached = scope.get(SUBJECT)
    if cached is not None:
        return str(cached)
    account = principal(scope)
    if account is not None:
        found = "account:" + account.account_id.hex()
    else:
        fast = None if trusted else _ipv4_peer(scope)
        found = fast or subject(client_address(scope, trusted), ipv6_prefix)
    scope[SUBJECT] = found
    return found


class Limiter(Protocol):
    async def acquire(self, subject: str) -> float:
        """Take one token for ``subject``: 0 when allowed, else seconds until one is free."""


@runtime_checkable
class SharesRateLimits(Protocol):
    """A store that keeps rate-limit buckets for every instance using it (Redis)."""

    def rate_limiter(
        self, per_minute: int, burst: int, clock: Callable[[], float], *, key: str | None
    ) -> Limiter:
        """A limiter whose buckets live in the store; ``key`` is ``OTS_RATE_LIMIT_KEY``."""


class RateLimiter:
    """Token buckets: keyed hash -> (tokens, last update), least recently used first."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        clock: Callable[[], float],
        *,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.max_buckets = max_buckets
        self._key = secrets.token_bytes(32)
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()
        self._overflow = (float(burst), clock())

    def key(self, subject: str) -> bytes:
        return subject_hash(self._key, subject)

    def take(self, subject: str) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        self._prune(now)
        key = self.key(subject)
        state = self._buckets.get(key)
        if state is None and len(self._buckets) >= self.max_buckets:
            wait, self._overflow = self._spend(self._overflow, now)
            return wait
        wait, self._buckets[key] = self._spend(state or (float(self.burst), now), now)
        self._buckets.move_to_end(key)
        return wait

    async def acquire(self, subject: str) -> float:
        return self.take(subject)

    def _spend(self, state: tuple[float, float], now: float) -> tuple[float, tuple[float, float]]:
        tokens, last = state
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
        if tokens < 1.0:
            return (1.0 - tokens) / self.rate, (tokens, now)
        return 0.0, (tokens - 1.0, now)

    def _prune(self, now: float) -> None:
        # Amortised O(1): each bucket is dropped at most once per time it was created. Only
        # full buckets go, and a full bucket behaves exactly like a missing one.
        while self._buckets:
            key, (tokens, last) = next(iter(self._buckets.items()))
            if tokens + (now - last) * self.rate < self.burst:
                return
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: Limiter | None,
        account_limiter: Limiter | None = None,
        trusted: Sequence[Network],
        ipv6_prefix: int,
        on_limited: Callable[[], None],
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.account_limiter = account_limiter
        self.trusted = tuple(trusted)
        self.ipv6_prefix = ipv6_prefix
        self.on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        account = principal(scope) if scope["type"] == "http" else None
        limiter = self.limiter if account is None else self.account_limiter
        if (
            limiter is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith("/api/")
        ):
            key = limit_subject(scope, self.trusted, self.ipv6_prefix)
            try:
                wait = await limiter.acquire(key)
            except StoreFull:
                wait = 0.0
            except StoreUnavailable as exc:
                logger.error("store unavailable (rate limit): %s", exc)
                response = error_response(
                    503, "unavailable", "the store is unavailable; retry later"
                )
                await response(scope, receive, send)
                return
            if wait > 0:
                self.on_limited()
                retry_after = max(1, math.ceil(wait))
                response = error_response(
                    429,
                    "rate_limited",
                    f"too many requests from this {'client' if account is None else 'account'};"
                    " retry later",
                    headers={"Retry-After": str(retry_after)},
                    retry_after=retry_after,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
