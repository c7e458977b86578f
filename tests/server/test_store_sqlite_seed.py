"""The SQLite store's bulk seeder (``ots_server.store.sqlite.seed.Seeder``, used by
bench/scale.py): what it writes is exactly what ``create`` writes, read back by the store."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from ots_server.store import NotFound
from ots_server.store.sqlite.blobs import INLINE_MAX
from ots_server.store.sqlite.seed import Seeder
from ots_server.store.sqlite.store import SQLiteStore

from .support import START, SimSecret

NOW = int(START)

pytestmark = pytest.mark.anyio


def _rows(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        records = conn.execute(
            "SELECT created_at, expires_at, keep_until, views, views_left, state, account_id"
            " FROM records ORDER BY created_at"
        ).fetchall()
        bodies = conn.execute(
            "SELECT header_length, passphrase_verifier IS NULL, attempts_left, length(blob),"
            " size, file FROM secrets"
        ).fetchall()
        return [*records, *bodies]
    finally:
        conn.close()


async def test_seeded_secrets_are_the_rows_create_writes(tmp_path: Path) -> None:
    created, seeded = SimSecret.make(), SimSecret.make(passphrase=True)
    store = SQLiteStore(tmp_path / "created.sqlite3")
    try:
        await store.create(created.new_secret(NOW))
        await store.create(seeded.new_secret(NOW))
    finally:
        await store.close()
    with Seeder(tmp_path / "seeded.sqlite3") as seeder:
        seeder.add([created.new_secret(NOW), seeded.new_secret(NOW)])
        assert seeder.checkpoint() == 0
    assert _rows(tmp_path / "seeded.sqlite3") == _rows(tmp_path / "created.sqlite3")


async def test_a_running_store_reveals_seeded_secrets(tmp_path: Path) -> None:
    db = tmp_path / "ots.sqlite3"
    store = SQLiteStore(db)  # migrated first, as a running server's
    secrets = [SimSecret.make() for _ in range(5)]
    try:
        with Seeder(db, durable=True) as seeder:
            seeder.add([secret.new_secret(NOW) for secret in secrets])
        for secret in secrets:
            revealed = await store.reveal(secret.id, secret.link_check, None, NOW + 1)
            assert revealed.blob == secret.blob
    finally:
        await store.close()


async def test_a_batch_is_all_or_nothing_and_large_blobs_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "ots.sqlite3"
    first, second = SimSecret.make(), SimSecret.make()
    big = dataclasses.replace(SimSecret.make().new_secret(NOW), blob=bytes(INLINE_MAX + 1))
    with Seeder(db) as seeder:
        with pytest.raises(ValueError, match="inline"):
            seeder.add([first.new_secret(NOW), big])
        with pytest.raises(sqlite3.IntegrityError):
            seeder.add([second.new_secret(NOW), second.new_secret(NOW)])
    store = SQLiteStore(db)
    try:
        for secret in (first, second):
            with pytest.raises(NotFound):
                await store.peek(secret.id, secret.link_check, NOW)
    finally:
        await store.close()
