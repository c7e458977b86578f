"""Which characters may not reach a terminal or a file name as they are. Pure: no I/O.

One predicate, :func:`is_hidden`, decides for both the terminal escaping
(:func:`ots_cli.terminal.output.visible`) and the file-name sanitiser
(:func:`ots_cli.core.filenames.safe_name`):
what one shows escaped, the other removes. A secret that looks like ``hunter2`` on screen is
``hunter2``, and a saved file's name is the name the user reads.

A character is hidden when:

- its Unicode general category is Cc (controls, ESC among them), Cf (format: bidi overrides,
  zero-width joiners, the soft hyphen, interlinear annotation, tag characters U+E0000-U+E007F),
  Co (private use), Cs (surrogates), Cn (unassigned), Zl or Zp (line and paragraph separators,
  which some terminals treat as newlines); or
- it is a Default_Ignorable_Code_Point of another category (:data:`IGNORABLE`: variation
  selectors, the combining grapheme joiner, Hangul fillers…). Renderers draw these as nothing,
  so a run of them carries text nobody sees ("emoji smuggling" hides bytes in variation
  selectors).

Invariants:

- Newline and tab are hidden (Cc): a caller that keeps them for multi-line text decides so
  itself, before asking.
- Unassigned means unassigned in this interpreter's Unicode database: a character assigned in a
  later version is escaped by an older Python, which errs on the safe side.
"""

from __future__ import annotations

import unicodedata

__all__ = ["HIDDEN_CATEGORIES", "IGNORABLE", "is_hidden"]

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})

#: Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) outside HIDDEN_CATEGORIES.
IGNORABLE = frozenset(
    (
        0x034F,  # combining grapheme joiner
        0x115F,  # Hangul choseong filler
        0x1160,  # Hangul jungseong filler
        0x17B4,  # Khmer vowel inherent aq
        0x17B5,  # Khmer vowel inherent aa
        *range(0x180B, 0x180E),  # Mongolian free variation selectors one to three
        0x180F,  # Mongolian free variation selector four
        0x3164,  # Hangul filler
        *range(0xFE00, 0xFE10),  # variation selectors 1-16
        0xFFA0,  # halfwidth Hangul filler
        *range(0xE0100, 0xE01F0),  # variation selectors 17-256
    )
)


def is_hidden(char: str) -> bool:
    """True when ``char`` (one character) must be escaped on a terminal and left out of a name."""
    if " " <= char <= "~":
        return False  # printable ASCII, by far the most common case
    return unicodedata.category(char) in HIDDEN_CATEGORIES or ord(char) in IGNORABLE
