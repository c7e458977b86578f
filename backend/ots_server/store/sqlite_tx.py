"""Building blocks of the SQLite store's transactions: pure functions of a connection.

Everything here runs on a store thread with that thread's connection. :func:`in_transaction`
is the one way a write runs (under ``BEGIN IMMEDIATE``, always ending in COMMIT or ROLLBACK);
:class:`Outcome` carries an expected result that must be committed before it is raised (a
spent passphrase attempt, an expiry found on the way). The lookups compare verifiers with the
pure rules of :mod:`ots_server.store.rules`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ots_server.store import rules
from ots_server.store.base import (
    Gone,
    NewSecret,
    NotFound,
    ReceiptStatus,
    StoreError,
    StoreFull,
)

T = TypeVar("T")
#: A unit of work on a connection, given the time it takes effect at.
Work = Callable[[sqlite3.Connection, int], T]

#: Slice size for writing a blob through incremental blob I/O.
BLOB_CHUNK = 64 * 1024

#: Blob files whose rows the running transaction deleted (per writer thread).
_doomed = threading.local()

LOOKUP = """
    SELECT r.link_verifier, r.state, r.state_at, r.created_at, r.expires_at, r.views_left,
           s.passphrase_verifier, s.attempts_left
    FROM records r LEFT JOIN secrets s ON s.id = r.id
    WHERE r.id = ? AND r.keep_until > ?
"""
RECEIPT = """
    SELECT id, state, state_at, created_at, expires_at, views, views_left, read_at
    FROM records WHERE receipt_hash = ? AND keep_until > ?
"""


class Outcome(Exception):
    """Raised inside a write transaction to commit first and then raise ``error``."""

    def __init__(self, error: StoreError) -> None:
        super().__init__()
        self.error = error


def late(now: int, asked: float) -> int:
    """The caller's ``now`` plus the whole seconds since it asked (queue and lock waits)."""
    return now + int(time.monotonic() - asked)


def in_transaction(
    conn: sqlite3.Connection,
    fn: Callable[[sqlite3.Connection], T],
    on_commit: Callable[[list[str]], None] | None = None,
) -> T:
    """Run ``fn`` under the write lock; commit on success and on an ``Outcome``.

    ``on_commit`` gets the names of the blob files whose rows :func:`end` deleted, only once
    the COMMIT succeeded (so a rolled-back delete never loses its file).

    Every path out leaves the connection without an open transaction: if ``fn`` fails, or a
    COMMIT fails (on either path), the ``finally`` rolls back. Otherwise a failed COMMIT would
    leave the transaction open and every later ``BEGIN IMMEDIATE`` on this connection would
    fail."""
    _doomed.names = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        try:
            result = fn(conn)
        except Outcome as outcome:
            conn.execute("COMMIT")
            _committed(on_commit)
            raise outcome.error from None
        conn.execute("COMMIT")
        _committed(on_commit)
        return result
    finally:
        _doomed.names = []
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _committed(on_commit: Callable[[list[str]], None] | None) -> None:
    names: list[str] = _doomed.names
    _doomed.names = []
    if on_commit is not None and names:
        on_commit(names)


def doom(name: str | None) -> None:
    """Unlink this blob file once the running transaction commits."""
    if name is not None:
        _doomed.names.append(name)


def check_quota(conn: sqlite3.Connection, size: int, limit: int) -> None:
    """Raise ``StoreFull`` unless ``size`` more bytes fit under ``limit`` (pages in use plus
    blob files)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    files = conn.execute(
        "SELECT coalesce(sum(size), 0) FROM secrets WHERE file IS NOT NULL"
    ).fetchone()[0]
    if (pages - free) * page_size + files + size > limit:
        raise StoreFull("the store's quota is used up")


def insert_file_body(conn: sqlite3.Connection, secret: NewSecret, file: str) -> None:
    """Insert the live body of a file-backed ``secret``: the header inline, the rest in
    ``file`` (already written and renamed into place)."""
    header = bytes(memoryview(secret.blob)[: secret.header_length])
    conn.execute(
        "INSERT INTO secrets (id, header_length, passphrase_verifier, attempts_left, blob,"
        " size, file) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            secret.id,
            secret.header_length,
            secret.passphrase_verifier,
            secret.attempts,
            header,
            secret.size,
            file,
        ),
    )


def insert_body(conn: sqlite3.Connection, secret: NewSecret) -> None:
    """Insert the live body of ``secret``, writing the blob from the caller's buffer.

    The row is inserted with a ``zeroblob`` placeholder that incremental blob I/O then fills
    in 64 KiB slices, so SQLite never holds the blob whole in memory (a bound parameter is
    copied once for the bind and once more into the row). The table's CHECK on
    ``length(blob)`` would make SQLite expand the placeholder in memory anyway, so CHECKs are
    switched off for this one statement and its four rules are enforced here instead. Toggling
    the pragma expires prepared statements, so no other statement runs without its CHECKs.
    """
    size = len(secret.blob)
    verifier = secret.passphrase_verifier
    if (
        not 1 <= secret.header_length <= size
        or (verifier is not None and len(verifier) != 32)
        or (secret.attempts is not None and secret.attempts < 1)
    ):
        raise ValueError("a secret body that breaks the schema's rules")
    conn.execute("PRAGMA ignore_check_constraints = ON")
    try:
        cursor = conn.execute(
            "INSERT INTO secrets (id, header_length, passphrase_verifier, attempts_left, blob)"
            " VALUES (?, ?, ?, ?, zeroblob(?))",
            (secret.id, secret.header_length, verifier, secret.attempts, size),
        )
    finally:
        conn.execute("PRAGMA ignore_check_constraints = OFF")
    assert cursor.lastrowid is not None
    view = memoryview(secret.blob)
    with conn.blobopen("secrets", "blob", cursor.lastrowid) as handle:
        for start in range(0, size, BLOB_CHUNK):
            handle.write(view[start : start + BLOB_CHUNK])


def precheck(conn: sqlite3.Connection, id: bytes, link_check: bytes, now: int) -> None:
    """A lock-free look: raise ``NotFound``/``Gone`` early for secrets that are clearly not live."""
    row = conn.execute(LOOKUP, (id, now)).fetchone()
    rules.require_link(row[0] if row else None, link_check)
    rules.require_live(row[1], row[2], row[4], now)


def lookup_live(conn: sqlite3.Connection, id: bytes, link_check: bytes, now: int) -> Any:
    """Inside the write transaction: the live row, or raise (committing an expiry first)."""
    row = conn.execute(LOOKUP, (id, now)).fetchone()
    try:
        rules.require_link(row[0] if row else None, link_check)
        live = rules.require_live(row[1], row[2], row[4], now)
    except StoreError as exc:
        raise Outcome(exc) from None
    if not live:
        end(conn, id, "expired", row[4])
        raise Outcome(Gone("expired", row[4]))
    return row


def end(conn: sqlite3.Connection, id: bytes, state: str, at: int | None) -> None:
    """Delete the body and turn the record into a tombstone (``at=None``: at expiry); its
    blob file, if any, is unlinked after the commit."""
    row = conn.execute("DELETE FROM secrets WHERE id = ? RETURNING file", (id,)).fetchone()
    if row is not None:
        doom(row[0])
    conn.execute(
        "UPDATE records SET state = ?, state_at = coalesce(?, expires_at) WHERE id = ?",
        (state, at, id),
    )


def receipt(row: Any, now: int) -> ReceiptStatus:
    if row is None:
        raise NotFound
    id, state, state_at, created_at, expires_at, views, views_left, read_at = row
    shown = rules.receipt_state(state, expires_at, now)
    return ReceiptStatus(
        id=bytes(id),
        state=shown,
        created_at=created_at,
        expires_at=expires_at,
        views=views,
        views_left=views_left,
        read_at=read_at,
        burned_at=state_at if state == "burned" else None,
    )
