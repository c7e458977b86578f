"""Blob files of the SQLite store: where large ciphertext lives, and that it leaves.

A blob over 64 KiB is a file in ``<database>.blobs/`` (0700 directory, 0600 file); every way a
secret ends removes its file, a failed create leaves none, and the sweep removes orphans and
temp files once they are older than the grace period (never a file a row references)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from ots_server.store import IdExists, StoreFull, WrongPassphrase
from ots_server.store.sqlite.blobs import INLINE_MAX, TEMP_PREFIX
from ots_server.store.sqlite.store import SQLiteStore

from .support import EMPTY_DATABASE_GROWTH, START, SimSecret, content

pytestmark = pytest.mark.anyio

NOW = START
BIG = INLINE_MAX + 1
WRONG = b"\x00" * 32


def files(store: SQLiteStore) -> list[str]:
    return sorted(os.listdir(store.blobs.path))


def age(path: Path, seconds: float) -> None:
    then = os.stat(path).st_mtime - seconds
    os.utime(path, (then, then))


async def test_small_blobs_stay_inline_and_large_ones_become_private_files(
    sqlite_store: SQLiteStore,
) -> None:
    inline, large = SimSecret.make(INLINE_MAX), SimSecret.make(BIG)
    await sqlite_store.create(inline.new_secret(NOW))
    assert files(sqlite_store) == []
    await sqlite_store.create(large.new_secret(NOW))
    [name] = files(sqlite_store)
    assert stat.S_IMODE(sqlite_store.blobs.path.stat().st_mode) == 0o700
    assert stat.S_IMODE((sqlite_store.blobs.path / name).stat().st_mode) == 0o600
    assert (sqlite_store.blobs.path / name).read_bytes() == large.blob
    with sqlite3.connect(sqlite_store.path) as conn:
        row = conn.execute("SELECT blob, size, file FROM secrets WHERE file IS NOT NULL").fetchone()
    conn.close()
    assert (bytes(row[0]), row[1], row[2]) == (large.blob[: large.header_length], BIG, name)
    info = await sqlite_store.peek(large.id, large.link_check, NOW)
    assert (info.size, info.header) == (BIG, large.blob[: large.header_length])


async def test_the_last_view_removes_the_file_and_the_open_descriptor_still_reads(
    sqlite_store: SQLiteStore,
) -> None:
    secret = SimSecret.make(3 * INLINE_MAX + 7)
    await sqlite_store.create(secret.new_secret(NOW, views=2))
    first = await sqlite_store.reveal(secret.id, secret.link_check, None, NOW)
    assert (content(first), first.views_left, len(files(sqlite_store))) == (secret.blob, 1, 1)
    last = await sqlite_store.reveal(secret.id, secret.link_check, None, NOW)
    assert files(sqlite_store) == []  # unlinked at commit, before the response is read
    assert (content(last), last.views_left, last.length) == (secret.blob, 0, len(secret.blob))


@pytest.mark.parametrize("ending", ["burn", "receipt burn", "expiry", "attempts", "sweep"])
async def test_every_ending_removes_the_file(sqlite_store: SQLiteStore, ending: str) -> None:
    secret = SimSecret.make(BIG, passphrase=True)
    receipt = os.urandom(32)
    await sqlite_store.create(secret.new_secret(NOW, attempts=1, receipt_hash=receipt))
    assert len(files(sqlite_store)) == 1
    if ending == "burn":
        await sqlite_store.burn(secret.id, secret.link_check, NOW)
    elif ending == "receipt burn":
        await sqlite_store.burn_by_receipt(receipt, NOW)
    elif ending == "expiry":
        with pytest.raises(Exception, match="expired"):
            await sqlite_store.reveal(secret.id, secret.link_check, None, NOW + 3600)
    elif ending == "attempts":
        with pytest.raises(WrongPassphrase):
            await sqlite_store.reveal(secret.id, secret.link_check, WRONG, NOW)
    else:
        assert (await sqlite_store.purge_expired(NOW + 3600)).expired == 1
    assert files(sqlite_store) == []


async def test_a_failed_create_leaves_no_file(tmp_path: Path) -> None:
    store = SQLiteStore(
        tmp_path / "q.sqlite3", max_store_bytes=6 * INLINE_MAX + EMPTY_DATABASE_GROWTH
    )
    try:
        first = SimSecret.make(2 * INLINE_MAX)
        await store.create(first.new_secret(NOW))
        with pytest.raises(IdExists):
            await store.create(first.new_secret(NOW))
        with pytest.raises(StoreFull):  # the quota counts blob files
            await store.create(SimSecret.make(4 * INLINE_MAX).new_secret(NOW))
        assert len(files(store)) == 1
        assert content(await store.reveal(first.id, first.link_check, None, NOW)) == first.blob
        assert files(store) == []
    finally:
        await store.close()


async def test_the_sweep_removes_old_orphans_and_temp_files_only(
    sqlite_store: SQLiteStore,
) -> None:
    live = SimSecret.make(BIG)
    await sqlite_store.create(live.new_secret(NOW))
    [live_name] = files(sqlite_store)
    blob_dir = sqlite_store.blobs.path
    for name in ("orphan", TEMP_PREFIX + "aborted", "fresh", TEMP_PREFIX + "in-flight"):
        (blob_dir / name).write_bytes(b"x")
    for name in (live_name, "orphan", TEMP_PREFIX + "aborted"):
        age(blob_dir / name, sqlite_store.sweep_grace + 1)
    assert await sqlite_store.sweep_files() == 2
    assert files(sqlite_store) == sorted([live_name, "fresh", TEMP_PREFIX + "in-flight"])
    assert content(await sqlite_store.reveal(live.id, live.link_check, None, NOW)) == live.blob


async def test_start_up_removes_orphans_left_by_a_crash(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ots.sqlite3")
    secret = SimSecret.make(BIG)
    try:
        await store.create(secret.new_secret(NOW))
        blob_dir = store.blobs.path
    finally:
        await store.close()
    # A crash after the consume committed but before the unlink, and one mid-upload.
    with sqlite3.connect(tmp_path / "ots.sqlite3") as conn:
        conn.execute("DELETE FROM secrets")
    conn.close()
    (blob_dir / (TEMP_PREFIX + "cut")).write_bytes(b"partial")
    for name in os.listdir(blob_dir):
        age(blob_dir / name, 3600)
    SQLiteStore(tmp_path / "ots.sqlite3").close_sync()
    assert os.listdir(blob_dir) == []
