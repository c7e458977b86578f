"""The Redis store: several stateless ots-server instances share one Redis (or Valkey), a
Sentinel-managed primary, or a Redis Cluster.

Keys (``P`` is the ``prefix`` option of ``OTS_STORE_URL``, default ``ots``; ``ID`` the
unpadded base64url id; ``RH`` the hex SHA-256 of the receipt token)::

    P:r:{ID}   hash    the record (tombstone and receipt data); TTL until keep_until
    P:b:{ID}   string  the ciphertext while the secret is live; TTL until its expiry
    P:x:RH     string  receipt index: the id; TTL until keep_until
    P:l:…      hash    rate-limit buckets, see ots_server.store.redis_limiter
    P:a:… P:k:… P:as:… P:ak:… P:t:… P:e:…   accounts, see ots_server.store.redis_accounts

A secret created with an account token is linked to it in the account's link set (written
before the secret, removed again if the create fails); the secret's own keys never name the
account, so deleting the account's keys unlinks every secret at once.

Invariants:

- Every operation on a secret is one Lua script on its two keys (:mod:`.redis_scripts`),
  which share the hash tag ``{ID}``, so it is atomic on a single server and on Cluster. The
  ciphertext and the record are written by the same script, so nothing half-written is ever
  visible, and the ciphertext is deleted by the script that ends the secret.
- A receipt is found in two steps: ``GET P:x:RH`` gives the id (the index lives in the slot of
  the receipt hash, not of the secret), then the receipt script runs on the secret's keys and
  checks that the record's own receipt hash matches. The index entry is immutable while the
  record lives, so the two steps agree: a stale entry (the id was purged and reused) fails the
  check and reads as unknown. A create writes the index first, then the secret, so a secret
  never exists without its index; an index entry left by a failed create points at nothing
  and expires with its TTL. The receipt token stays 256 random bits (docs/API.md).
- Every key is written with a TTL (see :mod:`.redis_scripts` for the TTLs, relative to the
  caller's ``now``); expiry is still decided on every operation with the caller's ``now``.
- ``purge_expired`` scans the record keys (every Cluster primary) and sweeps with the caller's
  ``now``. Redis frees expired keys by itself; the sweep only turns expired secrets into
  ``expired`` tombstones early and honours the contract for any injected clock.
- Failures become ``StoreUnavailable``/``StoreFull`` (:mod:`.redis_client`); nothing is
  reported done that Redis did not acknowledge. With ``appendonly yes`` and
  ``appendfsync always`` Redis acknowledges a script only after it is on disk.
- Never blocks the event loop: redis-py's asyncio client throughout.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable
from typing import Any, cast

from ots_server.store import redis_scripts as lua
from ots_server.store import rules
from ots_server.store.base import (
    Gone,
    IdExists,
    Maintenance,
    NewSecret,
    NotFound,
    PassphraseRequired,
    PurgeResult,
    ReceiptStatus,
    Revealed,
    SecretInfo,
    StoreError,
    StoreUnavailable,
    Tombstone,
    TombstoneState,
    WrongPassphrase,
)
from ots_server.store.redis_accounts import RedisAccounts
from ots_server.store.redis_client import RedisConnection, connect, translated
from ots_server.store.redis_limiter import RedisRateLimiter
from ots_server.store.redis_preflight import preflight
from ots_server.store.redis_url import REDIS_MAX_BYTES, RedisTarget, parse_redis_url

#: Record keys fetched per SCAN step and checked per pipeline by the sweeper.
SWEEP_BATCH = 500


def _late(now: int, asked: float) -> int:
    """The caller's ``now`` plus the whole seconds spent since it asked (earlier steps)."""
    return now + int(time.monotonic() - asked)


def _tag(id: bytes) -> str:
    return base64.urlsafe_b64encode(id).rstrip(b"=").decode("ascii")


class RedisStore(RedisAccounts):
    """A :class:`~ots_server.store.base.Store` on Redis; see the module docstring (accounts:
    :mod:`.redis_accounts`)."""

    def __init__(self, target: RedisTarget) -> None:
        self.target = target
        self.prefix = target.prefix
        self.connection: RedisConnection = connect(target)
        client = self.connection.client
        self._create = client.register_script(lua.CREATE)
        self._peek = client.register_script(lua.PEEK)
        self._reveal = client.register_script(lua.REVEAL)
        self._burn = client.register_script(lua.BURN)
        self._receipt = client.register_script(lua.RECEIPT)
        self._sweep = client.register_script(lua.SWEEP)
        self._register_account_scripts()
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        return cls(parse_redis_url(url))

    def rate_limiter(
        self, per_minute: int, burst: int, clock: Callable[[], float], *, key: str | None
    ) -> RedisRateLimiter:
        """Buckets shared by every instance on this Redis (see :mod:`.redis_limiter`)."""
        return RedisRateLimiter(self.connection, per_minute, burst, clock, key=key)

    async def startup_check(self, *, allow_eviction: bool) -> list[str]:
        """Refuse (``RedisRefused``) or warn about Redis's configuration; see
        :mod:`.redis_preflight`."""
        self.guard()
        return await preflight(self.connection, allow_eviction=allow_eviction)

    # -- plumbing ---------------------------------------------------------------------------

    def _secret_keys(self, id: bytes) -> list[str]:
        tag = _tag(id)
        return [f"{self.prefix}:r:{{{tag}}}", f"{self.prefix}:b:{{{tag}}}"]

    def _receipt_key(self, receipt_hash: bytes) -> str:
        return f"{self.prefix}:x:{receipt_hash.hex()}"

    def guard(self) -> None:
        if self._closed:
            raise StoreUnavailable("the store is closed")

    async def _run(self, script: Any, keys: list[Any], args: list[Any]) -> list[Any]:
        self.guard()
        return cast(list[Any], await translated(script(keys=keys, args=args)))

    @staticmethod
    def _outcome(reply: list[Any]) -> str:
        """The outcome word of a script reply; raise for the common failures."""
        outcome = bytes(reply[0]).decode()
        if outcome == "not_found":
            raise NotFound
        if outcome == "gone":
            raise Gone(cast(TombstoneState, bytes(reply[1]).decode()), int(reply[2]))
        return outcome

    # -- the protocol -----------------------------------------------------------------------

    async def create(self, secret: NewSecret) -> None:
        if len(secret.blob) > REDIS_MAX_BYTES:
            raise ValueError("a blob larger than the Redis store takes")
        self.guard()
        now = secret.created_at
        receipt_key = self._receipt_key(secret.receipt_hash)
        client = self.connection.client
        await translated(client.set(receipt_key, secret.id, ex=max(1, secret.keep_until - now)))
        # Linked before the secret exists (like the receipt index), so an acknowledged secret
        # is always listed; a link to nothing (a failed create) is filtered when listing.
        link = secret.id + secret.receipt_hash
        linked = False
        try:
            if secret.account_id is not None:
                linked = await self._add_link(
                    secret.account_id, link, secret.created_at, secret.keep_until
                )
            reply = await self._run(
                self._create,
                self._secret_keys(secret.id),
                [
                    now,
                    secret.link_verifier,
                    secret.receipt_hash,
                    secret.expires_at,
                    secret.keep_until,
                    secret.views,
                    secret.header_length,
                    secret.passphrase_verifier or b"",
                    "" if secret.attempts is None else secret.attempts,
                    memoryview(secret.blob),
                ],
            )
            if self._outcome(reply) == "exists":
                raise IdExists
        except StoreError:
            # Best effort (a leftover entry points at nothing of its own and expires anyway).
            with contextlib.suppress(StoreError):
                await translated(client.delete(receipt_key))
            if linked and secret.account_id is not None:
                with contextlib.suppress(StoreError):
                    await self._remove_link(secret.account_id, link)
            raise

    async def peek(self, id: bytes, link_check: bytes, now: int) -> SecretInfo:
        reply = await self._run(self._peek, self._secret_keys(id), [now, link_check])
        self._outcome(reply)
        _, header, size, created_at, expires_at, views_left, passphrase, attempts = reply
        return SecretInfo(
            id=id,
            header=bytes(header),
            size=int(size),
            created_at=int(created_at),
            expires_at=int(expires_at),
            views_left=int(views_left),
            passphrase=bool(passphrase),
            attempts_left=None if int(attempts) < 0 else int(attempts),
        )

    async def reveal(
        self, id: bytes, link_check: bytes, passphrase_check: bytes | None, now: int
    ) -> Revealed:
        reply = await self._run(
            self._reveal, self._secret_keys(id), [now, link_check, passphrase_check or b""]
        )
        outcome = self._outcome(reply)
        if outcome == "passphrase_required":
            raise PassphraseRequired(int(reply[1]))
        if outcome == "wrong_passphrase":
            raise WrongPassphrase(int(reply[1]), burned=bool(reply[2]))
        return Revealed(blob=bytes(reply[2]), views_left=int(reply[1]))

    async def burn(self, id: bytes, link_check: bytes, now: int) -> Tombstone:
        reply = await self._run(self._burn, self._secret_keys(id), [now, link_check])
        self._outcome(reply)
        return Tombstone("burned", int(reply[1]))

    async def _receipt_call(self, receipt_hash: bytes, now: int, burn: bool) -> ReceiptStatus:
        self.guard()
        asked = time.monotonic()
        id = await translated(self.connection.client.get(self._receipt_key(receipt_hash)))
        if not isinstance(id, bytes) or len(id) != 16:
            raise NotFound
        now = _late(now, asked)
        reply = await self._run(
            self._receipt, self._secret_keys(id), [now, receipt_hash, "1" if burn else "0"]
        )
        self._outcome(reply)
        _, state, at, created_at, expires_at, views, views_left, read_at = reply
        stored = bytes(state).decode()
        return ReceiptStatus(
            id=id,
            state=rules.receipt_state(stored, int(expires_at), now),
            created_at=int(created_at),
            expires_at=int(expires_at),
            views=int(views),
            views_left=int(views_left),
            read_at=None if int(read_at) < 0 else int(read_at),
            burned_at=int(at) if stored == "burned" else None,
        )

    async def receipt_status(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        return await self._receipt_call(receipt_hash, now, burn=False)

    async def burn_by_receipt(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        return await self._receipt_call(receipt_hash, now, burn=True)

    async def purge_expired(self, now: int) -> PurgeResult:
        self.guard()
        expired = purged = 0
        batch: list[bytes] = []

        async def sweep(keys: list[bytes]) -> None:
            nonlocal expired, purged
            pipe = self.connection.client.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(key, ["st", "ea", "ku"])
            rows = await translated(pipe.execute())
            for key, (state, expires_at, keep_until) in zip(keys, rows, strict=True):
                due = state is not None and (
                    int(keep_until) <= now or (state == b"pending" and int(expires_at) <= now)
                )
                if not due:
                    continue  # most records: one cheap HMGET in a pipeline, no script
                blob_key = self.prefix.encode() + b":b:" + key[len(self.prefix) + 3 :]
                reply = await self._run(self._sweep, [key, blob_key], [now])
                expired += int(reply[0])
                purged += int(reply[1])
                if int(reply[1]) and reply[2]:
                    await translated(
                        self.connection.client.delete(self._receipt_key(bytes(reply[2])))
                    )

        async for key in self.connection.scan(f"{self.prefix}:r:*", SWEEP_BATCH):
            batch.append(key)
            if len(batch) >= SWEEP_BATCH:
                await sweep(batch)
                batch = []
        if batch:
            await sweep(batch)
        return PurgeResult(expired=expired, purged=purged)

    async def maintenance(self) -> Maintenance:
        # Nothing to checkpoint: Redis persists (or not) by its own configuration.
        self.guard()
        return Maintenance(complete=True)

    async def check(self) -> None:
        self.guard()
        await translated(self.connection.client.ping())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.connection.aclose()
