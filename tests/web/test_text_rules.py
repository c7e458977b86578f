"""The page shows untrusted text as the CLI does: the same characters are hidden (one
rule, ots_cli/core/invisible.py, written twice: Python and the page's JavaScript), escaped the same
way."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from playwright.sync_api import Page
from processes import ServerProcess

from ots_cli.core.invisible import is_hidden
from ots_cli.terminal.output import visible

#: In the page: every code point's verdict, as ranges, and which ones its Unicode has unassigned.
SCAN = """() => {
  const F = globalThis.OtsFormat;
  const hidden = [], unassigned = [];
  const cn = /\\p{Cn}/u;
  for (let cp = 0; cp < 0x110000; cp++) {
    const ch = String.fromCodePoint(cp);
    if (F.isHidden(ch)) hidden.push(cp);
    if (cn.test(ch)) unassigned.push(cp);
  }
  return { hidden, unassigned };
}"""

SAMPLES = [
    "hunter2",
    "tab\there\nnew line",
    "esc \x1b[31m red \x07 bell \x7f del \x9b csi",
    "zero\u200dwidth\u2060joiner\u00adsoft\ufeffbom",
    "bidi \u202e override \u2066 isolate",
    "tags \U000e0041\U000e007f and selectors \ufe0f\U000e0100",
    "line\u2028para\u2029sep",
    "private \ue000 and \U000f0000",
    "ünïcödé 🔑 مرحبا שלום",
]


@pytest.fixture(scope="module")
def reader(server: ServerProcess, browser: Any) -> Any:
    page: Page = browser.new_page()
    page.goto(f"{server.base_url}/s/AAAAAAAAAAAAAAAAAAAAAA")
    page.wait_for_load_state("load")
    yield page
    page.close()


def test_the_page_hides_exactly_what_the_cli_hides(reader: Page) -> None:
    scan = reader.evaluate(SCAN)
    page_hidden = set(scan["hidden"])
    # Unicode versions differ (the browser's ICU, this Python's database): compare only code
    # points both consider assigned; unassigned ones are hidden by both rules anyway.
    unassigned = set(scan["unassigned"])
    differ = [
        cp
        for cp in range(0x110000)
        if cp not in unassigned
        and unicodedata.category(chr(cp)) != "Cn"
        and (cp in page_hidden) != is_hidden(chr(cp))
    ]
    assert differ == []
    assert len(page_hidden) > 900_000  # Cn, Co and Cs are most of the code space


@pytest.mark.parametrize("text", SAMPLES)
def test_the_page_escapes_as_the_cli_does(reader: Page, text: str) -> None:
    shown = reader.evaluate("(t) => OtsFormat.visible(t)", text)
    expected, count = visible(text)
    assert shown == {"text": expected, "escaped": count}
