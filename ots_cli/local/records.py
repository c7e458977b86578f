"""A directory of private JSON records, one file per id: what receipts and request files share.

``<directory>/<id>.json`` (the id is 22 characters of base64url) holds one versioned JSON
object. :mod:`ots_cli.local.receipts` and :mod:`ots_cli.local.request_files` each say what a
record holds and check its fields; this module lists the files, reads one, and resolves a
reference the way both commands accept it.

Invariants:

- Files are written by :mod:`ots_cli.local.files` (0600, ``O_EXCL`` or atomically replaced);
  nothing here writes.
- A file that is not a JSON object with the expected ``version`` is a
  :class:`~ots_cli.errors.ConfigError` naming the file; an unreadable directory or file too.
  A missing directory is no records.
- A reference is an exact id, else a unique id prefix of at least :data:`MIN_PREFIX`
  characters, else an exact label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ots_cli.errors import ConfigError

__all__ = ["ID", "MIN_PREFIX", "matching", "read_object", "record_files"]

T = TypeVar("T")

#: A record's id: the canonical base64url of 16 bytes.
ID = re.compile(r"[A-Za-z0-9_-]{22}\Z")
_NAME = re.compile(r"[A-Za-z0-9_-]{22}\.json\Z")
#: The shortest id prefix a reference may be.
MIN_PREFIX = 6


def record_files(directory: Path) -> list[Path]:
    """The record files in ``directory`` (none when it does not exist), in no order."""
    try:
        names = [entry.name for entry in directory.iterdir()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read {directory}: {exc.strerror or exc}") from exc
    return [directory / name for name in names if _NAME.match(name)]


def read_object(
    path: Path, *, version: int, problem: str, hints: tuple[str, ...]
) -> dict[str, Any]:
    """The JSON object in ``path`` without its ``version`` field, which must be ``version``.

    ``problem`` and ``hints`` make the error for a file that is not such an object."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError:
        raise ConfigError(problem, hints=hints) from None
    if not isinstance(data, dict) or data.pop("version", None) != version:
        raise ConfigError(problem, hints=hints)
    return data


def matching(
    records: Sequence[T],
    reference: str,
    *,
    id_of: Callable[[T], str],
    label_of: Callable[[T], str | None],
) -> list[T]:
    """The records ``reference`` names: by exact id, else unique-prefix candidates (at least
    :data:`MIN_PREFIX` characters), else by exact label. The caller decides what 0 or 2+ mean."""
    matches = [r for r in records if id_of(r) == reference]
    if not matches and len(reference) >= MIN_PREFIX:
        matches = [r for r in records if id_of(r).startswith(reference)]
    if not matches:
        matches = [r for r in records if label_of(r) is not None and label_of(r) == reference]
    return matches
