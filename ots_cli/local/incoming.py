"""A file being received: written where no one can see it, published only once complete.

Invariants:

- The data is written to an anonymous file (Linux ``O_TMPFILE``) in the target directory, or,
  where that is not supported, to a hidden 0600 temporary name created with ``O_EXCL``. Either
  way, the target name shows nothing until :meth:`Incoming.publish` or
  :meth:`Incoming.replace` runs, which callers do only after the stream's final tag verified.
- :meth:`publish` never overwrites: it links the file under a name that does not exist yet
  (``link(2)`` fails on an existing name, atomically); :meth:`replace` swaps it over an existing
  path in one ``rename(2)``.
- The file is 0600 from its creation and never follows a symlink planted at the target name.
- Anything unfinished is removed by :meth:`discard` (an anonymous file vanishes on its own,
  even on SIGKILL).
- ``OSError`` does not escape: writing becomes :class:`~ots_cli.errors.TransferLost` (the
  secret was consumed and cannot be written), creating becomes the caller's error class.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from ots_cli.errors import OtsError, TransferLost, UsageError

__all__ = ["Incoming"]

_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
#: ``link(2)`` errors meaning "hard links do not work here", not "the name is taken".
_NO_LINKS = {errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


class Incoming:
    """One file being received into ``directory``."""

    def __init__(self, directory: Path, *, error: type[OtsError] = UsageError) -> None:
        self.directory = directory
        self.size = 0
        self._temporary: Path | None = None
        self._fd: int | None = None
        try:
            self._dir_fd = os.open(directory, os.O_RDONLY | _DIRECTORY)
        except OSError as exc:
            raise error(f"cannot write in {directory}: {exc.strerror or exc}") from exc
        try:
            self._fd = self._open(directory)
        except OSError as exc:
            os.close(self._dir_fd)
            raise error(f"cannot write in {directory}: {exc.strerror or exc}") from exc

    def _open(self, directory: Path) -> int:
        if _O_TMPFILE:
            try:
                return os.open(".", _O_TMPFILE | os.O_WRONLY, 0o600, dir_fd=self._dir_fd)
            except OSError as exc:
                # The file system does not support O_TMPFILE: fall back to a named file.
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
        temporary = directory / f".ots-{os.urandom(8).hex()}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
        fd = os.open(temporary, flags, 0o600)
        self._temporary = temporary
        return fd

    def write_all(self, chunks: Iterable[bytes]) -> None:
        """Write every chunk, then flush the file to disk."""
        fd = self._require()
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
                self.size += len(chunk)
            os.fsync(fd)
        except OSError as exc:
            raise TransferLost(
                f"cannot write the secret in {self.directory}: {exc.strerror or exc}; it was "
                "consumed on the server and is lost"
            ) from exc

    def publish(self, names: Iterable[str]) -> Path:
        """Give the file the first of ``names`` (in the directory) that is free; return it."""
        fd = self._require()
        for name in names:
            try:
                self._link(fd, name)
            except FileExistsError:
                continue
            self._close()
            return self.directory / name
        raise TransferLost(
            f"no free file name in {self.directory} for the secret; it was consumed and is lost"
        )

    def replace(self, name: str) -> Path:
        """Put the file at ``name`` in the directory, replacing what is there, atomically."""
        fd = self._require()
        staging = f".ots-{os.urandom(8).hex()}.part"
        self._link(fd, staging)
        dirs = {"src_dir_fd": self._dir_fd, "dst_dir_fd": self._dir_fd}
        try:
            os.replace(staging, name, **dirs)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(staging, dir_fd=self._dir_fd)
            raise TransferLost(
                f"cannot write {self.directory / name}: {exc.strerror or exc}"
            ) from exc
        self._close()
        return self.directory / name

    def discard(self) -> None:
        """Close and remove the file unless it was published."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with suppress(OSError):
            os.close(fd)
        with suppress(OSError):
            os.close(self._dir_fd)
        if self._temporary is not None:
            with suppress(OSError):
                self._temporary.unlink()

    def _link(self, fd: int, name: str) -> None:
        """Give the file ``name`` in the directory; FileExistsError if the name is taken."""
        at = self._dir_fd
        try:
            if self._temporary is None:
                # Naming an O_TMPFILE file: linkat(AT_SYMLINK_FOLLOW) through /proc reaches
                # the open file. Passing the directory descriptors makes Python use linkat
                # (plain link(2) would link the /proc symlink itself and fail).
                os.link(
                    f"/proc/self/fd/{fd}", name, src_dir_fd=at, dst_dir_fd=at, follow_symlinks=True
                )
                return
            os.link(self._temporary.name, name, src_dir_fd=at, dst_dir_fd=at)
        except FileExistsError:
            raise
        except OSError as exc:
            if self._temporary is None or exc.errno not in _NO_LINKS:
                raise TransferLost(
                    f"cannot write {self.directory / name}: {exc.strerror or exc}"
                ) from exc
            # No hard links here (some network and FAT file systems): check, then rename. The
            # window between the two is the price of such a file system.
            self._rename_temporary(name)
            return
        with suppress(OSError):
            self._temporary.unlink()
        self._temporary = None

    def _rename_temporary(self, name: str) -> None:
        assert self._temporary is not None
        path = self.directory / name
        if path.exists() or path.is_symlink():
            raise FileExistsError(path)
        try:
            os.rename(self._temporary, path)
        except OSError as exc:
            raise TransferLost(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._temporary = None

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            for descriptor in (fd, self._dir_fd):
                with suppress(OSError):
                    os.close(descriptor)

    def _require(self) -> int:
        if self._fd is None:
            raise ValueError("the file was already published or discarded")
        return self._fd
