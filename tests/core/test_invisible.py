"""One predicate for invisible characters, used by the terminal escaping and the file names."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ots_cli.core.filenames import safe_name
from ots_cli.core.invisible import IGNORABLE, is_hidden
from ots_cli.terminal.output import visible

#: The characters named in issue 14, then a sample of every hidden category and of the
#: default-ignorable characters outside them.
NAMED = ["\u200d", "\u2060", "\u00ad", "\ufff9", "\U000e0001", "\U000e0041", "\U000e007f"]
SAMPLES = {
    "Cc": ["\x00", "\x1b", "\x7f", "\x85", "\x9b"],
    "Cf": ["\u061c", "\u200b", "\u200e", "\u202e", "\u2066", "\ufeff", "\U0001d173"],
    "Co": ["\ue000", "\uf8ff", "\U000f0000", "\U0010fffd"],
    "Cs": ["\ud800", "\udbff", "\udc00", "\udfff"],
    "Cn": ["\u0378", "\u2065", "\ufff0", "\U000e0000", "\U000e0080", "\U0010ffff"],
    "Zl": ["\u2028"],
    "Zp": ["\u2029"],
}
IGNORABLE_SAMPLES = ["\u034f", "\u115f", "\u180b", "\u3164", "\ufe0f", "\uffa0", "\U000e0100"]
SHOWN = ["a", " ", "~", "é", "\u00a0", "\u0301", "\u3000", "中", "😀", "\u2800", "\U0001f3f4"]
EVERY_SAMPLE = NAMED + [c for chars in SAMPLES.values() for c in chars] + IGNORABLE_SAMPLES


@pytest.mark.parametrize(("category", "chars"), sorted(SAMPLES.items()))
def test_the_samples_are_of_the_category_they_stand_for(category: str, chars: list[str]) -> None:
    assert {unicodedata.category(c) for c in chars} == {category}
    assert all(unicodedata.category(c) == "Cf" for c in NAMED)
    assert all(ord(c) in IGNORABLE for c in IGNORABLE_SAMPLES)


@pytest.mark.parametrize("char", EVERY_SAMPLE, ids=lambda c: f"U+{ord(c):04X}")
def test_hidden_characters_are_escaped_and_left_out_of_names(char: str) -> None:
    assert is_hidden(char)
    shown, count = visible(f"hunter2{char}x", keep_newlines=False)
    assert count == 1
    assert char not in shown
    assert shown.startswith("hunter2\\")
    assert shown.endswith("x")
    assert safe_name(f"hunter2{char}x.txt", "fallback").name == "hunter2x.txt"


@pytest.mark.parametrize("char", SHOWN, ids=lambda c: f"U+{ord(c):04X}")
def test_visible_characters_pass(char: str) -> None:
    assert not is_hidden(char)
    assert visible(f"a{char}b") == (f"a{char}b", 0)


def test_escapes_name_the_code_point() -> None:
    assert visible("\u200d\U000e0041\x85\ud800\udc80") == (
        "\\u200d\\U000e0041\\x85\\ud800\\x80",
        5,
    )


def _escaped_by_visible(char: str) -> bool:
    """Escaped on a terminal; a tab is the one hidden character that text keeps as it is."""
    return visible(char, keep_newlines=False)[0] != char or char == "\t"


def _removed_from_names(char: str) -> bool:
    name = f"a{char}b"
    return safe_name(name, "fallback").name != unicodedata.normalize("NFC", name)


# Every code point below U+3400, the tag and variation-selector blocks, the ends of the planes.
_RANGES = [
    range(0x3400),
    range(0xE0000, 0xE0200),
    range(0xFFF0, 0x10000),
    range(0x10FFF0, 0x110000),
]


def test_terminal_and_file_names_decide_with_the_same_predicate() -> None:
    for block in _RANGES:
        for code in block:
            char = chr(code)
            hidden = is_hidden(char)
            assert _escaped_by_visible(char) is hidden, f"U+{code:04X}"
            if char in "/\\:" or (unicodedata.category(char) == "Zs" and char != " "):
                continue  # file names also replace separators and drop non-ASCII spaces
            assert _removed_from_names(char) is hidden, f"U+{code:04X}"


@given(st.characters())
def test_any_character_is_escaped_exactly_when_hidden(char: str) -> None:
    assert _escaped_by_visible(char) is is_hidden(char)
