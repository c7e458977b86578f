"""Group commit of the SQLite writer lane: concurrent writes share one fsync'd COMMIT, without
savepoints unless one of them raises (then the group runs again with a savepoint each), and
nobody is answered before that COMMIT.

Commits are counted by SQLite itself: a trace callback on the writer thread's connection sees
every statement it runs. The writer thread is held (a job of the lane's own executor waiting
on an event) while a test queues writes, so the group they form is known exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from ots_server.store import Gone, IdExists, NotFound, StoreUnavailable, WrongPassphrase
from ots_server.store.sqlite import lane as lane
from ots_server.store.sqlite import tx as tx
from ots_server.store.sqlite.blobs import INLINE_MAX
from ots_server.store.sqlite.schema import connect
from ots_server.store.sqlite.store import SQLiteStore

from .support import START, SimSecret, content

pytestmark = pytest.mark.anyio
NOW = START
WRONG = b"\x00" * 32


class Statements:
    """Every statement the writer connection runs (SQLite's trace callback)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, statement: str) -> None:
        with self._lock:
            self.seen.append(statement)

    def count(self, statement: str) -> int:
        with self._lock:
            return self.seen.count(statement)

    def starting(self, prefix: str) -> int:
        with self._lock:
            return sum(statement.startswith(prefix) for statement in self.seen)


async def trace_writer(store: SQLiteStore) -> Statements:
    statements = Statements()

    def install(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(statements)

    await store._submit(store._writer, install)
    return statements


@contextmanager
def writer_held(store: SQLiteStore) -> Iterator[threading.Event]:
    """Occupy the writer thread until the event is set (always set on the way out)."""
    gate = threading.Event()
    store._writer.submit(gate.wait)
    try:
        yield gate
    finally:
        gate.set()


async def until(condition: Any, what: str) -> None:
    with anyio.fail_after(10):
        while not condition():
            await anyio.sleep(0.005)


def blob_descriptors(store: SQLiteStore) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(str(store.blobs.path))
        except OSError:
            continue
    return count


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "group.sqlite3")
    try:
        yield store
    finally:
        await store.close()


async def outcomes(calls: list[Awaitable[Any]], store: SQLiteStore) -> list[Any]:
    """Run ``calls`` while the writer is held, so that they queue up and form one group;
    each call's result or exception, in order."""
    results: list[Any] = [None] * len(calls)

    async def one(index: int, call: Awaitable[Any]) -> None:
        try:
            results[index] = await call
        except Exception as exc:
            results[index] = exc

    with writer_held(store) as gate:
        async with anyio.create_task_group() as group:
            for index, call in enumerate(calls):
                group.start_soon(one, index, call)
            await until(lambda: store.lane.queued() == len(calls), "all writes queued")
            gate.set()
    return results


async def test_concurrent_creates_share_one_commit(store: SQLiteStore) -> None:
    statements = await trace_writer(store)
    secrets = [SimSecret.make(1600) for _ in range(50)]
    commits = store.lane.commits
    results = await outcomes([store.create(s.new_secret(NOW)) for s in secrets], store)
    assert results == [None] * 50
    assert statements.count("COMMIT") == 1
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("SAVEPOINT op") == 0  # no write raised: no savepoints
    assert (store.lane.commits - commits, store.lane.committed_writes) == (1, 50)
    for secret in secrets:
        assert (await store.reveal(secret.id, secret.link_check, None, NOW)).blob == secret.blob


async def test_a_group_is_at_most_group_max_writes(store: SQLiteStore) -> None:
    statements = await trace_writer(store)
    secrets = [SimSecret.make() for _ in range(lane.GROUP_MAX + 36)]
    results = await outcomes([store.create(s.new_secret(NOW)) for s in secrets], store)
    assert results == [None] * len(secrets)
    assert statements.count("COMMIT") == 2


async def test_a_write_alone_is_committed_at_once(store: SQLiteStore) -> None:
    statements = await trace_writer(store)
    secret = SimSecret.make()
    await store.create(secret.new_secret(NOW))
    await store.burn(secret.id, secret.link_check, NOW)
    assert statements.count("COMMIT") == 2


async def test_a_failing_write_does_not_affect_the_others_in_its_group(
    store: SQLiteStore,
) -> None:
    existing = SimSecret.make(1000)
    locked = SimSecret.make(passphrase=True)
    await store.create(existing.new_secret(NOW))
    await store.create(locked.new_secret(NOW, attempts=3))
    statements = await trace_writer(store)
    first, last = SimSecret.make(), SimSecret.make()
    # Fails after its record row was inserted (the body breaks the CHECK on the blob's
    # length): only a savepoint rollback removes that row.
    half = SimSecret.make(10)
    half_new = dataclasses.replace(half.new_secret(NOW), header_length=11)
    # Breaks a CHECK of the schema: sqlite3.IntegrityError inside the group.
    broken = SimSecret.make()
    broken_new = dataclasses.replace(broken.new_secret(NOW), link_verifier=b"short")
    results = await outcomes(
        [
            store.create(first.new_secret(NOW)),
            store.create(half_new),
            store.create(dataclasses.replace(existing.new_secret(NOW), blob=b"other blob")),
            store.reveal(locked.id, locked.link_check, WRONG, NOW),
            store.create(broken_new),
            store.create(last.new_secret(NOW)),
        ],
        store,
    )
    ok, half_error, exists, wrong, constraint, ok_too = results
    # The optimistic attempt was rolled back; the second ran each write in a savepoint.
    assert statements.count("BEGIN IMMEDIATE") == 2
    assert statements.count("ROLLBACK") == 1
    assert statements.count("SAVEPOINT op") == 6
    assert statements.count("COMMIT") == 1
    assert ok is None
    assert ok_too is None
    assert isinstance(half_error, StoreUnavailable)
    assert isinstance(half_error.__cause__, sqlite3.IntegrityError)
    assert isinstance(exists, IdExists)
    assert isinstance(wrong, WrongPassphrase)
    assert wrong.attempts_left == 2  # spent once, though its work ran in both attempts
    assert isinstance(constraint, StoreUnavailable)
    assert isinstance(constraint.__cause__, sqlite3.IntegrityError)
    # The failed writes left nothing; the others and the spent attempt are on disk.
    for gone in (half, broken):
        with pytest.raises(NotFound):
            await store.peek(gone.id, gone.link_check, NOW)
    assert (await store.peek(locked.id, locked.link_check, NOW)).attempts_left == 2
    revealed = await store.reveal(existing.id, existing.link_check, None, NOW)
    assert revealed.blob == existing.blob
    for secret in (first, last):
        assert (await store.reveal(secret.id, secret.link_check, None, NOW)).blob == secret.blob


async def test_only_the_files_of_kept_writes_are_unlinked(store: SQLiteStore) -> None:
    kept, rolled_back = SimSecret.make(INLINE_MAX + 1), SimSecret.make(INLINE_MAX + 1)
    await store.create(kept.new_secret(NOW))
    await store.create(rolled_back.new_secret(NOW))
    assert len(os.listdir(store.blobs.path)) == 2

    def end_then_fail(conn: sqlite3.Connection, now: int) -> None:
        tx.end(conn, rolled_back.id, "burned", now)
        raise RuntimeError("a write that fails after dooming a file")

    results = await outcomes(
        [store.burn(kept.id, kept.link_check, NOW), store._write(end_then_fail, NOW)], store
    )
    assert results[0].state == "burned"
    assert isinstance(results[1], RuntimeError)
    assert len(os.listdir(store.blobs.path)) == 1  # the burned secret's file only is gone
    revealed = await store.reveal(rolled_back.id, rolled_back.link_check, None, NOW)
    assert content(revealed) == rolled_back.blob
    assert os.listdir(store.blobs.path) == []


async def test_a_create_reusing_a_forgotten_id_in_a_group_of_creates(store: SQLiteStore) -> None:
    # The id's record is past keep_until: it counts as absent, so the id may be used again.
    reused = SimSecret.make()
    await store.create(reused.new_secret(NOW - 7200, ttl=60, grace=60))
    others = [SimSecret.make() for _ in range(3)]
    statements = await trace_writer(store)
    results = await outcomes(
        [store.create(s.new_secret(NOW)) for s in (*others, reused)],
        store,
    )
    assert results == [None] * 4
    # The reused id's INSERT failed, its record was found forgotten and deleted, and the
    # INSERT repeated, all inside the one optimistic attempt.
    assert statements.starting("INSERT INTO records") == 4 + 1
    assert statements.starting("SELECT 1 FROM records") == 1
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("COMMIT") == 1
    for secret in (*others, reused):
        assert (await store.reveal(secret.id, secret.link_check, None, NOW)).blob == secret.blob


async def test_a_rolled_back_attempt_closes_the_file_it_revealed(store: SQLiteStore) -> None:
    large = SimSecret.make(INLINE_MAX + 1)
    await store.create(large.new_secret(NOW))
    statements = await trace_writer(store)

    def fail(conn: sqlite3.Connection, now: int) -> None:
        raise RuntimeError("a write that fails")

    async def fail_after_the_reveal() -> None:
        # Queued behind the reveal, so the reveal's work runs first in the optimistic attempt.
        await until(lambda: store.lane.queued() == 1, "the reveal queued")
        await store._write(fail, NOW)

    revealed, failed = await outcomes(
        [store.reveal(large.id, large.link_check, None, NOW), fail_after_the_reveal()], store
    )
    assert statements.count("BEGIN IMMEDIATE") == 2
    assert isinstance(failed, RuntimeError)
    # Opened in both attempts; the first attempt's descriptor was closed with its rollback.
    assert blob_descriptors(store) == 1
    assert content(revealed) == large.blob
    assert blob_descriptors(store) == 0
    assert os.listdir(store.blobs.path) == []


class FailingCommit(sqlite3.Connection):
    """The writer's COMMIT fails while ``armed`` is set (e.g. an I/O error on fsync)."""

    armed = threading.Event()

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and FailingCommit.armed.is_set():
            FailingCommit.armed.clear()
            raise sqlite3.OperationalError("simulated failure of COMMIT")
        return super().execute(sql, *args)


async def test_a_failed_commit_fails_every_write_of_the_group_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "ots_server.store.sqlite.engine.connect", functools.partial(connect, factory=FailingCommit)
    )
    store = SQLiteStore(tmp_path / "failing.sqlite3")
    try:
        large = SimSecret.make(INLINE_MAX + 1)
        locked = SimSecret.make(passphrase=True)
        burned = SimSecret.make()
        for secret in (large, locked, burned):
            await store.create(secret.new_secret(NOW, attempts=3))
        new = SimSecret.make()
        FailingCommit.armed.set()
        results = await outcomes(
            [
                store.create(new.new_secret(NOW)),
                store.reveal(large.id, large.link_check, None, NOW),  # a last view
                store.reveal(locked.id, locked.link_check, WRONG, NOW),
                store.burn(burned.id, burned.link_check, NOW),
            ],
            store,
        )
        assert all(isinstance(result, StoreUnavailable) for result in results), results
        # Nothing of the group persisted: no secret, no consume, no spent attempt, no burn,
        # the file is still there and no descriptor of it is left open.
        with pytest.raises(NotFound):
            await store.peek(new.id, new.link_check, NOW)
        assert len(os.listdir(store.blobs.path)) == 1
        assert blob_descriptors(store) == 0
        assert (await store.peek(locked.id, locked.link_check, NOW)).attempts_left == 3
        assert (await store.peek(burned.id, burned.link_check, NOW)).views_left == 1
        # And the lane goes on.
        assert content(await store.reveal(large.id, large.link_check, None, NOW)) == large.blob
        await store.create(new.new_secret(NOW))
        assert (await store.reveal(new.id, new.link_check, None, NOW)).blob == new.blob
    finally:
        FailingCommit.armed.clear()
        await store.close()


async def test_a_reveal_whose_caller_left_is_committed_and_its_file_closed(
    store: SQLiteStore,
) -> None:
    large = SimSecret.make(INLINE_MAX + 1)
    await store.create(large.new_secret(NOW))
    commits = store.lane.commits
    with writer_held(store) as gate:
        async with anyio.create_task_group() as group:
            group.start_soon(store.reveal, large.id, large.link_check, None, NOW)
            await until(lambda: store.lane.queued() == 1, "the reveal queued")
            group.cancel_scope.cancel()
        gate.set()
        await until(lambda: store.lane.commits == commits + 1, "the group committed")
    await until(lambda: blob_descriptors(store) == 0, "the descriptor closed")
    with pytest.raises(Gone):
        await store.peek(large.id, large.link_check, NOW)
    assert os.listdir(store.blobs.path) == []


async def test_an_error_that_ends_the_transaction_fails_the_whole_group(
    store: SQLiteStore,
) -> None:
    """Some errors (I/O, a full disk, no memory) make SQLite roll back the whole transaction,
    savepoints and all: then the writes that ran before are lost too and must not succeed."""
    before, after = SimSecret.make(), SimSecret.make()

    def io_error(conn: sqlite3.Connection, now: int) -> None:
        conn.execute("ROLLBACK")  # what SQLite itself does on such an error
        raise sqlite3.OperationalError("disk I/O error")

    results = await outcomes(
        [
            store.create(before.new_secret(NOW)),
            store._write(io_error, NOW),
            store.create(after.new_secret(NOW)),
        ],
        store,
    )
    assert all(isinstance(result, StoreUnavailable) for result in results), results
    assert isinstance(results[1].__cause__, sqlite3.OperationalError)
    for secret in (before, after):
        with pytest.raises(NotFound):
            await store.peek(secret.id, secret.link_check, NOW)
    await store.create(before.new_secret(NOW))  # the lane goes on
    assert (await store.reveal(before.id, before.link_check, None, NOW)).blob == before.blob
