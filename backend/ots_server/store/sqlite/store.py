"""The SQLite store: the embedded default, safe with several worker processes.

Durability and deletion:

- WAL with ``synchronous=FULL``: a commit is on disk before ``create`` or ``reveal`` returns,
  so a 201 is never lost and a consumed secret is never resurrected by a crash (with
  ``NORMAL`` a power cut could roll back a delete, which would be a second read).
- ``secure_delete=ON``: freed pages are overwritten with zeros, so deleted ciphertext does not
  linger in free pages. Old WAL frames still hold it until they are overwritten (the writer's
  own small checkpoints keep the WAL restarting from its start, even under sustained writes)
  or the next TRUNCATE checkpoint empties the file, which :meth:`SQLiteStore.maintenance`
  attempts on its own lane and reports as complete or not (see
  :mod:`ots_server.store.sqlite.checkpoint`; the app calls it periodically and retries soon
  when it was busy).

Concurrency:

- Every change runs in ``BEGIN IMMEDIATE``, which takes SQLite's single write lock across all
  processes before reading, so read-check-write is atomic: two reveals of a one-view secret
  cannot both see ``views_left = 1``. The last view deletes the body in that transaction.
- Group commit: the writes queued while the writer thread commits are run together in one
  transaction with one fsync'd COMMIT (up to 64 writes; see
  :mod:`ots_server.store.sqlite.lane`). A write that fails is rolled back alone; a failed
  COMMIT fails every write of the group. No caller is answered before its group's COMMIT.
- A reveal or burn goes straight to the writer lane, which looks the secret up inside the
  write transaction and decides once. (An earlier version first looked on a reader thread
  and queued only secrets that looked live: that hop, and the reader connection re-reading
  pages every writer commit had invalidated, cost about a third of the CPU of a
  create+reveal pair, to spare failing reveals a place in a group, where they cost one
  SELECT and no fsync.)
- Blocking sqlite3 calls never run on the event loop: writes go to one dedicated writer
  thread (one writer per process avoids busy-waiting between this process's own threads),
  reads to a small pool, checkpoints to their own thread (but for the writer's small ones,
  inside its commits). Each thread owns one connection.
  Other processes are held off by the write lock and ``busy_timeout``.
- A write always ends: its changes are kept on success and on an expected outcome (a wrong
  passphrase spends an attempt and must stick) and rolled back on anything else; a group
  whose COMMIT fails is rolled back whole. A connection that still has a transaction open
  after an error (a failed ROLLBACK) is thrown away, so one bad moment cannot wedge the
  writer lane.
- Time: ``now`` is adjusted by the whole seconds spent waiting for the lane and the write
  lock (see :mod:`ots_server.store.protocol`), sampled when the write's turn in its group comes.

Blob files: a blob over 64 KiB lives in a file of ``<database>.blobs/``, streamed there by the
app while it arrives (:meth:`SQLiteStore.stage`) or written by ``create``; rows reference
files, deletes unlink them after the commit, and the sweep removes orphans (see
:mod:`ots_server.store.sqlite.blobs`). A reveal of such a blob returns an open descriptor,
which the lane closes again if nobody takes it (a failed COMMIT, a caller that went away).

Memory: an inline blob (at most 64 KiB) is bound as a parameter; anything larger is a file
(see :func:`ots_server.store.sqlite.tx.insert_body`).
``max_store_bytes`` (``OTS_MAX_STORE_BYTES``) refuses creates that would take the pages in use
(ciphertext, records, indexes; free pages not counted) past the quota; a full disk
(``SQLITE_FULL``) is reported the same way, as :class:`~ots_server.store.outcomes.StoreFull`.
:meth:`SQLiteStore.used_bytes` tells the app what the quota counts, so uploads still arriving
can hold room too (:mod:`ots_server.quota`).

The schema, the connection settings and the migrations are in
:mod:`ots_server.store.sqlite.schema`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
from typing import TypeVar

import anyio

from ots_server.store import rules
from ots_server.store.outcomes import (
    BindingRequired,
    Gone,
    IdExists,
    PassphraseRequired,
    WrongPassphrase,
)
from ots_server.store.records import (
    NewSecret,
    PurgeResult,
    ReceiptStatus,
    Revealed,
    SecretInfo,
    Tombstone,
)
from ots_server.store.sqlite import tx as tx
from ots_server.store.sqlite.accounts import SQLiteAccounts
from ots_server.store.sqlite.blobs import (
    INLINE_MAX,
    store_error,
)
from ots_server.store.sqlite.engine import SQLiteEngine
from ots_server.store.sqlite.lane import Outcome, doom
from ots_server.store.sqlite.requests import SQLiteRequests

T = TypeVar("T")

PURGE_BATCH = 500


def _close_file(revealed: Revealed) -> None:
    """Close the descriptor of a reveal nobody takes (its COMMIT failed, its caller left)."""
    if revealed.file is not None:
        os.close(revealed.file)


class SQLiteStore(SQLiteEngine, SQLiteAccounts, SQLiteRequests):
    """A :class:`~ots_server.store.protocol.Store` on one SQLite file: the secret methods here,
    the threads and lanes they run on in :class:`~.engine.SQLiteEngine`, accounts and requests
    in the mixins."""

    # -- the protocol -----------------------------------------------------------------------

    async def create(self, secret: NewSecret) -> None:
        file: str | None = None if secret.staged is None else secret.staged.name
        if file is None and len(secret.blob) > INLINE_MAX:
            if len(secret.blob) < secret.header_length:
                raise ValueError("a secret body that breaks the schema's rules")
            # Written (and fsynced, renamed) before the write lock is taken: a big file never
            # holds up other writers. A failure below removes it again.
            try:
                file = await anyio.to_thread.run_sync(self.blobs.write, secret.blob)
            except OSError as exc:
                raise store_error(exc) from exc

        def run(conn: sqlite3.Connection, now: int) -> None:
            if self._max_store_bytes:
                tx.check_quota(conn, secret.size, self._max_store_bytes)
            try:
                tx.insert_record(conn, secret)
            except sqlite3.IntegrityError:
                # The id is taken (ids are random: practically only a client retrying). A
                # record past keep_until counts as absent, even before the sweeper removes it.
                # Trying the INSERT first spares every other create two statements.
                conn.execute(
                    "DELETE FROM records WHERE id = ? AND keep_until <= ?",
                    (secret.id, secret.created_at),
                )
                if conn.execute("SELECT 1 FROM records WHERE id = ?", (secret.id,)).fetchone():
                    raise Outcome(IdExists()) from None
                tx.insert_record(conn, secret)
            if file is None:
                tx.insert_body(conn, secret)
            else:
                tx.insert_file_body(conn, secret, file)

        try:
            await self._write(run, secret.created_at)
        except asyncio.CancelledError:
            raise  # the queued write may still commit: its file stays (the sweep takes orphans)
        except BaseException:
            if file is not None:
                self.blobs.remove(file)
            raise

    async def peek(self, id: bytes, link_check: bytes, now: int) -> SecretInfo:
        def run(conn: sqlite3.Connection, now: int) -> SecretInfo:
            row = conn.execute(
                "SELECT r.link_verifier, r.state, r.state_at, r.created_at, r.expires_at,"
                " r.views_left, coalesce(s.size, length(s.blob)),"
                " substr(s.blob, 1, s.header_length),"
                " s.passphrase_verifier IS NOT NULL, s.attempts_left, s.binding"
                " FROM records r LEFT JOIN secrets s ON s.id = r.id"
                " WHERE r.id = ? AND r.keep_until > ?",
                (id, now),
            ).fetchone()
            rules.require_link(row[0] if row else None, link_check)
            if not rules.require_live(row[1], row[2], row[4], now):
                raise Gone("expired", row[4])
            return SecretInfo(
                id=id,
                header=bytes(row[7]),
                size=row[6],
                created_at=row[3],
                expires_at=row[4],
                views_left=row[5],
                passphrase=bool(row[8]),
                attempts_left=row[9],
                binding=row[10],
            )

        return await self._read(run, now)

    async def reveal(
        self,
        id: bytes,
        link_check: bytes,
        passphrase_check: bytes | None,
        now: int,
        binding: str | None = None,
    ) -> Revealed:
        def run(conn: sqlite3.Connection, now: int) -> Revealed:
            row = tx.lookup_live(conn, id, link_check, now, tx.REVEAL_LOOKUP)
            verifier, attempts_left, views_left = row[6], row[7], row[5]
            if row[11] is not None and row[11] != binding:
                raise Outcome(BindingRequired())
            if verifier is not None:
                if passphrase_check is None:
                    raise Outcome(PassphraseRequired(attempts_left))
                if not rules.passphrase_matches(verifier, passphrase_check):
                    if attempts_left <= 1:
                        tx.end(conn, id, "burned", now)
                        raise Outcome(WrongPassphrase(0, burned=True))
                    conn.execute(
                        "UPDATE secrets SET attempts_left = attempts_left - 1 WHERE id = ?", (id,)
                    )
                    raise Outcome(WrongPassphrase(attempts_left - 1, burned=False))
            body = row[8:11]  # blob, file, size
            # Opened before the commit: once it is open the file stays readable even after
            # the unlink that follows a last view's commit.
            fd = None if body[1] is None else self.blobs.open(body[1])
            try:
                if views_left <= 1:
                    conn.execute("DELETE FROM secrets WHERE id = ?", (id,))
                    doom(body[1])
                    conn.execute(
                        "UPDATE records SET views_left = 0, state = 'consumed', state_at = ?,"
                        " read_at = ? WHERE id = ?",
                        (now, now, id),
                    )
                else:
                    conn.execute(
                        "UPDATE records SET views_left = views_left - 1, read_at = ? WHERE id = ?",
                        (now, id),
                    )
            except BaseException:
                if fd is not None:
                    os.close(fd)
                raise
            left = max(views_left - 1, 0)
            if fd is None:
                return Revealed(blob=bytes(body[0]), views_left=left)
            return Revealed(blob=b"", views_left=left, file=fd, size=body[2])

        return await self._write(run, now, _close_file)

    async def burn(self, id: bytes, link_check: bytes, now: int) -> Tombstone:
        def run(conn: sqlite3.Connection, now: int) -> Tombstone:
            tx.lookup_live(conn, id, link_check, now)
            tx.end(conn, id, "burned", now)
            return Tombstone("burned", now)

        return await self._write(run, now)

    async def receipt_status(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        def run(conn: sqlite3.Connection, now: int) -> ReceiptStatus:
            return tx.receipt(conn.execute(tx.RECEIPT, (receipt_hash, now)).fetchone(), now)

        return await self._read(run, now)

    async def receipt_statuses(
        self, receipt_hashes: Sequence[bytes], now: int
    ) -> list[ReceiptStatus | None]:
        wanted = list(dict.fromkeys(bytes(h) for h in receipt_hashes))
        if not wanted:
            return []

        def run(conn: sqlite3.Connection, now: int) -> list[ReceiptStatus | None]:
            # One statement for the whole batch: each hash is one lookup in the UNIQUE index.
            query = tx.RECEIPTS.format(marks=",".join("?" * len(wanted)))
            rows = conn.execute(query, (*wanted, now)).fetchall()
            found = {bytes(row[0]): tx.receipt(row[1:], now) for row in rows}
            return [found.get(bytes(h)) for h in receipt_hashes]

        return await self._read(run, now)

    async def burn_by_receipt(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        def run(conn: sqlite3.Connection, now: int) -> ReceiptStatus:
            row = conn.execute(tx.RECEIPT, (receipt_hash, now)).fetchone()
            status = tx.receipt(row, now)
            if status.state == "pending":
                tx.end(conn, row[0], "burned", now)
            elif status.state == "expired" and row[1] == "pending":
                tx.end(conn, row[0], "expired", row[4])
            return tx.receipt(conn.execute(tx.RECEIPT, (receipt_hash, now)).fetchone(), now)

        return await self._write(run, now)

    async def purge_expired(self, now: int) -> PurgeResult:
        def expire_batch(conn: sqlite3.Connection, now: int) -> int:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM records WHERE state = 'pending' AND expires_at <= ? LIMIT ?",
                    (now, PURGE_BATCH),
                )
            ]
            for id in ids:
                tx.end(conn, id, "expired", None)
            return len(ids)

        def purge_batch(conn: sqlite3.Connection, now: int) -> int:
            cursor = conn.execute(
                "DELETE FROM records WHERE id IN"
                " (SELECT id FROM records WHERE keep_until <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            )
            return cursor.rowcount

        # Small batches, each its own transaction, so the write lock is never held for long.
        expired = purged = 0
        while (count := await self._write(expire_batch, now)) > 0:
            expired += count
        while (count := await self._write(purge_batch, now)) > 0:
            purged += count
        requests_expired, requests_purged = await self._purge_requests(now)
        await self.sweep_files()
        return PurgeResult(expired, purged, requests_expired, requests_purged)
