"""Per-client rate limiting of API POSTs: token buckets keyed by a keyed hash of the address.

The client address is the TCP peer, or, only when the peer is in ``OTS_TRUSTED_PROXIES``, the
right-most untrusted address of ``X-Forwarded-For``. It is hashed with HMAC-SHA256 under a
random key made per process and never stored: the buckets hold 16 bytes of that hash, two
floats, and nothing else, only in memory, and are dropped once refilled. Nothing about a
client address is logged.

Each bucket holds ``burst`` tokens and refills at ``per_minute / 60`` tokens per second; a
request takes one token or is answered 429 with ``Retry-After``. Limits are per process (with
N workers a client may get up to N times the rate); GETs are not limited (they are static).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import secrets
from collections.abc import Callable, Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ots_server.errors import error_response
from ots_server.settings import Network

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Past this many buckets, full ones are dropped before a new one is made.
MAX_BUCKETS = 100_000


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """The address to rate-limit: the peer, or what trusted proxies say it forwarded for."""
    peer = scope.get("client")
    client = _address(peer[0]) if peer else None
    if client is None:
        return ""
    if not trusted:
        return str(client)
    hops = [
        hop for value in Headers(scope=scope).getlist("x-forwarded-for") for hop in value.split(",")
    ]
    for hop in reversed(hops):
        if not any(client in network for network in trusted):
            break
        forwarded = _address(hop)
        if forwarded is None:
            break
        client = forwarded
    return str(client)


class RateLimiter:
    """Token buckets in a dict: key -> (tokens, last refill time)."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float]) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._buckets: dict[bytes, tuple[float, float]] = {}

    def key(self, address: str) -> bytes:
        return hmac.new(self._key, address.encode(), "sha256").digest()[:16]

    def take(self, address: str) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        key = self.key(address)
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if key not in self._buckets and len(self._buckets) >= MAX_BUCKETS:
            self._prune(now)
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= MAX_BUCKETS:  # under attack by many addresses: start over
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter | None,
        trusted: Sequence[Network],
        on_limited: Callable[[], None],
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.trusted = tuple(trusted)
        self.on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.limiter is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith("/api/")
        ):
            wait = self.limiter.take(client_address(scope, self.trusted))
            if wait > 0:
                self.on_limited()
                retry_after = max(1, math.ceil(wait))
                response = error_response(
                    429,
                    "rate_limited",
                    "too many requests from this client; retry later",
                    headers={"Retry-After": str(retry_after)},
                    retry_after=retry_after,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
