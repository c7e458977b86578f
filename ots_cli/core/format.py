"""The ots v1 byte format: the public header, padding and sizes, and the records' base.

This module is the reference implementation of docs/FORMAT.md; the two must agree byte for
byte. It does no cryptography: :mod:`ots_cli.core.crypto` encrypts what this module lays out.
The envelope is :mod:`ots_cli.core.envelope`'s.

Layout of a blob::

    header (55 or 79 bytes, plus 2..256 with a binding; public, the associated data of every
            AEAD call)
    ciphertext of: envelope || body || zero padding   (padded_length bytes of plaintext)

Invariants:

- :func:`decode_header` is strict and checks in FORMAT.md's order: wrong magic or truncation is
  :class:`FormatError`; an unknown version, suite or flag bit is :class:`UnsupportedVersion`
  as soon as its byte is present, even in a header cut short; a padded length that the padding
  rule cannot produce, or a suite-1 one above :data:`MAX_SEALED_PADDED_LENGTH`, is
  :class:`FormatError`. Trailing bytes after the header are the ciphertext, left to the caller.
- A binding (flag bit 1) follows the nonce as ``u8 length || canonical ASCII text``
  (:mod:`ots_cli.core.binding`); a header whose binding is empty, cut short or not canonical
  is :class:`FormatError`. Being in the header, the binding is authenticated with the
  ciphertext: a server that drops or changes it breaks decryption.
- Every plaintext length from 0 up to :data:`MIN_PADDED_LENGTH` pads to one size, so every
  body of at most 1 KiB with any envelope does; above it the padding (Padme) adds less than
  1/16 of the length. See :func:`padded_length`.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any, ClassVar

from ots_cli.core.binding import parse_binding
from ots_cli.errors import FormatError, UnsupportedVersion

__all__ = [
    "CHUNK_SIZE",
    "FLAG_BINDING",
    "FLAG_PASSPHRASE",
    "ID_BYTES",
    "MAGIC",
    "MAX_HEADER_LENGTH",
    "MAX_PADDED_LENGTH",
    "MAX_SEALED_PADDED_LENGTH",
    "MIN_PADDED_LENGTH",
    "SUITE_1_UP_TO",
    "VERSION",
    "Header",
    "KdfParams",
    "Suite",
    "blob_length",
    "chunk_count",
    "decode_header",
    "padded_length",
    "writer_suite",
]

#: First bytes of every blob. The high-bit first byte keeps it from passing for text.
MAGIC = b"\x89OTS"
#: Length of a secret's id (in the header and in the link).
ID_BYTES = 16
VERSION = 1
FLAG_PASSPHRASE = 0x01
#: The secret is bound to a CI identity; the binding follows the nonce.
FLAG_BINDING = 0x02
_KNOWN_FLAGS = FLAG_PASSPHRASE | FLAG_BINDING
#: Plaintext bytes per secretstream chunk (suite 2); the last chunk may be shorter.
CHUNK_SIZE = 65536
NONCE_BYTES = 24
SALT_BYTES = 16
#: Poly1305 tag of suite 1; suite 2 adds one encrypted tag byte to each chunk.
SEALED_OVERHEAD = 16
STREAM_CHUNK_OVERHEAD = 17

#: Every plaintext (envelope + body) of at most this many bytes pads to exactly this size:
#: 1600 = padme(1024 + 521), so every body of at most 1 KiB, whatever its envelope (kind, file
#: name and media type), gives the same padded length.
MIN_PADDED_LENGTH = 1600
#: Largest padded length a v1 reader accepts (1 TiB; exact in every language's integers).
MAX_PADDED_LENGTH = 1 << 40
#: Largest padded length of a suite-1 blob (128 MiB). Suite 1 is authenticated whole, so a
#: reader must hold all of it first; this bound keeps a hostile header from making a reader
#: buffer up to MAX_PADDED_LENGTH. It leaves room for any 64 MiB secret with its padding
#: (66 MiB); larger secrets use suite 2.
MAX_SEALED_PADDED_LENGTH = 1 << 27

#: The writer's suite rule (FORMAT.md, "Choosing a suite"): a padded plaintext of at most this
#: many bytes (one stream chunk) is sealed with suite 1, a larger one with suite 2.
SUITE_1_UP_TO = 1 << 16

_FIXED = struct.Struct(">4sBBB16sQ")  # magic, version, suite, flags, id, padded_length
_KDF = struct.Struct(">II16s")  # opslimit, memlimit, salt
HEADER_LENGTH = _FIXED.size + NONCE_BYTES
HEADER_LENGTH_PASSPHRASE = HEADER_LENGTH + _KDF.size
#: Upper bound of an encoded v1 header (all versions promise at most 1024 bytes): with a
#: passphrase and the longest binding (a length byte and 255 bytes).
MAX_HEADER_LENGTH = HEADER_LENGTH_PASSPHRASE + 1 + 255


class Suite(IntEnum):
    """Cipher suite of the ciphertext after the header."""

    #: Single-shot XChaCha20-Poly1305-IETF; the header carries the 24-byte nonce.
    SEALED = 1
    #: libsodium secretstream XChaCha20-Poly1305 in CHUNK_SIZE chunks; the header carries the
    #: 24-byte stream header.
    STREAM = 2


_SUITES = frozenset(Suite)


class Record:
    """Base of the core's small immutable values: headers, envelopes' meta, keys, links, results.

    It gives what ``@dataclass(frozen=True)`` would, without its start-up cost (a frozen
    dataclass compiles half a dozen methods when its class is created, about 0.4 ms each class
    and 3.5 ms for the core's nine, on every run of the CLI). A subclass names its fields in
    ``__slots__``, annotates them, and writes an ``__init__`` that takes every field by name
    and hands it to :meth:`_set`. Instances are equal when their types and fields are, hash
    alike, cannot be changed, and keep the fields named in ``_hidden`` (ids, keys, plaintext)
    out of ``repr``.
    """

    __slots__: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[frozenset[str]] = frozenset()

    def _set(self, **fields: object) -> None:
        if fields.keys() != set(self.__slots__):  # pragma: no cover - a bug in a subclass
            raise TypeError(f"{type(self).__name__} needs exactly the fields {self.__slots__}")
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = (f"{n}={getattr(self, n)!r}" for n in self.__slots__ if n not in self._hidden)
        return f"{type(self).__name__}({', '.join(shown)})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        # copy and pickle rebuild through __init__, which takes every field by name.
        return _rebuild, (type(self), dict(zip(self.__slots__, self._fields(), strict=True)))


def _rebuild(cls: type[Record], fields: dict[str, Any]) -> Record:
    return cls(**fields)


class KdfParams(Record):
    """Argon2id parameters of a passphrase-protected secret (memlimit in bytes)."""

    __slots__ = ("memlimit", "opslimit", "salt")
    opslimit: int
    memlimit: int
    salt: bytes

    def __init__(self, opslimit: int, memlimit: int, salt: bytes) -> None:
        self._set(opslimit=opslimit, memlimit=memlimit, salt=salt)


class Header(Record):
    """The public header. ``nonce`` is the AEAD nonce (suite 1) or the stream header (suite 2)."""

    __slots__ = ("binding", "id", "kdf", "nonce", "padded_length", "suite", "version")
    _hidden = frozenset({"id"})
    suite: Suite
    id: bytes
    padded_length: int
    nonce: bytes
    kdf: KdfParams | None
    version: int
    #: The canonical binding text (:mod:`ots_cli.core.binding`), or ``None``.
    binding: str | None

    def __init__(
        self,
        suite: Suite,
        id: bytes,
        padded_length: int,
        nonce: bytes,
        kdf: KdfParams | None,
        version: int = VERSION,
        binding: str | None = None,
    ) -> None:
        self._set(
            suite=suite,
            id=id,
            padded_length=padded_length,
            nonce=nonce,
            kdf=kdf,
            version=version,
            binding=binding,
        )

    @property
    def needs_passphrase(self) -> bool:
        return self.kdf is not None

    def encode(self) -> bytes:
        """The header bytes; ValueError if a field cannot be represented in format v1."""
        if self.version != VERSION:
            raise ValueError(f"this implementation writes format version {VERSION} only")
        if self.suite not in _SUITES:
            raise ValueError("unknown suite")
        if len(self.id) != ID_BYTES or len(self.nonce) != NONCE_BYTES:
            raise ValueError("the id must be 16 bytes and the nonce 24 bytes")
        if not is_padded_length(self.padded_length):
            raise ValueError("padded_length is not a value the padding rule produces")
        if self.suite == Suite.SEALED and self.padded_length > MAX_SEALED_PADDED_LENGTH:
            raise ValueError("suite 1 holds at most 128 MiB of padded plaintext; use suite 2")
        flags = (FLAG_PASSPHRASE if self.kdf is not None else 0) | (
            FLAG_BINDING if self.binding is not None else 0
        )
        parts = [_FIXED.pack(MAGIC, self.version, self.suite, flags, self.id, self.padded_length)]
        if self.kdf is not None:
            kdf = self.kdf
            if len(kdf.salt) != SALT_BYTES:
                raise ValueError("the Argon2id salt must be 16 bytes")
            if not (0 <= kdf.opslimit < 1 << 32 and 0 <= kdf.memlimit < 1 << 32):
                raise ValueError("Argon2id parameters must fit in 32 bits")
            parts.append(_KDF.pack(kdf.opslimit, kdf.memlimit, kdf.salt))
        parts.append(self.nonce)
        if self.binding is not None:
            text = parse_binding(self.binding).encode("ascii")
            parts.append(bytes((len(text),)) + text)
        return b"".join(parts)


def decode_header(data: bytes) -> tuple[Header, int]:
    """Parse the header at the start of ``data``; return it and its length in bytes.

    ``data`` may continue with ciphertext. Raises FormatError or UnsupportedVersion, checking
    in the order docs/FORMAT.md prescribes: magic, then version, suite and flags as soon as
    their bytes are present (so a newer header cut short still reads as "unsupported"), then
    the length, then the padded length.
    """
    data = bytes(data[:MAX_HEADER_LENGTH])
    if data[: len(MAGIC)] != MAGIC[: len(data)]:
        raise FormatError("this is not an ots secret (wrong magic bytes)")
    if len(data) <= len(MAGIC):
        raise FormatError("the secret's header is truncated")
    version = data[4]
    if version != VERSION:
        raise UnsupportedVersion(
            f"format version {version} is not supported by this client",
            hints=("a newer ots may be able to read it",) if version > VERSION else (),
        )
    if len(data) > 5 and data[5] not in _SUITES:
        raise UnsupportedVersion(
            f"cipher suite {data[5]} is not supported by this client",
            hints=("a newer ots may be able to read it",),
        )
    if len(data) > 6 and data[6] & ~_KNOWN_FLAGS:
        raise UnsupportedVersion(
            "the secret's header has flags this client does not know",
            hints=("a newer ots may be able to read it",),
        )
    if len(data) < _FIXED.size:
        raise FormatError("the secret's header is truncated")
    _, _, suite_byte, flags, id_, padded = _FIXED.unpack_from(data)
    length = HEADER_LENGTH_PASSPHRASE if flags & FLAG_PASSPHRASE else HEADER_LENGTH
    if len(data) < length:
        raise FormatError("the secret's header is truncated")
    suite = Suite(suite_byte)
    if not is_padded_length(padded):
        raise FormatError("the secret's header has an invalid padded length")
    if suite == Suite.SEALED and padded > MAX_SEALED_PADDED_LENGTH:
        raise FormatError(
            "the secret's header announces a suite-1 secret larger than format v1 allows"
        )
    kdf = None
    offset = _FIXED.size
    if flags & FLAG_PASSPHRASE:
        opslimit, memlimit, salt = _KDF.unpack_from(data, offset)
        kdf = KdfParams(opslimit=opslimit, memlimit=memlimit, salt=salt)
        offset += _KDF.size
    nonce = data[offset : offset + NONCE_BYTES]
    binding = None
    if flags & FLAG_BINDING:
        binding, length = _decode_binding(data, length)
    header = Header(
        suite=suite, id=id_, padded_length=padded, nonce=nonce, kdf=kdf, binding=binding
    )
    return header, length


def _decode_binding(data: bytes, offset: int) -> tuple[str, int]:
    """The binding at ``offset`` (after the nonce) and the header's full length."""
    if len(data) <= offset:
        raise FormatError("the secret's header is truncated")
    size = data[offset]
    end = offset + 1 + size
    if size == 0:
        raise FormatError("the secret's header has an empty binding")
    if len(data) < end:
        raise FormatError("the secret's header is truncated")
    try:
        return parse_binding(data[offset + 1 : end].decode("ascii")), end
    except (UnicodeDecodeError, ValueError):
        raise FormatError("the secret's header has a malformed binding") from None


# --- padding and sizes ----------------------------------------------------------------------


def _padme(length: int) -> int:
    # Padme (Nikitin et al., PETS 2019): keep the top floor(log2 E) + 1 bits of the length,
    # E = floor(log2 length), and round the remaining E - S low bits up.
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def padded_length(n: int) -> int:
    """Plaintext length after padding, for ``n`` = envelope + body bytes.

    ``max(MIN_PADDED_LENGTH, padme(n))``. For ``n > MIN_PADDED_LENGTH`` the padding is less
    than ``n / 16``. ValueError above :data:`MAX_PADDED_LENGTH`.
    """
    if n < 0:
        raise ValueError("length must not be negative")
    result = MIN_PADDED_LENGTH if n <= MIN_PADDED_LENGTH else _padme(n)
    if result > MAX_PADDED_LENGTH:
        raise ValueError("too large for format v1")
    return result


def is_padded_length(value: int) -> bool:
    """True if ``value`` is a length :func:`padded_length` can return."""
    return MIN_PADDED_LENGTH <= value <= MAX_PADDED_LENGTH and _padme(value) == value


def writer_suite(padded_length: int) -> Suite:
    """The suite a writer uses for this padded length: suite 1 up to :data:`SUITE_1_UP_TO`.

    The padded length alone decides, never the kind of secret or how it was read: the header
    shows both suite and padded length, so the suite then tells the server nothing more.
    """
    return Suite.SEALED if padded_length <= SUITE_1_UP_TO else Suite.STREAM


def chunk_count(padded_length: int) -> int:
    """Number of secretstream chunks of suite 2 for this padded length (at least one)."""
    return max(1, -(-padded_length // CHUNK_SIZE))


def blob_length(header_length: int, padded_length: int, suite: Suite) -> int:
    """Total bytes of header + ciphertext."""
    if suite == Suite.SEALED:
        return header_length + padded_length + SEALED_OVERHEAD
    if suite == Suite.STREAM:
        return header_length + padded_length + STREAM_CHUNK_OVERHEAD * chunk_count(padded_length)
    raise ValueError("unknown suite")
