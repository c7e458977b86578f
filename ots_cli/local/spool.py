"""An encrypted spool: holds input of unknown length on disk without its plaintext touching it.

``ots share`` must know the exact body length before it writes the header (the header fixes
``padded_length``), but stdin's length is known only at its end. Input beyond what is worth
holding in memory is spooled here and read back once its length is known.

Invariants:

- Only ciphertext reaches the disk: every 64 KiB of input is encrypted with libsodium
  secretstream under a random key that lives in this object's memory and nowhere else, so the
  spool file is useless to anyone who finds it, and worthless once the process is gone.
- The spool file is anonymous: created by :func:`tempfile.TemporaryFile` (``O_TMPFILE`` or
  unlinked at once where the platform allows), 0600, so a crash or a SIGKILL leaves nothing.
- Reading back authenticates every chunk and the final tag: a spool altered on disk, cut
  short or extended raises :class:`~ots_cli.errors.CryptoError` instead of returning bytes.
- Memory is bounded by one chunk whatever the input size.
"""

from __future__ import annotations

import io
import tempfile
from typing import BinaryIO

import nacl.exceptions
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_ABYTES as ABYTES,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_keygen,
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

from ots_cli.core.format import CHUNK_SIZE
from ots_cli.errors import DecryptionFailed, UsageError

__all__ = ["Spool"]

_ALTERED = "the local spool file was altered while ots was using it"


class Spool:
    """Write plaintext in, :meth:`finish`, then :meth:`reader` gives it back, once."""

    def __init__(self, directory: str | None = None) -> None:
        try:
            self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise UsageError(
                f"cannot create a temporary file to hold the input: {exc.strerror or exc}",
                hints=("set TMPDIR to a writable directory with enough space",),
            ) from exc
        self._key = crypto_secretstream_xchacha20poly1305_keygen()
        self._state = crypto_secretstream_xchacha20poly1305_state()
        self._stream_header = crypto_secretstream_xchacha20poly1305_init_push(
            self._state, self._key
        )
        self._pending = bytearray()
        self.length = 0
        self._finished = False

    def write(self, data: bytes) -> None:
        """Add ``data`` to the spool (encrypted in whole chunks as they fill)."""
        if self._finished:
            raise ValueError("the spool is finished")
        self.length += len(data)
        self._pending += data
        while len(self._pending) > CHUNK_SIZE:
            # ``>`` not ``>=``: the last chunk (tagged final) is written by finish().
            self._push(bytes(self._pending[:CHUNK_SIZE]), TAG_MESSAGE)
            del self._pending[:CHUNK_SIZE]

    def finish(self) -> None:
        """Seal the spool: its last chunk carries the final tag; nothing more can be written."""
        if self._finished:
            return
        self._push(bytes(self._pending), TAG_FINAL)
        self._pending.clear()
        self._finished = True
        self._flush()

    def reader(self) -> BinaryIO:
        """The spooled plaintext, authenticated chunk by chunk as it is read."""
        if not self._finished:
            raise ValueError("finish() the spool before reading it")
        self._file.seek(0)
        raw = _SpoolReader(self._file, self._stream_header, self._key, self.length)
        return io.BufferedReader(raw, buffer_size=CHUNK_SIZE)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _push(self, chunk: bytes, tag: int) -> None:
        sealed = crypto_secretstream_xchacha20poly1305_push(self._state, chunk, None, tag)
        try:
            self._file.write(sealed)
        except OSError as exc:
            raise UsageError(
                f"cannot write the temporary file that holds the input: {exc.strerror or exc}",
                hints=("set TMPDIR to a directory with enough space; nothing was shared",),
            ) from exc

    def _flush(self) -> None:
        try:
            self._file.flush()
        except OSError as exc:
            raise UsageError(
                f"cannot write the temporary file that holds the input: {exc.strerror or exc}",
                hints=("set TMPDIR to a directory with enough space; nothing was shared",),
            ) from exc


class _SpoolReader(io.RawIOBase):
    """Decrypts the spool file chunk by chunk; raises on any alteration."""

    def __init__(self, file: BinaryIO, stream_header: bytes, key: bytes, length: int) -> None:
        super().__init__()
        self._file = file
        self._state = crypto_secretstream_xchacha20poly1305_state()
        crypto_secretstream_xchacha20poly1305_init_pull(self._state, stream_header, key)
        self._left = length
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer and not self._done:
            self._buffer = self._next_chunk()
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size

    def _next_chunk(self) -> bytes:
        size = min(self._left, CHUNK_SIZE)
        final = self._left <= CHUNK_SIZE
        ciphertext = self._file.read(size + ABYTES)
        if len(ciphertext) != size + ABYTES:
            raise DecryptionFailed(_ALTERED)
        try:
            plaintext, tag = crypto_secretstream_xchacha20poly1305_pull(self._state, ciphertext)
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise DecryptionFailed(_ALTERED) from exc
        if tag != (TAG_FINAL if final else TAG_MESSAGE):
            raise DecryptionFailed(_ALTERED)
        self._left -= size
        if final:
            if self._file.read(1):
                raise DecryptionFailed(_ALTERED)
            self._done = True
        return bytes(plaintext)
