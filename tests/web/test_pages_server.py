"""The server's side of the web pages, in-process: the same bytes for every id, language
negotiation without cookies, the exact CSP, immutable versioned assets, and OTS_WEB=false."""

from __future__ import annotations

import gzip
import json
import re
import warnings
from importlib import resources
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from ots_server.web.pages import LANGUAGES, PAGE_CSP, negotiate

from .in_process import make_client

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

EXACT_CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def test_the_page_is_the_same_bytes_for_every_id(client: TestClient) -> None:
    pages = {
        client.get(f"/s/{sid}").content
        for sid in ("AAAAAAAAAAAAAAAAAAAAAA", "yd_trvYVIHr0KDqOcrVYHA", "x", "not-an-id-at-all")
    }
    assert len(pages) == 1
    assert b"yd_trvYVIHr0KDqOcrVYHA" not in pages.pop()


def test_the_page_headers(client: TestClient) -> None:
    response = client.get("/s/AAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == EXACT_CSP == PAGE_CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-language"] == "en"
    assert response.headers["vary"] == "Accept-Language"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers
    head = client.head("/s/AAAAAAAAAAAAAAAAAAAAAA")
    assert head.status_code == 200
    assert head.content == b""


def test_language_from_accept_language_and_the_switch(client: TestClient) -> None:
    french = client.get("/s/x", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert french.headers["content-language"] == "fr"
    assert '<html lang="fr">' in french.text
    assert "secret à usage unique" in french.text
    english = client.get("/s/x", headers={"Accept-Language": "de, en;q=0.4, fr;q=0.3"})
    assert english.headers["content-language"] == "en"
    switched = client.get("/s/x?lang=fr", headers={"Accept-Language": "en"})
    assert switched.headers["content-language"] == "fr"
    assert switched.content == french.content
    assert client.get("/s/x?lang=xx").headers["content-language"] == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("FR-be", "fr"),
        ("en-GB,fr;q=0.8", "en"),
        ("fr;q=0.2, en;q=0.1", "fr"),
        ("fr;q=0, en", "en"),
        ("de;q=1.0, *;q=0.5", "en"),
        ("fr;q=bogus, en;q=0.1", "en"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_catalogues_have_the_same_keys_and_no_empty_strings() -> None:
    folder = resources.files("ots_server.web").joinpath("i18n")
    catalogues = {
        lang: json.loads(folder.joinpath(f"{lang}.json").read_text()) for lang in LANGUAGES
    }
    keys = {lang: set(c) for lang, c in catalogues.items()}
    assert keys["en"] == keys["fr"]
    for lang, catalogue in catalogues.items():
        for key, value in catalogue.items():
            assert isinstance(value, str), (lang, key)
            assert value.strip(), (lang, key)
        placeholders = {k: set(re.findall(r"\{(\w+)\}", v)) for k, v in catalogue.items()}
        english = {k: set(re.findall(r"\{(\w+)\}", v)) for k, v in catalogues["en"].items()}
        assert placeholders == english, lang


def test_every_template_slot_and_script_message_exists() -> None:
    web = resources.files("ots_server.web")
    used = set(re.findall(r"\{\{(\w+)\}\}", web.joinpath("templates/reveal.html").read_text()))
    used |= set(re.findall(r"\bM\.(\w+)", web.joinpath("static/reveal.js").read_text()))
    used |= set(re.findall(r'fail\("(\w+)"', web.joinpath("static/reveal.js").read_text()))
    catalogue = json.loads(web.joinpath("i18n/en.json").read_text())
    specials = {"lang", "lang_links", "page_json"}
    assert used - specials <= set(catalogue), used - specials - set(catalogue)


def test_assets_are_versioned_immutable_and_carry_sri(client: TestClient) -> None:
    page = client.get("/s/x").text
    scripts = re.findall(r'<script src="([^"]+)" integrity="([^"]+)"', page)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)" integrity="([^"]+)"', page)
    assert len(scripts) == 4
    assert len(styles) == 1
    for relative, integrity in scripts + styles:
        assert relative.startswith("../assets/")
        # Resolved from /s/{id} as the browser does: /assets/<version>/<name>.
        response = client.get(relative.removeprefix(".."))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-security-policy"] == EXACT_CSP
        assert integrity.startswith("sha384-")
    plain = client.get(scripts[0][0].removeprefix(".."), headers={"Accept-Encoding": "identity"})
    zipped = client.get(scripts[0][0].removeprefix(".."), headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == plain.content  # decoded by the client, as a browser does
    version = scripts[0][0].split("/")[2]
    assert client.get(f"/assets/{version}/nope.js").status_code == 404
    old = client.get("/assets/0000000000000000/ots-format.js")
    assert old.status_code == 404
    assert old.content == client.get("/api/v1/secrets/AAAAAAAAAAAAAAAAAAAAAA").content


def test_the_page_json_cannot_end_its_script_element(client: TestClient) -> None:
    page = client.get("/s/x").text
    block = re.search(r'<script type="application/json" id="ots-page">(.*?)</script>', page, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert data["messages"]["reveal"] == "Reveal the secret"
    assert "<" not in block.group(1)


def test_web_false_serves_the_plain_cli_page(tmp_path: Path) -> None:
    for client in make_client(tmp_path, web=False):
        page = client.get("/s/AAAAAAAAAAAAAAAAAAAAAA")
        assert page.status_code == 200
        assert b"ots get" in page.content
        assert b"<script" not in page.content
        csp = page.headers["content-security-policy"]
        assert "style-src 'sha256-" in csp
        assert "script-src" not in csp
        assert client.get("/assets/x/ots-format.js").status_code == 404


#: The reveal page's own weight: HTML, its own scripts and stylesheet, gzip'd (libsodium.js,
#: fetched once and cached as immutable, and the workers loaded on demand are not counted).
PAGE_WEIGHT_LIMIT = 20_000


def test_the_page_weighs_at_most_20_kb_gzipped(client: TestClient) -> None:
    page = client.get("/s/x")
    own = [
        src
        for src in re.findall(r'(?:src|href)="(\.\./assets/[^"]+)"', page.text)
        if "libsodium" not in src and not src.endswith(".svg")
    ]
    assert {src.rsplit("/", 1)[1] for src in own} == {"ots-format.js", "reveal.js", "ots.css"}
    total = len(gzip.compress(page.content, 9))
    for src in own:
        total += len(gzip.compress(client.get(src.removeprefix("..")).content, 9))
    assert total <= PAGE_WEIGHT_LIMIT, total
