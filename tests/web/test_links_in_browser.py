"""The browser's link parser (static/ots-links.js) against the CLI's (ots_cli/core/links.py), in
real Chromium: the CLI's own case tables (tests/core/test_links.py), then a few thousand mutated
links on which both must agree exactly, accepted with the same server, id and key, or refused with
the same message (docs/FORMAT.md, "Link")."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from core.test_links import (
    INVALID_HOSTS,
    KEY_TEXT,
    LINK,
    LOOPBACK,
    NOT_LOOPBACK,
    REJECTIONS,
    SERVERS,
    VALID_HOSTS,
    WRAPPED,
    WRAPPED_WRONGLY,
    _with_host,
)
from playwright.sync_api import Browser, Page
from processes import ServerProcess

from ots_cli.core import links
from ots_cli.core.links import ID_BYTES, KEY_BYTES, build_link, parse_link
from ots_cli.errors import BadLink

#: Each case through OtsLinks.parseLink: [server, id hex, key hex] or {kind, message}.
HARNESS = """
(cases) => {
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return cases.map(([text, insecure]) => {
    try {
      const link = OtsLinks.parseLink(text, { allowInsecureHttp: insecure });
      return [link.server, hex(link.id), hex(link.key)];
    } catch (error) {
      return { kind: error.kind || String(error), message: error.message };
    }
  });
}
"""

Case = tuple[str, bool]


@pytest.fixture(scope="module")
def page(server: ServerProcess, browser: Browser) -> Iterator[Page]:
    page = browser.new_page()
    try:
        page.goto(f"{server.base_url}/s/AAAAAAAAAAAAAAAAAAAAAA")
        page.wait_for_load_state("load")
        version = page.evaluate("document.querySelector('script[src*=ots-format]').src")
        page.add_script_tag(url=version.replace("ots-format.js", "ots-links.js"))
        yield page
    finally:
        page.close()


def in_browser(page: Page, cases: list[Case]) -> list[Any]:
    answers: list[Any] = page.evaluate(HARNESS, [list(case) for case in cases])
    return answers


def in_python(text: str, insecure: bool = False) -> Any:
    try:
        link = parse_link(text, allow_insecure_http=insecure)
    except BadLink as error:
        return {"kind": "BadLink", "message": error.message}
    return [link.server, link.id.hex(), link.key.hex()]


def agree(page: Page, cases: list[Case]) -> list[Any]:
    """The browser's answers, after checking that each is the CLI's."""
    answers = in_browser(page, cases)
    for (text, insecure), answer in zip(cases, answers, strict=True):
        assert answer == in_python(text, insecure), ascii(text)
        if isinstance(answer, dict):
            assert KEY_TEXT[:10] not in answer["message"]
            assert KEY_TEXT[-10:] not in answer["message"]
    return answers


def test_the_clis_rejections(page: Page) -> None:
    answers = agree(page, [(text, False) for text, _message, _hint in REJECTIONS])
    for (_text, message, _hint), answer in zip(REJECTIONS, answers, strict=True):
        assert message in answer["message"]


def test_the_clis_servers_and_bare_links(page: Page) -> None:
    id_, key = bytes(range(ID_BYTES)), bytes(range(100, 100 + KEY_BYTES))
    cases = [(" " + build_link(server, id_, key) + "\n", False) for server in SERVERS]
    cases.append((f"\t{LINK.rsplit('/', 1)[1]} ", False))
    cases.append((LINK.replace("https://ots.example.com", "HTTPS://OTS.Example.COM/Pre"), False))
    for answer in agree(page, cases):
        assert isinstance(answer, list)


def test_http_only_for_loopback_unless_allowed(page: Page) -> None:
    id_, key = bytes(16), bytes(32)
    cases = [(build_link(server, id_, key), False) for server in LOOPBACK + NOT_LOOPBACK]
    cases += [(build_link(server, id_, key), True) for server in NOT_LOOPBACK]
    answers = agree(page, cases)
    assert [isinstance(a, list) for a in answers] == [True] * len(LOOPBACK) + [False] * len(
        NOT_LOOPBACK
    ) + [True] * len(NOT_LOOPBACK)


def test_what_may_surround_a_link(page: Page) -> None:
    answers = agree(page, [(text, False) for text in WRAPPED])
    assert all(isinstance(answer, list) for answer in answers)
    answers = agree(page, [(text, False) for text, _message in WRAPPED_WRONGLY])
    for (_text, message), answer in zip(WRAPPED_WRONGLY, answers, strict=True):
        assert message in answer["message"]


def test_white_space_is_exactly_unicodes_white_space(page: Page) -> None:
    assert page.evaluate("OtsLinks.WHITE_SPACE") == links.WHITE_SPACE
    cases = [(f"{space}{LINK}{space}", False) for space in links.WHITE_SPACE]
    cases += [(LINK.replace("/s/", f"/{space}/s/"), False) for space in links.WHITE_SPACE]
    cases += [(f"{c}{LINK}", False) for c in "\x1c\x1d\x1e\x1f\ufeff\u200b\u180e"]
    cases += [(f"{LINK}{c}", False) for c in "\x1c\x1d\x1e\x1f\ufeff\u200b\u180e"]
    answers = agree(page, cases)
    count = len(links.WHITE_SPACE)
    assert all(isinstance(a, list) for a in answers[:count])
    assert all(a["message"] == "the link contains whitespace" for a in answers[count : 2 * count])
    assert all(isinstance(a, dict) for a in answers[2 * count :])


def test_hosts(page: Page) -> None:
    answers = agree(page, [(_with_host(host), False) for host in INVALID_HOSTS])
    assert all(a["message"] == "the link has an invalid host" for a in answers)
    answers = agree(page, [(_with_host(host), False) for host, _server in VALID_HOSTS])
    assert [a[0] for a in answers] == [server for _host, server in VALID_HOSTS]


#: What a mutation may put into a link: its own punctuation, white space and look-alikes.
ALPHABET = list(":/[]@#?%=<>\"'`.-_0x1fF \u00a0\t\u2028\u212a\u0130\u0661\u201c\u201d\u2018\u2019")


def mutated(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(chars) + 1)
        action = rng.random()
        if action < 0.4 and chars:
            del chars[min(at, len(chars) - 1)]
        elif action < 0.7:
            chars.insert(at, rng.choice(ALPHABET))
        elif chars:
            chars[min(at, len(chars) - 1)] = rng.choice(ALPHABET)
    return "".join(chars)


def test_a_few_thousand_mutated_links_agree_with_the_cli(page: Page) -> None:
    rng = random.Random(15)
    id_, key = bytes(range(ID_BYTES)), bytes(range(100, 100 + KEY_BYTES))
    seeds = [build_link(server, id_, key) for server in SERVERS]
    seeds += [f"<{seeds[0]}>", f'"{seeds[1]}"', seeds[0].rsplit("/", 1)[1]]
    seeds += [_with_host(host) for host, _server in VALID_HOSTS]
    cases = [(mutated(rng, rng.choice(seeds)), rng.random() < 0.2) for _ in range(4000)]
    answers = agree(page, cases)
    accepted = sum(isinstance(a, list) for a in answers)
    assert 100 < accepted < len(cases) - 100  # both outcomes are well represented
