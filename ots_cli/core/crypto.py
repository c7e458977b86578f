"""Sealing and opening blobs of both suites; the public face of the cryptographic core.

The key schedule lives in :mod:`ots_cli.core.keyschedule`, the byte layout in
:mod:`ots_cli.core.format`, the secretstream mechanics in :mod:`ots_cli.core.stream`; this
module re-exports what callers need, opening (:mod:`ots_cli.core.opening`) included.

Invariants:

- Pure: no I/O, no printing; randomness (``random``) and Argon2id (``argon2``) are injected.
  ``random`` is drawn in a fixed order (Argon2id salt if any, then nonce) so vectors replay.
- :func:`open_blob` never returns partial plaintext: it authenticates everything, then checks
  the envelope and the padding, then returns.
- No nacl exception escapes: authentication failures become :class:`DecryptionFailed`.
- Keys and plaintext are excluded from every ``repr``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ots_cli.core import aead, stream
from ots_cli.core.envelope import Meta, encode_envelope
from ots_cli.core.format import (
    NONCE_BYTES,
    SALT_BYTES,
    Header,
    KdfParams,
    Record,
    Suite,
    blob_length,
    padded_length,
    writer_suite,
)
from ots_cli.core.keyschedule import (
    DEFAULT_MEMLIMIT,
    DEFAULT_OPSLIMIT,
    Argon2,
    Keys,
    argon2id_kdf,
    check_kdf_params,
    derive_keys,
    hkdf_sha256,
    link_proof,
)
from ots_cli.core.links import ID_BYTES, KEY_BYTES
from ots_cli.core.opening import Opened, OpenedStream, open_blob, open_stream

__all__ = [
    "DEFAULT_MEMLIMIT",
    "DEFAULT_OPSLIMIT",
    "Keys",
    "Opened",
    "OpenedStream",
    "Sealed",
    "SealedStream",
    "check_kdf_params",
    "derive_keys",
    "hkdf_sha256",
    "link_proof",
    "open_blob",
    "open_stream",
    "seal",
    "seal_stream",
    "suite_for",
    "xchacha20poly1305_decrypt",
    "xchacha20poly1305_encrypt",
]

Random = Callable[[int], bytes]


# --- suite 1 primitive ----------------------------------------------------------------------


def xchacha20poly1305_encrypt(message: bytes, ad: bytes, nonce: bytes, key: bytes) -> bytes:
    """XChaCha20-Poly1305-IETF: ciphertext || 16-byte tag, by the call seal() makes."""
    return aead.encrypt(message, ad, nonce, key)


def xchacha20poly1305_decrypt(ciphertext: bytes, ad: bytes, nonce: bytes, key: bytes) -> bytes:
    """Inverse of :func:`xchacha20poly1305_encrypt`; DecryptionFailed if it does not verify."""
    plaintext: bytes = aead.decrypt(ciphertext, 0, ad, nonce, key)[:]
    return plaintext


# --- sealing --------------------------------------------------------------------------------


class Sealed(Record):
    """A sealed secret held in memory: the blob to upload and the keys for the create call."""

    __slots__ = ("blob", "header", "header_bytes", "keys")
    _hidden = frozenset({"blob"})
    header: Header
    header_bytes: bytes
    keys: Keys
    blob: bytes

    def __init__(self, header: Header, header_bytes: bytes, keys: Keys, blob: bytes) -> None:
        self._set(header=header, header_bytes=header_bytes, keys=keys, blob=blob)


class SealedStream(Record):
    """A secret sealed lazily: ``chunks`` yields the header bytes, then each ciphertext chunk.

    ``length`` is the total number of bytes ``chunks`` yields. Iterating may raise FormatError
    if the source changes size while it is read; the upload must then be abandoned.
    """

    __slots__ = ("chunks", "header", "header_bytes", "keys", "length")
    _hidden = frozenset({"chunks"})
    header: Header
    header_bytes: bytes
    keys: Keys
    length: int
    chunks: Iterator[bytes]

    def __init__(
        self, header: Header, header_bytes: bytes, keys: Keys, length: int, chunks: Iterator[bytes]
    ) -> None:
        self._set(header=header, header_bytes=header_bytes, keys=keys, length=length, chunks=chunks)


def _prepare(
    body_length: int,
    *,
    id: bytes,
    key: bytes,
    meta: Meta,
    passphrase: str | None,
    opslimit: int,
    memlimit: int,
    suite: Suite,
    random: Random,
    argon2: Argon2,
    binding: str | None = None,
) -> tuple[Header, bytes, Keys, bytes]:
    # Randomness is drawn in a fixed order (salt, then nonce) so test vectors can replay it.
    if len(id) != ID_BYTES or len(key) != KEY_BYTES:
        raise ValueError("a secret needs a 16-byte id and a 32-byte key")
    if passphrase == "":
        raise ValueError("an empty passphrase is no passphrase; pass None")
    envelope = encode_envelope(meta, body_length)
    kdf = None
    if passphrase is not None:
        kdf = KdfParams(opslimit=opslimit, memlimit=memlimit, salt=_random(random, SALT_BYTES))
        check_kdf_params(kdf)
    header = Header(
        suite=suite,
        id=id,
        padded_length=padded_length(len(envelope) + body_length),
        nonce=_random(random, NONCE_BYTES),
        kdf=kdf,
        binding=binding,
    )
    header_bytes = header.encode()
    keys = derive_keys(header, key, passphrase, argon2=argon2)
    return header, header_bytes, keys, envelope


def _random(random: Random, size: int) -> bytes:
    data = random(size)
    if len(data) != size:
        raise ValueError("the random source returned the wrong number of bytes")
    return data


def suite_for(meta: Meta, body_length: int) -> Suite:
    """The suite a writer seals this secret with: the padded length alone decides
    (:func:`~ots_cli.core.format.writer_suite`), never the kind or how the bytes were read."""
    envelope_length = len(encode_envelope(meta, body_length))
    return writer_suite(padded_length(envelope_length + body_length))


def seal(
    body: bytes,
    *,
    id: bytes,
    key: bytes,
    meta: Meta = Meta(),  # noqa: B008 - frozen, so sharing the default is safe
    passphrase: str | None = None,
    opslimit: int = DEFAULT_OPSLIMIT,
    memlimit: int = DEFAULT_MEMLIMIT,
    suite: Suite = Suite.SEALED,
    random: Random = os.urandom,
    argon2: Argon2 = argon2id_kdf,
    binding: str | None = None,
) -> Sealed:
    """Encrypt ``body`` into a whole blob in memory, with either suite."""
    header, header_bytes, keys, envelope = _prepare(
        len(body),
        id=id,
        key=key,
        meta=meta,
        passphrase=passphrase,
        opslimit=opslimit,
        memlimit=memlimit,
        suite=suite,
        random=random,
        argon2=argon2,
        binding=binding,
    )
    if suite == Suite.SEALED:
        blob = aead.seal_after_header(
            header_bytes, (envelope, body), header.padded_length, header.nonce, keys.payload_key
        )
    else:
        chunks = stream.encrypt_chunks(
            keys.payload_key,
            header.nonce,
            header_bytes,
            stream.plaintext_chunks(envelope, io.BytesIO(body), len(body), header.padded_length),
            header.padded_length,
        )
        blob = b"".join((header_bytes, *chunks))
    return Sealed(header=header, header_bytes=header_bytes, keys=keys, blob=blob)


def seal_stream(
    source: BinaryIO,
    body_length: int,
    *,
    id: bytes,
    key: bytes,
    meta: Meta = Meta(),  # noqa: B008 - frozen, so sharing the default is safe
    passphrase: str | None = None,
    opslimit: int = DEFAULT_OPSLIMIT,
    memlimit: int = DEFAULT_MEMLIMIT,
    random: Random = os.urandom,
    argon2: Argon2 = argon2id_kdf,
    binding: str | None = None,
) -> SealedStream:
    """Seal ``body_length`` bytes read from ``source`` with suite 2, lazily, in constant memory.

    Keys and header are ready on return; ``chunks`` reads the source as it is iterated and
    raises FormatError if the source yields more or fewer than ``body_length`` bytes.
    """
    header, header_bytes, keys, envelope = _prepare(
        body_length,
        id=id,
        key=key,
        meta=meta,
        passphrase=passphrase,
        opslimit=opslimit,
        memlimit=memlimit,
        suite=Suite.STREAM,
        random=random,
        argon2=argon2,
        binding=binding,
    )

    def chunks() -> Iterator[bytes]:
        yield header_bytes
        yield from stream.encrypt_chunks(
            keys.payload_key,
            header.nonce,
            header_bytes,
            stream.plaintext_chunks(envelope, source, body_length, header.padded_length),
            header.padded_length,
        )

    return SealedStream(
        header=header,
        header_bytes=header_bytes,
        keys=keys,
        length=blob_length(len(header_bytes), header.padded_length, Suite.STREAM),
        chunks=chunks(),
    )
