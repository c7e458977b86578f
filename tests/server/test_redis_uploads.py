"""Uploads to the Redis store: the size limit is enforced while streaming, and a refused or
cut-off upload leaves no key behind (issue 5: "nothing half-written is ever visible")."""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.types import ASGIApp

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store.redis.store import RedisStore

from .redis_support import delete_prefix, keys_with_ttls, machine_client, machine_url, unique_prefix
from .support import CREATE_TYPE, FakeClock, SimSecret, call_asgi


@pytest.fixture
def prefix(machine_redis: None) -> Iterator[str]:
    chosen = unique_prefix("upload")
    try:
        yield chosen
    finally:
        with machine_client() as client:
            delete_prefix(client, chosen)


@contextlib.asynccontextmanager
async def _app(prefix: str, **settings: Any) -> AsyncIterator[ASGIApp]:
    url = machine_url(prefix)
    store = RedisStore.from_url(url)
    try:
        yield create_app(
            Settings(store_url=url, rate_limit_per_minute=0, **settings), store, clock=FakeClock()
        )
    finally:
        await store.close()


def _keys(prefix: str) -> dict[bytes, int]:
    with machine_client() as client:
        return keys_with_ttls(client, prefix)


@pytest.mark.anyio
async def test_a_streamed_upload_over_the_limit_is_413_and_writes_nothing(prefix: str) -> None:
    async with _app(prefix, max_bytes=256 * 1024) as app:
        secret = SimSecret.make()
        meta = json.dumps(secret.meta()).encode()
        chunks = [struct.pack(">I", len(meta)) + meta]
        chunks += [os.urandom(64 * 1024) for _ in range(40)]
        status, _, _, pulled = await call_asgi(
            app, "/api/v1/secrets", {"content-type": CREATE_TYPE}, chunks
        )
    assert status == 413
    assert pulled < len(chunks)  # refused while streaming, not after reading it all
    assert _keys(prefix) == {}


@pytest.mark.anyio
async def test_a_cut_off_upload_writes_nothing(prefix: str) -> None:
    async with _app(prefix) as app:
        body = SimSecret.make(1000).frame()
        _, _, _, pulled = await call_asgi(
            app, "/api/v1/secrets", {"content-type": CREATE_TYPE}, [body[:-10]], complete=False
        )
    assert pulled == 1
    assert _keys(prefix) == {}


@pytest.mark.anyio
async def test_the_key_scan_sees_a_completed_upload(prefix: str) -> None:
    """The control: the same scan finds the keys of an upload that went through."""
    async with _app(prefix) as app:
        body = SimSecret.make(1000).frame()
        status, _, _, _ = await call_asgi(
            app, "/api/v1/secrets", {"content-type": CREATE_TYPE}, [body]
        )
    assert status == 201
    assert _keys(prefix) != {}
