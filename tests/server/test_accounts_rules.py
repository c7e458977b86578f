"""The pure rules of accounts: which email addresses are accepted and how they are normalised,
the exact shape of a token, token names, and last-used days."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ots_server.accounts import (
    InvalidEmail,
    day_text,
    hash_token,
    new_token,
    normalise_email,
    token_hash,
    valid_token_name,
)
from ots_server.store.rules import DAY_SECONDS, day


@pytest.mark.parametrize(
    ("text", "email", "key"),
    [
        ("alice@example.org", "alice@example.org", "alice@example.org"),
        ("Alice@Example.ORG", "Alice@example.org", "alice@example.org"),
        (
            "  bob+ots@mail.example.co.uk\n",
            "bob+ots@mail.example.co.uk",
            "bob+ots@mail.example.co.uk",
        ),
        ("o'neil.x@example.org", "o'neil.x@example.org", "o'neil.x@example.org"),
        ("ünïcode@bücher.de", "ünïcode@xn--bcher-kva.de", "ünïcode@xn--bcher-kva.de"),
        ("Straße@EXAMPLE.org", "Straße@example.org", "strasse@example.org"),
    ],
)
def test_addresses_are_normalised(text: str, email: str, key: str) -> None:
    assert normalise_email(text) == (email, key)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no-at-sign",
        "two@@example.org",
        "a@b@example.org",
        "@example.org",
        "alice@",
        "alice@localhost",
        "alice@example",
        "alice@.example.org",
        "alice@example.org.",
        "alice@exa_mple.org",
        "alice@-example.org",
        "alice@192.0.2.1",
        "alice@[192.0.2.1]",
        "a b@example.org",
        "a\tb@example.org",
        "a\x00b@example.org",
        '"quoted"@example.org',
        ".alice@example.org",
        "alice.@example.org",
        "al..ice@example.org",
        "al<ice@example.org",
        "x" * 65 + "@example.org",
        "alice@" + ".".join(["a" * 63] * 4) + ".org",  # longer than 254
        "alice@" + "a" * 64 + ".org",
    ],
)
def test_malformed_addresses_are_refused(text: str) -> None:
    with pytest.raises(InvalidEmail) as error:
        normalise_email(text)
    assert not text or text not in str(error.value)  # never echoed


def test_tokens_have_one_exact_shape() -> None:
    token, hashed = new_token()
    assert len(token) == 47
    assert token.startswith("ots_")
    assert hashed == hashlib.sha256(token.encode()).digest() == hash_token(token)
    assert token_hash(token) == hashed
    for bad in (
        token[:-1],
        token + "A",
        "OTS_" + token[4:],
        "otsr_" + token[4:],
        token[4:],
        token[:10] + "=" + token[11:],
        token[:10] + "+" + token[11:],
        token[:-1] + "é",
        "",
    ):
        assert token_hash(bad) is None, bad


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32), st.sampled_from("BCDFHJ"))
def test_non_canonical_tokens_are_refused(raw: bytes, last: str) -> None:
    text = "ots_" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert token_hash(text) == hash_token(text)
    # The last character carries two unused bits; any of these sets one.
    mutated = text[:-1] + last
    if mutated != text:
        assert token_hash(mutated) is None


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("default", True),
        ("ci.main-2_x", True),
        ("x" * 64, True),
        ("", False),
        ("x" * 65, False),
        ("with space", False),
        ("ümlaut", False),
        ("semi;colon", False),
    ],
)
def test_token_names(name: str, valid: bool) -> None:
    assert valid_token_name(name) is valid


def test_days() -> None:
    assert day(0) == 0
    assert day(DAY_SECONDS - 1) == 0
    assert day(DAY_SECONDS) == 1
    assert day_text(day(1_790_000_000)) == "2026-09-21"
    assert day_text(0) == "1970-01-01"
