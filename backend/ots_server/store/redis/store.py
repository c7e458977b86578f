"""The Redis store: several stateless ots-server instances share one Redis (or Valkey), a
Sentinel-managed primary, or a Redis Cluster.

Keys (``P`` is the ``prefix`` option of ``OTS_STORE_URL``, default ``ots``; ``ID`` the
unpadded base64url id; ``RH`` the SHA-256 of the receipt token; ``BBB`` its first 12 bits in
hex)::

    P:r:{ID}   hash    the record (tombstone and receipt data); TTL until keep_until
    P:b:{ID}   string  the ciphertext while the secret is live; TTL until its expiry
    P:x:BBB    hash    receipt index bucket: RH[:16] -> id || keep_until (4 bytes, big-endian);
                       TTL until the latest keep_until of its entries
    P:x:RH     string  receipt index of earlier versions (RH in hex -> id), only read
    P:l:…      hash    rate-limit buckets, see ots_server.store.redis.limiter
    P:q:… P:qa:…        requests, see ots_server.store.redis.requests
    P:a:… P:k:… P:as:… P:ak:… P:t:… P:e:…   accounts, see ots_server.store.redis.accounts

A secret created with an account token is linked to it in the account's link set (written
before the secret, removed again if the create fails); the secret's own keys never name the
account, so deleting the account's keys unlinks every secret at once.

Invariants:

- Every operation on a secret is one Lua script on its two keys (:mod:`.scripts`),
  which share the hash tag ``{ID}``, so it is atomic on a single server and on Cluster. The
  ciphertext and the record are written by the same script, so nothing half-written is ever
  visible, and the ciphertext is deleted by the script that ends the secret.
- A receipt is found in two steps: ``HGET P:x:BBB RH[:16]`` gives the id (the index lives in
  the slot of its bucket, not of the secret), then the receipt script runs on the secret's
  keys and checks that the record's own (full, 32-byte) receipt hash matches. The index entry
  is immutable while the record lives, so the two steps agree: a stale entry (the id was
  purged and reused) fails the check and reads as unknown, as does a 128-bit prefix shared by
  two receipts (never seen in practice; it could only hide the older receipt, never show
  another secret). A create writes the index entry first, then the secret, so a secret never
  exists without its index; an entry left by a failed create points at nothing.
  The receipt token stays 256 random bits (docs/API.md).
- Index entries are fields of 4096 bucket hashes, not keys of their own: a key costs Redis
  about 150 bytes of bookkeeping (dictionary entries, expiry entry, key name, object header),
  an entry in a bucket about 40. A field has no TTL of its own, so entries are removed by the
  sweep: with their record when it purges one, and past their ``keep_until`` by
  :data:`~ots_server.store.redis.scripts.INDEX_SWEEP` over a slice of the buckets each run
  (a whole pass every ``4096 / INDEX_SWEEP_SLICE`` runs). A bucket's TTL is never shorter than
  its newest entry's ``keep_until``, so without any sweep the index still disappears.
- Earlier versions kept one key per receipt (``P:x:RH``); a receipt not in a bucket is looked
  up there, so receipts created before an upgrade keep working until their ``keep_until``.
  During a rolling upgrade, instances of an earlier version do not find receipts created by
  this one (secrets are not affected).
- Every key is written with a TTL (see :mod:`.scripts` for the TTLs, relative to the
  caller's ``now``); expiry is still decided on every operation with the caller's ``now``.
- ``purge_expired`` scans the record keys (every Cluster primary) and sweeps with the caller's
  ``now``. Redis frees expired keys by itself; the sweep only turns expired secrets into
  ``expired`` tombstones early and honours the contract for any injected clock.
- Failures become ``StoreUnavailable``/``StoreFull`` (:mod:`.client`); nothing is
  reported done that Redis did not acknowledge. With ``appendonly yes`` and
  ``appendfsync always`` Redis acknowledges a script only after it is on disk.
- Never blocks the event loop: redis-py's asyncio client throughout.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from ots_server.store import rules
from ots_server.store.outcomes import (
    BindingRequired,
    Gone,
    IdExists,
    NotFound,
    PassphraseRequired,
    StoreError,
    StoreUnavailable,
    WrongPassphrase,
)
from ots_server.store.records import (
    Maintenance,
    NewSecret,
    ReceiptStatus,
    Revealed,
    SecretInfo,
    Tombstone,
    TombstoneState,
)
from ots_server.store.redis import scripts as lua
from ots_server.store.redis.accounts import RedisAccounts
from ots_server.store.redis.client import RedisConnection, connect, translated
from ots_server.store.redis.limiter import RedisRateLimiter
from ots_server.store.redis.preflight import preflight
from ots_server.store.redis.requests import RedisRequests
from ots_server.store.redis.sweep import RedisSweep
from ots_server.store.redis.url import REDIS_MAX_BYTES, RedisTarget, parse_redis_url

#: The receipt index has ``2 ** INDEX_BITS`` buckets, picked by a receipt hash's first bits:
#: about 250 entries each at 10^6 secrets, so a bucket stays a compact listpack (Redis's
#: default ``hash-max-listpack-entries`` is 512) up to about 2 million secrets.
INDEX_BITS = 12


def _late(now: int, asked: float) -> int:
    """The caller's ``now`` plus the whole seconds spent since it asked (earlier steps)."""
    return now + int(time.monotonic() - asked)


def _tag(id: bytes) -> str:
    return base64.urlsafe_b64encode(id).rstrip(b"=").decode("ascii")


class RedisStore(RedisAccounts, RedisRequests, RedisSweep):
    """A :class:`~ots_server.store.protocol.Store` on Redis; see the module docstring (accounts:
    :mod:`.accounts`; requests: :mod:`.requests`)."""

    def __init__(self, target: RedisTarget) -> None:
        self.target = target
        self.prefix = target.prefix
        self.connection: RedisConnection = connect(target)
        client = self.connection.client
        self._create = client.register_script(lua.CREATE)
        self._create_indexed = client.register_script(lua.CREATE_INDEXED)
        self._peek = client.register_script(lua.PEEK)
        self._reveal = client.register_script(lua.REVEAL)
        self._burn = client.register_script(lua.BURN)
        self._receipt = client.register_script(lua.RECEIPT)
        self._sweep = client.register_script(lua.SWEEP)
        self._index_add = client.register_script(lua.INDEX_ADD)
        self._index_sweep = client.register_script(lua.INDEX_SWEEP)
        #: The next index bucket the sweep cleans (instances start at different places).
        self._index_buckets = 1 << INDEX_BITS
        self._index_next = secrets.randbelow(self._index_buckets)
        self._register_account_scripts()
        self._register_request_scripts()
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        return cls(parse_redis_url(url))

    def rate_limiter(
        self, per_minute: int, burst: int, clock: Callable[[], float], *, key: str | None
    ) -> RedisRateLimiter:
        """Buckets shared by every instance on this Redis (see :mod:`.limiter`)."""
        return RedisRateLimiter(self.connection, per_minute, burst, clock, key=key)

    async def startup_check(self, *, allow_eviction: bool) -> list[str]:
        """Refuse (``RedisRefused``) or warn about Redis's configuration; see
        :mod:`.preflight`."""
        self.guard()
        return await preflight(self.connection, allow_eviction=allow_eviction)

    # -- plumbing ---------------------------------------------------------------------------

    def _secret_keys(self, id: bytes) -> list[str]:
        tag = _tag(id)
        return [f"{self.prefix}:r:{{{tag}}}", f"{self.prefix}:b:{{{tag}}}"]

    def _bucket(self, number: int) -> str:
        return f"{self.prefix}:x:{number:03x}"

    def index_entry(self, receipt_hash: bytes) -> tuple[str, bytes]:
        """The bucket key and the field of a receipt hash's index entry (public for what
        measures the index: bench/scale.py's memory breakdown)."""
        number = int.from_bytes(receipt_hash[:2], "big") >> (16 - INDEX_BITS)
        return self._bucket(number), receipt_hash[:16]

    def _legacy_receipt_key(self, receipt_hash: bytes) -> str:
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

    def create_calls(self, secret: NewSecret) -> list[tuple[Any, list[Any], list[Any]]]:
        """The two script calls of ``create`` (script, keys, arguments), in order: the index
        entry, then the secret. For mass insertion (tests, benchmarks) that must write exactly
        what ``create`` writes; ``create`` itself also handles the account link and failures."""
        if len(secret.blob) > REDIS_MAX_BYTES:
            raise ValueError("a blob larger than the Redis store takes")
        if len(secret.receipt_hash) != 32 or not 0 < secret.keep_until < 1 << 32:
            raise ValueError("a secret that breaks the store's rules")
        now = secret.created_at
        bucket, field = self.index_entry(secret.receipt_hash)
        entry = secret.id + secret.keep_until.to_bytes(4, "big")
        return [
            (self._index_add, [bucket], [field, entry, max(1, secret.keep_until - now)]),
            (
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
                    secret.binding or "",
                ],
            ),
        ]

    async def create(self, secret: NewSecret) -> None:
        index_call, create_call = self.create_calls(secret)
        self.guard()
        # Without a Cluster the index entry is written by the create script itself (one
        # round trip); on a Cluster its bucket may live on another node, so it goes first.
        together = not self.connection.cluster
        if not together:
            await self._run(*index_call)
        # Linked before the secret exists (like the receipt index), so an acknowledged secret
        # is always listed; a link to nothing (a failed create) is filtered when listing.
        link = secret.id + secret.receipt_hash
        linked = False
        try:
            if secret.account_id is not None:
                linked = await self._add_link(
                    secret.account_id, link, secret.created_at, secret.keep_until
                )
            if together:
                _, keys, args = create_call
                _, bucket, entry = index_call
                reply = await self._run(self._create_indexed, [*keys, *bucket], [*args, *entry])
            else:
                reply = await self._run(*create_call)
            if self._outcome(reply) == "exists":
                raise IdExists
        except StoreError:
            # Best effort: a leftover entry points at nothing of its own, and the sweep
            # removes it after its keep_until.
            with contextlib.suppress(StoreError):
                await translated(
                    self.connection.client.hdel(*self.index_entry(secret.receipt_hash))
                )
            if linked and secret.account_id is not None:
                with contextlib.suppress(StoreError):
                    await self._remove_link(secret.account_id, link)
            raise

    async def peek(self, id: bytes, link_check: bytes, now: int) -> SecretInfo:
        reply = await self._run(self._peek, self._secret_keys(id), [now, link_check])
        self._outcome(reply)
        _, header, size, created_at, expires_at, views_left, passphrase, attempts, bound = reply
        return SecretInfo(
            id=id,
            header=bytes(header),
            size=int(size),
            created_at=int(created_at),
            expires_at=int(expires_at),
            views_left=int(views_left),
            passphrase=bool(passphrase),
            attempts_left=None if int(attempts) < 0 else int(attempts),
            binding=bytes(bound).decode("ascii") or None,
        )

    async def reveal(
        self,
        id: bytes,
        link_check: bytes,
        passphrase_check: bytes | None,
        now: int,
        binding: str | None = None,
    ) -> Revealed:
        reply = await self._run(
            self._reveal,
            self._secret_keys(id),
            [now, link_check, passphrase_check or b"", binding or ""],
        )
        outcome = self._outcome(reply)
        if outcome == "binding_required":
            raise BindingRequired
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
        client = self.connection.client
        entry = await translated(client.hget(*self.index_entry(receipt_hash)))
        if entry is None:  # a receipt created by an earlier version
            entry = await translated(client.get(self._legacy_receipt_key(receipt_hash)))
        id = entry[:16] if isinstance(entry, bytes) else None
        if id is None or len(id) != 16:
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

    async def receipt_statuses(
        self, receipt_hashes: Sequence[bytes], now: int
    ) -> list[ReceiptStatus | None]:
        """A constant number of round trips whatever the batch's length: the index entries in
        one pipeline (the legacy keys of those not found in a second one), then the records
        in one more (:meth:`RedisAccounts._status_rows`, which checks each full hash)."""
        self.guard()
        if not receipt_hashes:
            return []
        asked = time.monotonic()
        ids = await self._index_lookup([bytes(h) for h in receipt_hashes])
        wanted = [(id, h) for id, h in zip(ids, receipt_hashes, strict=True) if id is not None]
        rows = iter(await self._status_rows(wanted, _late(now, asked)))
        return [None if id is None else next(rows) for id in ids]

    async def _index_lookup(self, receipt_hashes: list[bytes]) -> list[bytes | None]:
        """The id each receipt hash's index entry names (``None``: no entry)."""
        pipe = self.connection.client.pipeline(transaction=False)
        for receipt_hash in receipt_hashes:
            pipe.hget(*self.index_entry(receipt_hash))
        entries: list[Any] = await translated(pipe.execute())
        missing = [index for index, entry in enumerate(entries) if entry is None]
        if missing:  # receipts created by an earlier version
            pipe = self.connection.client.pipeline(transaction=False)
            for index in missing:
                pipe.get(self._legacy_receipt_key(receipt_hashes[index]))
            for index, entry in zip(missing, await translated(pipe.execute()), strict=True):
                entries[index] = entry
        ids: list[bytes | None] = []
        for entry in entries:
            id = entry[:16] if isinstance(entry, bytes) else None
            ids.append(id if id is not None and len(id) == 16 else None)
        return ids

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
