"""Passphrases: read from a file, and the Argon2id cost of new ones.

Invariants: a passphrase is never taken from argv, never empty, never printed. A passphrase file
holds it on its first line; the line ending is not part of it (so ``echo pw > file`` works).
"""

from __future__ import annotations

from pathlib import Path

from ots_cli.errors import UsageError

__all__ = ["kdf_cost", "read_passphrase_file"]


def read_passphrase_file(path: Path) -> str:
    """The first line of ``path`` without its line ending; refuses an empty passphrase."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    line = text.split("\n", 1)[0].removesuffix("\r")
    if not line:
        raise UsageError(f"{path} holds an empty passphrase")
    return line


def kdf_cost(name: str) -> tuple[int, int]:
    """(opslimit, memlimit) for a ``passphrase_cost`` setting."""
    import nacl.pwhash.argon2id as argon2id

    from ots_cli.core import crypto

    if name == "interactive":
        return argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE
    if name == "sensitive":
        return argon2id.OPSLIMIT_SENSITIVE, argon2id.MEMLIMIT_SENSITIVE
    return crypto.DEFAULT_OPSLIMIT, crypto.DEFAULT_MEMLIMIT
