"""The server's side of the responder's page (`/r/{id}`), in process: the same bytes for every
id and query (only the language varies), no state touched, the exact CSP, versioned assets
with SRI, every message its template and scripts name, the switches (OTS_WEB_CREATE=false and
OTS_REQUIRE_ACCOUNT explain `ots respond`, OTS_WEB=false serves a fixed page), its weight, and
the reveal page not loading any of it."""

from __future__ import annotations

import json
import re
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from ots_server.web import RESPOND_ALIASES, RESPOND_SCRIPTS
from ots_server.web.pages import PAGE_CSP, template_source

from .in_process import make_client
from .test_create_server import page_weight

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

IDS = (
    "5ncbVkb6LM1hXzvEamVqFg",
    "AAAAAAAAAAAAAAAAAAAAAA",
    "x",
    "%3Cscript%3Ealert(1)%3C%5Cscript%3E",
)


def test_the_page_is_the_same_bytes_for_every_id(client: TestClient) -> None:
    pages = {client.get(f"/r/{sid}{query}").content for sid in IDS for query in ("", "?x=1")}
    assert len(pages) == 1
    page = pages.pop()
    assert b"5ncbVkb6LM1hXzvEamVqFg" not in page
    assert b"alert(1)" not in page
    assert b"<noscript>" in page
    assert b"ots respond" in page


def test_the_page_headers_and_methods(client: TestClient) -> None:
    response = client.get(f"/r/{IDS[0]}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-language"] == "en"
    assert response.headers["vary"] == "Accept-Language"
    assert "set-cookie" not in response.headers
    head = client.head(f"/r/{IDS[0]}")
    assert (head.status_code, head.content) == (200, b"")
    options = client.options(f"/r/{IDS[0]}")
    assert (options.status_code, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS")
    assert client.post(f"/r/{IDS[0]}").status_code == 405
    assert client.get(f"/r/{IDS[0]}/").status_code == 404  # no slash redirect: no echo
    assert client.get("/r/").status_code == 404


def test_the_language_comes_from_accept_language_or_the_switch(client: TestClient) -> None:
    french = client.get(f"/r/{IDS[0]}", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    assert french.headers["content-language"] == "fr"
    assert '<html lang="fr">' in french.text
    assert "On vous demande un secret" in french.text
    assert client.get(f"/r/{IDS[1]}?lang=fr", headers={"Accept-Language": "en"}).content == (
        french.content
    )


def page_data(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="ots-page">(.*?)</script>', html, re.S)
    assert block is not None
    assert "<" not in block.group(1)
    data: dict[str, Any] = json.loads(block.group(1))
    return data


def test_every_asset_is_versioned_with_sri_in_load_order(client: TestClient) -> None:
    page = client.get(f"/r/{IDS[0]}").text
    scripts = re.findall(r'<script src="([^"]+)" integrity="([^"]+)"', page)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)" integrity="([^"]+)"', page)
    assert [href.rsplit("/", 1)[1] for href, _ in styles] == ["ots.css", "forms.css"]
    names = [src.rsplit("/", 1)[1] for src, _ in scripts]
    assert names == ["libsodium-sumo.js", "libsodium-wrappers.js", *RESPOND_SCRIPTS]
    for relative, integrity in scripts + styles:
        assert relative.startswith("../assets/")  # relative to /r/{id}: a path prefix works
        response = client.get(relative.removeprefix(".."))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-security-policy"] == PAGE_CSP
        assert integrity.startswith("sha384-")
    # The shared form's wording is the responder's (template slots and the script's messages).
    data = page_data(page)
    assert data["messages"]["password_hint"].endswith("not even you.")
    assert "the person who asked" in data["messages"]["password_hint"]
    assert "What to send" in page
    assert "Sending your answer" in page


#: The scripts that talk to a person (the others are the format's, with their own error names).
UI_SCRIPTS = ("ots-ui.js", "ots-secret-form.js", "respond.js")


def _message_keys(code: str) -> set[str]:
    """Catalogue keys a UI script names: M.key, fail("key"), fieldError("key"), and the keys
    it passes around as values (heading: "key", network: "key", ["key"] sentences)."""
    patterns = (
        r"\bM\.(\w+)",
        r'(?:fail|fieldError)\("(\w+)"',
        r'(?:heading|network): "(\w+)"',
        r'\[\["(\w+)"',
        r'\? \["(\w+)"\]',
        r': \["(\w+)", \{',
        r'return \["(\w+)"',
    )
    return {key for pattern in patterns for key in re.findall(pattern, code)}


def test_every_slot_and_message_exists_in_both_languages() -> None:
    web = resources.files("ots_server.web")
    catalogues = {
        lang: json.loads(web.joinpath(f"i18n/{lang}.json").read_text()) for lang in ("en", "fr")
    }
    specials = {"lang", "lang_links", "page_json", "respond_cli_reason"}
    for template, scripts in (("respond.html", RESPOND_SCRIPTS), ("respond-cli.html", ())):
        used = set(re.findall(r"\{\{(\w+)\}\}", template_source(template)))
        assert "include" not in template_source(template)
        for script in scripts:
            code = web.joinpath(f"static/{script}").read_text()
            used |= (
                _message_keys(code)
                if script in UI_SCRIPTS
                else set(re.findall(r"\bM\.(\w+)", code))
            )
        used = {RESPOND_ALIASES.get(key, key) for key in used}
        for lang, catalogue in catalogues.items():
            missing = used - specials - set(catalogue)
            assert not missing, (template, lang, missing)
    for catalogue in catalogues.values():
        assert {"respond_cli_reason_off", "respond_cli_reason_account"} <= set(catalogue)
        assert set(RESPOND_ALIASES.values()) <= set(catalogue)


def test_the_page_carries_the_messages_its_scripts_name(client: TestClient) -> None:
    messages = page_data(client.get(f"/r/{IDS[0]}").text)["messages"]
    code = "\n".join(
        resources.files("ots_server.web").joinpath(f"static/{name}").read_text()
        for name in ("ots-secret-form.js", "respond.js")
    )
    keys = _message_keys(code)
    # The patterns do find the keys passed around as values, not only M.key.
    assert {"respond_nothing_sent", "respond_burned", "respond_not_burned"} <= keys
    assert {"respond_upload_network", "respond_failed_heading", "create_unreadable"} <= keys
    assert keys <= set(messages)
    assert messages["respond_sent_text"].startswith("Your secret is stored encrypted")


@pytest.mark.parametrize(
    ("settings", "language", "says"),
    [
        ({"web_create": False}, "en", "does not take answers from the browser"),
        ({"require_account": True}, "en", "only from account holders"),
        ({"require_account": True}, "fr", "titulaires d\u2019un compte"),
    ],
)
def test_without_browser_creation_the_page_explains_ots_respond(
    tmp_path: Path, settings: dict[str, bool], language: str, says: str
) -> None:
    for client in make_client(tmp_path, **settings):
        pages = {client.get(f"/r/{sid}?lang={language}").content for sid in IDS}
        assert len(pages) == 1
        page = pages.pop().decode()
        assert says in page
        assert "ots respond" in page
        assert "<script" not in page
        response = client.get(f"/r/{IDS[0]}")
        assert response.headers["content-security-policy"] == PAGE_CSP
        assert client.head(f"/r/{IDS[0]}").status_code == 200
        assert client.options(f"/r/{IDS[0]}").status_code == 204


def test_web_false_serves_a_fixed_page_naming_ots_respond(tmp_path: Path) -> None:
    for client in make_client(tmp_path, web=False):
        pages = {client.get(f"/r/{sid}").content for sid in IDS}
        assert len(pages) == 1
        page = client.get(f"/r/{IDS[0]}")
        assert page.status_code == 200
        assert b"ots respond" in page.content
        assert b"<script" not in page.content
        assert IDS[0].encode() not in page.content
        csp = page.headers["content-security-policy"]
        assert "style-src 'sha256-" in csp
        assert "script-src" not in csp
        assert client.head(f"/r/{IDS[0]}").content == b""
        options = client.options(f"/r/{IDS[0]}")
        assert (options.status_code, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS")
        assert client.get("/assets/x/respond.js").status_code == 404


#: The respond page's own weight: HTML, its own scripts and stylesheets, gzip'd (libsodium.js,
#: fetched once and cached as immutable, is not counted).
RESPOND_WEIGHT_LIMIT = 36_000


def test_the_respond_page_weight(client: TestClient) -> None:
    sizes = page_weight(client, f"/r/{IDS[0]}")
    assert set(sizes) == {"html", "ots.css", "forms.css", *RESPOND_SCRIPTS}
    assert sum(sizes.values()) <= RESPOND_WEIGHT_LIMIT, sizes


def test_the_reveal_page_loads_none_of_it(client: TestClient) -> None:
    page = client.get(f"/s/{IDS[0]}").text
    for name in ("ots-request.js", "respond.js", "ots-secret-form.js", "ots-writer.js"):
        assert name not in page
    assert "respond_" not in page
