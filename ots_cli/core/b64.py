"""Strict, canonical, unpadded base64url (RFC 4648 section 5) for ids, keys, proofs and headers.

Invariants:

- :func:`encode` never emits ``=`` padding.
- :func:`decode` accepts exactly the strings :func:`encode` produces: only the alphabet
  ``A-Z a-z 0-9 - _``, no padding, no whitespace, no length of the form ``4k + 1``, and zero
  bits in the unused low bits of the last character (so every byte string has one text form).
- Errors are :class:`~ots_cli.errors.FormatError` and never quote the input, because the input
  may be a key.
"""

from __future__ import annotations

import base64
import binascii

from ots_cli.errors import FormatError

__all__ = ["decode", "encode", "encoded_length", "is_alphabet"]

_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def encode(data: bytes) -> str:
    """Unpadded base64url of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def is_alphabet(text: str) -> bool:
    """True if every character of ``text`` is in the base64url alphabet (no padding)."""
    return _ALPHABET.issuperset(text)


def encoded_length(length: int) -> int:
    """Number of characters :func:`encode` produces for ``length`` bytes."""
    return (length * 4 + 2) // 3


def decode(text: str, length: int | None = None) -> bytes:
    """Decode canonical unpadded base64url; if ``length`` is given, require that many bytes.

    Raises :class:`~ots_cli.errors.FormatError` on padding, characters outside the alphabet,
    a non-canonical encoding or the wrong length.
    """
    if not isinstance(text, str):
        raise FormatError("base64url value must be text")
    if "=" in text:
        raise FormatError("base64url value has padding characters '='; ots uses unpadded base64url")
    if not is_alphabet(text):
        raise FormatError("base64url value has characters outside the base64url alphabet")
    if length is not None and len(text) != encoded_length(length):
        raise FormatError(
            f"base64url value has {len(text)} characters, expected {encoded_length(length)}"
        )
    if len(text) % 4 == 1:
        raise FormatError("base64url value has an impossible length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - excluded by the checks above
        raise FormatError("base64url value does not decode") from exc
    # Two texts differing only in the unused low bits decode alike; only one is canonical.
    if encode(data) != text:
        raise FormatError("base64url value is not canonical (non-zero trailing bits)")
    return data
