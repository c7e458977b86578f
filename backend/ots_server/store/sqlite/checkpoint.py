"""The SQLite checkpoints: small ones by the writer's commits, the rest on their own lane.

In WAL mode a commit appends page images to the ``-wal`` file; a *checkpoint* copies them
into the database file, and a TRUNCATE checkpoint then empties the WAL. Until that happens, the
WAL still holds the pages a secret was written with, even after the secret was deleted (the
deletion zeroes the pages, ``secure_delete``, but as new page images later in the WAL).

The WAL must also *restart*: a write transaction starts writing frames at the start of the WAL
file again only when a checkpoint has copied every frame and no reader still uses them. A
checkpoint that runs beside a busy writer never gets there (the writer appends frames while it
copies), so under sustained writes the WAL only grows: by about 130 MB/s in the benchmark
(16 KiB pages, 3,000 creates/s), every write extending the file, until a TRUNCATE got its turn.
Hence:

- The writer's connection runs with ``wal_autocheckpoint =`` :data:`WRITER_CHECKPOINT_PAGES`:
  a commit that leaves the WAL at that many pages or more then runs a PASSIVE checkpoint,
  which, the writer being the only writer, copies every frame, so the next write transaction
  restarts the WAL. The WAL stays near that size under any load. The checkpoint runs inside
  the commit (after it is durable: the WAL is synced first), so the group it ends waits for
  it: a few milliseconds for at most :data:`WRITER_CHECKPOINT_PAGES` pages and one sync of
  the database file.
- Every other connection runs with ``wal_autocheckpoint = 0``; requests never run any other
  checkpoint, and never wait for one for more than a few milliseconds.
- The store calls :meth:`Checkpointer.after_write` after each write, which queues a PASSIVE
  checkpoint on this lane at most once per :data:`PASSIVE_GAP` seconds, so that a WAL below
  the writer's threshold is copied too. PASSIVE copies what it can and takes no lock that a
  reader or writer waits for (a writer's own checkpoint that finds this one running is
  skipped, and runs at its next commit).
- :meth:`Checkpointer.run` (the store's ``maintenance``) runs PASSIVE and, only if that copied
  every frame, TRUNCATE with a busy timeout of :data:`TRUNCATE_BUSY_MS`. TRUNCATE holds the
  write lock while it waits for readers to leave the WAL, so a writer in any process waits at
  most about that long; if readers are still there when it gives up, the result says so
  (``complete=False``) and the app retries soon instead of treating the WAL as clean.

Several worker processes may checkpoint the same file; SQLite lets one at a time do so and
answers the others "busy" at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ots_server.store.outcomes import StoreUnavailable
from ots_server.store.records import Maintenance
from ots_server.store.sqlite.schema import connect

logger = logging.getLogger("ots_server.store")

#: How long a TRUNCATE checkpoint may hold the write lock waiting for readers.
TRUNCATE_BUSY_MS = 5
#: Least time between two PASSIVE checkpoints triggered by writes.
PASSIVE_GAP = 1.0
#: The WAL size, in pages, at which a commit of the writer checkpoints (4 MiB of 16 KiB pages).
#: SQLite's default, 1000, measured p99 at 4.5-6.9x p50 under load; 256 kept it near 2x for
#: the same throughput (docs/request-path.md, "The WAL under sustained writes").
WRITER_CHECKPOINT_PAGES = 256


class Checkpointer:
    """One thread and one connection that do nothing but checkpoint the WAL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ots-sqlite-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._queued = False
        self._last_passive = float("-inf")
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path, TRUNCATE_BUSY_MS)
        return self._conn

    def _checkpoint(self, mode: str) -> tuple[int, int, int]:
        busy, log, copied = self._connection().execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        return int(busy), int(log), int(copied)

    def run(self) -> Maintenance:
        """PASSIVE, then TRUNCATE if everything was copied; on the lane's thread."""
        busy, log, copied = self._checkpoint("PASSIVE")
        if busy or copied < log:
            return Maintenance(complete=False, pending=max(0, log - copied))
        busy, log, copied = self._checkpoint("TRUNCATE")
        return Maintenance(complete=not busy, pending=max(0, log - copied))

    async def maintenance(self) -> Maintenance:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self.run)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite checkpoint: {type(exc).__name__}") from exc
        except RuntimeError as exc:  # the pool was shut down by a concurrent close()
            raise StoreUnavailable("the store is closed") from exc

    def after_write(self) -> None:
        """Queue a PASSIVE checkpoint unless one is queued or ran less than PASSIVE_GAP ago."""
        with self._lock:
            if self._closed or self._queued or time.monotonic() - self._last_passive < PASSIVE_GAP:
                return
            self._queued = True
        with contextlib.suppress(RuntimeError):  # the pool shut down: the store is closing
            self._pool.submit(self._passive)

    def _passive(self) -> None:
        with self._lock:
            self._queued = False
            self._last_passive = time.monotonic()
        try:
            self._checkpoint("PASSIVE")
        except sqlite3.Error as exc:  # the next write or maintenance tries again
            logger.warning("passive checkpoint failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Wait for a running checkpoint, then close the connection."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
