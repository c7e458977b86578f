"""Sealing and opening whole blobs: round trips, tampering, truncation, wrong keys."""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ots_cli.core.crypto import Sealed, derive_keys, open_blob, seal, seal_stream
from ots_cli.core.envelope import Meta
from ots_cli.core.format import Suite, blob_length, decode_header, padded_length
from ots_cli.errors import (
    CryptoError,
    DecryptionFailed,
    FormatError,
    KdfParamsRefused,
    UnsupportedVersion,
)

from .conftest import body_of, fast_argon2

ID = bytes(range(16))
KEY = bytes(range(32, 64))
OPS, MEM = 2, 64 << 20
REJECTIONS = (FormatError, UnsupportedVersion, DecryptionFailed)

suites = st.sampled_from(Suite)
bodies = st.binary(max_size=2048) | st.integers(0, 256 * 1024).map(body_of)
metas = st.sampled_from(
    [
        Meta(),
        Meta(media_type="application/json"),
        Meta("file"),
        Meta("file", "notes.txt", "text/plain"),
        Meta("file", "ünïcødé ✓.bin"),
    ]
)


def _seal(body: bytes, suite: Suite, passphrase: str | None = None, **kwargs: object) -> Sealed:
    return seal(
        body,
        id=ID,
        key=KEY,
        suite=suite,
        passphrase=passphrase,
        opslimit=OPS,
        memlimit=MEM,
        argon2=fast_argon2,
        **kwargs,  # type: ignore[arg-type]
    )


def _open_as_reader(blob: bytes, passphrase: str | None) -> bytes:
    """What a reader does: derive keys from the header it received, then open."""
    header, _ = decode_header(blob)
    keys = derive_keys(header, KEY, passphrase, argon2=fast_argon2)
    return open_blob(blob, id=ID, keys=keys).body


@settings(max_examples=60, deadline=None)
@given(bodies, suites, metas, st.none() | st.text(min_size=1, max_size=20))
def test_round_trip(body: bytes, suite: Suite, meta: Meta, passphrase: str | None) -> None:
    sealed = _seal(body, suite, passphrase, meta=meta)
    header, header_length = decode_header(sealed.blob)
    assert header == sealed.header
    assert sealed.blob[:header_length] == sealed.header_bytes
    assert len(sealed.blob) == blob_length(header_length, header.padded_length, suite)
    keys = derive_keys(header, KEY, passphrase, argon2=fast_argon2)
    assert keys == sealed.keys
    opened = open_blob(sealed.blob, id=ID, keys=keys)
    assert opened.body == body
    assert opened.meta == meta
    assert opened.header == header


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize("size", [0, 1, 1590, 1591, 65526, 65527, 131062, 200_000])
def test_round_trip_at_boundaries_with_real_argon2(suite: Suite, size: int) -> None:
    body = body_of(size, seed=size)
    passphrase = "pässwörd" if size in (1591, 200_000) else None
    sealed = seal(
        body, id=ID, key=KEY, suite=suite, passphrase=passphrase, opslimit=OPS, memlimit=MEM
    )
    header, _ = decode_header(sealed.blob)
    keys = derive_keys(header, KEY, passphrase)
    assert open_blob(sealed.blob, id=ID, keys=keys).body == body


def test_ciphertext_is_fresh_each_time() -> None:
    first, second = seal(b"same", id=ID, key=KEY), seal(b"same", id=ID, key=KEY)
    assert first.blob != second.blob
    assert first.keys == second.keys


def test_randomness_is_drawn_salt_then_nonce() -> None:
    calls: list[int] = []

    def random(size: int) -> bytes:
        calls.append(size)
        return bytes([len(calls)]) * size

    sealed = _seal(b"x", Suite.SEALED, "pw", random=random)
    assert calls == [16, 24]
    assert sealed.header.kdf is not None
    assert sealed.header.kdf.salt == b"\x01" * 16
    assert sealed.header.nonce == b"\x02" * 24
    with pytest.raises(ValueError, match="wrong number of bytes"):
        _seal(b"x", Suite.SEALED, random=lambda size: b"")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": b"short"}, "16-byte id"),
        ({"key": b"short"}, "32-byte key"),
        ({"passphrase": ""}, "empty passphrase"),
        ({"meta": Meta("text", name="x")}, "only files"),
    ],
)
def test_seal_argument_errors(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"id": ID, "key": KEY, **kwargs}
    with pytest.raises(ValueError, match=message):
        seal(b"body", **arguments)  # type: ignore[arg-type]


def test_reprs_hide_plaintext_and_keys() -> None:
    sealed = _seal(b"TOP-SECRET-BODY", Suite.SEALED)
    opened = open_blob(sealed.blob, id=ID, keys=sealed.keys)
    for text in (repr(sealed), repr(opened)):
        assert "TOP-SECRET" not in text
        assert sealed.keys.payload_key.hex() not in text
        assert "blob" not in text
        assert "body" not in text


# --- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", list(Suite))
def test_every_single_bit_flip_is_rejected(suite: Suite) -> None:
    sealed = _seal(b"attack at dawn", suite)
    blob = bytearray(sealed.blob)
    for bit in range(len(blob) * 8):
        blob[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(REJECTIONS):
            open_blob(bytes(blob), id=ID, keys=sealed.keys)
        blob[bit // 8] ^= 1 << (bit % 8)
    assert open_blob(bytes(blob), id=ID, keys=sealed.keys).body == b"attack at dawn"


def _expected_error(original: bytes, mutated: bytes) -> tuple[type[CryptoError], ...]:
    """Where a flip lands decides the error class; anything else in the tree is a bug."""
    if mutated[:4] != original[:4] or len(mutated) < 31:
        return (FormatError,)
    if mutated[4:7] != original[4:7]:
        return (UnsupportedVersion, FormatError, DecryptionFailed)
    if mutated[23:31] != original[23:31]:
        return (FormatError, DecryptionFailed)
    return (DecryptionFailed,)


@settings(max_examples=150)
@given(st.integers(0, 200_000), suites, st.data())
def test_random_bit_flips_raise_the_documented_error(
    size: int, suite: Suite, data: st.DataObject
) -> None:
    sealed = _seal(body_of(size), suite)
    bit = data.draw(st.integers(0, len(sealed.blob) * 8 - 1))
    mutated = bytearray(sealed.blob)
    mutated[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(_expected_error(sealed.blob, bytes(mutated))):
        open_blob(bytes(mutated), id=ID, keys=sealed.keys)


@pytest.mark.parametrize("suite", list(Suite))
def test_every_truncation_and_extension_is_rejected(suite: Suite) -> None:
    sealed = _seal(b"attack at dawn", suite)
    for length in range(len(sealed.blob)):
        error = FormatError if length < len(sealed.header_bytes) else DecryptionFailed
        with pytest.raises(error):
            open_blob(sealed.blob[:length], id=ID, keys=sealed.keys)
    for extra in (b"\x00", b"\x01" * 17, sealed.blob):
        with pytest.raises(DecryptionFailed, match="extra bytes"):
            open_blob(sealed.blob + extra, id=ID, keys=sealed.keys)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 200_000), suites, st.data())
def test_random_truncations(size: int, suite: Suite, data: st.DataObject) -> None:
    sealed = _seal(body_of(size), suite)
    cut = data.draw(st.integers(0, len(sealed.blob) - 1))
    with pytest.raises((FormatError, DecryptionFailed)):
        open_blob(sealed.blob[:cut], id=ID, keys=sealed.keys)


def test_passphrase_header_fields_bind_the_keys() -> None:
    # Every flip of the KDF parameters or salt, with keys derived from the flipped header as a
    # reader would, is refused or fails to authenticate.
    sealed = _seal(b"guarded", Suite.SEALED, "pw")
    for bit in range(31 * 8, 55 * 8):
        mutated = bytearray(sealed.blob)
        mutated[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises((KdfParamsRefused, DecryptionFailed)):
            _open_as_reader(bytes(mutated), "pw")
    assert _open_as_reader(sealed.blob, "pw") == b"guarded"


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize(
    ("offset", "value", "error"),
    [
        (4, b"\x02", UnsupportedVersion),  # version
        (5, b"\x00", UnsupportedVersion),  # suite
        (6, b"\x04", UnsupportedVersion),  # flags
        (6, b"\x01", KdfParamsRefused),  # passphrase flag: parameters read from the nonce
        (7, bytes(16), DecryptionFailed),  # id
    ],
)
def test_changed_header_fields_break_decryption(
    suite: Suite, offset: int, value: bytes, error: type[Exception]
) -> None:
    sealed = _seal(b"payload", suite, random=lambda size: b"\xff" * size)
    mutated = sealed.blob[:offset] + value + sealed.blob[offset + len(value) :]
    with pytest.raises(error):
        _open_as_reader(mutated, "pw" if value == b"\x01" else None)


def test_suite_relabelled_is_rejected() -> None:
    for suite in Suite:
        sealed = _seal(b"payload", suite)
        mutated = sealed.blob[:5] + bytes([3 - suite]) + sealed.blob[6:]
        with pytest.raises(DecryptionFailed):
            open_blob(mutated, id=ID, keys=sealed.keys)


def test_blob_for_another_id_is_rejected_even_with_matching_keys() -> None:
    other_id = bytes(16)
    sealed = seal(b"payload", id=other_id, key=KEY)
    with pytest.raises(DecryptionFailed, match="another id"):
        open_blob(sealed.blob, id=ID, keys=sealed.keys)


def test_wrong_key_and_wrong_passphrase() -> None:
    sealed = _seal(b"payload", Suite.SEALED, "right")
    header = sealed.header
    for keys in (
        derive_keys(header, bytes(32), "right", argon2=fast_argon2),
        derive_keys(header, KEY, "wrong", argon2=fast_argon2),
        derive_keys(header, KEY, "Right", argon2=fast_argon2),
    ):
        with pytest.raises(DecryptionFailed, match="altered or the key is wrong"):
            open_blob(sealed.blob, id=ID, keys=keys)


def test_header_swap_between_secrets_is_rejected() -> None:
    a = _seal(b"first", Suite.SEALED)
    b = seal(b"second", id=ID, key=KEY)  # same id and key, different nonce
    with pytest.raises(DecryptionFailed):
        open_blob(b.header_bytes + a.blob[len(a.header_bytes) :], id=ID, keys=a.keys)


LONGEST_NAME = "é" * 127 + "x"  # 255 bytes of UTF-8
LONGEST_MEDIA_TYPE = "application/" + "x" * 243  # 255 characters


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize(
    "meta",
    [
        Meta(),
        Meta(media_type=LONGEST_MEDIA_TYPE),
        Meta("file"),
        Meta("file", LONGEST_NAME),
        Meta("file", LONGEST_NAME, LONGEST_MEDIA_TYPE),
    ],
    ids=["text", "text+type", "file", "file+name", "file+name+type"],
)
def test_blob_sizes_hide_lengths_up_to_1_kib(suite: Suite, meta: Meta) -> None:
    # Every body of at most 1 KiB gives one blob size, whatever its kind, name and media type.
    sizes = {
        len(seal(body_of(n), id=ID, key=KEY, suite=suite, meta=meta).blob) for n in range(1025)
    }
    assert sizes == {55 + 1600 + (16 if suite == Suite.SEALED else 17)}


def test_suite_1_refuses_more_than_128_mib() -> None:
    # Readers refuse larger suite-1 headers (they would have to buffer it all), so the writer
    # must not produce one: such a secret is sealed with suite 2. The refusal comes before the
    # body is read, so the (lazily zeroed) body below is never touched.
    largest = (1 << 27) - 10  # envelope (10) + body = 128 MiB exactly: the largest suite-1 text
    assert padded_length(10 + largest) == 1 << 27
    body = bytes(largest + 1)
    with pytest.raises(ValueError, match="use suite 2"):
        seal(body, id=ID, key=KEY)
    streamed = seal_stream(io.BytesIO(body), len(body), id=ID, key=KEY)
    assert streamed.header.suite == Suite.STREAM
    assert streamed.header.padded_length > 1 << 27


def test_digest_of_body_survives() -> None:
    body = body_of(300_000, seed=9)
    sealed = _seal(body, Suite.STREAM, meta=Meta("file", "big.bin"))
    opened = open_blob(sealed.blob, id=ID, keys=sealed.keys)
    assert hashlib.sha256(opened.body).digest() == hashlib.sha256(body).digest()
