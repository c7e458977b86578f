"""Turning a sender's file name into a safe name in the receiver's directory. Pure: no I/O.

The name in a secret's envelope comes from the sender and is untrusted. The format already
refuses separators and control characters, but a hostile client can write any envelope, and
a name that is valid to the format can still be a trap on a terminal or a file system.

Invariants of :func:`safe_name`:

- The result is one path component: never empty, never ``.`` or ``..``, no ``/``, no ``\\``,
  no NUL, no control, format (bidi, zero-width) or other invisible characters
  (:func:`ots_cli.core.invisible.is_hidden`, the predicate the terminal escaping uses), no space
  but the plain one; at most :data:`MAX_NAME_BYTES` bytes of UTF-8, keeping a short extension
  when it has to be cut.
- It never starts with ``.`` or ``-``: a hidden file is made only when the caller decides so,
  with :func:`hidden_variant` (after asking); a leading ``-`` would read as an option later.
- It is not a device name Windows reserves (``CON``, ``NUL``, ``COM1``…), so a file saved here
  can be copied anywhere.
- A name that sanitises to nothing becomes the caller's fallback.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from ots_cli.core.invisible import is_hidden

__all__ = ["MAX_NAME_BYTES", "SafeName", "candidates", "hidden_variant", "safe_name"]

MAX_NAME_BYTES = 255
#: An extension longer than this is treated as part of the stem when a name must be cut.
_MAX_EXTENSION = 16
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)


class SafeName:
    """``name`` to save as, and ``hidden``: the sender's name was a dot file (dots removed)."""

    __slots__ = ("changed", "hidden", "name")

    def __init__(self, name: str, *, hidden: bool, changed: bool) -> None:
        self.name = name
        self.hidden = hidden
        self.changed = changed

    def __repr__(self) -> str:
        return f"SafeName({self.name!r}, hidden={self.hidden}, changed={self.changed})"


def _allowed(char: str) -> bool:
    # Hidden characters are what the terminal shows escaped (one predicate for both). Spaces
    # other than the plain one (no-break, ideographic…) are dropped too: in a name they pass
    # for a space the user cannot type.
    return not is_hidden(char) and (char == " " or unicodedata.category(char) != "Zs")


def safe_name(name: str | None, fallback: str) -> SafeName:
    """A safe base name for ``name`` (see the module invariants); ``fallback`` if nothing is left.

    ``fallback`` must itself be safe (it is used as given).
    """
    if name is None:
        return SafeName(fallback, hidden=False, changed=False)
    cleaned = "".join(
        "_" if char in "/\\:" else char
        for char in unicodedata.normalize("NFC", name)
        if _allowed(char)
    )
    cleaned = cleaned.strip(" ")
    # ".env" is a dot file; "../x" is a traversal attempt, made harmless below, not hidden.
    hidden = cleaned.startswith(".") and not cleaned.startswith("..")
    cleaned = cleaned.lstrip(".-").rstrip(". ")
    cleaned = _cut(cleaned)
    if not cleaned or cleaned in (".", ".."):
        return SafeName(fallback, hidden=False, changed=True)
    if cleaned.split(".", 1)[0].upper() in _RESERVED:
        cleaned = "_" + cleaned
    return SafeName(cleaned, hidden=hidden, changed=cleaned != name)


def hidden_variant(safe: SafeName) -> str:
    """The dot-file form of a name whose sender made it hidden (only after the user agreed)."""
    return _cut("." + safe.name) if safe.hidden else safe.name


def candidates(name: str, limit: int = 1000) -> Iterator[str]:
    """``name``, then ``stem (1).ext``, ``stem (2).ext``… for a name that is taken."""
    yield name
    stem, extension = _split(name)
    for number in range(1, limit):
        yield _cut(stem, f" ({number}){extension}")


def _split(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > _MAX_EXTENSION:
        return name, ""
    return name[:dot], name[dot:]


def _cut(name: str, suffix: str | None = None) -> str:
    """``name`` (+ ``suffix``) in at most MAX_NAME_BYTES of UTF-8, keeping the extension."""
    if suffix is None:
        if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
            return name
        name, suffix = _split(name)
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    encoded = name.encode("utf-8")[:room]
    # Cutting bytes may split a character: drop the broken tail rather than invent one.
    stem = encoded.decode("utf-8", errors="ignore").rstrip(". ")
    return stem + suffix
