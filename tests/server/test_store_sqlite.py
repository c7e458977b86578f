"""What only the SQLite store promises: durability settings, migrations, file hygiene,
BLOB columns, secure deletion, atomicity across independent connections, the page size of new
databases, and reveals of inline blobs answered in one piece."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store import Gone, StoreConfigError, StoreError, StoreUnavailable, open_store
from ots_server.store.sqlite.blobs import INLINE_MAX
from ots_server.store.sqlite.checkpoint import WRITER_CHECKPOINT_PAGES
from ots_server.store.sqlite.schema import MIGRATIONS, PAGE_SIZE, migrate
from ots_server.store.sqlite.store import SQLiteStore

from .support import START, FakeClock, SimSecret, reveal_messages

pytestmark = pytest.mark.anyio


async def test_connections_run_wal_full_sync_and_secure_delete(sqlite_store: SQLiteStore) -> None:
    pragmas = await sqlite_store.pragmas()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "secure_delete": 1,
        "foreign_keys": 1,
        # The writer's commits checkpoint in small steps (the WAL restarts under load); no
        # other connection checkpoints on its own.
        "wal_autocheckpoint": WRITER_CHECKPOINT_PAGES,
        "user_version": len(MIGRATIONS),
    }


async def test_files_are_private(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "private" / "ots.sqlite3")
    try:
        await store.create(SimSecret.make().new_secret(START))
        assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
        for suffix in ("", "-wal", "-shm"):
            path = tmp_path / "private" / f"ots.sqlite3{suffix}"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, suffix
    finally:
        await store.close()


async def test_ids_and_verifiers_are_stored_as_blobs(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.create(SimSecret.make(passphrase=True).new_secret(START))
    with sqlite3.connect(sqlite_store.path) as conn:
        types = conn.execute(
            "SELECT typeof(r.id), typeof(r.link_verifier), typeof(r.receipt_hash),"
            " typeof(s.passphrase_verifier), typeof(s.blob)"
            " FROM records r JOIN secrets s USING (id)"
        ).fetchone()
    conn.close()
    assert types == ("blob",) * 5


async def test_reopening_keeps_data_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "ots.sqlite3"
    secret = SimSecret.make()
    first = SQLiteStore(path)
    await first.create(secret.new_secret(START))
    await first.close()
    second = SQLiteStore(path)
    try:
        assert (await second.pragmas())["user_version"] == len(MIGRATIONS)
        assert (await second.reveal(secret.id, secret.link_check, None, START)).blob == secret.blob
    finally:
        await second.close()


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ots.sqlite3"
    SQLiteStore(path).close_sync()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(path)


async def test_two_stores_on_one_file_release_once(tmp_path: Path) -> None:
    """Independent connections, as several worker processes have: one success, never two."""
    path = tmp_path / "shared.sqlite3"
    stores = [SQLiteStore(path), SQLiteStore(path)]
    try:
        secrets = [SimSecret.make() for _ in range(10)]
        for secret in secrets:
            await stores[0].create(secret.new_secret(START))
        for secret in secrets:
            results = await asyncio.gather(
                *(
                    stores[i % 2].reveal(secret.id, secret.link_check, None, START)
                    for i in range(16)
                ),
                return_exceptions=True,
            )
            assert sum(not isinstance(r, BaseException) for r in results) == 1
            assert all(isinstance(r, Gone) for r in results if isinstance(r, BaseException))
    finally:
        for store in stores:
            await store.close()


def _database_bytes(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    )


async def test_revealed_ciphertext_is_erased_after_checkpoint(sqlite_store: SQLiteStore) -> None:
    kept, revealed = SimSecret.make(4000), SimSecret.make(4000)
    for secret in (kept, revealed):
        await sqlite_store.create(secret.new_secret(START))
    await sqlite_store.maintenance()
    files = _database_bytes(sqlite_store.path)
    assert kept.blob in files  # the scan can see blobs
    assert revealed.blob in files
    await sqlite_store.reveal(revealed.id, revealed.link_check, None, START)
    await sqlite_store.maintenance()
    files = _database_bytes(sqlite_store.path)
    assert Path(f"{sqlite_store.path}-wal").stat().st_size == 0
    assert kept.blob in files
    assert revealed.blob[100:164] not in files


async def test_purge_works_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ots_server.store.sqlite.store.PURGE_BATCH", 3)
    store = SQLiteStore(tmp_path / "batches.sqlite3")
    try:
        for _ in range(8):
            await store.create(SimSecret.make().new_secret(START, ttl=60, grace=10))
        result = await store.purge_expired(START + 60)
        assert (result.expired, result.purged) == (8, 0)
        result = await store.purge_expired(START + 70)
        assert (result.expired, result.purged) == (0, 8)
    finally:
        await store.close()


def test_open_store_urls(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path}/by-url.sqlite3")
    assert isinstance(store, SQLiteStore)
    store.close_sync()
    assert (tmp_path / "by-url.sqlite3").exists()
    for url in ("redis://localhost/0?x=1", "sqlite://relative.db", "postgres://x", "nonsense"):
        with pytest.raises(StoreConfigError, match="OTS_STORE_URL"):
            open_store(url)


async def test_check_constraints_stay_on_for_everything_but_the_body_insert(
    sqlite_store: SQLiteStore,
) -> None:
    secret = SimSecret.make()
    await sqlite_store.create(secret.new_secret(START))

    def break_a_rule(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE records SET views_left = views + 1 WHERE id = ?", (secret.id,))

    with pytest.raises(StoreUnavailable) as refused:
        await sqlite_store._submit(sqlite_store._writer, break_a_rule)
    assert isinstance(refused.value.__cause__, sqlite3.IntegrityError)
    assert "CHECK" in str(refused.value.__cause__)
    assert (await sqlite_store.peek(secret.id, secret.link_check, START)).views_left == 1


_MEMORY_PROBE = """
import asyncio, dataclasses, os, resource, sys
from ots_server.store.sqlite.store import SQLiteStore
sys.path[:0] = [sys.argv[2], os.path.dirname(sys.argv[2])]  # tests/server, then tests/
from support import SimSecret
size = 32 * 1024 * 1024
blob = bytearray()
chunk = os.urandom(65536)
while len(blob) < size:  # grown like an upload, so the high-water mark is one blob
    blob += chunk
secret = SimSecret(os.urandom(16), os.urandom(32), b"")
new = secret.new_secret(0, ttl=10**9)
store = SQLiteStore(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
asyncio.run(store.create(dataclasses.replace(new, blob=blob)))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store.close_sync()
print((after - before) // 1024)
"""


def test_create_does_not_copy_the_blob_into_sqlite_memory(tmp_path: Path) -> None:
    """Binding the blob cost two more copies, a CHECK on length(blob) one; now about none."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_PROBE,
            str(tmp_path / "m.sqlite3"),
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    grew_mib = int(result.stdout.strip())
    assert grew_mib < 12, f"peak memory grew by {grew_mib} MiB for a 32 MiB blob"


def _page_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()


async def test_new_databases_get_16_kib_pages_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    """Nine default-size secrets fit a 16 KiB page, two a 4 KiB one (see sqlite_schema)."""
    new = SQLiteStore(tmp_path / "new.sqlite3")
    await new.close()
    assert _page_size(new.path) == PAGE_SIZE == 16384
    old_path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old_path, isolation_level=None)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn)
    conn.close()
    old = SQLiteStore(old_path)
    try:
        secret = SimSecret.make(1600)
        await old.create(secret.new_secret(START))
        assert (await old.reveal(secret.id, secret.link_check, None, START)).blob == secret.blob
    finally:
        await old.close()
    assert _page_size(old_path) == 4096


@pytest.mark.parametrize(
    ("size", "messages"),
    [
        (1671, [(1671, False)]),
        (INLINE_MAX, [(INLINE_MAX, False)]),
        (INLINE_MAX + 1, [(INLINE_MAX, True), (1, True), (0, False)]),  # a file, streamed
    ],
)
async def test_reveal_answers_blobs_up_to_64_kib_in_one_piece(
    tmp_path: Path, size: int, messages: list[tuple[int, bool]]
) -> None:
    """A plain response (one body message, no streaming task group) up to 64 KiB; the same
    headers either way."""
    store = SQLiteStore(tmp_path / "pieces.sqlite3")
    app = create_app(Settings(data_dir=tmp_path), store, clock=FakeClock())
    secret = SimSecret.make(size)
    await store.create(secret.new_secret(START, views=2))
    try:
        sent = await reveal_messages(app, secret)
    finally:
        await store.close()
    start, *bodies = sent
    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"content-length"] == str(size).encode()
    assert headers[b"ots-views-left"] == b"1"
    assert headers[b"content-type"] == b"application/octet-stream"
    assert b"transfer-encoding" not in headers
    assert [(len(m["body"]), bool(m.get("more_body"))) for m in bodies] == messages
    assert b"".join(bytes(m["body"]) for m in bodies) == secret.blob


async def test_a_batch_of_receipts_is_one_statement(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts = [bytes([n]) * 32 for n in range(100)]
    for receipt in receipts:
        await sqlite_store.create(SimSecret.make().new_secret(START, receipt_hash=receipt))
    statements: list[str] = []
    call = sqlite_store._call

    def traced(fn: Any) -> Any:
        conn = sqlite_store._thread_connection()
        conn.set_trace_callback(statements.append)
        try:
            return call(fn)
        finally:
            conn.set_trace_callback(None)

    monkeypatch.setattr(sqlite_store, "_call", traced)
    answers = await sqlite_store.receipt_statuses(receipts, START)
    assert all(answer is not None for answer in answers)
    assert len(statements) == 1
    assert statements[0].lstrip().startswith("SELECT")
