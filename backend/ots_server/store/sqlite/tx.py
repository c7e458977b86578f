"""The statements the SQLite store's operations are built from: pure functions of a
connection, run on the writer lane (:mod:`ots_server.store.sqlite.lane`) or a reader thread.

A write's functions may run twice in one group (the lane's optimistic attempt is rolled back
when another write of the group raises), so they only read and write through the connection;
an expected result that must stick is raised as :class:`~ots_server.store.sqlite.lane.Outcome`,
and blob files to unlink after the commit are named with
:func:`~ots_server.store.sqlite.lane.doom`. The lookups compare verifiers with the pure rules
of :mod:`ots_server.store.rules`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ots_server.store import rules
from ots_server.store.outcomes import Gone, NotFound, StoreError, StoreFull
from ots_server.store.records import NewSecret, ReceiptStatus
from ots_server.store.sqlite.lane import Outcome, doom

LOOKUP = """
    SELECT r.link_verifier, r.state, r.state_at, r.created_at, r.expires_at, r.views_left,
           s.passphrase_verifier, s.attempts_left
    FROM records r LEFT JOIN secrets s ON s.id = r.id
    WHERE r.id = ? AND r.keep_until > ?
"""
#: LOOKUP and the body of a reveal, in one statement (columns 8-11: blob, file, size, binding).
REVEAL_LOOKUP = LOOKUP.replace(
    "s.attempts_left", "s.attempts_left, s.blob, s.file, s.size, s.binding"
)
RECEIPT = """
    SELECT id, state, state_at, created_at, expires_at, views, views_left, read_at
    FROM records WHERE receipt_hash = ? AND keep_until > ?
"""
#: ``RECEIPT`` for many hashes at once (``marks``: one ``?`` per hash), each row led by its hash.
RECEIPTS = """
    SELECT receipt_hash, id, state, state_at, created_at, expires_at, views, views_left, read_at
    FROM records WHERE receipt_hash IN ({marks}) AND keep_until > ?
"""


def used_bytes(conn: sqlite3.Connection) -> int:
    """What the quota counts: the pages in use plus the blob files."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    files = conn.execute(
        "SELECT coalesce(sum(size), 0) FROM secrets WHERE file IS NOT NULL"
    ).fetchone()[0]
    return int((pages - free) * page_size + files)


def check_quota(conn: sqlite3.Connection, size: int, limit: int) -> None:
    """Raise ``StoreFull`` unless ``size`` more bytes fit under ``limit`` (pages in use plus
    blob files)."""
    if used_bytes(conn) + size > limit:
        raise StoreFull("the store's quota is used up")


def insert_record(conn: sqlite3.Connection, secret: NewSecret) -> None:
    """Insert the record of ``secret`` (``sqlite3.IntegrityError`` if its id is taken)."""
    conn.execute(
        # An account deleted since the request authenticated links nothing.
        "INSERT INTO records (id, receipt_hash, link_verifier, created_at, expires_at,"
        " keep_until, views, views_left, state, account_id) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, 'pending', (SELECT id FROM accounts WHERE id = ?))",
        (
            secret.id,
            secret.receipt_hash,
            secret.link_verifier,
            secret.created_at,
            secret.expires_at,
            secret.keep_until,
            secret.views,
            secret.views,
            secret.account_id,
        ),
    )


def insert_file_body(conn: sqlite3.Connection, secret: NewSecret, file: str) -> None:
    """Insert the live body of a file-backed ``secret``: the header inline, the rest in
    ``file`` (already written and renamed into place)."""
    header = bytes(memoryview(secret.blob)[: secret.header_length])
    conn.execute(
        "INSERT INTO secrets (id, header_length, passphrase_verifier, attempts_left, blob,"
        " size, file, binding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            secret.id,
            secret.header_length,
            secret.passphrase_verifier,
            secret.attempts,
            header,
            secret.size,
            file,
            secret.binding,
        ),
    )


def insert_body(conn: sqlite3.Connection, secret: NewSecret) -> None:
    """Insert the live body of an inline ``secret`` (at most ``INLINE_MAX``, 64 KiB).

    The blob is bound as a parameter: SQLite copies it for the bind and into the row, at most
    128 KiB for a moment. (An earlier version wrote it through a ``zeroblob`` placeholder and
    incremental blob I/O with CHECKs switched off for the statement; toggling that pragma
    expired every prepared statement of the connection, so each create re-prepared them all,
    which cost about half the writer thread's time.)"""
    conn.execute(
        "INSERT INTO secrets (id, header_length, passphrase_verifier, attempts_left, blob,"
        " binding) VALUES (?, ?, ?, ?, ?, ?)",
        (
            secret.id,
            secret.header_length,
            secret.passphrase_verifier,
            secret.attempts,
            secret.blob,
            secret.binding,
        ),
    )


def lookup_live(
    conn: sqlite3.Connection, id: bytes, link_check: bytes, now: int, query: str = LOOKUP
) -> Any:
    """Inside the write transaction: the live row (of ``LOOKUP`` or ``REVEAL_LOOKUP``), or
    raise (committing an expiry first)."""
    row = conn.execute(query, (id, now)).fetchone()
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
