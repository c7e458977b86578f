"""ChaCha20, HChaCha20, Poly1305, XChaCha20-Poly1305 and secretstream in pure Python.

Written from docs/FORMAT.md ("Suite 1" and "The secretstream construction") and the RFCs it cites,
never from libsodium: the second reader (tests/core/test_spec_reader.py) uses it to open every
golden vector without libsodium, which proves the document is enough to implement both suites.

Slow (a few MiB/s) and not constant-time except for the tag comparison: a test oracle, never a
cipher to use. Every function takes and returns bytes; the stream state is a small mutable
object, as in the document.
"""

from __future__ import annotations

import hmac
import struct

__all__ = [
    "ABYTES",
    "TAG_FINAL",
    "TAG_MESSAGE",
    "TAG_PUSH",
    "TAG_REKEY",
    "AuthenticationFailed",
    "StreamState",
    "chacha20_block",
    "chacha20_xor",
    "hchacha20",
    "init",
    "mac_input",
    "poly1305",
    "pull",
    "push",
    "rekey",
    "xchacha20poly1305_decrypt",
]

TAG_MESSAGE, TAG_PUSH, TAG_REKEY, TAG_FINAL = 0x00, 0x01, 0x02, 0x03
#: One encrypted tag byte and a 16-byte Poly1305 tag per message.
ABYTES = 17

_MASK = 0xFFFFFFFF
_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_P1305 = (1 << 130) - 5


class AuthenticationFailed(Exception):
    """A Poly1305 tag did not verify (or a message is shorter than ABYTES)."""


def _rounds(state: list[int]) -> list[int]:
    """The 20 ChaCha rounds (10 column rounds and 10 diagonal rounds, interleaved)."""
    x = list(state)

    def quarter(a: int, b: int, c: int, d: int) -> None:
        x[a] = (x[a] + x[b]) & _MASK
        x[d] ^= x[a]
        x[d] = ((x[d] << 16) | (x[d] >> 16)) & _MASK
        x[c] = (x[c] + x[d]) & _MASK
        x[b] ^= x[c]
        x[b] = ((x[b] << 12) | (x[b] >> 20)) & _MASK
        x[a] = (x[a] + x[b]) & _MASK
        x[d] ^= x[a]
        x[d] = ((x[d] << 8) | (x[d] >> 24)) & _MASK
        x[c] = (x[c] + x[d]) & _MASK
        x[b] ^= x[c]
        x[b] = ((x[b] << 7) | (x[b] >> 25)) & _MASK

    for _ in range(10):
        quarter(0, 4, 8, 12)
        quarter(1, 5, 9, 13)
        quarter(2, 6, 10, 14)
        quarter(3, 7, 11, 15)
        quarter(0, 5, 10, 15)
        quarter(1, 6, 11, 12)
        quarter(2, 7, 8, 13)
        quarter(3, 4, 9, 14)
    return x


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """RFC 8439 §2.3: the 64-byte block for a 32-byte key, 32-bit counter and 12-byte nonce."""
    assert (len(key), len(nonce)) == (32, 12)
    assert 0 <= counter <= _MASK
    state = [*_SIGMA, *struct.unpack("<8I", key), counter, *struct.unpack("<3I", nonce)]
    mixed = _rounds(state)
    return struct.pack("<16I", *((m + s) & _MASK for m, s in zip(mixed, state, strict=True)))


def chacha20_xor(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
    """RFC 8439 §2.4: ``data`` XOR the key stream that starts at block ``counter``."""
    out = bytearray()
    for index, offset in enumerate(range(0, len(data), 64)):
        piece = data[offset : offset + 64]
        stream = chacha20_block(key, counter + index, nonce)[: len(piece)]
        mixed = int.from_bytes(piece, "little") ^ int.from_bytes(stream, "little")
        out += mixed.to_bytes(len(piece), "little")
    return bytes(out)


def hchacha20(key: bytes, input16: bytes) -> bytes:
    """draft-irtf-cfrg-xchacha-03 §2.2: the ChaCha rounds, no feed-forward, words 0-3, 12-15."""
    assert (len(key), len(input16)) == (32, 16)
    state = [*_SIGMA, *struct.unpack("<8I", key), *struct.unpack("<4I", input16)]
    mixed = _rounds(state)
    return struct.pack("<8I", *mixed[0:4], *mixed[12:16])


def poly1305(key: bytes, message: bytes) -> bytes:
    """RFC 8439 §2.5: the 16-byte tag of ``message`` under a 32-byte one-time key."""
    assert len(key) == 32
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    accumulator = 0
    for offset in range(0, len(message), 16):
        block = message[offset : offset + 16] + b"\x01"
        accumulator = (accumulator + int.from_bytes(block, "little")) * r % _P1305
    return ((accumulator + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _le64(value: int) -> bytes:
    return struct.pack("<Q", value)


def xchacha20poly1305_decrypt(ciphertext: bytes, ad: bytes, nonce: bytes, key: bytes) -> bytes:
    """Suite 1: XChaCha20-Poly1305-IETF (draft-irtf-cfrg-xchacha-03 over RFC 8439 §2.8)."""
    if len(ciphertext) < 16:
        raise AuthenticationFailed("shorter than a tag")
    subkey = hchacha20(key, nonce[:16])
    nonce12 = bytes(4) + nonce[16:24]
    body, tag = ciphertext[:-16], ciphertext[-16:]
    data = (
        ad
        + bytes(-len(ad) % 16)
        + body
        + bytes(-len(body) % 16)
        + _le64(len(ad))
        + _le64(len(body))
    )
    expected = poly1305(chacha20_block(subkey, 0, nonce12)[:32], data)
    if not hmac.compare_digest(expected, tag):
        raise AuthenticationFailed("the tag does not verify")
    return chacha20_xor(subkey, 1, nonce12, body)


class StreamState:
    """secretstream state: a 32-byte key, a 32-bit counter and the 8-byte inonce."""

    def __init__(self, key: bytes, counter: int, inonce: bytes) -> None:
        self.key, self.counter, self.inonce = key, counter, inonce

    @property
    def nonce(self) -> bytes:
        """The ChaCha20-IETF nonce of the next message: le32(counter) || inonce."""
        return struct.pack("<I", self.counter) + self.inonce


def init(key: bytes, header: bytes) -> StreamState:
    """State from the 32-byte key and the 24-byte stream header; the counter starts at 1."""
    assert (len(key), len(header)) == (32, 24)
    return StreamState(hchacha20(key, header[:16]), 1, header[16:24])


def rekey(state: StreamState) -> None:
    """(key || inonce) XOR ChaCha20 key stream (block 0, state nonce); counter back to 1."""
    fresh = chacha20_xor(state.key, 0, state.nonce, state.key + state.inonce)
    state.key, state.inonce, state.counter = fresh[:32], fresh[32:40], 1


def mac_input(ad: bytes, tag_block: bytes, ciphertext: bytes) -> bytes:
    """What Poly1305 authenticates for one message (note the second padding rule)."""
    return (
        ad
        + bytes((0x10 - len(ad)) & 0xF)
        + tag_block
        + ciphertext
        + bytes((0x10 - 64 + len(ciphertext)) & 0xF)  # = len(ciphertext) mod 16, not -len
        + _le64(len(ad))
        + _le64(64 + len(ciphertext))
    )


def _advance(state: StreamState, mac: bytes, tag: int) -> None:
    state.inonce = bytes(a ^ b for a, b in zip(state.inonce, mac[:8], strict=True))
    state.counter = (state.counter + 1) & _MASK
    if tag & TAG_REKEY or state.counter == 0:
        rekey(state)


def push(state: StreamState, message: bytes, ad: bytes, tag: int) -> bytes:
    """Encrypt one message: encrypted tag byte || ciphertext || 16-byte MAC."""
    nonce = state.nonce
    poly_key = chacha20_block(state.key, 0, nonce)[:32]
    tag_block = chacha20_xor(state.key, 1, nonce, bytes([tag]) + bytes(63))
    ciphertext = chacha20_xor(state.key, 2, nonce, message)
    mac = poly1305(poly_key, mac_input(ad, tag_block, ciphertext))
    _advance(state, mac, tag)
    return tag_block[:1] + ciphertext + mac


def pull(state: StreamState, chunk: bytes, ad: bytes) -> tuple[bytes, int]:
    """Verify and decrypt one message; return ``(message, tag)``. The state moves on only if
    the MAC verifies (AuthenticationFailed otherwise, the state unchanged)."""
    if len(chunk) < ABYTES:
        raise AuthenticationFailed("shorter than ABYTES")
    nonce = state.nonce
    poly_key = chacha20_block(state.key, 0, nonce)[:32]
    block1 = chacha20_block(state.key, 1, nonce)
    tag = chunk[0] ^ block1[0]
    tag_block = chunk[:1] + block1[1:]  # the encrypted tag byte, then 63 encrypted zeros
    ciphertext, mac = chunk[1:-16], chunk[-16:]
    expected = poly1305(poly_key, mac_input(ad, tag_block, ciphertext))
    if not hmac.compare_digest(expected, mac):
        raise AuthenticationFailed("the message's MAC does not verify")
    message = chacha20_xor(state.key, 2, nonce, ciphertext)
    _advance(state, mac, tag)
    return message, tag
