"""The sweep of the Redis store: a mixin of :class:`~ots_server.store.redis.store.RedisStore`.

``purge_expired`` scans the record keys (every Cluster primary) in batches of
:data:`SWEEP_BATCH`, checks each batch with one pipelined ``HMGET`` and runs the sweep script
only on the records that are due; then it cleans the next :data:`INDEX_SWEEP_SLICE` receipt
index buckets and sweeps the requests the same way. Invariants:

- Decisions use the caller's ``now`` only; the sweep never ends a secret the operations would
  not already treat as ended (it frees space early, nothing more).
- Paced: after each full batch it pauses :data:`SWEEP_PAUSE` times as long as the batch took,
  so it takes at most a fifth of the event loop it shares with requests.
- An index entry goes with its purged record, or past its ``keep_until`` by the bucket sweep.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ots_server.store.records import PurgeResult
from ots_server.store.redis.client import RedisConnection, translated
from ots_server.store.redis.requests import Pace

#: Record keys fetched per SCAN step and checked per pipeline by the sweeper.
SWEEP_BATCH = 200
#: After each batch the sweeper pauses this many times as long as the batch took, so it takes
#: at most a fifth of the event loop it shares with requests. Unpaced, a sweep over 3 x 10^5
#: records made every request on that worker wait for its batches (bench/sweep.py: a PING
#: through the app went from 1.5 to 15 ms at p50); the sweep is never needed to free memory,
#: only to turn secrets Redis expired into tombstones early, so it can take its time.
SWEEP_PAUSE = 4.0
#: Index buckets the sweep cleans per run.
INDEX_SWEEP_SLICE = 512
#: Index buckets swept concurrently.
INDEX_SWEEP_CONCURRENCY = 32


async def _pace(seconds: float) -> None:
    """The sweeper's pause between batches (a seam for the test that proves it pauses)."""
    await asyncio.sleep(seconds)


async def _request_pace(took: float) -> None:
    await _pace(took * SWEEP_PAUSE)


class RedisSweep:
    """``purge_expired``; the store provides the connection, the scripts and the index."""

    connection: RedisConnection
    prefix: str
    _sweep: Any
    _index_sweep: Any
    #: The number of index buckets, and the next one the sweep cleans.
    _index_buckets: int
    _index_next: int

    def guard(self) -> None:
        raise NotImplementedError

    async def _run(self, script: Any, keys: list[Any], args: list[Any]) -> list[Any]:
        raise NotImplementedError

    def _bucket(self, number: int) -> str:
        raise NotImplementedError

    def index_entry(self, receipt_hash: bytes) -> tuple[str, bytes]:
        raise NotImplementedError

    async def _purge_requests(self, now: int, pace: Pace) -> tuple[int, int]:
        raise NotImplementedError

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
                        self.connection.client.hdel(*self.index_entry(bytes(reply[2])))
                    )

        async for key in self.connection.scan(f"{self.prefix}:r:*", SWEEP_BATCH):
            batch.append(key)
            if len(batch) >= SWEEP_BATCH:
                started = time.monotonic()
                await sweep(batch)
                batch = []
                await _pace((time.monotonic() - started) * SWEEP_PAUSE)
        if batch:
            await sweep(batch)
        await self._sweep_index(now)
        requests_expired, requests_purged = await self._purge_requests(now, _request_pace)
        return PurgeResult(expired, purged, requests_expired, requests_purged)

    async def _sweep_index(self, now: int) -> None:
        """Remove the index entries past their keep_until from the next slice of buckets
        (most records vanish by their TTL, so their entries are not removed with them)."""
        start, total = self._index_next, self._index_buckets
        self._index_next = (start + INDEX_SWEEP_SLICE) % total
        numbers = [(start + offset) % total for offset in range(INDEX_SWEEP_SLICE)]
        for first in range(0, len(numbers), INDEX_SWEEP_CONCURRENCY):
            chunk = numbers[first : first + INDEX_SWEEP_CONCURRENCY]
            await asyncio.gather(
                *(self._run(self._index_sweep, [self._bucket(n)], [now]) for n in chunk)
            )
