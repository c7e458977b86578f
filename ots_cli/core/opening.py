"""Opening blobs of both suites: authenticate, decrypt, check the envelope and the padding.

Re-exported by :mod:`ots_cli.core.crypto`, the public face of the cryptographic core.

Invariants:

- Pure: no I/O, no printing.
- :func:`open_blob` never returns partial plaintext: it authenticates everything, then checks
  the envelope and the padding, then returns. :func:`open_stream` yields only authentic
  pieces, and its consumer must treat the whole output as failed if iterating raises.
- The header must belong to the id asked for; a blob longer or shorter than its header
  announces is refused.
- No nacl exception escapes: authentication failures become :class:`DecryptionFailed`.
- Keys and plaintext are excluded from every ``repr``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator

from ots_cli.core import aead, stream
from ots_cli.core.envelope import Meta, decode_envelope
from ots_cli.core.format import (
    MAX_HEADER_LENGTH,
    SEALED_OVERHEAD,
    Header,
    Record,
    Suite,
    blob_length,
    decode_header,
    padded_length,
)
from ots_cli.core.keyschedule import Keys
from ots_cli.errors import DecryptionFailed, FormatError

__all__ = ["Opened", "OpenedStream", "open_blob", "open_stream"]

_TRUNCATED = "the secret's data is truncated"
_EXTRA = "the secret's data has extra bytes after its end"


class Opened(Record):
    """An opened secret: its authenticated header, envelope and body."""

    __slots__ = ("body", "header", "meta")
    _hidden = frozenset({"body"})
    header: Header
    meta: Meta
    body: bytes

    def __init__(self, header: Header, meta: Meta, body: bytes) -> None:
        self._set(header=header, meta=meta, body=body)


class OpenedStream(Record):
    """An authenticated stream being opened.

    ``meta`` and ``body_length`` come from the first chunk, already authenticated. ``chunks``
    yields the body. Every piece it yields is authentic, but the body is complete and valid only
    if the iteration ends without an exception: a consumer MUST treat the whole output as failed
    (delete the partial file) when iterating raises.
    """

    __slots__ = ("body_length", "chunks", "header", "meta")
    _hidden = frozenset({"chunks"})
    header: Header
    meta: Meta
    body_length: int
    chunks: Iterator[bytes]

    def __init__(
        self, header: Header, meta: Meta, body_length: int, chunks: Iterator[bytes]
    ) -> None:
        self._set(header=header, meta=meta, body_length=body_length, chunks=chunks)


def _check_id(header: Header, id: bytes) -> None:
    if not hmac.compare_digest(header.id, id):
        raise DecryptionFailed(
            "the secret's header belongs to another id",
            hints=("the server returned data that does not belong to this link",),
        )


def _check_body_length(header: Header, envelope_length: int, body_length: int) -> None:
    if envelope_length + body_length > header.padded_length or (
        padded_length(envelope_length + body_length) != header.padded_length
    ):
        raise FormatError("the secret's body length does not match its padded length")


def _open_sealed(
    header: Header, header_bytes: bytes, data: bytes, offset: int, keys: Keys
) -> tuple[Meta, bytes]:
    # ``plaintext`` is a buffer over libsodium's output; slicing it copies exactly once.
    plaintext = aead.decrypt(data, offset, header_bytes, header.nonce, keys.payload_key)
    meta, body_length, start = decode_envelope(plaintext)
    _check_body_length(header, start, body_length)
    end = start + body_length
    if plaintext[end:] != bytes(len(plaintext) - end):
        raise FormatError("the secret's padding is not zero")
    body: bytes = plaintext[start:end]
    return meta, body


def open_blob(blob: bytes, *, id: bytes, keys: Keys) -> Opened:
    """Authenticate and decrypt a whole blob of either suite; never returns partial plaintext."""
    header, header_length = decode_header(blob)
    _check_id(header, id)
    expected = blob_length(header_length, header.padded_length, header.suite)
    if len(blob) != expected:
        raise DecryptionFailed(_TRUNCATED if len(blob) < expected else _EXTRA)
    header_bytes = blob[:header_length]
    if header.suite == Suite.SEALED:
        meta, body = _open_sealed(header, header_bytes, blob, header_length, keys)
        return Opened(header=header, meta=meta, body=body)
    opened = _open_chunks(header, header_bytes, stream.Pieces(_cut(blob, header)), keys)
    return Opened(header=header, meta=opened.meta, body=b"".join(opened.chunks))


def _cut(blob: bytes, header: Header) -> Iterator[bytes]:
    # Exact chunk slices let Pieces hand each one over without regrouping.
    offset = len(blob) - blob_length(0, header.padded_length, header.suite)
    for size in stream.ciphertext_chunk_sizes(header.padded_length):
        yield blob[offset : offset + size]
        offset += size


def open_stream(
    source: Iterable[bytes], *, id: bytes, keys: Keys, max_size: int | None = None
) -> OpenedStream:
    """Open a blob arriving as pieces of any size (header first), in constant memory (suite 2).

    Reads until the first chunk is authenticated, so ``meta`` is known on return. Suite 1
    blobs are read whole (they cannot be authenticated piecewise); the header bounds them to
    :data:`~ots_cli.core.format.MAX_SEALED_PADDED_LENGTH`. ``max_size``, if given, is the largest
    blob (header included) the caller accepts: a header announcing more is refused with
    FormatError before any ciphertext is read. See :class:`OpenedStream`.
    """
    if max_size is not None and max_size < 0:
        raise ValueError("max_size must not be negative")
    pieces = stream.Pieces(source)
    header, header_length = decode_header(pieces.peek(MAX_HEADER_LENGTH))
    _check_id(header, id)
    if max_size is not None and (
        blob_length(header_length, header.padded_length, header.suite) > max_size
    ):
        raise FormatError("the secret's header announces more data than expected")
    header_bytes = pieces.take(header_length)
    if header.suite == Suite.STREAM:
        return _open_chunks(header, header_bytes, pieces, keys)
    # Bounded by MAX_SEALED_PADDED_LENGTH: decode_header refuses larger suite-1 headers.
    size = header.padded_length + SEALED_OVERHEAD
    ciphertext = pieces.take(size)
    if len(ciphertext) != size:
        raise DecryptionFailed(_TRUNCATED)
    if not pieces.at_end():
        raise DecryptionFailed(_EXTRA)
    meta, body = _open_sealed(header, header_bytes, ciphertext, 0, keys)
    return OpenedStream(header=header, meta=meta, body_length=len(body), chunks=stream.slices(body))


def _open_chunks(
    header: Header, header_bytes: bytes, pieces: stream.Pieces, keys: Keys
) -> OpenedStream:
    plaintexts = stream.decrypt_chunks(
        keys.payload_key, header.nonce, header_bytes, pieces, header.padded_length
    )
    first = next(plaintexts)
    meta, body_length, start = decode_envelope(first)
    _check_body_length(header, start, body_length)
    return OpenedStream(
        header=header,
        meta=meta,
        body_length=body_length,
        chunks=stream.release_body(first, start, body_length, plaintexts),
    )
