"""The store contract, unchanged, against the Redis store: on the machine's Redis and on a
local three-primary Redis Cluster; and the layout of its receipt index (bucket hashes, the
index of earlier versions, the sweep of stale entries). Each test gets a fresh key prefix and
deletes its keys."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ots_server.store import IdExists, NotFound, Store
from ots_server.store.redis.store import INDEX_BITS, RedisStore
from ots_server.store.redis.sweep import INDEX_SWEEP_SLICE

from .redis_support import LocalCluster, delete_prefix, machine_client, machine_url, unique_prefix
from .support import START, SimSecret
from .test_store_contract import StoreContract

pytestmark = pytest.mark.anyio


class TestRedisStore(StoreContract):
    @pytest.fixture
    async def store(self, machine_redis: None) -> AsyncIterator[Store]:
        prefix = unique_prefix("contract")
        store = RedisStore.from_url(machine_url(prefix))
        try:
            yield store
        finally:
            await store.close()
            with machine_client() as client:
                delete_prefix(client, prefix)


class TestRedisClusterStore(StoreContract):
    @pytest.fixture
    async def store(self, redis_cluster: LocalCluster) -> AsyncIterator[Store]:
        prefix = unique_prefix("cluster")
        store = RedisStore.from_url(redis_cluster.url(prefix))
        try:
            yield store
        finally:
            await store.close()
            with redis_cluster.client() as client:
                delete_prefix(client, prefix)


# -- the receipt index: bucket hashes -------------------------------------------------------

NOW = START


def _receipt_in_bucket(bucket: int) -> bytes:
    """A receipt hash whose index entry falls into ``bucket``."""
    shift = 16 - INDEX_BITS
    head = ((bucket << shift) | int.from_bytes(os.urandom(2), "big") % (1 << shift)).to_bytes(2)
    return head + os.urandom(30)


@pytest.fixture
async def machine_store(machine_redis: None) -> AsyncIterator[tuple[RedisStore, str]]:
    prefix = unique_prefix("index")
    store = RedisStore.from_url(machine_url(prefix))
    try:
        yield store, prefix
    finally:
        await store.close()
        with machine_client() as client:
            delete_prefix(client, prefix)


async def test_receipts_are_fields_of_bucket_hashes(machine_store: tuple[RedisStore, str]) -> None:
    store, prefix = machine_store
    receipts = [_receipt_in_bucket(0xABC) for _ in range(3)]
    secrets = [SimSecret.make() for _ in receipts]
    for secret, receipt in zip(secrets, receipts, strict=True):
        await store.create(secret.new_secret(NOW, ttl=60, grace=600, receipt_hash=receipt))
    with machine_client() as client:
        index = list(client.scan_iter(f"{prefix}:x:*"))
        assert index == [f"{prefix}:x:abc".encode()]
        entries = client.hgetall(index[0])
        assert 0 < client.ttl(index[0]) <= 660  # until the entries' keep_until
    keep_until = (NOW + 660).to_bytes(4, "big")
    assert entries == {r[:16]: s.id + keep_until for s, r in zip(secrets, receipts, strict=True)}
    for secret, receipt in zip(secrets, receipts, strict=True):
        assert (await store.receipt_status(receipt, NOW)).id == secret.id
    # Same 16-byte prefix, different receipt hash: the record's full hash decides.
    with pytest.raises(NotFound):
        await store.receipt_status(receipts[0][:16] + os.urandom(16), NOW)


def _evalsha_calls() -> int:
    with machine_client() as client:
        stats = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def test_without_a_cluster_a_create_and_its_index_entry_are_one_script(
    machine_store: tuple[RedisStore, str],
) -> None:
    store, prefix = machine_store
    first, second = SimSecret.make(), SimSecret.make()
    await store.create(first.new_secret(NOW))  # loads the script into Redis
    before = _evalsha_calls()
    receipt = os.urandom(32)
    await store.create(second.new_secret(NOW, receipt_hash=receipt))
    assert _evalsha_calls() - before == 1
    assert (await store.receipt_status(receipt, NOW)).id == second.id
    # A taken id: the script writes nothing, not even the index entry.
    taken = os.urandom(32)
    with pytest.raises(IdExists):
        await store.create(second.new_secret(NOW, receipt_hash=taken))
    with machine_client() as client:
        bucket = int.from_bytes(taken[:2], "big") >> (16 - INDEX_BITS)
        assert not client.hexists(f"{prefix}:x:{bucket:03x}", taken[:16])


async def test_a_receipt_indexed_by_an_earlier_version_is_still_found(
    machine_store: tuple[RedisStore, str],
) -> None:
    store, prefix = machine_store
    secret, receipt = SimSecret.make(), os.urandom(32)
    await store.create(secret.new_secret(NOW, receipt_hash=receipt))
    bucket = f"{prefix}:x:{int.from_bytes(receipt[:2], 'big') >> (16 - INDEX_BITS):03x}"
    with machine_client() as client:
        assert client.hdel(bucket, receipt[:16]) == 1
        client.set(f"{prefix}:x:{receipt.hex()}", secret.id, ex=3600)  # the old layout
    status = await store.burn_by_receipt(receipt, NOW)
    assert (status.id, status.state) == (secret.id, "burned")
    with pytest.raises(NotFound):
        await store.receipt_status(os.urandom(32), NOW)


async def test_a_batch_of_receipts_takes_a_fixed_number_of_round_trips(
    machine_store: tuple[RedisStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 receipts: no command of its own per receipt, only pipelines (the index, the
    earlier version's index for the one receipt found there, the records)."""
    store, prefix = machine_store
    receipts = [os.urandom(32) for _ in range(100)]
    for receipt in receipts:
        await store.create(SimSecret.make().new_secret(NOW, receipt_hash=receipt))
    old = receipts[0]
    bucket = f"{prefix}:x:{int.from_bytes(old[:2], 'big') >> (16 - INDEX_BITS):03x}"
    with machine_client() as machine:
        secret_id = machine.hget(bucket, old[:16])[:16]
        machine.hdel(bucket, old[:16])
        machine.set(f"{prefix}:x:{old.hex()}", secret_id, ex=3600)  # the old layout
    client: Any = store.connection.client
    calls = {"commands": 0, "pipelines": 0}
    original_command, original_pipeline = client.execute_command, client.pipeline

    async def command(*args: Any, **kwargs: Any) -> Any:
        calls["commands"] += 1
        return await original_command(*args, **kwargs)

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        calls["pipelines"] += 1
        return original_pipeline(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", command)
    monkeypatch.setattr(client, "pipeline", pipeline)
    answers = await store.receipt_statuses([*receipts, os.urandom(32)], NOW)
    assert calls == {"commands": 0, "pipelines": 3}
    assert [a is None for a in answers] == [False] * 100 + [True]
    assert answers[0] is not None
    assert answers[0].id == secret_id


async def test_the_sweep_removes_index_entries_past_keep_until(
    machine_store: tuple[RedisStore, str],
) -> None:
    store, prefix = machine_store
    purged, vanished, live = SimSecret.make(), SimSecret.make(), SimSecret.make()
    receipts = [_receipt_in_bucket(0x123) for _ in range(3)]
    await store.create(purged.new_secret(NOW, ttl=60, grace=600, receipt_hash=receipts[0]))
    await store.create(vanished.new_secret(NOW, ttl=60, grace=600, receipt_hash=receipts[1]))
    await store.create(live.new_secret(NOW, ttl=3600, grace=600, receipt_hash=receipts[2]))
    with machine_client() as client:
        # As if Redis had expired this record by its TTL before any sweep saw it.
        client.delete(f"{prefix}:r:{{{vanished.sid}}}", f"{prefix}:b:{{{vanished.sid}}}")
        later = NOW + 661
        store._index_next = 0x124  # this run's slice of buckets does not include 0x123
        result = await store.purge_expired(later)  # purges the first record and its entry
        assert result.purged == 1
        bucket = f"{prefix}:x:123"
        assert set(client.hkeys(bucket)) == {receipts[1][:16], receipts[2][:16]}
        for _ in range((1 << INDEX_BITS) // INDEX_SWEEP_SLICE - 1):  # one whole pass
            await store.purge_expired(later)
        assert client.hkeys(bucket) == [receipts[2][:16]]
    assert (await store.receipt_status(receipts[2], later)).id == live.id


async def test_the_sweep_pauses_between_batches_in_proportion_to_its_work(
    machine_store: tuple[RedisStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ots_server.store.redis import sweep as redis_store

    store, _ = machine_store
    count = 3 * redis_store.SWEEP_BATCH + 7
    for _ in range(count):
        await store.create(SimSecret.make().new_secret(NOW, ttl=3600))
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(redis_store, "_pace", record)
    started = time.monotonic()
    await store.purge_expired(NOW)
    elapsed = time.monotonic() - started
    # One pause after each full batch, each SWEEP_PAUSE times the batch's own time: together
    # they are SWEEP_PAUSE times the time spent on full batches (a share of the whole run).
    assert len(pauses) == count // redis_store.SWEEP_BATCH
    assert all(pause > 0 for pause in pauses)
    assert sum(pauses) <= redis_store.SWEEP_PAUSE * elapsed
