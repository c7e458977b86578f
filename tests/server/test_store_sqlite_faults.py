"""The SQLite store when things go wrong: a COMMIT that fails (on the success path and on every
committed-outcome path), a ROLLBACK that fails too, a full disk, and a write lock held by
another process for longer than a secret has left to live."""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from ots_server.store import (
    Gone,
    IdExists,
    NotFound,
    PassphraseRequired,
    StoreFull,
    StoreUnavailable,
    WrongPassphrase,
)
from ots_server.store.sqlite.blobs import INLINE_MAX
from ots_server.store.sqlite.schema import connect
from ots_server.store.sqlite.store import SQLiteStore

from .support import EMPTY_DATABASE_GROWTH, EMPTY_DATABASE_PAGES, START, SimSecret, content

pytestmark = pytest.mark.anyio
NOW = START
WRONG = b"\x00" * 32


class Faults:
    """Statements to fail, each the given number of times, on the store's connections."""

    def __init__(self) -> None:
        self.pending: dict[str, int] = {}

    def arm(self, statement: str, times: int = 1) -> None:
        self.pending[statement] = times

    def fire(self, statement: str) -> bool:
        if self.pending.get(statement, 0) <= 0:
            return False
        self.pending[statement] -= 1
        return True


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    faults = Faults()

    class FaultyConnection(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if faults.fire(sql):
                raise sqlite3.OperationalError(f"simulated failure of {sql}")
            return super().execute(sql, *args)

    monkeypatch.setattr(
        "ots_server.store.sqlite.engine.connect",
        functools.partial(connect, factory=FaultyConnection),
    )
    return faults


@pytest.fixture
async def store(tmp_path: Path, faults: Faults) -> Any:
    store = SQLiteStore(tmp_path / "faults.sqlite3")
    try:
        yield store
    finally:
        await store.close()


Scenario = Callable[[SQLiteStore, SimSecret], Awaitable[object]]


async def _existing_id(store: SQLiteStore, secret: SimSecret) -> object:
    await store.create(secret.new_secret(NOW))
    return True


async def _no_passphrase(store: SQLiteStore, secret: SimSecret) -> object:
    return await store.reveal(secret.id, secret.link_check, None, NOW)


async def _wrong_passphrase(store: SQLiteStore, secret: SimSecret) -> object:
    return await store.reveal(secret.id, secret.link_check, WRONG, NOW)


async def _expired(store: SQLiteStore, secret: SimSecret) -> object:
    return await store.reveal(secret.id, secret.link_check, secret.passphrase_check, NOW + 60)


async def _success(store: SQLiteStore, secret: SimSecret) -> object:
    return await store.reveal(secret.id, secret.link_check, secret.passphrase_check, NOW)


@pytest.mark.parametrize(
    ("scenario", "outcome"),
    [
        (_existing_id, IdExists),  # 409
        (_no_passphrase, PassphraseRequired),  # 401
        (_wrong_passphrase, WrongPassphrase),  # 403
        (_expired, Gone),  # 410 after committing the expiry
        (_success, None),  # 200
    ],
)
async def test_a_failed_commit_never_wedges_the_writer(
    store: SQLiteStore, faults: Faults, scenario: Scenario, outcome: type[Exception] | None
) -> None:
    """Before the fix, a failed COMMIT on an outcome path left the transaction open, and every
    later BEGIN IMMEDIATE on the one writer connection failed: a permanent 503."""
    secret = SimSecret.make(passphrase=True)
    await store.create(secret.new_secret(NOW, ttl=60, attempts=3))
    faults.arm("COMMIT")
    with pytest.raises(StoreUnavailable):
        await scenario(store, secret)
    # Rolled back: nothing the failed transaction did is visible, no attempt was spent.
    if scenario is not _expired:
        assert (await store.peek(secret.id, secret.link_check, NOW)).attempts_left == 3
    # The same operation now gets its real answer, and the writer keeps working.
    if outcome is None:
        assert (await scenario(store, secret)) is not None
    else:
        with pytest.raises(outcome):
            await scenario(store, secret)
    other = SimSecret.make()
    await store.create(other.new_secret(NOW))
    assert (await store.reveal(other.id, other.link_check, None, NOW)).blob == other.blob


async def test_a_failed_commit_keeps_the_blob_file_and_leaks_no_descriptor(
    store: SQLiteStore, faults: Faults
) -> None:
    secret = SimSecret.make(INLINE_MAX + 1)
    await store.create(secret.new_secret(NOW))

    def blob_descriptors() -> int:
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                continue
        return sum(link.startswith(str(store.blobs.path)) for link in links)

    faults.arm("COMMIT")
    with pytest.raises(StoreUnavailable):
        await store.reveal(secret.id, secret.link_check, None, NOW)
    assert blob_descriptors() == 0  # the file opened for the response was closed
    assert len(os.listdir(store.blobs.path)) == 1  # rolled back: the file stays
    assert content(await store.reveal(secret.id, secret.link_check, None, NOW)) == secret.blob
    assert os.listdir(store.blobs.path) == []


async def test_a_connection_that_cannot_roll_back_is_replaced(
    store: SQLiteStore, faults: Faults
) -> None:
    secret = SimSecret.make(passphrase=True)
    await store.create(secret.new_secret(NOW, attempts=3))
    faults.arm("COMMIT")
    faults.arm("ROLLBACK")
    with pytest.raises(StoreUnavailable):
        await store.reveal(secret.id, secret.link_check, WRONG, NOW)
    # The broken connection was closed (releasing its write lock) and a fresh one is used.
    revealed = await store.reveal(secret.id, secret.link_check, secret.passphrase_check, NOW)
    assert revealed.blob == secret.blob


async def test_a_full_disk_is_store_full_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class SmallDisk(sqlite3.Connection):
        """SQLite answers SQLITE_FULL past max_page_count, as it does on a full disk."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # An empty database's pages (EMPTY_DATABASE_PAGES) and one more.
            self.execute(f"PRAGMA max_page_count = {EMPTY_DATABASE_PAGES + 1}")

    monkeypatch.setattr(
        "ots_server.store.sqlite.engine.connect", functools.partial(connect, factory=SmallDisk)
    )
    store = SQLiteStore(tmp_path / "small.sqlite3")
    try:
        # 60 kB stays inline (blob files are the file system's business, below).
        small, large = SimSecret.make(1000), SimSecret.make(60_000)
        await store.create(small.new_secret(NOW))
        with pytest.raises(StoreFull):
            await store.create(large.new_secret(NOW))
        with pytest.raises(NotFound):
            await store.peek(large.id, large.link_check, NOW)
        assert (await store.reveal(small.id, small.link_check, None, NOW)).blob == small.blob
    finally:
        await store.close()


async def test_quota_counts_pages_in_use(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "quota.sqlite3", max_store_bytes=300_000 + EMPTY_DATABASE_GROWTH)
    try:
        first, second = SimSecret.make(200_000), SimSecret.make(200_000)
        await store.create(first.new_secret(NOW))
        with pytest.raises(StoreFull):
            await store.create(second.new_secret(NOW))
        await store.reveal(first.id, first.link_check, None, NOW)  # frees its pages
        await store.create(second.new_secret(NOW))
        assert (await store.peek(second.id, second.link_check, NOW)).size == 200_000
    finally:
        await store.close()


async def test_expiry_is_judged_after_waiting_for_the_write_lock(tmp_path: Path) -> None:
    """A reveal that arrives one second before expiry but gets the write lock after it (another
    process held it) must not release the secret."""
    path = tmp_path / "locked.sqlite3"
    store = SQLiteStore(path)
    other_process = sqlite3.connect(path, isolation_level=None)
    try:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW, ttl=60))
        other_process.execute("BEGIN IMMEDIATE")
        result: list[object] = []

        async def reveal() -> None:
            try:
                result.append(await store.reveal(secret.id, secret.link_check, None, NOW + 59))
            except Gone as exc:
                result.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(reveal)
            await anyio.sleep(1.2)  # a real lock held in real time; no clock to inject here
            other_process.execute("ROLLBACK")
        (gone,) = result
        assert isinstance(gone, Gone), "released after expiry"
        assert (gone.state, gone.at) == ("expired", NOW + 60)
    finally:
        other_process.close()
        await store.close()
