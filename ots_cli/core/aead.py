"""Suite 1's primitive: XChaCha20-Poly1305-IETF (libsodium), without needless copies.

PyNaCl's ``crypto_aead_xchacha20poly1305_ietf_encrypt`` takes and returns whole ``bytes``, so
sealing a blob through it costs a join of the plaintext, a zero-filled output buffer and a
concatenation with the header: three extra passes over the data, measurable on large inputs
(docs/FORMAT.md, "Performance"). Here the same libsodium functions are called through PyNaCl's
cffi handle on caller-laid-out buffers: the header, the plaintext and then the tag sit in one
buffer, the plaintext is encrypted in place, and the caller copies the result out once.

libsodium's encryption XORs the keystream into the output and then MACs the output; its
decryption verifies the MAC over the input before it writes any plaintext. Both are therefore
correct in place, and the tests check this path against PyNaCl's public one byte for byte.

Invariants:

- Failures to authenticate raise :class:`DecryptionFailed`; no nacl exception escapes.
- Nothing is written to the output of a decryption that does not verify (libsodium's order).
"""

from __future__ import annotations

from typing import Any

from nacl._sodium import ffi, lib

from ots_cli.errors import DecryptionFailed

__all__ = ["TAG_BYTES", "decrypt", "encrypt", "encrypt_in_place", "new_buffer", "seal_after_header"]

TAG_BYTES = 16
NONCE_BYTES = 24
KEY_BYTES = 32

# Output buffers are overwritten in full, so zero-filling them first would be a wasted pass.
_uninitialised = ffi.new_allocator(should_clear_after_alloc=False)

_FAILED = "the secret could not be decrypted: it was altered or the key is wrong"


def new_buffer(size: int) -> Any:
    """An uninitialised cffi byte buffer of ``size`` bytes (at least 1)."""
    return _uninitialised("unsigned char[]", max(1, size))


def _check(nonce: bytes, key: bytes) -> None:
    if len(nonce) != NONCE_BYTES or len(key) != KEY_BYTES:
        raise ValueError("XChaCha20-Poly1305 needs a 24-byte nonce and a 32-byte key")


def encrypt_in_place(
    buffer: Any, offset: int, length: int, ad: bytes, nonce: bytes, key: bytes
) -> None:
    """Encrypt ``buffer[offset:offset+length]`` in place and write the tag right after it."""
    _check(nonce, key)
    if offset < 0 or offset + length + TAG_BYTES > len(buffer):
        raise ValueError("the buffer has no room for the ciphertext and tag")
    start = buffer + offset
    rc = lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
        start, ffi.NULL, start, length, ad, len(ad), ffi.NULL, nonce, key
    )
    if rc != 0:  # pragma: no cover - libsodium's encryption cannot fail for valid lengths
        raise RuntimeError("XChaCha20-Poly1305 encryption failed")


def encrypt(message: bytes, ad: bytes, nonce: bytes, key: bytes) -> bytes:
    """Ciphertext || 16-byte tag of ``message``, through the same call seal() makes."""
    buffer = new_buffer(len(message) + TAG_BYTES)
    view = ffi.buffer(buffer)
    view[: len(message)] = message
    encrypt_in_place(buffer, 0, len(message), ad, nonce, key)
    result: bytes = view[:]
    return result


def seal_after_header(
    header: bytes, parts: tuple[bytes, ...], length: int, nonce: bytes, key: bytes
) -> bytes:
    """``header || Enc(parts joined, zero-padded to length; AD = header) || tag``.

    One buffer holds the whole blob; the plaintext is laid out after the header, encrypted in
    place, and the blob is copied out once.
    """
    start = len(header)
    buffer = new_buffer(start + length + TAG_BYTES)
    view = ffi.buffer(buffer)
    view[:start] = header
    offset = start
    for part in parts:
        view[offset : offset + len(part)] = part
        offset += len(part)
    if offset > start + length:
        raise ValueError("the plaintext is longer than the padded length")
    view[offset : start + length] = bytes(start + length - offset)
    encrypt_in_place(buffer, start, length, header, nonce, key)
    blob: bytes = view[:]
    return blob


def decrypt(data: bytes, offset: int, ad: bytes, nonce: bytes, key: bytes) -> Any:
    """Verify and decrypt ``data[offset:]`` (ciphertext || tag) without copying it first.

    Returns a cffi buffer of the plaintext (``len(data) - offset - 16`` bytes); raises
    DecryptionFailed if the tag does not verify.
    """
    _check(nonce, key)
    length = len(data) - offset - TAG_BYTES
    if offset < 0 or length < 0:
        raise DecryptionFailed(_FAILED)
    output = new_buffer(length)
    source = ffi.from_buffer("unsigned char[]", data) + offset
    rc = lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
        output, ffi.NULL, ffi.NULL, source, length + TAG_BYTES, ad, len(ad), nonce, key
    )
    if rc != 0:
        raise DecryptionFailed(_FAILED)
    return ffi.buffer(output, length)
