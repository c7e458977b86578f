"""Safe file names from a sender's untrusted envelope name (ots_cli.core.filenames)."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ots_cli.core.filenames import MAX_NAME_BYTES, candidates, hidden_variant, safe_name

FALLBACK = "ots-secret"


def _is_one_safe_component(name: str) -> bool:
    return (
        bool(name)
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and not name.startswith((".", "-"))
        and len(name.encode("utf-8")) <= MAX_NAME_BYTES
        and all(unicodedata.category(c)[0] != "C" for c in name)
        and PurePosixPath("/target", name).parent == PurePosixPath("/target")
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("/abs", "_abs"),
        ("/etc/shadow", "_etc_shadow"),
        ("..\\..\\windows\\system32", "_.._windows_system32"),
        ("C:evil", "C_evil"),
        ("a\x1b[31mred", "a[31mred"),
        ("line\nbreak", "linebreak"),
        ("bidi\u202etxt.exe", "biditxt.exe"),
        ("zero\u200bwidth", "zerowidth"),
        ("-rf", "rf"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("trailing. ", "trailing"),
    ],
)
def test_hostile_names_become_one_harmless_component(name: str, expected: str) -> None:
    safe = safe_name(name, FALLBACK)
    assert safe.name == expected
    assert _is_one_safe_component(safe.name)


@pytest.mark.parametrize("name", ["", ".", "..", "...", " ", "\x00", "\u202e", "-", ".-."])
def test_names_that_sanitise_to_nothing_use_the_fallback(name: str) -> None:
    assert safe_name(name, FALLBACK).name == FALLBACK


def test_no_name_uses_the_fallback_unchanged() -> None:
    safe = safe_name(None, FALLBACK)
    assert (safe.name, safe.hidden, safe.changed) == (FALLBACK, False, False)


def test_a_dot_file_is_made_visible_unless_the_caller_agrees() -> None:
    safe = safe_name(".env", FALLBACK)
    assert (safe.name, safe.hidden) == ("env", True)
    assert hidden_variant(safe) == ".env"
    plain = safe_name("env", FALLBACK)
    assert hidden_variant(plain) == "env"
    # A traversal attempt is not "hidden": there is nothing to ask about.
    assert not safe_name("../x", FALLBACK).hidden


def test_a_very_long_name_is_cut_keeping_its_extension() -> None:
    safe = safe_name("x" * 400 + ".tar.gz", FALLBACK)
    assert safe.name.endswith(".gz")
    assert len(safe.name.encode()) == MAX_NAME_BYTES
    multibyte = safe_name("é" * 300, FALLBACK)  # 600 bytes: the cut must not split a character
    assert len(multibyte.name.encode()) <= MAX_NAME_BYTES
    assert set(multibyte.name) == {"é"}


def test_candidates_number_a_taken_name_before_its_extension() -> None:
    assert list(candidates("report.pdf", 3)) == ["report.pdf", "report (1).pdf", "report (2).pdf"]
    assert list(candidates("README", 2)) == ["README", "README (1)"]
    long = "y" * 255
    assert all(len(c.encode()) <= MAX_NAME_BYTES for c in candidates(long, 20))


@given(st.text(max_size=600))
def test_any_name_gives_one_safe_component(name: str) -> None:
    safe = safe_name(name, FALLBACK)
    assert _is_one_safe_component(safe.name)
    assert _is_one_safe_component(hidden_variant(safe).lstrip(".") or FALLBACK)
    for candidate in candidates(safe.name, 5):
        assert "/" not in candidate
        assert len(candidate.encode()) <= MAX_NAME_BYTES
