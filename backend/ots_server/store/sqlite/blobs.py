"""Blob files of the SQLite store: large ciphertext kept outside the database.

A blob larger than :data:`INLINE_MAX` (64 KiB) is written to its own file in a private
directory next to the database (``<database>.blobs/``, mode 0700); the ``secrets`` row keeps
the header bytes inline (peek reads them there), the size and the file's random name.

Write order of a create, chosen so a crash at any point leaves at most an *orphan* (a file no
row references) and never a row without its file:

1. write the blob to ``.tmp-<random>`` (``O_CREAT | O_EXCL``, 0600), ``fsync`` it;
2. rename it to ``<random>`` and ``fsync`` the directory;
3. insert the row and commit. On any failure the file is removed.

Deleting a secret (last view, burn, expiry, attempts used up) deletes the row first and
unlinks the file after that commit; a crash in between leaves an orphan. :meth:`BlobDir.sweep`
(run by the expiry sweep and at start-up) removes orphans and temp files older than a grace
period, so an upload in flight is never removed under its writer.

Files are *unlinked*, not overwritten: on a journaling or copy-on-write file system or an SSD
an overwrite would not reliably reach the old blocks anyway. What is unlinked is ciphertext
whose key never reached the server.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

import anyio

from ots_server.store.outcomes import StoreError, StoreFull, StoreUnavailable
from ots_server.store.records import Blob


def store_error(exc: OSError) -> StoreError:
    """A failed blob file operation as the store outcome the app maps (507 or 503).

    A full disk or quota, and a file grown past the largest the process may write
    (``EFBIG``: ``RLIMIT_FSIZE``, systemd's ``LimitFSIZE=``, or the file system's maximum),
    are 507: the blob cannot be kept, and retrying the same upload would fail the same way.
    Anything else is 503."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull("the blob directory's disk is full")
    if exc.errno == errno.EFBIG:
        return StoreFull("a blob file passed the file size limit (EFBIG)")
    return StoreUnavailable(f"blob file: {type(exc).__name__}")


#: Blobs up to this size stay inline in the ``secrets`` row; larger ones become files.
INLINE_MAX = 64 * 1024
#: Write and read size of blob files.
CHUNK = 64 * 1024
#: Files younger than this are never swept (an upload may be between rename and commit).
SWEEP_GRACE = 300.0
TEMP_PREFIX = ".tmp-"


class BlobDir:
    """The private directory of one database's blob files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)

    def _fsync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, blob: Blob) -> str:
        """Write ``blob`` durably under a fresh random name and return the name."""
        name = secrets.token_hex(16)
        temp = self.path / (TEMP_PREFIX + name)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                view = memoryview(blob)
                for start in range(0, len(view), CHUNK):
                    piece = view[start : start + CHUNK]
                    while piece:
                        piece = piece[os.write(fd, piece) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temp, self.path / name)
            self._fsync_dir()
        except BaseException:
            self.remove(TEMP_PREFIX + name)
            self.remove(name)
            raise
        return name

    def open(self, name: str) -> int:
        """A read-only descriptor of the file (it stays readable after an unlink)."""
        return os.open(self.path / name, os.O_RDONLY | os.O_CLOEXEC)

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path / name)

    def remove_all(self, names: Iterable[str]) -> None:
        for name in names:
            # A failed unlink leaves an orphan for the sweep; the delete itself has committed.
            with contextlib.suppress(OSError):
                self.remove(name)

    def names(self) -> list[str]:
        return [entry.name for entry in os.scandir(self.path) if entry.is_file()]

    def sweep(self, referenced: set[str], listed: list[str], *, grace: float) -> int:
        """Remove ``listed`` files that no row references and are older than ``grace``.

        ``listed`` must be read *before* ``referenced``: a file renamed and committed in
        between is then referenced, and one still before its commit is younger than the
        grace."""
        cutoff = time.time() - grace
        removed = 0
        for name in listed:
            if name in referenced:
                continue
            try:
                if os.stat(self.path / name).st_mtime > cutoff:
                    continue
                os.unlink(self.path / name)
            except FileNotFoundError:
                continue
            removed += 1
        return removed


class Staging:
    """One upload being streamed into a temp file of ``directory`` (``O_EXCL``, 0600).

    :meth:`finish` fsyncs it, renames it to its final name and fsyncs the directory;
    :meth:`abort` (idempotent, also after ``finish`` failed) removes whatever exists."""

    def __init__(self, directory: BlobDir) -> None:
        self._dir = directory
        self.name = secrets.token_hex(16)
        self.size = 0
        self._temp = directory.path / (TEMP_PREFIX + self.name)
        try:
            self._fd: int | None = os.open(
                self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
            )
        except OSError as exc:
            raise store_error(exc) from exc

    def _write(self, data: Blob) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    async def write(self, data: Blob) -> None:
        try:
            # anyio waits for the thread even when cancelled (a cut connection), so abort()
            # never closes the descriptor under a write still running.
            await anyio.to_thread.run_sync(self._write, data)
        except OSError as exc:
            raise store_error(exc) from exc
        self.size += len(data)

    def _finish(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        os.rename(self._temp, self._dir.path / self.name)
        self._dir._fsync_dir()

    async def finish(self) -> str:
        try:
            await anyio.to_thread.run_sync(self._finish)
        except OSError as exc:
            raise store_error(exc) from exc
        return self.name

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._dir.remove_all([TEMP_PREFIX + self.name, self.name])
