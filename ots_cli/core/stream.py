"""Suite 2: libsodium secretstream XChaCha20-Poly1305 over fixed 64 KiB plaintext chunks.

The plaintext (envelope || body || zero padding, ``padded_length`` bytes) is cut into
``CHUNK_SIZE`` pieces; the last may be shorter. Every chunk is pushed with the full public
header as associated data; the last chunk, and only the last, carries ``TAG_FINAL``, every other
one ``TAG_MESSAGE``. Because the header fixes ``padded_length``, the reader knows the exact
number and size of the ciphertext chunks before it reads any of them.

Injectable randomness: libsodium's ``init_push`` is ``randombytes_buf(header)`` followed by the
very same state set-up as ``init_pull(header, key)`` (HChaCha20 subkey, counter reset, nonce
copy). So the writer draws the 24-byte stream header from the caller's ``random`` and
initialises its push state with ``init_pull``; tests prove the two paths give identical
ciphertext.

Invariants:

- Memory is bounded by a few chunks on both sides, whatever the total size.
- The writer reads exactly ``body_length`` bytes and confirms the end of input *before* it
  encrypts the final chunk, so a changed input never produces a complete, valid stream.
- The reader verifies the final tag and the absence of trailing bytes before it returns the
  last plaintext chunk. Any failure raises :class:`DecryptionFailed`; the chunks returned before
  it are authentic but incomplete.
- :func:`release_body` holds each piece of body back until the next chunk has authenticated,
  so the last piece leaves only after the whole stream, its end and its padding are verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

import nacl.exceptions
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_ABYTES as ABYTES,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_HEADERBYTES as HEADERBYTES,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_TAG_FINAL as TAG_FINAL,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as TAG_MESSAGE,
)

from ots_cli.core.format import CHUNK_SIZE, STREAM_CHUNK_OVERHEAD, chunk_count
from ots_cli.errors import DecryptionFailed, FormatError

__all__ = [
    "ABYTES",
    "HEADERBYTES",
    "TAG_FINAL",
    "TAG_MESSAGE",
    "Pieces",
    "ciphertext_chunk_sizes",
    "decrypt_chunks",
    "encrypt_chunks",
    "plaintext_chunks",
    "release_body",
    "slices",
]

assert ABYTES == STREAM_CHUNK_OVERHEAD

_CHANGED = "the input changed while it was read"
_TRUNCATED = "the secret's data is truncated"


def _read_exact(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if data is None or len(data) != size:
        # Short reads are legal for pipes and raw files: keep reading until size or EOF.
        parts = [data or b""]
        got = len(parts[0])
        while got < size:
            more = source.read(size - got)
            if not more:
                raise FormatError(_CHANGED, hints=("the input ended before its announced size",))
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return bytes(data)


def plaintext_chunks(
    envelope: bytes, source: BinaryIO, body_length: int, padded_length: int
) -> Iterator[bytes]:
    """Yield ``envelope || body || zeros`` from ``source`` in CHUNK_SIZE pieces.

    Reads exactly ``body_length`` bytes, then confirms end of input before the last piece of
    body leaves; raises FormatError if the input is shorter or longer.
    """
    buffer = bytearray(envelope)
    remaining = body_length
    while remaining:
        want = min(CHUNK_SIZE - len(buffer), remaining)
        data = _read_exact(source, want)
        remaining -= want
        if not remaining and source.read(1):
            raise FormatError(_CHANGED, hints=("the input grew after its size was taken",))
        if not buffer and want == CHUNK_SIZE:
            yield data
            continue
        buffer += data
        if len(buffer) == CHUNK_SIZE:
            yield bytes(buffer)
            buffer.clear()
    if body_length == 0 and source.read(1):
        raise FormatError(_CHANGED, hints=("the input grew after its size was taken",))
    zeros = padded_length - len(envelope) - body_length
    while zeros:
        want = min(CHUNK_SIZE - len(buffer), zeros)
        buffer += bytes(want)
        zeros -= want
        if len(buffer) == CHUNK_SIZE:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def encrypt_chunks(
    key: bytes, stream_header: bytes, ad: bytes, chunks: Iterable[bytes], padded_length: int
) -> Iterator[bytes]:
    """Encrypt plaintext chunks; the ``chunk_count(padded_length)``-th one is tagged final."""
    if len(stream_header) != HEADERBYTES:
        raise ValueError("the stream header must be 24 bytes")
    state = crypto_secretstream_xchacha20poly1305_state()
    # Same state as init_push with this header; see the module docstring.
    crypto_secretstream_xchacha20poly1305_init_pull(state, stream_header, key)
    count = chunk_count(padded_length)
    index = 0
    for chunk in chunks:
        index += 1
        if index > count:
            raise ValueError("more plaintext chunks than the padded length allows")
        tag = TAG_FINAL if index == count else TAG_MESSAGE
        yield crypto_secretstream_xchacha20poly1305_push(state, chunk, ad, tag)
    if index != count:
        raise ValueError("fewer plaintext chunks than the padded length requires")


def ciphertext_chunk_sizes(padded_length: int) -> Iterator[int]:
    """Sizes of the suite-2 ciphertext chunks for this padded length, in order."""
    count = chunk_count(padded_length)
    for _ in range(count - 1):
        yield CHUNK_SIZE + ABYTES
    yield padded_length - (count - 1) * CHUNK_SIZE + ABYTES


class Pieces:
    """Regroup byte pieces of arbitrary sizes (an HTTP body) into the sizes a reader asks for."""

    def __init__(self, source: Iterable[bytes]) -> None:
        self._iterator = iter(source)
        self._buffer = bytearray()

    def _next_piece(self) -> bytes:
        for piece in self._iterator:
            if piece:
                return piece if type(piece) is bytes else bytes(piece)
        return b""

    def _fill(self, size: int) -> None:
        while len(self._buffer) < size:
            piece = self._next_piece()
            if not piece:
                return
            self._buffer += piece

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes without consuming them (fewer only at the end of input)."""
        self._fill(size)
        return bytes(self._buffer[:size])

    def take(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer only at the end of input."""
        if not self._buffer:
            piece = self._next_piece()
            if len(piece) == size:
                return piece  # the common case of a reader that yields whole chunks
            self._buffer += piece
        self._fill(size)
        with memoryview(self._buffer) as view:
            data = view[:size].tobytes()
        del self._buffer[:size]
        return data

    def at_end(self) -> bool:
        """True if no byte is left; reads ahead at most one piece."""
        self._fill(1)
        return not self._buffer


def decrypt_chunks(
    key: bytes, stream_header: bytes, ad: bytes, pieces: Pieces, padded_length: int
) -> Iterator[bytes]:
    """Decrypt and authenticate suite-2 chunks read from ``pieces``; yield plaintext chunks.

    Raises DecryptionFailed on a bad tag, a misplaced final tag, truncation or trailing bytes;
    the last chunk is yielded only after the final tag and the end of input are verified.
    """
    state = crypto_secretstream_xchacha20poly1305_state()
    try:
        crypto_secretstream_xchacha20poly1305_init_pull(state, stream_header, key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise DecryptionFailed("the secret could not be decrypted") from exc
    count = chunk_count(padded_length)
    for index, size in enumerate(ciphertext_chunk_sizes(padded_length), start=1):
        ciphertext = pieces.take(size)
        if len(ciphertext) != size:
            raise DecryptionFailed(_TRUNCATED, hints=("the download may have been cut off",))
        try:
            plaintext, tag = crypto_secretstream_xchacha20poly1305_pull(state, ciphertext, ad)
        except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
            raise DecryptionFailed(
                "the secret could not be decrypted: it was altered or the key is wrong"
            ) from exc
        if tag != (TAG_FINAL if index == count else TAG_MESSAGE):
            raise DecryptionFailed("the secret's stream is cut or reordered")
        if index == count and not pieces.at_end():
            raise DecryptionFailed("the secret's data has extra bytes after its end")
        yield plaintext


def slices(body: bytes) -> Iterator[bytes]:
    """``body`` in CHUNK_SIZE pieces (suite-1 bodies handed out like a stream's)."""
    if len(body) <= CHUNK_SIZE:
        if body:
            yield body
        return
    with memoryview(body) as view:
        for offset in range(0, len(body), CHUNK_SIZE):
            yield view[offset : offset + CHUNK_SIZE].tobytes()


def release_body(
    first: bytes, start: int, body_length: int, rest: Iterator[bytes]
) -> Iterator[bytes]:
    """Yield the body from authenticated plaintext chunks, checking that padding is zero.

    ``first`` is the first plaintext chunk, whose envelope ends at ``start``; ``rest`` yields
    the following chunks (from :func:`decrypt_chunks`). Raises FormatError on non-zero padding.
    """
    # Each piece is held back until the next chunk authenticates, so the last piece of body is
    # released only once the final tag, the end of input and all padding are verified.
    remaining = body_length
    held = b""
    chunk: bytes | None = first
    while chunk is not None:
        take = min(remaining, len(chunk) - start)
        end = start + take
        if chunk.count(0, end) != len(chunk) - end:
            raise FormatError("the secret's padding is not zero")
        piece = chunk if (start, end) == (0, len(chunk)) else chunk[start:end]
        remaining -= take
        if piece:
            if held:
                yield held
            held = piece
        start = 0
        chunk = next(rest, None)
    if remaining:  # pragma: no cover - excluded by _check_body_length
        raise FormatError("the secret's body is shorter than its envelope says")
    if held:
        yield held
