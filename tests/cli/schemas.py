"""The ``--json`` schemas, read from docs/cli.md, and a small strict checker.

docs/cli.md marks each schema with ``<!-- schema: NAME -->`` followed by a Markdown table of
``| `field` | type | meaning |``. Types are ``string``, ``integer``, ``number``, ``boolean``,
``object``, ``null``, alternatives joined by `` or ``, and ``array of X`` where X is a type or
another schema's name. A document matches a schema when it has exactly the listed fields (none
missing, none extra) with values of the listed types: the documentation is the test.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
_MARKER = re.compile(r"<!-- schema: ([a-z_-]+) -->")
_ROW = re.compile(r"\|\s*`([a-z_]+)`\s*\|\s*([^|]+?)\s*\|")

Schema = dict[str, str]


@cache
def schemas() -> dict[str, Schema]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    found: dict[str, Schema] = {}
    for index, line in enumerate(lines):
        marker = _MARKER.fullmatch(line.strip())
        if not marker:
            continue
        table: Schema = {}
        for row in lines[index + 3 :]:  # skip the header row and the separator
            if not row.startswith("|"):
                break
            match = _ROW.match(row)
            if match is None:
                raise AssertionError(f"docs/cli.md: unparsable schema row: {row}")
            table[match.group(1)] = match.group(2)
        found[marker.group(1)] = table
    return found


_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "null": (type(None),),
}


def _matches(value: object, type_text: str, where: str) -> list[str]:
    problems: list[str] = []
    alternatives = [t.strip() for t in type_text.split(" or ")]
    for alternative in alternatives:
        if alternative.startswith("array of "):
            item = alternative.removeprefix("array of ")
            if isinstance(value, list):
                for i, element in enumerate(value):
                    problems += _matches(element, item, f"{where}[{i}]")
                return problems
            continue
        if alternative in schemas():
            if isinstance(value, dict):
                return check(value, alternative, where)
            continue
        types = _SCALARS.get(alternative)
        if types is None:
            raise AssertionError(f"docs/cli.md: unknown type {alternative!r}")
        if isinstance(value, bool) and bool not in types:
            continue
        if isinstance(value, types):
            return []
    return [f"{where}: {value!r} is not {type_text}"]


def check(document: object, name: str, where: str = "$") -> list[str]:
    """Problems of ``document`` against schema ``name``; empty when it matches."""
    schema = schemas()[name]
    if not isinstance(document, dict):
        return [f"{where}: not an object"]
    problems = []
    missing = schema.keys() - document.keys()
    extra = document.keys() - schema.keys()
    if missing:
        problems.append(f"{where}: missing {sorted(missing)}")
    if extra:
        problems.append(f"{where}: undocumented {sorted(extra)}")
    for field, type_text in schema.items():
        if field in document:
            problems += _matches(document[field], type_text, f"{where}.{field}")
    return problems


def check_error(document: object) -> list[str]:
    """An ``{"error": {...}}`` document: the base fields plus the extras of its code."""
    problems = check(document, "error")
    if problems:
        return problems
    assert isinstance(document, dict)
    error = document["error"]
    extras = schemas().get(f"error-{error.get('code')}", {})
    base = schemas()["error-object"]
    combined = {**base, **extras}
    name = f"error-object+{error.get('code')}"
    schemas()[name] = combined
    try:
        return check(error, name, "$.error")
    finally:
        del schemas()[name]
