"""Account tokens: their shape, which server they belong to, where they are kept, which one wins.

A token is ``ots_`` followed by the canonical unpadded base64url of 32 bytes (47 characters).
It belongs to one server, named by ``host[:port]`` (:func:`server_identity`). Resolution for a
request to a server, first match wins:

1. ``--token-file PATH`` (the file's first line),
2. ``OTS_TOKEN``,
   (both only for the server in effect: ``--server``, ``OTS_SERVER`` or the config file)
3. the system keyring, service ``ots:<host[:port]>``, user name ``token``,
4. the file ``ots login --insecure-storage`` wrote (``<config dir>/tokens/<host>.token``),
5. none: the request goes without a token.

The keyring is asked only when a marker file says ``ots login`` stored a token there
(``<config dir>/tokens/<host>.keyring``, empty, written by login and removed by logout).
Opening the keyring costs tens of milliseconds and can block; without the marker, ``ots share``
with no account never imports ``keyring`` at all. docs/cli.md lists what the marker cannot
know (a token put in the keyring by other means is not seen until ``ots login``).

Invariants:

- A token is never part of an error message, a repr, a file other than the explicit
  ``--insecure-storage`` one, or the config file.
- A malformed token is refused before any request, naming where it came from.
- Files are created 0600 (O_EXCL, replaced atomically) in a 0700 directory
  (:mod:`ots_cli.local.files`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from ots_cli.errors import AuthError, ConfigError, OtsError, UsageError
from ots_cli.local.files import ensure_dir, write_atomic

if TYPE_CHECKING:
    from ots_cli.local.keystore import Keystore

__all__ = [
    "ENV_VARIABLE",
    "TOKEN_SHAPE",
    "Credential",
    "TokenFiles",
    "check_token",
    "keyring_service",
    "not_logged_in",
    "read_token_file",
    "resolve_credential",
    "server_identity",
]

ENV_VARIABLE = "OTS_TOKEN"
TOKEN_SHAPE = "ots_ followed by 43 base64url characters"  # noqa: S105 - a description
_TOKEN = re.compile(r"ots_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]\Z")
#: The most a token file or piped token may hold; a token is 47 bytes.
MAX_TOKEN_INPUT = 4096
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Credential:
    """A token and where it came from: ``--token-file``, ``OTS_TOKEN``, ``keyring`` or
    ``insecure file``. The repr never shows the token."""

    __slots__ = ("source", "token")

    def __init__(self, token: str, source: str) -> None:
        self.token = token
        self.source = source

    def __repr__(self) -> str:
        return f"Credential(source={self.source!r})"


def check_token(token: str, *, source: str, error: type[OtsError] = ConfigError) -> str:
    """``token`` if it has the shape of an ots token, else ``error`` naming ``source``.

    The last character carries 2 unused bits, which must be zero (canonical base64url).
    """
    if not _TOKEN.match(token):
        raise error(
            f"{source} does not hold an ots account token ({TOKEN_SHAPE})",
            hints=("copy the whole token the server's operator gave you",),
        )
    return token


def server_identity(server: str) -> str:
    """``host[:port]`` of a server URL: lower-case host, port only when not the default."""
    parts = urlsplit(server)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        return f"{host}:{port}"
    return host


def keyring_service(identity: str) -> str:
    return f"ots:{identity}"


def read_token_file(path: str) -> str:
    """The token on the first line of ``path`` (``--token-file``)."""
    try:
        with open(path, "rb") as source:
            raw = source.read(MAX_TOKEN_INPUT + 1)
    except FileNotFoundError:
        raise UsageError(f"--token-file: no such file: {path}") from None
    except OSError as exc:
        raise UsageError(f"--token-file: cannot read {path}: {exc.strerror or exc}") from exc
    return check_token(_first_line(raw), source=f"--token-file {path}", error=UsageError)


def _first_line(raw: bytes) -> str:
    if len(raw) > MAX_TOKEN_INPUT:
        return ""  # far too long to be a token: refused by check_token
    text = raw.decode("ascii", errors="replace")
    lines = text.splitlines()
    return lines[0].strip() if lines else ""


class TokenFiles:
    """``<config dir>/tokens``: the keyring markers and the ``--insecure-storage`` files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, identity: str, suffix: str) -> Path:
        # quote() leaves no "/", ":" or "[" in the name, and maps distinct hosts apart.
        return self.directory / f"{quote(identity, safe='')}{suffix}"

    def insecure_path(self, identity: str) -> Path:
        return self._path(identity, ".token")

    def marker_path(self, identity: str) -> Path:
        return self._path(identity, ".keyring")

    def in_keyring(self, identity: str) -> bool:
        return self.marker_path(identity).is_file()

    def mark_keyring(self, identity: str) -> None:
        ensure_dir(self.directory)
        write_atomic(self.marker_path(identity), b"")

    def unmark_keyring(self, identity: str) -> bool:
        return _remove(self.marker_path(identity))

    def read_insecure(self, identity: str) -> str | None:
        path = self.insecure_path(identity)
        try:
            with open(path, "rb") as source:
                raw = source.read(MAX_TOKEN_INPUT + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return check_token(
            _first_line(raw), source=str(path), error=ConfigError
        )  # a damaged file: the hint of check_token applies, or `ots logout`

    def write_insecure(self, identity: str, token: str) -> Path:
        ensure_dir(self.directory)
        path = self.insecure_path(identity)
        write_atomic(path, token.encode("ascii") + b"\n")
        return path

    def remove_insecure(self, identity: str) -> bool:
        return _remove(self.insecure_path(identity))


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(f"cannot remove {path}: {exc.strerror or exc}") from exc
    return True


def resolve_credential(
    *,
    identity: str,
    explicit: bool,
    env: Mapping[str, str],
    token_file: str | None,
    files: TokenFiles,
    keystore: Callable[[], Keystore],
) -> Credential | None:
    """The token for the server ``identity``; ``explicit`` when it is the server in effect,
    the only one ``--token-file`` and ``OTS_TOKEN`` are for."""
    if explicit:
        if token_file is not None:
            return Credential(read_token_file(token_file), "--token-file")
        value = env.get(ENV_VARIABLE)
        if value:
            return Credential(check_token(value.strip(), source=ENV_VARIABLE), ENV_VARIABLE)
    if files.in_keyring(identity):
        token = keystore().get(keyring_service(identity))
        if token is not None:
            check_token(token, source=f"the keyring entry {keyring_service(identity)}")
            return Credential(token, "keyring")
    token = files.read_insecure(identity)
    if token is not None:
        return Credential(token, "insecure file")
    return None


def not_logged_in(server: str) -> AuthError:
    """The error of a command that needs an account token and found none for ``server``."""
    identity = server_identity(server)
    return AuthError(
        f"not logged in to {identity}",
        hints=(
            f"log in with a token from the server's operator: ots login --server {server}",
            "or give the token in OTS_TOKEN or with --token-file PATH",
        ),
    )
