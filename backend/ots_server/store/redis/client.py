"""Connecting to Redis (one server, a Sentinel-managed primary, or a Cluster) and translating
its failures into store errors.

Invariants:

- Every client has short socket and connect timeouts (``socket_timeout``/``connect_timeout``
  in the URL, default 2 s), so a stalled or unreachable Redis turns a request into a 503 within
  seconds instead of hanging it.
- A command is retried once, and only after a *connection* error (a pooled connection that
  died while Redis restarted, a refused connect), never after a timeout, since a command that
  timed out may still run. A retry can at worst spend a view whose reply was lost, never
  release a secret twice, because every change is one atomic script that re-checks the state.
- Every redis-py exception leaves :func:`translated` as ``StoreUnavailable`` (503) or, for
  Redis's ``OOM`` refusal (``maxmemory`` reached with ``noeviction``), ``StoreFull`` (507).
  Their messages hold only the exception class and Redis's error code (``READONLY``,
  ``MISCONF``…), never Redis's own text, which may quote a key and so an id.
- One connection pool per process: at most ``max_connections`` connections (per Cluster
  node); a request waits up to ``socket_timeout`` for a free one, then gets 503.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, RedisClusterException, RedisError, ResponseError

from ots_server.store.outcomes import StoreError, StoreFull, StoreUnavailable
from ots_server.store.redis.url import RedisTarget

T = TypeVar("T")
Client = Redis | RedisCluster
# Untyped in redis-py; called through Any so strict mypy accepts the calls.
_Sentinel: Any = Sentinel

_CODE = re.compile(r"[A-Z]{2,20}")


def translate(exc: BaseException) -> StoreError:
    """The store error for a redis-py failure; the message never quotes Redis's text."""
    if isinstance(exc, ResponseError):
        words = str(exc).split(" ", 1)
        code = words[0] if words and _CODE.fullmatch(words[0]) else ""
        if isinstance(exc, OutOfMemoryError) or code == "OOM":
            return StoreFull("redis: OOM (maxmemory is reached)")
        return StoreUnavailable(f"redis: {type(exc).__name__} {code}".rstrip())
    return StoreUnavailable(f"redis: {type(exc).__name__}")


async def translated(awaitable: Awaitable[T]) -> T:
    """Await a redis-py call, turning its failures into store errors."""
    try:
        return await awaitable
    except (RedisError, RedisClusterException) as exc:
        raise translate(exc) from exc


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=0.05, base=0.01), 1, (RedisConnectionError,))


def _tls(target: RedisTarget) -> dict[str, Any]:
    if not target.tls:
        return {}
    return {
        "ssl_ca_certs": target.ssl_ca_certs,
        "ssl_certfile": target.ssl_certfile,
        "ssl_keyfile": target.ssl_keyfile,
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
    }


@dataclass
class RedisConnection:
    """The client for ``target`` plus what else must be closed with it (Sentinel clients)."""

    target: RedisTarget
    client: Client
    others: list[Redis] = field(default_factory=list)

    @property
    def cluster(self) -> bool:
        return isinstance(self.client, RedisCluster)

    async def on_each_primary(self, *command: Any) -> list[Any]:
        """Run ``command`` on every primary (one for a plain server or Sentinel)."""
        if isinstance(self.client, RedisCluster):
            await translated(self.client.initialize())
            return [
                await translated(self.client.execute_command(*command, target_nodes=node))
                for node in self.client.get_primaries()
            ]
        client: Any = self.client  # Redis.execute_command is untyped in redis-py
        return [await translated(client.execute_command(*command))]

    async def scan(self, pattern: str, count: int) -> AsyncIterator[bytes]:
        """Every key matching ``pattern`` (on every primary), each at least once."""
        iterator = self.client.scan_iter(match=pattern, count=count)
        while True:
            try:
                key = await anext(iterator)
            except StopAsyncIteration:
                return
            except (RedisError, RedisClusterException) as exc:
                raise translate(exc) from exc
            yield key

    async def aclose(self) -> None:
        for client in [self.client, *self.others]:
            # Closing a connection to a dead server may fail; it is closed all the same.
            with contextlib.suppress(RedisError, RedisClusterException, OSError):
                await client.aclose()


def connect(target: RedisTarget) -> RedisConnection:
    """Build (not yet open) the client for ``target``; connections open on first use."""
    common: dict[str, Any] = {
        "username": target.username,
        "password": target.password,
        "socket_timeout": target.socket_timeout,
        "socket_connect_timeout": target.connect_timeout,
        "client_name": "ots-server",
    }
    if target.mode == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
            retry=_retry(),
            max_connections=target.max_connections,
            ssl=target.tls,
            **common,
            **_tls(target),
        )
        return RedisConnection(target, cluster)
    if target.mode == "sentinel":
        assert target.service is not None
        sentinel_kwargs: dict[str, Any] = {
            "username": target.sentinel_username,
            "password": target.sentinel_password,
            "socket_timeout": target.socket_timeout,
            "socket_connect_timeout": target.connect_timeout,
            "retry": _retry(),
        }
        if target.tls:
            sentinel_kwargs.update(ssl=True, **_tls(target))
        sentinel = _Sentinel(
            list(target.hosts),
            sentinel_kwargs=sentinel_kwargs,
            db=target.db,
            retry=_retry(),
            max_connections=target.max_connections,
            ssl=target.tls,
            **common,
            **_tls(target),
        )
        primary = sentinel.master_for(target.service, redis_class=Redis)
        return RedisConnection(target, primary, others=list(sentinel.sentinels))
    host, port = target.hosts[0]
    pool = BlockingConnectionPool(
        connection_class=SSLConnection if target.tls else Connection,
        max_connections=target.max_connections,
        timeout=target.socket_timeout,
        host=host,
        port=port,
        db=target.db,
        retry=_retry(),
        **common,
        **_tls(target),
    )
    return RedisConnection(target, Redis.from_pool(pool))
