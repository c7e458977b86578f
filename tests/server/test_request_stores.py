"""What the request contract cannot see from outside a store: where the bytes live and when
they go (SQLite rows and pages, Redis keys and TTLs), the quota, independent store instances
on one file or one Redis, migrations, and the constant-time comparison of verifiers."""

from __future__ import annotations

import asyncio
import hmac
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from ots_server.store import (
    REQUEST_QUOTA_BYTES,
    Answered,
    NotFound,
    RequestGone,
    RequestInfo,
    Store,
    StoreFull,
)
from ots_server.store.memory.store import MemoryStore
from ots_server.store.redis import request_scripts as redis_request_scripts
from ots_server.store.redis.store import RedisStore
from ots_server.store.sqlite.schema import MIGRATIONS, PAGE_SIZE, connect
from ots_server.store.sqlite.store import SQLiteStore

from .redis_support import delete_prefix, machine_client, machine_url, unique_prefix
from .request_support import SimRequest, sealed_answer
from .support import EMPTY_DATABASE_PAGES, START

pytestmark = pytest.mark.anyio
NOW = START


def _rows(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT state, state_at, sealed FROM requests ORDER BY state"
        ).fetchall()
    finally:
        conn.close()


def _database_bytes(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    )


# -- SQLite -----------------------------------------------------------------------------------


async def test_sqlite_ending_a_request_deletes_its_answer(sqlite_store: SQLiteStore) -> None:
    closed, expired = SimRequest.make(), SimRequest.make()
    answers = {}
    for request in (closed, expired):
        await sqlite_store.create_request(request.new_request(NOW, ttl=60, grace=10))
        answers[request.id] = sealed_answer()
        await sqlite_store.answer_request(
            request.id, request.answer_check, answers[request.id], NOW
        )
    await sqlite_store.maintenance()
    assert all(answer in _database_bytes(sqlite_store.path) for answer in answers.values())
    await sqlite_store.close_request(closed.id, closed.owner_check, NOW + 1)
    assert (await sqlite_store.purge_expired(NOW + 60)).requests_expired == 1
    assert _rows(sqlite_store.path) == [("closed", NOW + 1, None), ("expired", NOW + 60, None)]
    # secure_delete zeroed the freed bytes; the checkpoint took the old copies out of the WAL.
    assert (await sqlite_store.maintenance()).complete
    files = _database_bytes(sqlite_store.path)
    assert not any(answer in files for answer in answers.values())
    # The sweep frees the tombstones' rows after the grace.
    assert (await sqlite_store.purge_expired(NOW + 70)).requests_purged == 2
    assert _rows(sqlite_store.path) == []


async def test_sqlite_purge_of_requests_works_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ots_server.store.sqlite.requests.PURGE_BATCH", 3)
    store = SQLiteStore(tmp_path / "batches.sqlite3")
    try:
        for _ in range(8):
            await store.create_request(SimRequest.make().new_request(NOW, ttl=60, grace=10))
        result = await store.purge_expired(NOW + 60)
        assert (result.requests_expired, result.requests_purged) == (8, 0)
        result = await store.purge_expired(NOW + 70)
        assert (result.requests_expired, result.requests_purged) == (0, 8)
    finally:
        await store.close()


async def test_sqlite_quota_refuses_new_requests_but_never_an_answer(tmp_path: Path) -> None:
    path = tmp_path / "quota.sqlite3"
    first = SQLiteStore(path)
    waiting = SimRequest.make()
    try:
        await first.create_request(waiting.new_request(NOW))
        used = await first.used_bytes()
    finally:
        await first.close()
    store = SQLiteStore(path, max_store_bytes=used + REQUEST_QUOTA_BYTES - 1)
    try:
        refused = SimRequest.make()
        with pytest.raises(StoreFull):
            await store.create_request(refused.new_request(NOW))
        with pytest.raises(NotFound):
            await store.peek_request(refused.id, refused.answer_check, NOW)
        # The answer's room was counted when its request was created.
        await store.answer_request(waiting.id, waiting.answer_check, sealed_answer(), NOW)
    finally:
        await store.close()
    roomy = SQLiteStore(path, max_store_bytes=used + REQUEST_QUOTA_BYTES + 16384)
    try:
        await roomy.create_request(SimRequest.make().new_request(NOW))
    finally:
        await roomy.close()


async def test_sqlite_two_stores_on_one_file_take_one_answer(tmp_path: Path) -> None:
    """Independent connections, as several worker processes have: one answer, never two."""
    path = tmp_path / "shared.sqlite3"
    stores = [SQLiteStore(path), SQLiteStore(path)]
    try:
        for _ in range(5):
            request = SimRequest.make()
            await stores[0].create_request(request.new_request(NOW))
            results = await asyncio.gather(
                *(
                    stores[i % 2].answer_request(
                        request.id, request.answer_check, sealed_answer(), NOW
                    )
                    for i in range(16)
                ),
                return_exceptions=True,
            )
            assert sum(isinstance(r, RequestInfo) for r in results) == 1
            assert sum(isinstance(r, Answered) for r in results) == 15
    finally:
        for store in stores:
            await store.close()


async def test_sqlite_migration_adds_requests_to_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = connect(path, 1000)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for statement in (s for migration in MIGRATIONS[:3] for s in migration):
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 3")
        conn.execute("COMMIT")
    finally:
        conn.close()
    store = SQLiteStore(path)
    try:
        assert (await store.pragmas())["user_version"] == len(MIGRATIONS) == 5
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW))
        assert (await store.peek_request(request.id, request.answer_check, NOW)).state == "open"
    finally:
        await store.close()


async def test_sqlite_requests_table_costs_an_empty_database_three_pages(
    sqlite_store: SQLiteStore,
) -> None:
    """What the quotas of the tests assume (support.EMPTY_DATABASE_PAGES)."""
    assert await sqlite_store.used_bytes() == EMPTY_DATABASE_PAGES * PAGE_SIZE


def test_sqlite_schema_refuses_broken_request_rows(tmp_path: Path) -> None:
    """The CHECKs hold the invariants even against a buggy statement."""
    SQLiteStore(tmp_path / "s.sqlite3").close_sync()
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    columns = "(id, answer_verifier, owner_verifier, created_at, expires_at, keep_until, state,"
    insert = f"INSERT INTO requests {columns} state_at, sealed) VALUES (?, ?, ?, 1, 2, 3, ?, ?, ?)"
    try:
        for state, state_at, sealed in (
            ("open", 5, None),  # an open request has no state time
            ("answered", 5, None),  # an answered one has its answer
            ("answered", 5, b"x" * 95),  # of exactly 96 bytes
            ("closed", 5, b"x" * 96),  # an ended one has none
            ("gone", 5, None),
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(insert, (b"i" * 16, b"a" * 32, b"o" * 32, state, state_at, sealed))
    finally:
        conn.close()


# -- constant-time comparison -------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def python_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    store = SQLiteStore(tmp_path / "ct.sqlite3")
    try:
        yield store
    finally:
        store.close_sync()


async def test_verifiers_are_compared_with_compare_digest(
    python_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request operation decides on a proof through ``hmac.compare_digest`` and nothing
    else (memory and SQLite compare in Python, after fetching by id)."""
    request = SimRequest.make()
    await python_store.create_request(request.new_request(NOW))
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((bytes(a), bytes(b)))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong = b"\x01" * 32
    for check in (wrong, request.answer_check):
        compared.clear()
        try:
            await python_store.peek_request(request.id, check, NOW)
        except NotFound:
            assert check == wrong
        assert compared == [(request.answer_check, check)]
    compared.clear()
    await python_store.answer_request(request.id, request.answer_check, sealed_answer(), NOW)
    await python_store.request_status(request.id, request.owner_check, NOW)
    await python_store.close_request(request.id, request.owner_check, NOW)
    assert compared == [
        (request.answer_check, request.answer_check),
        (request.owner_check, request.owner_check),
        (request.owner_check, request.owner_check),
    ]


def test_redis_scripts_compare_verifiers_only_with_ct_eq() -> None:
    """In Lua, a stored verifier is read only by ``lookup`` (HMGET's first field), whose only
    use of it is ``ct_eq``; the scripts after the prelude never touch it."""
    prelude = redis_request_scripts._PRELUDE
    lookup = prelude[prelude.index("local function lookup") :]
    assert "ct_eq(r[1], check)" in lookup
    assert not re.search(r"r\[1\]\s*[~=]=", lookup)
    for name in ("READ", "ANSWER", "CLOSE", "CREATE", "SWEEP"):
        script = getattr(redis_request_scripts, name)
        assert script.startswith(prelude)
        body = script[len(prelude) :]
        assert not re.search(r"HM?GET[^)]*'[ao]v'|HGETALL|HVALS", body), name


# -- Redis ----------------------------------------------------------------------------------------


@pytest.fixture
async def redis_store(machine_redis: None) -> AsyncIterator[tuple[RedisStore, str]]:
    prefix = unique_prefix("requests")
    store = RedisStore.from_url(machine_url(prefix))
    try:
        yield store, prefix
    finally:
        await store.close()
        with machine_client() as client:
            delete_prefix(client, prefix)


async def test_redis_keys_and_ttls_follow_the_lifecycle(
    redis_store: tuple[RedisStore, str],
) -> None:
    store, prefix = redis_store
    request = SimRequest.make()
    record, answer = (f"{prefix}:{kind}:{{{request.rid}}}" for kind in ("q", "qa"))
    await store.create_request(request.new_request(NOW, ttl=600, grace=100))
    sealed = sealed_answer()
    with machine_client() as client:
        assert 690 <= client.ttl(record) <= 700
        assert client.exists(answer) == 0
        await store.answer_request(request.id, request.answer_check, sealed, NOW + 100)
        assert client.get(answer) == sealed
        assert 490 <= client.ttl(answer) <= 500  # until the request's expiry
        assert 690 <= client.ttl(record) <= 700  # never extended
        stored = client.hgetall(record)
        assert set(stored) == {b"av", b"ov", b"ca", b"ea", b"ku", b"st", b"sa"}
        assert (stored[b"st"], stored[b"sa"]) == (b"answered", str(NOW + 100).encode())
        await store.close_request(request.id, request.owner_check, NOW + 101)
        assert client.exists(answer) == 0
        assert client.hget(record, "st") == b"closed"
        assert (await store.purge_expired(NOW + 700)).requests_purged == 1
        assert client.exists(record, answer) == 0


async def test_redis_an_answer_whose_key_expired_is_an_expired_request(
    redis_store: tuple[RedisStore, str],
) -> None:
    """Redis dropped the answer by its TTL (its clock ran ahead of the caller's): the request
    is over, never "answered" without an answer."""
    store, prefix = redis_store
    request = SimRequest.make()
    await store.create_request(request.new_request(NOW, ttl=600))
    await store.answer_request(request.id, request.answer_check, sealed_answer(), NOW)
    with machine_client() as client:
        client.delete(f"{prefix}:qa:{{{request.rid}}}")
    with pytest.raises(RequestGone) as gone:
        await store.request_status(request.id, request.owner_check, NOW + 1)
    assert (gone.value.state, gone.value.at) == ("expired", NOW + 600)
    with pytest.raises(RequestGone) as gone:  # a write records the expiry
        await store.answer_request(request.id, request.answer_check, sealed_answer(), NOW + 1)
    assert (gone.value.state, gone.value.at) == ("expired", NOW + 600)
    with machine_client() as client:
        assert client.hget(f"{prefix}:q:{{{request.rid}}}", "st") == b"expired"


async def test_redis_two_instances_take_one_answer(redis_store: tuple[RedisStore, str]) -> None:
    store, prefix = redis_store
    other = RedisStore.from_url(machine_url(prefix))
    try:
        for _ in range(5):
            request = SimRequest.make()
            await store.create_request(request.new_request(NOW))
            results = await asyncio.gather(
                *(
                    (store, other)[i % 2].answer_request(
                        request.id, request.answer_check, sealed_answer(), NOW
                    )
                    for i in range(16)
                ),
                return_exceptions=True,
            )
            assert sum(isinstance(r, RequestInfo) for r in results) == 1
            assert sum(isinstance(r, Answered) for r in results) == 15
    finally:
        await other.close()


async def test_redis_request_sweep_pauses_between_batches(
    redis_store: tuple[RedisStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ots_server.store.redis import requests as redis_requests
    from ots_server.store.redis import sweep as module

    store, _ = redis_store
    monkeypatch.setattr(redis_requests, "SWEEP_BATCH", 5)
    for _ in range(12):
        await store.create_request(SimRequest.make().new_request(NOW, ttl=60, grace=10))
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(module, "_pace", record)
    result = await store.purge_expired(NOW + 60)
    assert result.requests_expired == 12
    assert len(pauses) == 2
    assert all(pause > 0 for pause in pauses)
