"""The SQLite writer lane: group commit of every write of a process on one writer thread.

While the writer thread runs a transaction, newly queued writes wait; the thread then takes up
to :data:`GROUP_MAX` of them and runs them in ONE ``BEGIN IMMEDIATE … COMMIT``
(:func:`in_transaction`), so one fsync'd commit (``synchronous=FULL``) carries many writes.
Each write keeps the outcome it would have had alone:

- a write that raises is rolled back and its caller gets its own exception; the others go on;
- an :class:`Outcome` (an expected result that must stick: a spent passphrase attempt, an
  expiry found on the way) keeps its changes, and its error is raised once the group committed;
- no caller is answered before the COMMIT succeeded; if BEGIN or COMMIT fails, or an error
  made SQLite roll back the whole transaction, every write of the group fails (a store error,
  nothing of the group persisted), and a connection whose ROLLBACK failed too is replaced;
- blob files whose rows a write deleted (:func:`doom`) are unlinked only after the COMMIT, and
  never those of a write that was rolled back.

Optimistic first attempt. A group first runs without savepoints: every statement ends with
the writer thread waiting for the GIL, which the event loop holds in bursts, and a savepoint
and its release are two more statements per write (docs/decisions.md). Writes almost never
raise; when one does (anything but an :class:`Outcome`), the attempt is rolled
back whole, every result of it is discarded (a revealed file's descriptor is closed) and the
group runs again with one ``SAVEPOINT`` per write, which rolls back the failing write alone.
A write's work must therefore be safe to run twice: it is a function of the connection and
its ``now`` only, and any resource it opens is freed by its ``discard``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ots_server.store.outcomes import StoreError, StoreFull, StoreUnavailable

T = TypeVar("T")
#: A unit of work on a connection, given the time it takes effect at.
Work = Callable[[sqlite3.Connection, int], T]

#: Most writes one transaction carries: bounds the time the write lock is held (other
#: processes wait for it) and the callers a failed COMMIT fails together.
GROUP_MAX = 64

#: Blob files whose rows the running transaction deleted (per writer thread).
_doomed = threading.local()


class Outcome(Exception):
    """Raised inside a write transaction to commit first and then raise ``error``."""

    def __init__(self, error: StoreError) -> None:
        super().__init__()
        self.error = error


def late(now: int, asked: float) -> int:
    """The caller's ``now`` plus the whole seconds since it asked (queue and lock waits)."""
    return now + int(time.monotonic() - asked)


def sqlite_error(exc: sqlite3.Error) -> StoreError:
    """An sqlite3 failure as the store outcome the app maps (507 or 503)."""
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return StoreFull("sqlite: the database or disk is full")
    return StoreUnavailable(f"sqlite: {type(exc).__name__}")


@dataclass(eq=False)
class Op(Generic[T]):
    """One write of a group: its work and, once it ran, its result or its error."""

    work: Callable[[sqlite3.Connection], T]
    #: Frees a result no caller will take (a revealed file's descriptor).
    discard: Callable[[T], None] | None = None
    result: T | None = None
    error: BaseException | None = None
    #: The work returned (its result is then owned by the lane until a caller takes it).
    ran: bool = False

    def forget(self) -> None:
        """Back to not run: its attempt was rolled back (a result it holds is discarded)."""
        if self.ran and self.discard is not None:
            self.discard(self.result)  # type: ignore[arg-type]
        self.result, self.error, self.ran = None, None, False


class GroupLost(Exception):
    """An operation's error made SQLite roll back the whole transaction (``__cause__``)."""


def in_transaction(
    conn: sqlite3.Connection,
    ops: list[Op[Any]],
    on_commit: Callable[[list[str]], None] | None = None,
) -> None:
    """Run ``ops`` under the write lock and COMMIT once: all together first, and if one of
    them raised, once more with a savepoint each (see the module docstring).

    Fills in every op's ``result`` or ``error``: an op that raises is rolled back to its
    savepoint and keeps its exception; an ``Outcome`` keeps its changes and its error. Raises
    when the transaction as a whole failed (BEGIN, COMMIT, or :class:`GroupLost`); nothing of
    the group is committed then, and the caller fails every op.

    ``on_commit`` gets the names of the blob files the kept ops doomed (:func:`doom`), only
    once the COMMIT succeeded (so a rolled-back delete never loses its file).

    Every path out leaves the connection without an open transaction: if anything fails, the
    ``finally`` rolls back. Otherwise a failed COMMIT would leave the transaction open and
    every later ``BEGIN IMMEDIATE`` on this connection would fail."""
    doomed: list[str] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not _all_at_once(conn, ops, doomed):
            conn.execute("ROLLBACK")
            for op in ops:
                op.forget()
            doomed.clear()
            conn.execute("BEGIN IMMEDIATE")
            _each_in_savepoint(conn, ops, doomed)
        conn.execute("COMMIT")
    finally:
        _doomed.names = []
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    if on_commit is not None and doomed:
        on_commit(doomed)


def _all_at_once(conn: sqlite3.Connection, ops: list[Op[Any]], doomed: list[str]) -> bool:
    """The optimistic attempt: every op in the open transaction, no savepoints. False as soon
    as one raises (but an ``Outcome``): the caller rolls the attempt back."""
    for op in ops:
        _doomed.names = []
        if _attempt(conn, op) is not None:
            return False
        doomed += _doomed.names
    return True


def _each_in_savepoint(conn: sqlite3.Connection, ops: list[Op[Any]], doomed: list[str]) -> None:
    """Every op in a savepoint of its own: one that raises is rolled back alone."""
    for op in ops:
        _doomed.names = []
        conn.execute("SAVEPOINT op")
        failure = _attempt(conn, op)
        if failure is not None:
            op.error = failure
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            continue
        conn.execute("RELEASE op")
        doomed += _doomed.names


def _attempt(conn: sqlite3.Connection, op: Op[Any]) -> Exception | None:
    """Run ``op``'s work: its result, or its ``Outcome``'s error, is kept on it; any other
    exception is returned. Raises :class:`GroupLost` (the op keeps the cause as its error)
    when SQLite gave up the whole transaction (e.g. an I/O error)."""
    try:
        op.result = op.work(conn)
        op.ran = True
    except Outcome as outcome:
        op.error = outcome.error
    except Exception as exc:
        if not conn.in_transaction:
            op.error = exc
            raise GroupLost from exc
        return exc
    return None


@dataclass(eq=False)
class _Queued(Generic[T]):
    op: Op[T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


class WriteLane:
    """The group commit of one writer thread (see the module docstring).

    ``executor`` is the store's single writer thread; ``connection`` gives that thread's
    connection and ``discard_connection`` throws one away. Writes queue here; at most one
    drain job is queued on the executor at a time, and it takes the next group when the
    previous one committed, so a group grows with the load (one write alone is committed
    alone, at once). Other jobs on the executor (diagnostics) run between two groups.

    Hand-off per event-loop tick: a write joins its loop's batch, and the batch reaches the
    shared queue in one step (one lock, at most one wake-up of the writer thread) from a
    callback at the end of the tick, so the requests one tick handles cross to the writer
    thread together rather than one lock and one possible futex wait each (contending with
    the writer thread for that lock also hands it the GIL)."""

    def __init__(
        self,
        executor: Executor,
        connection: Callable[[], sqlite3.Connection],
        discard_connection: Callable[[sqlite3.Connection], None],
        on_commit: Callable[[list[str]], None],
    ) -> None:
        self._executor = executor
        self._connection = connection
        self._discard_connection = discard_connection
        self._on_commit = on_commit
        self._lock = threading.Lock()
        self._queue: deque[_Queued[Any]] = deque()
        self._scheduled = False
        #: Writes of the running tick, per event loop (each loop touches only its own entry).
        self._batches: dict[asyncio.AbstractEventLoop, list[_Queued[Any]]] = {}
        #: Successful COMMITs, and the writes they carried (diagnostics and tests).
        self.commits = 0
        self.committed_writes = 0

    def queued(self) -> int:
        """Writes waiting for their group (diagnostics and tests)."""
        with self._lock:
            return len(self._queue)

    async def run(
        self, work: Callable[[sqlite3.Connection], T], discard: Callable[[T], None] | None = None
    ) -> T:
        """``work``'s result once its group committed; its own error, or the group's."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = []
            loop.call_soon(self._flush, loop)
        batch.append(_Queued(Op(work, discard), loop, future))
        try:
            return await future
        except asyncio.CancelledError:
            # Cancelled after the result was handed over but before this task resumed.
            handed = future.done() and not future.cancelled() and future.exception() is None
            if handed and discard is not None:
                discard(future.result())
            raise

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``, once per tick with writes: its batch joins the queue."""
        batch = self._batches.pop(loop)
        with self._lock:
            self._queue.extend(batch)
            start = not self._scheduled
            self._scheduled = True
        if start:
            self._schedule()

    def _schedule(self) -> None:
        try:
            self._executor.submit(self._drain)
        except RuntimeError:  # the executor was shut down: the store is closed
            with self._lock:
                left = list(self._queue)
                self._queue.clear()
                self._scheduled = False
            for queued in left:
                queued.op.error = StoreUnavailable("the store is closed")
            _settle(left)

    def _drain(self) -> None:
        while True:
            with self._lock:
                group = [self._queue.popleft() for _ in range(min(GROUP_MAX, len(self._queue)))]
            try:
                self._commit(group)
            finally:
                _settle(group)
            with self._lock:
                if not self._queue:
                    self._scheduled = False
                    return
            try:
                self._executor.submit(self._drain)  # let other jobs of the thread in between
                return
            except RuntimeError:  # shutting down: finish what is queued here
                continue

    def _commit(self, group: list[_Queued[Any]]) -> None:
        ops = [queued.op for queued in group]
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connection()
            in_transaction(conn, ops, self._on_commit)
        except BaseException as exc:
            if conn is not None and conn.in_transaction:  # even ROLLBACK failed
                self._discard_connection(conn)
            cause = (exc.__cause__ if isinstance(exc, GroupLost) else None) or exc
            for queued in group:
                op = queued.op
                if op.ran and op.discard is not None:
                    op.discard(op.result)  # rolled back: nobody may read it
                op.ran = False
                if isinstance(exc, GroupLost) and op.error is cause:
                    continue  # the op that broke the transaction keeps its own error
                op.error = _group_error(cause)
            return
        self.commits += 1
        self.committed_writes += len(ops)


def _settle(group: list[_Queued[Any]]) -> None:
    """Hand every outcome of ``group`` to its caller's event loop (from the writer thread):
    one wake-up of each loop, not one per write."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Queued[Any]]] = {}
    for queued in group:
        by_loop.setdefault(queued.loop, []).append(queued)
    for loop, queued_here in by_loop.items():
        try:
            loop.call_soon_threadsafe(_hand_over, queued_here)
        except RuntimeError:  # the callers' event loop is closed: nobody takes a result
            for queued in queued_here:
                _unclaimed(queued)


def _hand_over(group: list[_Queued[Any]]) -> None:
    """On the callers' event loop: resolve each future with its result or error."""
    for queued in group:
        op, future = queued.op, queued.future
        if future.done():  # the caller was cancelled and is gone
            _unclaimed(queued)
        elif isinstance(op.error, sqlite3.Error):
            error = sqlite_error(op.error)
            error.__cause__ = op.error
            future.set_exception(error)
        elif op.error is not None:
            future.set_exception(op.error)
        else:
            future.set_result(op.result)


def _unclaimed(queued: _Queued[Any]) -> None:
    if queued.op.ran and queued.op.discard is not None:
        queued.op.discard(queued.op.result)


def _group_error(cause: BaseException) -> StoreError:
    """What each write of a failed group is told (a fresh exception per caller)."""
    if isinstance(cause, sqlite3.Error):
        error = sqlite_error(cause)
    elif isinstance(cause, StoreError):
        error = StoreUnavailable(f"sqlite: {type(cause).__name__}")
    else:
        error = StoreUnavailable(f"sqlite: the transaction failed ({type(cause).__name__})")
    error.__cause__ = cause
    return error


def doom(name: str | None) -> None:
    """Unlink this blob file once the running transaction commits."""
    if name is not None:
        _doomed.names.append(name)
