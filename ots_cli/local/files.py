"""Private files and directories: created 0700/0600 from the start, replaced atomically.

Invariants:

- A file this module creates is opened with ``O_CREAT | O_EXCL`` and mode 0600, so it is never
  readable by anyone else for even an instant (no write-then-chmod) and never follows a symlink
  planted at its name.
- :func:`write_atomic` writes a temporary sibling and ``os.replace``s it over the target, so a
  reader sees the old content or the new one, never half of either.
- Directories this module creates are 0700; existing directories are left as they are.
- ``OSError`` does not escape: it becomes the :class:`~ots_cli.errors.OtsError` subclass the
  caller names (a config problem for local state, a usage problem for ``-o FILE``).
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from ots_cli.errors import ConfigError, OtsError, UsageError

__all__ = ["ReservedFile", "create_exclusive", "ensure_dir", "write_atomic"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY


def ensure_dir(path: Path, *, error: type[OtsError] = ConfigError) -> Path:
    """Create ``path`` and any missing parents with mode 0700; return ``path``."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    try:
        for directory in reversed(missing):
            with suppress(FileExistsError):
                os.mkdir(directory, 0o700)
        if not path.is_dir():
            raise error(f"{path} exists and is not a directory")
    except OSError as exc:
        raise error(f"cannot create directory {path}: {exc.strerror or exc}") from exc
    return path


def create_exclusive(path: Path, data: bytes, *, error: type[OtsError] = UsageError) -> None:
    """Create ``path`` (0600) with ``data``; refuse if anything exists at that name."""
    ReservedFile(path, error=error).fill(data)


class ReservedFile:
    """An output file claimed now (created empty, 0600, O_EXCL) and filled or removed later.

    Lets a caller make sure it can write its result *before* doing something that cannot be
    undone, such as consuming a one-time secret.
    """

    def __init__(self, path: Path, *, error: type[OtsError] = UsageError) -> None:
        self.path = path
        self._error = error
        try:
            self._fd: int | None = os.open(path, _NEW_FILE, 0o600)
        except FileExistsError as exc:
            raise error(f"{path} already exists", hints=("pass --force to replace it",)) from exc
        except OSError as exc:
            raise error(f"cannot create {path}: {exc.strerror or exc}") from exc

    def fill(self, data: bytes) -> None:
        """Write ``data`` and close; on failure the file is removed."""
        fd, self._fd = self._fd, None
        if fd is None:
            raise ValueError("the file was already filled or discarded")
        try:
            _write_all(fd, self.path, data, self._error)
        except BaseException:
            # The file is ours (O_EXCL): a partial secret must not be left behind.
            self.path.unlink(missing_ok=True)
            raise

    def keep(self) -> None:
        """Close the file and leave the name alone: something else was put there."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with suppress(OSError):
                os.close(fd)

    def discard(self) -> None:
        """Close and remove the file, unless it was filled or kept."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with suppress(OSError):
                os.close(fd)
            with suppress(OSError):
                self.path.unlink()


def write_atomic(path: Path, data: bytes, *, error: type[OtsError] = ConfigError) -> None:
    """Replace ``path`` with a new 0600 file holding ``data``, atomically."""
    temporary = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
    try:
        fd = os.open(temporary, _NEW_FILE, 0o600)
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        _write_all(fd, path, data, error)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_all(fd: int, path: Path, data: bytes, error: type[OtsError]) -> None:
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror or exc}") from exc
