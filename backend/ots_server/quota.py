"""Room for uploads in flight under ``OTS_MAX_STORE_BYTES`` (the SQLite store's quota).

The store checks its quota when a create commits. By then the body has arrived, and a blob
past 64 KiB has been staged on disk as it came (:mod:`ots_server.bodies`), so many concurrent
uploads could fill the disk far past the quota before each one was refused. So while its body
arrives, a create holds a :class:`Hold` on the process's :class:`Quota`:

- a declared ``Content-Length`` is reserved before any of the body is read (``507`` at once
  when it cannot fit); a chunked body reserves what has arrived, chunk by chunk, before the
  chunk is kept (``507`` the moment it stops fitting);
- when the create ends the hold is released: if it was stored, its size counts as used.

Invariant, per process: ``used + reserved <= limit`` whenever a chunk is kept. ``used`` is the
store's own measure (:meth:`~ots_server.store.sqlite.store.SQLiteStore.used_bytes`: pages in use
plus blob files), taken when a create starts if the last one is over :data:`REFRESH` seconds
old, plus what this process stored since that measurement began; space freed since then is
seen at the next one (conservative). Reservations live in this process only: with several
worker processes, the uploads in flight of the others are not seen, so together they may
overshoot by up to (workers - 1) times the room that was left. The store's check at commit
still refuses anything past the quota, so stored data never passes it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ots_server.store import StoreFull

#: Seconds a measurement of the store's size is used before a create takes a new one.
REFRESH = 1.0


@runtime_checkable
class MeasuresUsage(Protocol):
    """A store with a quota (SQLite): how many bytes its quota counts now."""

    async def used_bytes(self) -> int: ...


class Quota:
    """The quota of one process: the store's size as last measured, and the room held."""

    def __init__(
        self, limit: int, store: MeasuresUsage, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.store = store
        self.clock = clock
        self.used = 0
        self.reserved = 0
        #: Bytes this process has stored since it started (for measurements in progress).
        self.stored = 0
        self._measured_at = -math.inf
        self._lock = asyncio.Lock()

    async def hold(self) -> Hold:
        """A new, empty hold; measures the store first if the last measure is too old."""
        async with self._lock:
            if self.clock() - self._measured_at >= REFRESH:
                stored_before = self.stored
                used = await self.store.used_bytes()
                # Creates stored meanwhile may or may not be in ``used``: count them (again).
                self.used = used + self.stored - stored_before
                self._measured_at = self.clock()
        return Hold(self)


class Hold:
    """The room one upload holds; grows with the upload, released when the create ends."""

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self.amount = 0

    def grow(self, total: int) -> None:
        """Hold room for ``total`` bytes of this upload, or raise ``StoreFull``."""
        more = total - self.amount
        if more <= 0:
            return
        quota = self.quota
        if quota.used + quota.reserved + more > quota.limit:
            raise StoreFull("the store's quota has no room for this upload")
        quota.reserved += more
        self.amount = total

    def stored(self) -> None:
        """The upload was stored: what it held now counts as used."""
        quota = self.quota
        quota.reserved -= self.amount
        quota.used += self.amount
        quota.stored += self.amount
        self.amount = 0

    def release(self) -> None:
        """Give back what is still held (nothing after :meth:`stored`)."""
        self.quota.reserved -= self.amount
        self.amount = 0
