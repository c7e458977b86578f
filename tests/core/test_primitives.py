"""The primitives through the exact call paths seal() and open_blob() use, against known answers.

- XChaCha20-Poly1305-IETF: draft-irtf-cfrg-xchacha-03, appendix A.3.1.
- The in-place buffer path of ots_cli.core.aead against PyNaCl's public functions.
- secretstream: a push state set up with init_pull on a caller-chosen header equals the state
  libsodium's init_push creates, so injecting the stream header changes nothing else.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)

from ots_cli.core import aead, crypto, stream
from ots_cli.core.format import CHUNK_SIZE
from ots_cli.errors import DecryptionFailed

# draft-irtf-cfrg-xchacha-03, A.3.1 (AEAD_XChaCha20_Poly1305)
A31_PLAINTEXT = (
    b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    b"future, sunscreen would be it."
)
A31_AAD = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
A31_KEY = bytes.fromhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
A31_NONCE = bytes.fromhex("404142434445464748494a4b4c4d4e4f5051525354555657")
A31_CIPHERTEXT = bytes.fromhex(
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e"
)
A31_TAG = bytes.fromhex("c0875924c1c7987947deafd8780acf49")


def test_xchacha_a31_encrypt() -> None:
    sealed = crypto.xchacha20poly1305_encrypt(A31_PLAINTEXT, A31_AAD, A31_NONCE, A31_KEY)
    assert sealed == A31_CIPHERTEXT + A31_TAG


def test_xchacha_a31_through_the_blob_layout() -> None:
    # seal() lays out header || plaintext || tag in one buffer with AD = header; use the AAD
    # of A.3.1 as the "header" to run the vector through exactly that function.
    blob = aead.seal_after_header(
        A31_AAD, (A31_PLAINTEXT[:10], A31_PLAINTEXT[10:]), len(A31_PLAINTEXT), A31_NONCE, A31_KEY
    )
    assert blob == A31_AAD + A31_CIPHERTEXT + A31_TAG
    opened = aead.decrypt(blob, len(A31_AAD), A31_AAD, A31_NONCE, A31_KEY)
    assert opened[:] == A31_PLAINTEXT


def test_xchacha_a31_decrypt_and_tamper() -> None:
    sealed = A31_CIPHERTEXT + A31_TAG
    assert crypto.xchacha20poly1305_decrypt(sealed, A31_AAD, A31_NONCE, A31_KEY) == A31_PLAINTEXT
    for position in (0, len(A31_CIPHERTEXT) - 1, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[position] ^= 1
        with pytest.raises(DecryptionFailed):
            crypto.xchacha20poly1305_decrypt(bytes(tampered), A31_AAD, A31_NONCE, A31_KEY)
    with pytest.raises(DecryptionFailed):
        crypto.xchacha20poly1305_decrypt(sealed, A31_AAD[:-1], A31_NONCE, A31_KEY)
    with pytest.raises(DecryptionFailed):
        crypto.xchacha20poly1305_decrypt(sealed[:15], A31_AAD, A31_NONCE, A31_KEY)


@settings(max_examples=60)
@given(st.binary(max_size=3000), st.binary(min_size=1, max_size=100), st.integers(0, 64))
def test_in_place_path_equals_pynacl(message: bytes, ad: bytes, pad: int) -> None:
    nonce, key = os.urandom(24), os.urandom(32)
    reference = crypto_aead_xchacha20poly1305_ietf_encrypt(message + bytes(pad), ad, nonce, key)
    assert aead.encrypt(message + bytes(pad), ad, nonce, key) == reference
    blob = aead.seal_after_header(ad, (message,), len(message) + pad, nonce, key)
    assert blob == ad + reference
    assert aead.decrypt(blob, len(ad), ad, nonce, key)[:] == message + bytes(pad)
    assert crypto_aead_xchacha20poly1305_ietf_decrypt(blob[len(ad) :], ad, nonce, key) == (
        message + bytes(pad)
    )


def test_aead_argument_checks() -> None:
    with pytest.raises(ValueError, match="24-byte nonce"):
        aead.encrypt(b"m", b"ad", bytes(23), bytes(32))
    with pytest.raises(ValueError, match="32-byte key"):
        aead.decrypt(b"x" * 40, 0, b"ad", bytes(24), bytes(31))
    with pytest.raises(ValueError, match="no room"):
        aead.encrypt_in_place(aead.new_buffer(20), 0, 10, b"ad", bytes(24), bytes(32))
    with pytest.raises(ValueError, match="longer than the padded length"):
        aead.seal_after_header(b"h", (b"abc",), 2, bytes(24), bytes(32))
    with pytest.raises(DecryptionFailed):
        aead.decrypt(b"x" * 10, 0, b"ad", bytes(24), bytes(32))
    with pytest.raises(DecryptionFailed):
        aead.decrypt(b"x" * 40, 41, b"ad", bytes(24), bytes(32))


def _push_all(
    state: crypto_secretstream_xchacha20poly1305_state, messages: list[bytes], ad: bytes
) -> list[bytes]:
    out = []
    for index, message in enumerate(messages):
        final = index == len(messages) - 1
        tag = (
            crypto_secretstream_xchacha20poly1305_TAG_FINAL
            if final
            else crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
        )
        out.append(crypto_secretstream_xchacha20poly1305_push(state, message, ad, tag))
    return out


@settings(max_examples=25)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=6), st.binary(max_size=80))
def test_init_pull_push_state_equals_init_push(messages: list[bytes], ad: bytes) -> None:
    key = os.urandom(32)
    standard = crypto_secretstream_xchacha20poly1305_state()
    header = crypto_secretstream_xchacha20poly1305_init_push(standard, key)
    expected = _push_all(standard, messages, ad)

    injected = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(injected, header, key)
    assert _push_all(injected, messages, ad) == expected

    # And ots's own writer, given that header, produces the same chunks.
    padded = sum(len(m) for m in messages)
    if padded and all(len(m) == CHUNK_SIZE for m in messages[:-1]):
        chunks = list(stream.encrypt_chunks(key, header, ad, messages, padded))
        assert chunks == expected


def test_ots_writer_interoperates_with_the_standard_reader() -> None:
    key, header, ad = os.urandom(32), os.urandom(24), b"header bytes"
    plaintext = os.urandom(2 * CHUNK_SIZE + 100)
    pieces = [plaintext[i : i + CHUNK_SIZE] for i in range(0, len(plaintext), CHUNK_SIZE)]
    chunks = list(stream.encrypt_chunks(key, header, ad, pieces, len(plaintext)))
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    pulled = [crypto_secretstream_xchacha20poly1305_pull(state, c, ad) for c in chunks]
    assert b"".join(m for m, _ in pulled) == plaintext
    assert [t for _, t in pulled] == [
        crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
        crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
        crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    ]


def test_standard_writer_interoperates_with_the_ots_reader() -> None:
    key, ad = os.urandom(32), b"header bytes"
    plaintext = os.urandom(CHUNK_SIZE + 5000)
    state = crypto_secretstream_xchacha20poly1305_state()
    header = crypto_secretstream_xchacha20poly1305_init_push(state, key)
    chunks = _push_all(state, [plaintext[:CHUNK_SIZE], plaintext[CHUNK_SIZE:]], ad)
    reader = stream.decrypt_chunks(key, header, ad, stream.Pieces(chunks), len(plaintext))
    assert b"".join(reader) == plaintext


def test_stream_writer_counts_chunks() -> None:
    key, header = os.urandom(32), os.urandom(24)
    with pytest.raises(ValueError, match="more plaintext chunks"):
        list(stream.encrypt_chunks(key, header, b"", [b"a", b"b"], 1))
    with pytest.raises(ValueError, match="fewer plaintext chunks"):
        list(stream.encrypt_chunks(key, header, b"", [], 1))
    with pytest.raises(ValueError, match="24 bytes"):
        list(stream.encrypt_chunks(key, header[:5], b"", [b"a"], 1))
