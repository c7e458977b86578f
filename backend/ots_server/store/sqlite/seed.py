"""Bulk seeding of a SQLite store, for benchmarks that need 10^6 secrets in place (bench/scale.py).

:class:`Seeder` writes exactly the rows :meth:`~ots_server.store.sqlite.store.SQLiteStore.create`
writes (the same statements: :func:`~ots_server.store.sqlite.tx.insert_record` and
:func:`~ots_server.store.sqlite.tx.insert_body`), many per transaction, on its own connection
to the database file, which a running server may share (SQLite's write lock keeps them apart).

- Not for serving: by default the seeding connection runs with ``synchronous=OFF`` (and its own
  WAL autocheckpoint), so a crash may lose what it wrote. That applies to this connection only;
  the server's connections keep ``synchronous=FULL``. ``durable=True`` keeps the store's own
  settings (``FULL``, no autocheckpoint) for measuring the cost of a commit.
- Inline blobs only (at most :data:`~ots_server.store.sqlite.blobs.INLINE_MAX`); no quota check,
  no account links, no id reuse: an id that exists fails the batch (``sqlite3.IntegrityError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from ots_server.store.records import NewSecret
from ots_server.store.sqlite import tx
from ots_server.store.sqlite.blobs import INLINE_MAX
from ots_server.store.sqlite.schema import connect, migrate

#: Milliseconds the seeding connection waits for the write lock (a server may be committing).
BUSY_MS = 30_000


class Seeder:
    """A connection that adds secrets in bulk; use it as a context manager."""

    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        self._conn = connect(Path(path), BUSY_MS)
        try:
            migrate(self._conn)
            if not durable:
                self._conn.execute("PRAGMA synchronous = OFF")
                self._conn.execute("PRAGMA wal_autocheckpoint = 20000")
                self._conn.execute("PRAGMA cache_size = -262144")
        except BaseException:
            self._conn.close()
            raise

    def add(self, secrets: Sequence[NewSecret]) -> None:
        """Store ``secrets`` in one transaction (all or none)."""
        for secret in secrets:
            if secret.staged is not None or len(secret.blob) > INLINE_MAX:
                raise ValueError("the seeder takes inline blobs only (at most 64 KiB)")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for secret in secrets:
                tx.insert_record(self._conn, secret)
                tx.insert_body(self._conn, secret)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def checkpoint(self) -> int:
        """A TRUNCATE checkpoint; returns 1 when readers kept it from completing, else 0."""
        return int(self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Seeder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
