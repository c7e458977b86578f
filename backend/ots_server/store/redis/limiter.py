"""Rate-limit buckets in Redis, shared by every ots-server instance on the same store.

The same token bucket as :class:`ots_server.middleware.ratelimit.RateLimiter` (``burst`` tokens,
refilled at ``per_minute / 60`` per second), kept in one hash per client, updated by one Lua
script (read, refill, take, write, set the TTL), so concurrent requests on several instances
never both take the last token.

Invariants:

- The key of a bucket is ``P:l:`` + 32 hex digits of HMAC-SHA256(key, subject): never the
  client address, never its plain hash (an IPv4 address would be found by trying them all).
- The HMAC key is ``OTS_RATE_LIMIT_KEY`` (hashed) when set, so Redis alone holds nothing
  that tests an address; otherwise a random 32-byte key that the first instance stores at
  ``P:l-key`` (``SET`` only if absent, inside a script) for :data:`KEY_TTL`, and every instance
  reads and caches for at most :data:`KEY_CACHE` seconds. When it expires a new one is made:
  every client's bucket starts full again once a day.
- Every key has a TTL: a bucket lives until it would be full again (a full bucket is the same
  as none), at most ``burst / rate`` seconds.
- Time is the app's clock, like the per-process limiter; instances should agree on the time
  (NTP), a clock behind simply refills nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any, cast

from ots_server.store.outcomes import StoreUnavailable
from ots_server.store.redis.client import RedisConnection, translated

#: Seconds a random HMAC key stored in Redis lives before another one replaces it.
KEY_TTL = 24 * 60 * 60
#: Seconds an instance trusts the HMAC key it read from Redis before asking again.
KEY_CACHE = 60.0

_BUCKET = """
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens, last = burst, now
if state[1] then tokens, last = tonumber(state[1]), tonumber(state[2]) end
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate else tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', ARGV[1])
redis.call('EXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) / rate)))
return string.format('%.17g', wait)
"""

_KEY = """
local key = redis.call('GET', KEYS[1])
if key then return {key, redis.call('TTL', KEYS[1])} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return {ARGV[1], tonumber(ARGV[2])}
"""


class RedisRateLimiter:
    """Token buckets in Redis; ``acquire`` returns 0 when allowed, else seconds to wait."""

    def __init__(
        self,
        connection: RedisConnection,
        per_minute: int,
        burst: int,
        clock: Callable[[], float],
        *,
        key: str | None = None,
    ) -> None:
        self.connection = connection
        self.prefix = connection.target.prefix
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._bucket = connection.client.register_script(_BUCKET)
        self._key_script = connection.client.register_script(_KEY)
        self._fixed = (
            None if key is None else hashlib.sha256(b"ots-rate-limit\0" + key.encode()).digest()
        )
        self._key: bytes | None = None
        self._key_until = 0.0

    async def _hmac_key(self) -> bytes:
        if self._fixed is not None:
            return self._fixed
        if self._key is not None and time.monotonic() < self._key_until:
            return self._key
        reply = cast(
            list[Any],
            await translated(
                self._key_script(
                    keys=[f"{self.prefix}:l-key"], args=[secrets.token_bytes(32), KEY_TTL]
                )
            ),
        )
        key, ttl = bytes(reply[0]), int(reply[1])
        if len(key) != 32:  # not ours: refuse to key buckets with it
            raise StoreUnavailable("redis: the stored rate-limit key is malformed")
        self._key = key
        self._key_until = time.monotonic() + min(KEY_CACHE, max(1, ttl))
        return key

    async def bucket_key(self, subject: str) -> str:
        digest = hmac.new(await self._hmac_key(), subject.encode(), "sha256").hexdigest()
        return f"{self.prefix}:l:{digest[:32]}"

    async def acquire(self, subject: str) -> float:
        key = await self.bucket_key(subject)
        reply = await translated(
            self._bucket(keys=[key], args=[repr(self.clock()), self.rate, self.burst])
        )
        return float(reply)
