"""The requester's local request files: one private JSON file per request it is waiting for.

``<requests dir>/<b64url(id)>.json`` (the requests directory is ``requests/`` in the data
directory, or in ``$OTS_CONFIG_DIR``)::

    {"version": 1, "server": "https://…", "id": "<22 chars>", "private_key": "<43 chars>",
     "created_at": 1700000000, "expires_at": 1700086400, "label": "db password" | null}

The file is not part of the format (docs/FORMAT.md, "Requests"): only this client reads it.

Invariants:

- The file holds the request's private key, the only thing that opens its answer. It is
  written atomically (a 0600 temporary sibling, fsync'd, renamed over the name, never through
  a symlink) in a directory created 0700, and removed once the answer was delivered, the
  request closed, or it expired. Nothing else ever holds the private key.
- The label stays here: it is never sent.
- Names that are not ``<22 base64url chars>.json`` are ignored; a file that does not parse is
  a :class:`~ots_cli.errors.ConfigError` naming the file, never quoting its content.
- The private key is excluded from ``repr``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ots_cli.core import b64
from ots_cli.core.format import ID_BYTES, Record
from ots_cli.errors import ConfigError, FormatError, NotFound, UsageError
from ots_cli.local.files import ensure_dir, write_atomic
from ots_cli.local.records import ID, matching, read_object, record_files

__all__ = ["PendingRequest", "RequestFiles"]

_VERSION = 1
_KEY_BYTES = 32
_TYPES: dict[str, tuple[type, ...]] = {
    "server": (str,),
    "id": (str,),
    "private_key": (str,),
    "created_at": (int,),
    "expires_at": (int,),
    "label": (str, type(None)),
}


class PendingRequest(Record):
    """A request this machine made: where it lives, its private key, times and label."""

    __slots__ = ("created_at", "expires_at", "id", "label", "private_key", "server")
    _hidden = frozenset({"private_key"})
    server: str
    id: bytes
    private_key: bytes
    created_at: int
    expires_at: int
    label: str | None

    def __init__(
        self,
        *,
        server: str,
        id: bytes,
        private_key: bytes,
        created_at: int,
        expires_at: int,
        label: str | None,
    ) -> None:
        if len(id) != ID_BYTES or len(private_key) != _KEY_BYTES:
            raise ValueError("a request has a 16-byte id and a 32-byte private key")
        self._set(
            server=server,
            id=id,
            private_key=private_key,
            created_at=created_at,
            expires_at=expires_at,
            label=label,
        )

    @property
    def id_text(self) -> str:
        return b64.encode(self.id)

    @property
    def reference(self) -> str:
        """How a command line names it: the id's first 8 characters, after ``--`` when they
        start with ``-`` (one id in 64), which would read as an option."""
        short = self.id_text[:8]
        return f"-- {short}" if short.startswith("-") else short


class RequestFiles:
    """The request files in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, request: PendingRequest) -> Path:
        """Write the request's file (0600, atomically; the directory 0700 if it is new)."""
        ensure_dir(self.directory)
        path = self._path(request.id_text)
        write_atomic(path, _dump(request))
        return path

    def remove(self, id_text: str) -> bool:
        """Delete the file of ``id_text``; False when there was none."""
        try:
            self._path(id_text).unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ConfigError(
                f"cannot remove the request file {self._path(id_text)}: {exc.strerror or exc}"
            ) from exc
        return True

    def all(self) -> list[PendingRequest]:
        """Every request file, newest first."""
        requests = [_load(path) for path in record_files(self.directory)]
        return sorted(requests, key=lambda r: (r.created_at, r.id_text), reverse=True)

    def find(self, reference: str) -> PendingRequest:
        """A request by id, unique id prefix (at least 6 characters) or exact label."""
        matches = matching(
            self.all(), reference, id_of=lambda r: r.id_text, label_of=lambda r: r.label
        )
        if len(matches) > 1:
            raise UsageError(
                f"{len(matches)} requests match that reference",
                hints=("give more characters of the id, as `ots request list` shows it",),
            )
        if not matches:
            raise NotFound(
                "no request of this machine matches that reference",
                hints=(
                    "`ots request list` shows them; a request can be waited for only where it "
                    "was made (its private key never leaves that machine)",
                ),
            )
        return matches[0]

    def _path(self, id_text: str) -> Path:
        if not ID.match(id_text):
            raise ValueError("not a request id")
        return self.directory / f"{id_text}.json"


def _dump(request: PendingRequest) -> bytes:
    data = {
        "version": _VERSION,
        "server": request.server,
        "id": request.id_text,
        "private_key": b64.encode(request.private_key),
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "label": request.label,
    }
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def _load(path: Path) -> PendingRequest:
    problem = f"{path} is not a valid ots request file"
    hint = (
        "move it away or delete it: without its private key, that request's answer cannot be "
        "opened",
    )
    data = read_object(path, version=_VERSION, problem=problem, hints=hint)
    if set(data) != set(_TYPES) or any(
        not isinstance(data[name], types) or isinstance(data[name], bool)
        for name, types in _TYPES.items()
    ):
        raise ConfigError(problem, hints=hint)
    if data["id"] + ".json" != path.name:
        raise ConfigError(problem, hints=hint)
    try:
        id_ = b64.decode(data["id"], ID_BYTES)
        private_key = b64.decode(data["private_key"], _KEY_BYTES)
    except FormatError:
        raise ConfigError(problem, hints=hint) from None
    return PendingRequest(
        server=data["server"],
        id=id_,
        private_key=private_key,
        created_at=data["created_at"],
        expires_at=data["expires_at"],
        label=data["label"],
    )
