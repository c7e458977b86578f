"""Parser fuzzing: arbitrary input raises only the documented errors, never anything else.

Bounded by max_examples so the run stays within a few seconds in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ots_cli.core import b64
from ots_cli.core.crypto import Keys, derive_keys, open_blob, seal
from ots_cli.core.format import Header, Suite, decode_header
from ots_cli.core.links import parse_link
from ots_cli.errors import BadLink, DecryptionFailed, FormatError, OtsError, UnsupportedVersion

from .conftest import drain, split

T = TypeVar("T")
A = TypeVar("A")


def attempt(function: Callable[[A], T], argument: A) -> tuple[T | None, OtsError | None]:
    """Call ``function``; return its result, or the OtsError it raised (anything else escapes)."""
    try:
        return function(argument), None
    except OtsError as error:
        return None, error


ID = bytes(range(16))
KEY = bytes(range(32, 64))
KEYS = derive_keys(
    Header(suite=Suite.SEALED, id=ID, padded_length=1600, nonce=bytes(24), kdf=None), KEY, None
)
DOCUMENTED = (FormatError, UnsupportedVersion, DecryptionFailed)
VALID_HEADERS = [
    seal(b"x", id=ID, key=KEY).header_bytes,
    seal(b"x", id=ID, key=KEY, suite=Suite.STREAM).header_bytes,
    seal(b"x" * 70_000, id=ID, key=KEY, suite=Suite.STREAM).header_bytes,
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Inputs that start like a real blob reach deeper than pure noise does.
blobs = st.binary(max_size=3000) | st.builds(
    lambda header, tail: header + tail,
    st.sampled_from(VALID_HEADERS),
    st.binary(max_size=3000),
)


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_parse_link(text: str) -> None:
    link, error = attempt(parse_link, text)
    if link is None:
        assert isinstance(error, BadLink)  # InsecureHttp too, for an http:// remote link
        return
    again = link.url() if link.server else f"{link.id_text}#{b64.encode(link.key)}"
    assert parse_link(again) == link


@FUZZ
@given(blobs)
def test_decode_header(data: bytes) -> None:
    result, error = attempt(decode_header, data)
    if result is None:
        assert type(error) in (FormatError, UnsupportedVersion)
        return
    header, length = result
    assert header.encode() == data[:length]


@FUZZ
@given(blobs)
def test_open_blob(data: bytes) -> None:
    with pytest.raises(DOCUMENTED):
        open_blob(data, id=ID, keys=KEYS)


@FUZZ
@given(blobs, st.lists(st.integers(1, 2000), min_size=1, max_size=4))
def test_open_stream(data: bytes, pieces: list[int]) -> None:
    collected, error = drain(split(data, pieces), id=ID, keys=KEYS)
    assert isinstance(error, DOCUMENTED)
    assert collected == b""


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.integers(0, 2))
def test_open_with_keys_of_a_random_header(noise: bytes, index: int) -> None:
    # Keys derived from a fuzzed but parseable header still only ever fail in documented ways.
    data = VALID_HEADERS[index][: -len(noise) or None] + noise
    try:
        header, _ = decode_header(data)
    except (FormatError, UnsupportedVersion):
        return
    keys: Keys = derive_keys(
        header, KEY, "pw" if header.needs_passphrase else None, argon2=_no_argon2
    )
    with pytest.raises(DOCUMENTED):
        open_blob(data, id=ID, keys=keys)


def _no_argon2(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(size)
