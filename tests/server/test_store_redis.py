"""The store contract, unchanged, against the Redis store: on the machine's Redis and on a
local three-primary Redis Cluster. Each test gets a fresh key prefix and deletes its keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ots_server.store.base import Store
from ots_server.store.redis_store import RedisStore

from .redis_support import LocalCluster, delete_prefix, machine_client, machine_url, unique_prefix
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
