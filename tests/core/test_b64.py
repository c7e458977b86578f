"""Strict unpadded base64url: canonical round trips, and every non-canonical form refused."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ots_cli.core import b64
from ots_cli.errors import FormatError


@given(st.binary(max_size=200))
def test_round_trip_and_no_padding(data: bytes) -> None:
    text = b64.encode(data)
    assert "=" not in text
    assert len(text) == b64.encoded_length(len(data))
    assert b64.decode(text) == data
    assert b64.decode(text, len(data)) == data
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")


@given(st.text(max_size=40))
def test_decode_accepts_only_canonical_text(text: str) -> None:
    try:
        data = b64.decode(text)
    except FormatError:
        return
    assert b64.encode(data) == text


@pytest.mark.parametrize(
    ("text", "length", "fragment"),
    [
        ("AA==", None, "padding"),
        ("AA=", None, "padding"),
        ("+/8", None, "alphabet"),
        ("AA AA", None, "alphabet"),
        ("AA\n", None, "alphabet"),
        ("ÄA", None, "alphabet"),
        ("A", None, "impossible length"),
        ("AAAAA", None, "impossible length"),
        ("AB", None, "canonical"),
        ("AAF", None, "canonical"),
        ("AAA", 1, "characters, expected 2"),
        ("AA", 2, "characters, expected 3"),
    ],
)
def test_rejections_name_the_problem(text: str, length: int | None, fragment: str) -> None:
    with pytest.raises(FormatError, match=fragment):
        b64.decode(text, length)


def test_error_never_quotes_the_input() -> None:
    secret = "S3cretKeyMaterial_" * 3 + "=="
    with pytest.raises(FormatError) as info:
        b64.decode(secret)
    assert "S3cret" not in str(info.value)


def test_non_text_is_refused() -> None:
    with pytest.raises(FormatError):
        b64.decode(b"AAAA")  # type: ignore[arg-type]
