"""The sender's local receipts: one private JSON file per shared secret.

A receipt lets the sender ask the server what happened to a secret (pending, read, burned,
expired) and burn it early, without the link. It holds the server's receipt token, the id,
the server URL, times, counts and an optional local label.

Invariants:

- A receipt NEVER holds the key, the link, a proof or anything derived from the key; holding a
  receipt cannot decrypt or consume a secret.
- Files live in ``<receipts dir>/<id>.json`` (0600, directory 0700), are created with O_EXCL and
  updated atomically. Names that are not ``<22 base64url chars>.json`` are ignored.
- A file that does not parse is a :class:`~ots_cli.errors.ConfigError` naming the file.
- A receipt is removed only on request (``ots forget``, ``ots list --prune``); removing one
  changes nothing on the server.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ots_cli.errors import ConfigError, NotFound, UsageError
from ots_cli.local.files import create_exclusive, ensure_dir, write_atomic
from ots_cli.local.records import ID, matching, read_object, record_files

__all__ = ["Receipt", "ReceiptStore"]

_VERSION = 1
#: Shortest id prefix accepted as a reference (as shown by ``ots list``).
#: How long a server keeps a receipt after its secret's expiry, when it cannot be asked: the
#: server's default ``OTS_RECEIPT_GRACE`` (``ots list --prune`` drops receipts older than that).
DEFAULT_GRACE = 7 * 86_400


@dataclass(frozen=True)
class Receipt:
    id: str
    server: str
    token: str = field(repr=False)
    created_at: int
    expires_at: int
    views: int
    passphrase: bool
    label: str | None = None
    state: str = "pending"
    views_left: int | None = None
    read_at: int | None = None
    burned_at: int | None = None
    checked_at: int | None = None

    def updated(self, **changes: Any) -> Receipt:
        return replace(self, **changes)


class ReceiptStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, receipt: Receipt) -> Path:
        path = self._path(receipt.id)
        ensure_dir(self.directory)
        create_exclusive(path, _dump(receipt), error=ConfigError)
        return path

    def update(self, receipt: Receipt) -> None:
        ensure_dir(self.directory)
        write_atomic(self._path(receipt.id), _dump(receipt))

    def remove(self, id: str) -> None:
        """Delete the receipt file of ``id`` (:class:`NotFound` when there is none)."""
        try:
            self._path(id).unlink()
        except FileNotFoundError:
            raise NotFound("no local receipt matches that reference") from None
        except OSError as exc:
            raise ConfigError(f"cannot remove the receipt: {exc.strerror or exc}") from exc

    def get(self, id: str) -> Receipt | None:
        path = self._path(id)
        return _load(path) if path.exists() else None

    def all(self) -> list[Receipt]:
        """Every receipt, newest first."""
        receipts = [_load(path) for path in record_files(self.directory)]
        return sorted(receipts, key=lambda r: (r.created_at, r.id), reverse=True)

    def find(self, reference: str) -> Receipt:
        """A receipt by id, unique id prefix (at least 6 characters) or exact label."""
        matches = matching(self.all(), reference, id_of=lambda r: r.id, label_of=lambda r: r.label)
        if len(matches) > 1:
            raise UsageError(
                f"{len(matches)} receipts match that reference",
                hints=("give more characters of the id, as shown by `ots list`",),
            )
        if not matches:
            raise NotFound(
                "no local receipt matches that reference",
                hints=("`ots list` shows your receipts; to check a link, pass the whole link",),
            )
        return matches[0]

    def _path(self, id: str) -> Path:
        if not ID.match(id):
            raise ValueError("not a secret id")
        return self.directory / f"{id}.json"


def _dump(receipt: Receipt) -> bytes:
    data = {"version": _VERSION, **asdict(receipt)}
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "server": (str,),
    "token": (str,),
    "created_at": (int,),
    "expires_at": (int,),
    "views": (int,),
    "passphrase": (bool,),
    "label": (str, type(None)),
    "state": (str,),
    "views_left": (int, type(None)),
    "read_at": (int, type(None)),
    "burned_at": (int, type(None)),
    "checked_at": (int, type(None)),
}


def _load(path: Path) -> Receipt:
    problem = f"{path} is not a valid ots receipt"
    hint = ("move it away or delete it; the secret itself is not affected",)
    data = read_object(path, version=_VERSION, problem=problem, hints=hint)
    if set(data) != set(_TYPES):
        raise ConfigError(problem, hints=hint)
    for name, types in _TYPES.items():
        value = data[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ConfigError(problem, hints=hint)
    if data["id"] + ".json" != path.name:
        raise ConfigError(problem, hints=hint)
    return Receipt(**data)
