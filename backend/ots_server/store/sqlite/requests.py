"""The request half of the SQLite store: a mixin of
:class:`~ots_server.store.sqlite.store.SQLiteStore`.

Every change is one write of the writer lane (:mod:`ots_server.store.sqlite.lane`), so it runs
inside ``BEGIN IMMEDIATE``, which holds SQLite's one write lock across every process before it
reads: an answer looks the request up and stores the answer in the same transaction, so of any
number of concurrent answers (in any number of worker processes) exactly one finds the request
open. It is committed (``synchronous=FULL``) before the caller is answered. Reads (peek,
status) run on a reader thread and change nothing: an expiry they find is reported, and
written by the next write or the sweep.

The table is ``requests`` (:mod:`ots_server.store.sqlite.schema`, migration 4): ending a
request sets ``sealed`` to NULL in the same statement that records the state, and
``secure_delete`` zeroes the bytes it freed.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from ots_server.store import rules
from ots_server.store.outcomes import Answered, IdExists, RequestGone, StoreError
from ots_server.store.records import REQUEST_QUOTA_BYTES, NewRequest, RequestInfo
from ots_server.store.sqlite import tx as tx
from ots_server.store.sqlite.lane import Outcome, Work

T = TypeVar("T")

#: Rows the sweep changes per transaction (the write lock is never held for long).
PURGE_BATCH = 500

_LOOKUP = """
    SELECT answer_verifier, owner_verifier, state, state_at, created_at, expires_at, sealed
    FROM requests WHERE id = ? AND keep_until > ?
"""


def _end(conn: sqlite3.Connection, id: bytes, state: str, at: int) -> None:
    conn.execute(
        "UPDATE requests SET state = ?, state_at = ?, sealed = NULL WHERE id = ?", (state, at, id)
    )


def _lookup(
    conn: sqlite3.Connection, id: bytes, check: bytes, now: int, *, owner: bool, write: bool
) -> Any:
    """The row of a live request whose verifier (the owner's, or the answer's) ``check``
    matches, or raise; in a ``write``, an expiry found here is recorded."""
    row = conn.execute(_LOOKUP, (id, now)).fetchone()
    rules.require_link(None if row is None else row[1 if owner else 0], check)
    if not rules.request_live(row[2], row[3], row[5], now):
        if write:
            _end(conn, id, "expired", row[5])
        raise RequestGone("expired", row[5])
    return row


def _info(id: bytes, row: Any, *, sealed: bool = False) -> RequestInfo:
    return RequestInfo(
        id=id,
        created_at=row[4],
        expires_at=row[5],
        answered_at=row[3] if row[2] == "answered" else None,
        sealed=bytes(row[6]) if sealed and row[6] is not None else None,
    )


def _outcome(fn: Work[T]) -> Work[T]:
    """``fn`` with its store outcomes raised as ``Outcome``: kept (an expiry it recorded is
    committed) and reported after the commit, without the lane's rollback-and-retry."""

    def run(conn: sqlite3.Connection, now: int) -> T:
        try:
            return fn(conn, now)
        except StoreError as exc:
            raise Outcome(exc) from None

    return run


class SQLiteRequests:
    """Request methods over the store's read and write lanes (provided by the store)."""

    _max_store_bytes: int

    async def _read(self, fn: Work[T], now: int) -> T:
        raise NotImplementedError

    async def _write(self, fn: Work[T], now: int) -> T:
        raise NotImplementedError

    async def create_request(self, request: NewRequest) -> None:
        def run(conn: sqlite3.Connection, now: int) -> None:
            if self._max_store_bytes:
                tx.check_quota(conn, REQUEST_QUOTA_BYTES, self._max_store_bytes)
            # A record past keep_until counts as absent, even before the sweep removes it.
            conn.execute(
                "DELETE FROM requests WHERE id = ? AND keep_until <= ?",
                (request.id, request.created_at),
            )
            try:
                conn.execute(
                    "INSERT INTO requests (id, answer_verifier, owner_verifier, created_at,"
                    " expires_at, keep_until, state) VALUES (?, ?, ?, ?, ?, ?, 'open')",
                    (
                        request.id,
                        request.answer_verifier,
                        request.owner_verifier,
                        request.created_at,
                        request.expires_at,
                        request.keep_until,
                    ),
                )
            except sqlite3.IntegrityError:
                raise Outcome(IdExists()) from None

        await self._write(run, request.created_at)

    async def peek_request(self, id: bytes, answer_check: bytes, now: int) -> RequestInfo:
        def run(conn: sqlite3.Connection, now: int) -> RequestInfo:
            return _info(id, _lookup(conn, id, answer_check, now, owner=False, write=False))

        return await self._read(run, now)

    async def answer_request(
        self, id: bytes, answer_check: bytes, sealed: bytes, now: int
    ) -> RequestInfo:
        def run(conn: sqlite3.Connection, now: int) -> RequestInfo:
            row = _lookup(conn, id, answer_check, now, owner=False, write=True)
            if row[2] == "answered":
                raise Answered(row[3])
            conn.execute(
                "UPDATE requests SET state = 'answered', state_at = ?, sealed = ?"
                " WHERE id = ? AND state = 'open'",
                (now, sealed, id),
            )
            return RequestInfo(id, row[4], row[5], answered_at=now)

        return await self._write(_outcome(run), now)

    async def request_status(self, id: bytes, owner_check: bytes, now: int) -> RequestInfo:
        def run(conn: sqlite3.Connection, now: int) -> RequestInfo:
            return _info(
                id, _lookup(conn, id, owner_check, now, owner=True, write=False), sealed=True
            )

        return await self._read(run, now)

    async def close_request(self, id: bytes, owner_check: bytes, now: int) -> int:
        def run(conn: sqlite3.Connection, now: int) -> int:
            _lookup(conn, id, owner_check, now, owner=True, write=True)
            _end(conn, id, "closed", now)
            return now

        return await self._write(_outcome(run), now)

    async def _purge_requests(self, now: int) -> tuple[int, int]:
        """End expired requests and delete records past keep_until, in small batches."""

        def expire_batch(conn: sqlite3.Connection, now: int) -> int:
            return conn.execute(
                "UPDATE requests SET state = 'expired', state_at = expires_at, sealed = NULL"
                " WHERE id IN (SELECT id FROM requests WHERE state IN ('open', 'answered')"
                " AND expires_at <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            ).rowcount

        def purge_batch(conn: sqlite3.Connection, now: int) -> int:
            return conn.execute(
                "DELETE FROM requests WHERE id IN"
                " (SELECT id FROM requests WHERE keep_until <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            ).rowcount

        expired = purged = 0
        while (count := await self._write(expire_batch, now)) > 0:
            expired += count
        while (count := await self._write(purge_batch, now)) > 0:
            purged += count
        return expired, purged
