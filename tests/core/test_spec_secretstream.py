"""The secretstream construction written out in docs/FORMAT.md, checked three ways.

- Known answers for its primitives (RFC 8439, draft-irtf-cfrg-xchacha-03).
- The worked example in FORMAT.md: every value in that block is recomputed by
  :mod:`spec_secretstream` (written from the document) and the stream is what libsodium makes.
- Against libsodium itself (PyNaCl) on random messages, every tag, and a counter that wraps:
  libsodium is the oracle here, never the reader (tests/core/test_spec_reader.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
)

from ots_cli.core.format import CHUNK_SIZE, is_padded_length, padded_length
from ots_cli.core.stream import ciphertext_chunk_sizes

from . import spec_secretstream as spec
from .test_primitives import A31_AAD, A31_CIPHERTEXT, A31_KEY, A31_NONCE, A31_PLAINTEXT, A31_TAG

FORMAT_MD = Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md"


def test_chacha20_block_rfc8439_2_3_2() -> None:
    block = spec.chacha20_block(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
    assert block.hex() == (
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
    )


def test_poly1305_rfc8439_2_5_2() -> None:
    key = bytes.fromhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    tag = spec.poly1305(key, b"Cryptographic Forum Research Group")
    assert tag.hex() == "a8061dc1305136c6c22b8baf0c0127a9"


def test_hchacha20_xchacha_draft_2_2_1() -> None:
    subkey = spec.hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927"))
    assert subkey.hex() == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"


def test_xchacha20poly1305_xchacha_draft_a_3_1() -> None:
    sealed = A31_CIPHERTEXT + A31_TAG
    assert spec.xchacha20poly1305_decrypt(sealed, A31_AAD, A31_NONCE, A31_KEY) == A31_PLAINTEXT
    with pytest.raises(spec.AuthenticationFailed):
        spec.xchacha20poly1305_decrypt(sealed[:-1] + b"\x00", A31_AAD, A31_NONCE, A31_KEY)


def _worked_example() -> dict[str, str]:
    """The ``name = hex`` lines of the code block after "**Worked example.**" in FORMAT.md."""
    text = FORMAT_MD.read_text()
    section = text[text.index("### The secretstream construction") :]
    start = section.index("**Worked example.**")
    block = section[start:].split("```")[1]
    values = dict(re.findall(r"^(\w[\w ]*?)\s+=\s+([0-9a-f]+)$", block, re.MULTILINE))
    assert len(values) >= 25, "the worked example lost its values"
    return values


def test_the_worked_example_in_format_md_is_right() -> None:
    ex = _worked_example()
    key, header, ad = (bytes.fromhex(ex[name]) for name in ("key", "header", "ad"))
    state = spec.init(key, header)
    assert (state.key.hex(), state.inonce.hex(), state.counter) == (ex["k"], ex["inonce"], 1)
    stream = b""
    for name in ("m1", "m2"):
        message, tag = bytes.fromhex(ex[name]), int(ex[f"{name} tag"], 16)
        nonce = state.nonce
        assert nonce.hex() == ex[f"{name} nonce"]
        assert spec.chacha20_block(state.key, 0, nonce)[:32].hex() == ex[f"{name} otk"]
        tag_block = spec.chacha20_xor(state.key, 1, nonce, bytes([tag]) + bytes(63))
        assert tag_block.hex() == ex[f"{name} tag block"]
        ciphertext = spec.chacha20_xor(state.key, 2, nonce, message)
        assert ciphertext.hex() == ex[f"{name} ciphertext"]
        # The second padding is |c| mod 16 bytes, as the example's "mac input" line says.
        mac_input = spec.mac_input(ad, tag_block, ciphertext)
        assert len(mac_input) == len(ad) + 10 + 64 + 2 * len(ciphertext) + 16
        out = spec.push(state, message, ad, tag)
        assert (out[-16:].hex(), out.hex()) == (ex[f"{name} mac"], ex[f"{name} out"])
        assert state.inonce.hex() == ex[f"{name} next inonce"]
        assert state.counter == int(ex[f"{name} next counter"])
        stream += out
    assert state.key.hex() == ex["m2 next k"]  # TAG_FINAL's REKEY bit rekeyed the state

    # libsodium makes the same stream, and the document's pull reads it back.
    sodium = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(sodium, header, key)
    expected = b"".join(
        crypto_secretstream_xchacha20poly1305_push(sodium, bytes.fromhex(ex[m]), ad, tag)
        for m, tag in (("m1", spec.TAG_MESSAGE), ("m2", spec.TAG_FINAL))
    )
    assert stream == expected
    reader = spec.init(key, header)
    first, second = stream[: len(ex["m1 out"]) // 2], stream[len(ex["m1 out"]) // 2 :]
    assert spec.pull(reader, first, ad) == (b"hello", spec.TAG_MESSAGE)
    assert spec.pull(reader, second, ad) == (b"!", spec.TAG_FINAL)


_TAGS = [spec.TAG_MESSAGE, spec.TAG_PUSH, spec.TAG_REKEY, spec.TAG_FINAL]


@pytest.mark.parametrize("ad_length", [0, 9, 55, 79])
def test_the_written_construction_equals_libsodium(ad_length: int) -> None:
    key, header, ad = os.urandom(32), os.urandom(24), os.urandom(ad_length)
    sodium = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(sodium, header, key)
    sodium_reader = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(sodium_reader, header, key)
    writer, reader = spec.init(key, header), spec.init(key, header)
    lengths = [0, 1, 5, 15, 16, 17, 63, 64, 65, 100, 1600, 5000]
    for index, length in enumerate(lengths):
        message, tag = os.urandom(length), _TAGS[index % len(_TAGS)]
        chunk = crypto_secretstream_xchacha20poly1305_push(sodium, message, ad, tag)
        assert spec.push(writer, message, ad, tag) == chunk
        assert spec.pull(reader, chunk, ad) == (message, tag)
        assert crypto_secretstream_xchacha20poly1305_pull(sodium_reader, chunk, ad) == (
            message,
            tag,
        )


def test_a_wrapping_counter_rekeys_like_libsodium() -> None:
    """The counter goes 0xffffffff -> 0, which rekeys (FORMAT.md, State update)."""
    key, header, ad = os.urandom(32), os.urandom(24), b"ad"
    sodium = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(sodium, header, key)
    # libsodium's state is k (32 bytes) || le32(counter) || inonce (8 bytes) || padding.
    state_bytes = bytes(sodium.statebuf)
    assert state_bytes[32:36] == (1).to_bytes(4, "little")
    statebuf: Any = sodium.statebuf  # a cffi char array, writable in place
    statebuf[32:36] = b"\xff\xff\xff\xff"
    writer = spec.init(key, header)
    writer.counter = 0xFFFFFFFF
    for message in (b"last before the wrap", b"first after the rekey", b"and on"):
        chunk = crypto_secretstream_xchacha20poly1305_push(sodium, message, ad, spec.TAG_MESSAGE)
        assert spec.push(writer, message, ad, spec.TAG_MESSAGE) == chunk
    assert writer.counter == 3  # rekeyed to 1 after the wrap, then two messages


def test_tampered_truncated_and_reordered_chunks_fail_and_keep_the_state() -> None:
    key, header, ad = os.urandom(32), os.urandom(24), os.urandom(55)
    writer = spec.init(key, header)
    chunks = [spec.push(writer, os.urandom(100), ad, spec.TAG_MESSAGE) for _ in range(2)]
    for bad in (
        chunks[0][:-1],  # truncated
        chunks[0][:16],  # shorter than ABYTES
        bytes([chunks[0][0] ^ 1]) + chunks[0][1:],  # the tag byte
        chunks[0][:50] + bytes([chunks[0][50] ^ 0x80]) + chunks[0][51:],  # the ciphertext
        chunks[1],  # out of order
    ):
        reader = spec.init(key, header)
        with pytest.raises(spec.AuthenticationFailed):
            spec.pull(reader, bad, ad)
        assert (reader.counter, reader.inonce) == (1, header[16:])  # state unchanged
    with pytest.raises(spec.AuthenticationFailed):
        spec.pull(spec.init(key, header), chunks[0], ad + b"x")  # other associated data


def test_every_ots_message_length_is_a_multiple_of_64() -> None:
    """FORMAT.md: so the second MAC padding (|c| mod 16 bytes) is always empty in ots."""
    sizes = {1600, CHUNK_SIZE, *(padded_length(n) for n in range(1500, 300_000, 97))}
    for size in sorted(sizes):
        assert is_padded_length(size)
        chunks = [s - spec.ABYTES for s in ciphertext_chunk_sizes(size)]
        assert all(length % 64 == 0 for length in chunks), size
