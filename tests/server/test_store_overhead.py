"""Store bytes per secret beyond its padded ciphertext: at most 600 on SQLite and on Redis.

The secrets are the benchmark's (bench/scale.py): a 1671-byte blob (a 32-character secret
padded to 1600 bytes, sealed) with a 55-byte header, one view, a day to live and a week of
receipt grace. The cost is measured the way the benchmark measures it, as the growth of the
store while secrets are added to a store that already holds some:

- SQLite: pages in use (``(page_count - freelist_count) * page_size``, what
  ``OTS_MAX_STORE_BYTES`` counts) of a real file, after a TRUNCATE checkpoint; secrets are
  created through ``SQLiteStore.create``.
- Redis: ``used_memory`` of a redis-server of the test's own (the machine's Redis is shared
  with other tests, whose keys would be counted), measured with no ots client connected.
  Redis's cost per secret is only representative once the receipt index's 4096 buckets hold
  several entries each, so the store is filled to 50,000 secrets: through the store's own
  script calls (``RedisStore.create_calls``) in pipelines, with a share through
  ``RedisStore.create``. The window (20,000 to 50,000) spans one doubling of Redis's key
  tables, as the benchmark's (100,000 to 1,000,000) spans three, so their growth is counted
  at its average rate.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from ots_server.store import NewSecret
from ots_server.store.redis.store import RedisStore
from ots_server.store.sqlite.store import SQLiteStore

from .redis_support import redis_server

pytestmark = pytest.mark.anyio

BLOB = 1671
HEADER = 55
TTL = 86_400
GRACE = 7 * 86_400
LIMIT = 600
NOW = int(time.time())


def new_secret() -> NewSecret:
    raw = os.urandom(16 + 32 + 32 + BLOB)
    return NewSecret(
        id=raw[:16],
        blob=raw[80:],
        header_length=HEADER,
        link_verifier=raw[16:48],
        passphrase_verifier=None,
        attempts=None,
        views=1,
        created_at=NOW,
        expires_at=NOW + TTL,
        keep_until=NOW + TTL + GRACE,
        receipt_hash=raw[48:80],
        account_id=None,
    )


async def concurrently(count: int, call: Callable[[NewSecret], Awaitable[object]]) -> None:
    limit = anyio.Semaphore(64)

    async def one() -> None:
        async with limit:
            await call(new_secret())

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)


def pages_in_use(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        for _ in range(100):
            if not conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the WAL could not be checkpointed")
        pages, free, size = (
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "freelist_count", "page_size")
        )
        return int((pages - free) * size)
    finally:
        conn.close()


async def test_sqlite_stores_a_secret_in_at_most_600_bytes_beyond_its_blob(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "overhead.sqlite3")
    try:
        await concurrently(500, store.create)
        before = pages_in_use(store.path)
        await concurrently(4000, store.create)
        after = pages_in_use(store.path)
    finally:
        await store.close()
    per_secret = (after - before) / 4000 - BLOB
    assert 0 < per_secret <= LIMIT, per_secret


async def fill_redis(url: str, count: int, *, direct: int) -> list[NewSecret]:
    """``count`` secrets, ``direct`` of them through ``create``, the rest pipelined; returns
    a sample of the pipelined ones. The store (and every connection of it) is closed again."""
    store = RedisStore.from_url(url)
    sample: list[NewSecret] = []
    try:
        await concurrently(direct, store.create)
        left = count - direct
        while left:
            pipe = store.connection.client.pipeline(transaction=False)
            batch = [new_secret() for _ in range(min(1000, left))]
            for secret in batch:
                for script, keys, args in store.create_calls(secret):
                    await script(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
            assert all(reply == [b"ok"] for reply in replies)
            sample.append(batch[0])
            left -= len(batch)
    finally:
        await store.close()
    return sample


async def test_redis_stores_a_secret_in_at_most_600_bytes_beyond_its_blob(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path / "redis") as redis:
        url = redis.url("ots")
        with redis.client() as client:
            await fill_redis(url, 20_000, direct=200)
            await asyncio.sleep(0)
            before = int(client.info("memory")["used_memory"])
            sample = await fill_redis(url, 30_000, direct=500)
            after = int(client.info("memory")["used_memory"])
        per_secret = (after - before) / 30_000 - BLOB
        assert 0 < per_secret <= LIMIT, per_secret
        # What was measured is real secrets: the pipelined ones reveal and have receipts.
        store = RedisStore.from_url(url)
        try:
            for secret in sample[:5]:
                assert (await store.receipt_status(secret.receipt_hash, NOW)).id == secret.id
                revealed = await store.reveal(secret.id, secret.link_verifier, None, NOW)
                assert revealed.blob == secret.blob
        finally:
            await store.close()
