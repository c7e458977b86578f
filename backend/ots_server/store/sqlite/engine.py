"""The machinery under the SQLite store (:class:`~ots_server.store.sqlite.store.SQLiteStore`):
the file, the threads and their connections, the writer lane and the checkpointer.

Invariants (the store's module docstring has the reasons):

- Blocking sqlite3 calls never run on the event loop: writes go to one writer thread through
  the group-commit lane (:mod:`.lane`), reads to a small pool, checkpoints to their own thread
  (:mod:`.checkpoint`). Each thread owns one connection, opened with the store's settings
  (:func:`.schema.connect`); a connection left inside a transaction by an error is thrown away.
  Only the writer thread's connection checkpoints on commit (``wal_autocheckpoint``), whichever
  call opened it.
- ``now`` is adjusted by the whole seconds a call waited (:func:`.lane.late`).
- The database file is created 0600 before SQLite opens it, and migrated once on open; blob
  files orphaned by an earlier process are swept then too.
- After ``close`` every call raises ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ots_server.store.outcomes import StoreUnavailable
from ots_server.store.records import Maintenance
from ots_server.store.sqlite import tx
from ots_server.store.sqlite.blobs import SWEEP_GRACE, BlobDir, Staging
from ots_server.store.sqlite.checkpoint import WRITER_CHECKPOINT_PAGES, Checkpointer
from ots_server.store.sqlite.lane import Work, WriteLane, late, sqlite_error
from ots_server.store.sqlite.schema import connect, migrate

T = TypeVar("T")


class SQLiteEngine:
    """Threads, connections and lanes of one SQLite file; the store's methods run on them."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 10.0,
        readers: int = 2,
        max_store_bytes: int = 0,
    ) -> None:
        self.path = Path(path)
        self._busy_ms = int(busy_timeout * 1000)
        self._max_store_bytes = max_store_bytes
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writer = ThreadPoolExecutor(
            1, thread_name_prefix="ots-sqlite-writer", initializer=self._mark_writer
        )
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="ots-sqlite-reader")
        self._closed = False
        self._prepare_file()
        self.blobs = BlobDir(self.path.with_name(self.path.name + ".blobs"))
        #: The group commit of the writer thread (its ``commits`` count is for tests).
        self.lane = WriteLane(
            self._writer, self._thread_connection, self._discard, self.blobs.remove_all
        )
        #: Files younger than this are left alone by the orphan sweep (see ``sweep_files``).
        self.sweep_grace = SWEEP_GRACE
        bootstrap = connect(self.path, self._busy_ms)
        try:
            migrate(bootstrap)
        finally:
            bootstrap.close()
        self._checkpointer = Checkpointer(self.path)
        # Crash recovery: orphans and temp files an earlier process left behind.
        self._sweep_files_sync()

    # -- plumbing ---------------------------------------------------------------------------

    def _prepare_file(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create the file 0600 before SQLite does; its -wal and -shm copy these permissions.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.close(fd)

    def _thread_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # The writer thread's commits checkpoint the WAL (see .checkpoint), whichever call
            # opens its connection first.
            writer = getattr(self._local, "writer", False)
            pages = WRITER_CHECKPOINT_PAGES if writer else 0
            conn = connect(self.path, self._busy_ms, autocheckpoint=pages)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _mark_writer(self) -> None:
        self._local.writer = True

    def _discard(self, conn: sqlite3.Connection) -> None:
        """Forget this thread's connection; the next call on the thread opens a fresh one."""
        self._local.conn = None
        with self._connections_lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._thread_connection()
        try:
            return fn(conn)
        except sqlite3.Error as exc:
            if conn.in_transaction:  # even ROLLBACK failed: never reuse this connection
                self._discard(conn)
            raise sqlite_error(exc) from exc

    async def _read(self, fn: Work[T], now: int) -> T:
        asked = time.monotonic()
        return await self._submit(self._readers, lambda conn: fn(conn, late(now, asked)))

    async def _write(self, fn: Work[T], now: int, discard: Callable[[T], None] | None = None) -> T:
        """``fn`` in the next group of the writer lane; ``discard`` frees a result that is
        not handed to the caller after all."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        asked = time.monotonic()
        try:
            return await self.lane.run(lambda conn: fn(conn, late(now, asked)), discard)
        finally:
            self._checkpointer.after_write()

    async def _submit(self, pool: ThreadPoolExecutor, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(pool, self._call, fn)
        except RuntimeError as exc:  # the pool was shut down by a concurrent close()
            raise StoreUnavailable("the store is closed") from exc
        return await future

    def stage(self) -> Staging:
        """Start streaming an upload into a temp file of the blob directory; the app switches
        to this once a blob passes :data:`INLINE_MAX` and hands the result to ``create`` as
        :attr:`NewSecret.staged`."""
        return Staging(self.blobs)

    async def used_bytes(self) -> int:
        """What ``max_store_bytes`` counts now (for the quota of uploads in flight,
        :mod:`ots_server.quota`)."""
        return await self._read(lambda conn, now: tx.used_bytes(conn), int(time.time()))

    async def sweep_files(self) -> int:
        """Remove blob files no row references (orphans of a crash, aborted temp files)
        older than ``sweep_grace`` seconds; the number removed."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        return await asyncio.to_thread(self._sweep_files_sync)

    def _sweep_files_sync(self) -> int:
        listed = self.blobs.names()  # before the rows: see BlobDir.sweep
        if not listed:
            return 0
        conn = connect(self.path, self._busy_ms)
        try:
            referenced = {
                row[0] for row in conn.execute("SELECT file FROM secrets WHERE file IS NOT NULL")
            }
        finally:
            conn.close()
        return self.blobs.sweep(referenced, listed, grace=self.sweep_grace)

    async def maintenance(self) -> Maintenance:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        return await self._checkpointer.maintenance()

    async def pragmas(self) -> dict[str, object]:
        """The settings a writer connection runs with (for diagnostics and tests)."""

        def run(conn: sqlite3.Connection) -> dict[str, object]:
            names = (
                "journal_mode",
                "synchronous",
                "secure_delete",
                "foreign_keys",
                "wal_autocheckpoint",
                "user_version",
            )
            return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names}

        return await self._submit(self._writer, run)

    async def check(self) -> None:
        await self._read(
            lambda conn, now: conn.execute("SELECT 1 FROM records LIMIT 1").fetchone(), 0
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self.close_sync)

    def close_sync(self) -> None:
        """Close from synchronous code (tests, the CLI); waits for running operations."""
        self._closed = True
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._checkpointer.close()
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
