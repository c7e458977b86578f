"""The v1 envelope: the first plaintext bytes of a blob, saying what the body is.

Layout (docs/FORMAT.md, "Envelope")::

    kind (1) || body_length (8, big-endian) || [name_length (1) || name]  (files only)
    || media_type_length (1) || media_type

Invariants:

- :func:`decode_envelope` runs only on authenticated plaintext, and is strict all the same:
  an unknown kind, a name on text, a name that is not a plain base name, or a media type that
  is not printable ASCII is :class:`~ots_cli.errors.FormatError`.
- :func:`encode_envelope` refuses what :func:`decode_envelope` would refuse, so a writer
  never produces an envelope a reader rejects. At most :data:`MAX_ENVELOPE_LENGTH` bytes.
"""

from __future__ import annotations

import struct
from typing import Literal

from ots_cli.core.format import MAX_PADDED_LENGTH, Record
from ots_cli.errors import FormatError

__all__ = [
    "KIND_FILE",
    "KIND_TEXT",
    "MAX_ENVELOPE_LENGTH",
    "MAX_MEDIA_TYPE_BYTES",
    "MAX_NAME_BYTES",
    "Meta",
    "decode_envelope",
    "encode_envelope",
]

KIND_TEXT = 1
KIND_FILE = 2
_KINDS: dict[int, Literal["text", "file"]] = {KIND_TEXT: "text", KIND_FILE: "file"}
_KIND_CODES = {name: code for code, name in _KINDS.items()}
_ENVELOPE_FIXED = struct.Struct(">BQ")  # kind, body_length
MAX_NAME_BYTES = 255
MAX_MEDIA_TYPE_BYTES = 255
#: Largest possible envelope: kind, body length, name and media type at their maxima.
MAX_ENVELOPE_LENGTH = _ENVELOPE_FIXED.size + 1 + MAX_NAME_BYTES + 1 + MAX_MEDIA_TYPE_BYTES


class Meta(Record):
    """What the envelope says about the body: text or file, and for files a suggested name.

    ``name`` is only for files: a base name (no ``/`` or ``\\``, not ``.`` or ``..``, no control
    characters), at most 255 bytes of UTF-8. ``media_type`` is printable ASCII, at most 255
    bytes. Both are untrusted on the receiving side: display them escaped.
    """

    __slots__ = ("kind", "media_type", "name")
    kind: Literal["text", "file"]
    name: str | None
    media_type: str | None

    def __init__(
        self,
        kind: Literal["text", "file"] = "text",
        name: str | None = None,
        media_type: str | None = None,
    ) -> None:
        self._set(kind=kind, name=name, media_type=media_type)


def _name_problem(name: str | None, kind: str) -> str | None:
    if name is None:
        return None
    if kind != "file":
        return "only files have a name"
    encoded = name.encode("utf-8", "surrogatepass")
    if not name or len(encoded) > MAX_NAME_BYTES:
        return "a file name must be 1 to 255 bytes of UTF-8"
    if name in (".", "..") or "/" in name or "\\" in name:
        return "a file name must be a base name without '/' or '\\'"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        return "a file name must not contain control characters"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "a file name must be valid UTF-8"
    return None


def _media_type_problem(media_type: str | None) -> str | None:
    if media_type is None:
        return None
    if not 1 <= len(media_type) <= MAX_MEDIA_TYPE_BYTES or not all(
        0x20 <= ord(c) <= 0x7E for c in media_type
    ):
        return "a media type must be 1 to 255 printable ASCII characters"
    return None


def encode_envelope(meta: Meta, body_length: int) -> bytes:
    """The envelope for ``meta`` and a body of ``body_length`` bytes; ValueError if invalid."""
    if meta.kind not in _KIND_CODES:
        raise ValueError("kind must be 'text' or 'file'")
    problem = _name_problem(meta.name, meta.kind) or _media_type_problem(meta.media_type)
    if problem:
        raise ValueError(problem)
    if not 0 <= body_length <= MAX_PADDED_LENGTH:
        raise ValueError("body too large for format v1")
    parts = [_ENVELOPE_FIXED.pack(_KIND_CODES[meta.kind], body_length)]
    if meta.kind == "file":
        name = (meta.name or "").encode("utf-8")
        parts += [bytes((len(name),)), name]
    media = (meta.media_type or "").encode("ascii")
    parts += [bytes((len(media),)), media]
    return b"".join(parts)


def decode_envelope(plaintext: bytes) -> tuple[Meta, int, int]:
    """Parse the envelope at the start of authenticated plaintext.

    Returns ``(meta, body_length, envelope_length)``. The caller checks body_length against the
    padded length. Raises FormatError.
    """
    view = memoryview(plaintext)[:MAX_ENVELOPE_LENGTH]
    if len(view) < _ENVELOPE_FIXED.size + 1:
        raise FormatError("the secret's envelope is truncated")
    kind_code, body_length = _ENVELOPE_FIXED.unpack_from(view)
    kind = _KINDS.get(kind_code)
    if kind is None:
        raise FormatError("the secret's envelope has an unknown kind")
    offset = _ENVELOPE_FIXED.size
    name: str | None = None
    if kind == "file":
        name_bytes, offset = _read_short(view, offset)
        if name_bytes:
            try:
                name = name_bytes.decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError("the secret's file name is not valid UTF-8") from None
    media_bytes, offset = _read_short(view, offset)
    media_type: str | None = None
    if media_bytes:
        if not media_bytes.isascii():
            raise FormatError("the secret's media type is not ASCII")
        media_type = media_bytes.decode("ascii")
    problem = _name_problem(name, kind) or _media_type_problem(media_type)
    if problem:
        raise FormatError(f"the secret's envelope is invalid: {problem}")
    return Meta(kind=kind, name=name, media_type=media_type), body_length, offset


def _read_short(view: memoryview, offset: int) -> tuple[bytes, int]:
    if offset >= len(view):
        raise FormatError("the secret's envelope is truncated")
    end = offset + 1 + view[offset]
    if end > len(view):
        raise FormatError("the secret's envelope is truncated")
    return bytes(view[offset + 1 : end]), end
