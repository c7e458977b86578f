"""The v1 byte layout: header, envelope, padding rule and sizes."""

from __future__ import annotations

import math
import random
import struct

import pytest
from binding_cases import ACCEPTED, REFUSED
from hypothesis import given
from hypothesis import strategies as st

from ots_cli.core.binding import binding_from_option, describe_binding, parse_binding
from ots_cli.core.envelope import (
    MAX_ENVELOPE_LENGTH,
    MAX_MEDIA_TYPE_BYTES,
    Meta,
    decode_envelope,
    encode_envelope,
)
from ots_cli.core.format import (
    CHUNK_SIZE,
    HEADER_LENGTH,
    HEADER_LENGTH_PASSPHRASE,
    MAGIC,
    MAX_HEADER_LENGTH,
    MAX_PADDED_LENGTH,
    MAX_SEALED_PADDED_LENGTH,
    MIN_PADDED_LENGTH,
    SUITE_1_UP_TO,
    Header,
    KdfParams,
    Suite,
    blob_length,
    chunk_count,
    decode_header,
    is_padded_length,
    padded_length,
    writer_suite,
)
from ots_cli.errors import FormatError, UnsupportedVersion

MIB = 1 << 20

ids = st.binary(min_size=16, max_size=16)
nonces = st.binary(min_size=24, max_size=24)
kdfs = st.none() | st.builds(
    KdfParams,
    opslimit=st.integers(0, 2**32 - 1),
    memlimit=st.integers(0, 2**32 - 1),
    salt=st.binary(min_size=16, max_size=16),
)
valid_padded = st.integers(0, 2**40).map(lambda n: padded_length(n))
# A suite and a padded length it allows (suite 1 at most MAX_SEALED_PADDED_LENGTH).
suites_and_lengths = st.tuples(
    st.just(Suite.SEALED), st.integers(0, MAX_SEALED_PADDED_LENGTH).map(padded_length)
) | st.tuples(st.just(Suite.STREAM), valid_padded)


def _header(**changes: object) -> Header:
    fields: dict[str, object] = {
        "suite": Suite.SEALED,
        "id": bytes(range(16)),
        "padded_length": 1600,
        "nonce": bytes(range(24)),
        "kdf": None,
    }
    fields.update(changes)
    return Header(**fields)  # type: ignore[arg-type]


# --- header ---------------------------------------------------------------------------------


@given(suites_and_lengths, ids, nonces, kdfs, st.binary(max_size=40))
def test_header_round_trip(
    suite_and_length: tuple[Suite, int],
    id_: bytes,
    nonce: bytes,
    kdf: KdfParams | None,
    tail: bytes,
) -> None:
    suite, padded = suite_and_length
    header = Header(suite=suite, id=id_, padded_length=padded, nonce=nonce, kdf=kdf)
    encoded = header.encode()
    assert len(encoded) == (HEADER_LENGTH_PASSPHRASE if kdf else HEADER_LENGTH)
    assert decode_header(encoded + tail) == (header, len(encoded))
    assert header.needs_passphrase == (kdf is not None)


def test_header_byte_layout() -> None:
    kdf = KdfParams(opslimit=3, memlimit=64 * MIB, salt=b"S" * 16)
    encoded = _header(suite=Suite.STREAM, padded_length=1664, kdf=kdf).encode()
    assert encoded == (
        b"\x89OTS\x01\x02\x01"
        + bytes(range(16))
        + struct.pack(">Q", 1664)
        + struct.pack(">II", 3, 64 * MIB)
        + b"S" * 16
        + bytes(range(24))
    )
    assert len(encoded) == 79
    # The longest header: a passphrase and a 255-byte binding (length byte included).
    assert MAX_HEADER_LENGTH == 79 + 1 + 255 <= 1024
    assert HEADER_LENGTH == 55


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 2}, "version 1 only"),
        ({"suite": 3}, "unknown suite"),
        ({"id": b"short"}, "16 bytes"),
        ({"nonce": b"short"}, "24 bytes"),
        ({"padded_length": 1601}, "padding rule"),
        ({"padded_length": 1536}, "padding rule"),
        ({"padded_length": 0}, "padding rule"),
        ({"kdf": KdfParams(2, 64 * MIB, b"short")}, "salt"),
        ({"kdf": KdfParams(2**32, 64 * MIB, bytes(16))}, "32 bits"),
        ({"kdf": KdfParams(2, -1, bytes(16))}, "32 bits"),
    ],
)
def test_header_encode_refuses_unrepresentable_fields(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _header(**changes).encode()


GOOD = _header().encode()


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", FormatError, "truncated"),
        (MAGIC[:3], FormatError, "truncated"),
        (MAGIC, FormatError, "truncated"),
        (b"PK\x03\x04" + GOOD[4:], FormatError, "wrong magic"),
        (b"\x89OTX" + GOOD[4:], FormatError, "wrong magic"),
        (b"{}", FormatError, "wrong magic"),
        (GOOD[:4] + b"\x02" + GOOD[5:], UnsupportedVersion, "version 2"),
        (GOOD[:4] + b"\x00" + GOOD[5:], UnsupportedVersion, "version 0"),
        (GOOD[:4] + b"\x02", UnsupportedVersion, "version 2"),
        (GOOD[:5] + b"\x00" + GOOD[6:], UnsupportedVersion, "suite 0"),
        (GOOD[:5] + b"\x09" + GOOD[6:], UnsupportedVersion, "suite 9"),
        (GOOD[:6] + b"\x04" + GOOD[7:], UnsupportedVersion, "flags"),
        (GOOD[:6] + b"\x02" + GOOD[7:], FormatError, "truncated"),
        (GOOD[:6] + b"\x02" + GOOD[7:] + b"\x00", FormatError, "empty binding"),
        (GOOD[:6] + b"\x02" + GOOD[7:] + b"\x0bgithub:a/b", FormatError, "truncated"),
        (GOOD[:6] + b"\x02" + GOOD[7:] + b"\x09github:a/", FormatError, "malformed binding"),
        (GOOD[:6] + b"\x02" + GOOD[7:] + b"\x05GITHU", FormatError, "malformed binding"),
        (GOOD[:6] + b"\x02" + GOOD[7:] + b"\x05gitl\xff", FormatError, "malformed binding"),
        (GOOD[:6] + b"\x81" + GOOD[7:], UnsupportedVersion, "flags"),
        (GOOD[:6] + b"\x01" + GOOD[7:], FormatError, "truncated"),
        # Suite and flags are checked as soon as their byte is present, before any length.
        (b"\x89OTS\x01\x09\x00", UnsupportedVersion, "suite 9"),
        (b"\x89OTS\x01\x09", UnsupportedVersion, "suite 9"),
        (b"\x89OTS\x01\x01\x80", UnsupportedVersion, "flags"),
        (b"\x89OTS\x01\x02\x04" + bytes(10), UnsupportedVersion, "flags"),
        (b"\x89OTS\x02", UnsupportedVersion, "version 2"),
        (b"\x89OTS\x01", FormatError, "truncated"),
        (b"\x89OTS\x01\x01", FormatError, "truncated"),
        (b"\x89OTS\x01\x01\x01", FormatError, "truncated"),
        (b"\x89OT\x00", FormatError, "wrong magic"),
        (GOOD[:30], FormatError, "truncated"),
        (GOOD[:-1], FormatError, "truncated"),
        (GOOD[:23] + struct.pack(">Q", 0) + GOOD[31:], FormatError, "padded length"),
        (GOOD[:23] + struct.pack(">Q", 1599) + GOOD[31:], FormatError, "padded length"),
        (GOOD[:23] + struct.pack(">Q", 1536) + GOOD[31:], FormatError, "padded length"),
        (GOOD[:23] + struct.pack(">Q", 1601) + GOOD[31:], FormatError, "padded length"),
        (GOOD[:23] + struct.pack(">Q", 2**41) + GOOD[31:], FormatError, "padded length"),
        (GOOD[:23] + struct.pack(">Q", 2**64 - 1) + GOOD[31:], FormatError, "padded length"),
    ],
)
def test_decode_header_is_strict(data: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        decode_header(data)


def _spec_error(data: bytes) -> type[Exception] | None:
    """The error FORMAT.md's header steps give for ``data``, applied literally in order."""
    if len(data) < 5 or data[:4] != MAGIC:
        return FormatError  # step 1
    if data[4] != 1:
        return UnsupportedVersion  # step 2
    if len(data) > 5 and data[5] not in (1, 2):
        return UnsupportedVersion  # step 3
    if len(data) > 6 and data[6] & 0xFC:
        return UnsupportedVersion  # step 4
    if len(data) < 7 or len(data) < (79 if data[6] & 1 else 55):
        return FormatError  # step 4
    padded = int.from_bytes(data[23:31], "big")
    if not is_padded_length(padded) or (data[5] == 1 and padded > 1 << 27):
        return FormatError  # step 5
    return None


@pytest.mark.parametrize(
    ("suite", "flags"), [(1, 0), (2, 1), (0, 0), (3, 0), (9, 0), (1, 0x80), (2, 0x04), (7, 0x40)]
)
def test_every_prefix_fails_in_the_documented_order(suite: int, flags: int) -> None:
    kdf = KdfParams(2, 64 * MIB, bytes(16)) if flags & 1 else None
    full = bytearray(_header(suite=Suite.SEALED, kdf=kdf).encode())
    full[5], full[6] = suite, flags
    for length in range(len(full) + 1):
        prefix = bytes(full[:length])
        expected = _spec_error(prefix)
        if expected is None:
            assert decode_header(prefix)[1] == length
        else:
            with pytest.raises(expected):
                decode_header(prefix)
        # The point of the order: "unsupported" as soon as the offending byte is there.
        unsupported = (length >= 6 and suite not in (1, 2)) or (length >= 7 and flags & 0xFC)
        assert (expected is UnsupportedVersion) == bool(unsupported)


BOUND = "github:octo-org/app@refs/heads/main:production"


@pytest.mark.parametrize("kdf", [None, KdfParams(2, 64 * MIB, b"S" * 16)])
def test_binding_follows_the_nonce_and_round_trips(kdf: KdfParams | None) -> None:
    plain = _header(kdf=kdf)
    header = _header(kdf=kdf, binding=BOUND)
    encoded = header.encode()
    base = plain.encode()
    # Flag bit 1 set; everything up to the nonce as without a binding; then u8 length || text.
    assert encoded[6] == base[6] | 0x02
    assert encoded[7:] == base[7:] + bytes((len(BOUND),)) + BOUND.encode()
    assert decode_header(encoded + b"ciphertext") == (header, len(base) + 1 + len(BOUND))
    # Every proper prefix past the fixed part is a truncation, never a shorter valid header.
    for cut in range(len(base), len(encoded)):
        with pytest.raises(FormatError, match="truncated"):
            decode_header(encoded[:cut])


@pytest.mark.parametrize("binding", ACCEPTED)
def test_canonical_bindings_are_accepted(binding: str) -> None:
    assert parse_binding(binding) == binding
    assert decode_header(_header(binding=binding).encode())[0].binding == binding


@pytest.mark.parametrize("binding", REFUSED)
def test_non_canonical_bindings_are_refused(binding: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        parse_binding(binding)
    with pytest.raises(ValueError, match=r"\w"):
        _header(binding=binding).encode()


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("github:octo/app@main", "github:octo/app@refs/heads/main"),
        ("github:octo/app@main:prod", "github:octo/app@refs/heads/main:prod"),
        ("github:octo/app@refs/tags/v1", "github:octo/app@refs/tags/v1"),
        ("github:octo/app:prod", "github:octo/app:prod"),
        (
            "github:octo/app@main:prod:release.yml",
            "github:octo/app@refs/heads/main:prod:release.yml",
        ),
        ("github:octo/app@main::release.yml", "github:octo/app@refs/heads/main::release.yml"),
        ("github:octo/app::release.yml", "github:octo/app::release.yml"),
        ("gitlab:g/p@main", "gitlab:g/p@main"),
    ],
)
def test_for_option_spelling_becomes_canonical(typed: str, canonical: str) -> None:
    assert binding_from_option(typed) == canonical


def test_suite_1_is_bounded_to_128_mib() -> None:
    largest = _header(padded_length=MAX_SEALED_PADDED_LENGTH)
    assert decode_header(largest.encode())[0] == largest
    above = padded_length(MAX_SEALED_PADDED_LENGTH + 1)
    with pytest.raises(ValueError, match="suite 2"):
        _header(padded_length=above).encode()
    as_stream = _header(suite=Suite.STREAM, padded_length=above).encode()
    assert decode_header(as_stream)[0].padded_length == above
    relabelled = as_stream[:5] + b"\x01" + as_stream[6:]
    with pytest.raises(FormatError, match="suite-1 secret larger"):
        decode_header(relabelled)


def test_unsupported_version_hints_at_an_upgrade() -> None:
    with pytest.raises(UnsupportedVersion) as info:
        decode_header(GOOD[:4] + b"\x07" + GOOD[5:])
    assert any("newer ots" in hint for hint in info.value.hints)


@given(st.binary(max_size=120))
def test_decode_header_fuzz(data: bytes) -> None:
    try:
        header, length = decode_header(data)
    except (FormatError, UnsupportedVersion):
        return
    assert header.encode() == data[:length]


# --- envelope -------------------------------------------------------------------------------

names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\x7f"),
    min_size=1,
    max_size=60,
).filter(lambda n: n not in (".", "..") and not any(0x80 <= ord(c) < 0xA0 for c in n))
media_types = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1)
metas = st.builds(Meta, kind=st.just("text"), media_type=st.none() | media_types) | st.builds(
    Meta, kind=st.just("file"), name=st.none() | names, media_type=st.none() | media_types
)


@given(metas, st.integers(0, 2**40), st.binary(max_size=20))
def test_envelope_round_trip(meta: Meta, body_length: int, rest: bytes) -> None:
    envelope = encode_envelope(meta, body_length)
    assert len(envelope) <= MAX_ENVELOPE_LENGTH
    assert decode_envelope(envelope + rest) == (meta, body_length, len(envelope))


def test_envelope_layout() -> None:
    assert encode_envelope(Meta(), 5) == b"\x01" + struct.pack(">Q", 5) + b"\x00"
    assert encode_envelope(Meta("file", "a.txt", "text/plain"), 0) == (
        b"\x02" + bytes(8) + b"\x05a.txt" + b"\x0atext/plain"
    )
    assert encode_envelope(Meta("file"), 1) == b"\x02" + struct.pack(">Q", 1) + b"\x00\x00"
    longest = Meta("file", "é" * 127 + "x", "m" * 255)
    assert len(encode_envelope(longest, 0)) == MAX_ENVELOPE_LENGTH == 521


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (Meta("text", name="a.txt"), "only files"),
        (Meta("file", name=""), "1 to 255 bytes"),
        (Meta("file", name="é" * 128), "1 to 255 bytes"),
        (Meta("file", name="a/b"), "base name"),
        (Meta("file", name="a\\b"), "base name"),
        (Meta("file", name=".."), "base name"),
        (Meta("file", name="."), "base name"),
        (Meta("file", name="a\nb"), "control"),
        (Meta("file", name="a\x00b"), "control"),
        (Meta("file", name="a\x9bb"), "control"),
        (Meta("file", name="a\udcffb"), "UTF-8"),
        (Meta(media_type=""), "media type"),
        (Meta(media_type="é"), "media type"),
        (Meta(media_type="a\tb"), "media type"),
        (Meta(media_type="m" * 256), "media type"),
        (Meta(kind="blob"), "kind"),  # type: ignore[arg-type]
    ],
)
def test_encode_envelope_refuses_invalid_meta(meta: Meta, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_envelope(meta, 0)


@pytest.mark.parametrize(
    ("plaintext", "message"),
    [
        (b"", "truncated"),
        (b"\x01" + bytes(8), "truncated"),
        (b"\x00" + bytes(9), "unknown kind"),
        (b"\x03" + bytes(9), "unknown kind"),
        (b"\x02" + bytes(8), "truncated"),
        (b"\x02" + bytes(8) + b"\x05abc", "truncated"),
        (b"\x02" + bytes(8) + b"\x00", "truncated"),
        (b"\x02" + bytes(8) + b"\x02\xc3\x28\x00", "UTF-8"),
        (b"\x02" + bytes(8) + b"\x03a/b\x00", "base name"),
        (b"\x02" + bytes(8) + b"\x02a\x07\x00", "control"),
        (b"\x01" + bytes(8) + b"\x02\xc3\xa9", "ASCII"),
        (b"\x01" + bytes(8) + b"\x02a\x00", "media type"),
        (b"\x01" + bytes(8) + b"\xff" + bytes(300), "media type"),
    ],
)
def test_decode_envelope_is_strict(plaintext: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        decode_envelope(plaintext)


@given(st.binary(max_size=600))
def test_decode_envelope_fuzz(data: bytes) -> None:
    try:
        meta, body_length, length = decode_envelope(data)
    except FormatError:
        return
    assert encode_envelope(meta, body_length) == data[:length]


# --- padding and sizes ----------------------------------------------------------------------


def test_every_plaintext_up_to_1600_bytes_has_one_size() -> None:
    assert MIN_PADDED_LENGTH == 1600 == padded_length(1024 + MAX_ENVELOPE_LENGTH)
    assert is_padded_length(MIN_PADDED_LENGTH)
    assert {padded_length(n) for n in range(MIN_PADDED_LENGTH + 1)} == {1600}
    assert padded_length(MIN_PADDED_LENGTH + 1) == 1664


# The envelopes a body can have: the shortest and the longest of each kind, and between.
ENVELOPES = [
    Meta(),
    Meta(media_type="m" * MAX_MEDIA_TYPE_BYTES),
    Meta("file"),
    Meta("file", "n"),
    Meta("file", "é" * 127 + "x"),  # a 255-byte name
    Meta("file", "x" * 255, "application/" + "y" * 243),
    Meta("file", "é" * 127 + "x", "m" * MAX_MEDIA_TYPE_BYTES),  # the longest envelope: 521
]


@pytest.mark.parametrize("passphrase", [False, True])
@pytest.mark.parametrize("suite", list(Suite))
def test_every_body_up_to_1_kib_gives_one_blob_length_whatever_its_envelope(
    suite: Suite, passphrase: bool
) -> None:
    # DESIGN.md: every secret under 1 KiB has the same size, so the blob length reveals
    # neither the length of the body nor that of a file name or media type.
    assert max(len(encode_envelope(meta, 0)) for meta in ENVELOPES) == MAX_ENVELOPE_LENGTH
    header_length = HEADER_LENGTH_PASSPHRASE if passphrase else HEADER_LENGTH
    lengths = {
        blob_length(header_length, padded_length(len(encode_envelope(meta, n)) + n), suite)
        for meta in ENVELOPES
        for n in range(1025)
    }
    assert lengths == {blob_length(header_length, MIN_PADDED_LENGTH, suite)}


def test_the_suite_rule_depends_on_the_padded_length_alone() -> None:
    # FORMAT.md, "Choosing a suite": the suite byte is public, so it may say no more than the
    # padded length (also public) already does.
    assert SUITE_1_UP_TO == CHUNK_SIZE == 65536
    assert is_padded_length(SUITE_1_UP_TO)
    assert writer_suite(MIN_PADDED_LENGTH) == Suite.SEALED
    assert writer_suite(SUITE_1_UP_TO) == Suite.SEALED
    assert writer_suite(padded_length(SUITE_1_UP_TO + 1)) == Suite.STREAM
    assert writer_suite(MAX_PADDED_LENGTH) == Suite.STREAM


@pytest.mark.parametrize("n", [0, 5, 1024, 1600, 40_000, 64_000, 65_536, 200_000])
def test_a_file_and_a_text_of_one_size_get_one_suite_and_one_blob_length(n: int) -> None:
    from ots_cli.core.crypto import seal, suite_for

    body = b"x" * n
    seen = set()
    for meta in (Meta(), Meta("file", "notes.txt", "text/plain"), Meta("file", "a")):
        suite = suite_for(meta, n)
        blob = seal(body, id=bytes(16), key=bytes(32), meta=meta, suite=suite).blob
        seen.add((blob[5], len(blob)))
    assert len(seen) == 1


def _overhead_bound(n: int) -> float:
    """The bound FORMAT.md states: padding < n / 2**S with S = floor(log2 floor(log2 n)) + 1."""
    exponent = n.bit_length() - 1
    return n / (1 << exponent.bit_length())


def _sizes_up_to_100_mib() -> list[int]:
    sizes = set(range(1, 70_000))
    for power in range(10, 28):
        base = 1 << power
        sizes.update({base - 1, base, base + 1, 3 * base // 2, 3 * base // 2 + 1})
    rng = random.Random(1)
    sizes.update(rng.randrange(1, 100 * MIB + 1) for _ in range(20_000))
    sizes.add(100 * MIB)
    return sorted(sizes)


def test_padding_overhead_up_to_100_mib() -> None:
    worst = 0.0
    for n in _sizes_up_to_100_mib():
        padded = padded_length(n)
        assert padded >= n
        assert is_padded_length(padded)
        assert padded_length(padded) == padded
        if n > MIN_PADDED_LENGTH:
            assert padded - n < n / 16
            assert padded - n < _overhead_bound(n)
            worst = max(worst, (padded - n) / n)
    # The table in FORMAT.md: at most ~3.1% above 64 KiB, ~6.2% below.
    assert worst < 1 / 16


@pytest.mark.parametrize(
    ("low", "bound"),
    [(MIN_PADDED_LENGTH + 1, 1 / 16), (1 << 16, 1 / 32), (1 << 32, 1 / 64)],
)
def test_overhead_table_in_format_md(low: int, bound: float) -> None:
    rng = random.Random(low)
    for n in [low, low + 1, *(rng.randrange(low, 2 * low + 2**20) for _ in range(2000))]:
        assert padded_length(n) - n < n * bound


@pytest.mark.parametrize("exponent", [10, 11, 15, 16, 20, 26])
def test_buckets_per_octave(exponent: int) -> None:
    # Padme keeps S = floor(log2 E) + 1 significant bits: at most 2**S sizes in [2**E, 2**(E+1)).
    low, high = 1 << exponent, 1 << (exponent + 1)
    step = max(1, low >> 14)
    padded = {padded_length(n) for n in range(low, high, step)} | {padded_length(high - 1)}
    inside = {p for p in padded if p < high}
    assert padded - inside <= {high}
    assert len(inside) <= 2 ** exponent.bit_length()
    if exponent > 10:  # below 1600 everything shares one size
        assert len(inside) == 2 ** exponent.bit_length()


def test_padded_length_limits() -> None:
    with pytest.raises(ValueError, match="negative"):
        padded_length(-1)
    assert padded_length(MAX_PADDED_LENGTH) == MAX_PADDED_LENGTH
    with pytest.raises(ValueError, match="too large"):
        padded_length(MAX_PADDED_LENGTH + 1)


@given(st.integers(0, 2**40))
def test_padded_length_is_monotonic_and_idempotent(n: int) -> None:
    padded = padded_length(n)
    assert padded_length(padded) == padded
    assert padded_length(max(0, n - 1)) <= padded


def test_blob_length_and_chunk_count() -> None:
    assert blob_length(55, 1600, Suite.SEALED) == 55 + 1600 + 16
    assert blob_length(55, 1600, Suite.STREAM) == 55 + 1600 + 17
    assert chunk_count(CHUNK_SIZE) == 1
    assert chunk_count(CHUNK_SIZE + 2048) == 2
    assert blob_length(79, 131072, Suite.STREAM) == 79 + 131072 + 2 * 17
    assert blob_length(55, 3 * CHUNK_SIZE, Suite.STREAM) == 55 + 3 * CHUNK_SIZE + 3 * 17
    assert chunk_count(1 << 40) == math.ceil((1 << 40) / CHUNK_SIZE)
    with pytest.raises(ValueError, match="suite"):
        blob_length(55, 1600, 7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("binding", "described"),
    [
        ("github:o/r", "GitHub Actions jobs of o/r"),
        (
            "github:o/r@refs/heads/main:prod:release.yml",
            "GitHub Actions jobs of o/r in workflow release.yml on refs/heads/main in "
            "environment prod",
        ),
        ("github:o/r::release.yml", "GitHub Actions jobs of o/r in workflow release.yml"),
        ("gitlab:g/p@main", "GitLab CI jobs of g/p on main"),
    ],
)
def test_a_binding_is_described_for_people(binding: str, described: str) -> None:
    assert describe_binding(binding) == described
