"""The server's side of the create and receipt pages, in process: the same bytes for every
request (only the language varies), the exact CSP, versioned assets with SRI, every message
the templates and scripts name, and the switches: OTS_WEB_CREATE=false and OTS_REQUIRE_ACCOUNT
make `/` explain the CLI, OTS_WEB=false leaves `/` and `/receipt` the server's 404."""

from __future__ import annotations

import gzip
import json
import re
import warnings
from importlib import resources
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from ots_server.web import CREATE_SCRIPTS, RECEIPT_SCRIPTS
from ots_server.web.pages import PAGE_CSP, template_source

from .in_process import make_client

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.mark.parametrize("path", ["/", "/receipt"])
def test_the_pages_are_the_same_bytes_with_the_pages_headers(client: TestClient, path: str) -> None:
    pages = {client.get(path + query).content for query in ("", "?x=1", "?lang=zz", "?otsr_x")}
    assert len(pages) == 1
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-language"] == "en"
    assert response.headers["vary"] == "Accept-Language"
    assert "set-cookie" not in response.headers
    french = client.get(path, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.headers["content-language"] == "fr"
    assert client.get(path + "?lang=fr").content == french.content
    assert client.head(path).status_code == 200
    assert client.post(path).status_code == 405


@pytest.mark.parametrize("path", ["/", "/receipt"])
def test_every_asset_is_versioned_with_sri(client: TestClient, path: str) -> None:
    page = client.get(path).text
    scripts = re.findall(r'<script src="([^"]+)" integrity="([^"]+)"', page)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)" integrity="([^"]+)"', page)
    assert scripts
    assert [href.rsplit("/", 1)[1] for href, _ in styles] == ["ots.css", "forms.css"]
    for relative, integrity in scripts + styles:
        assert relative.startswith("assets/")  # relative to the page: a path prefix works
        response = client.get("/" + relative)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert integrity.startswith("sha384-")
    names = [src.rsplit("/", 1)[1] for src, _ in scripts]
    own = CREATE_SCRIPTS if path == "/" else RECEIPT_SCRIPTS
    assert [n for n in names if n in own] == list(own)
    data = json.loads(re.search(r'id="ots-page">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    if path == "/":
        assert data["worker"].startswith("assets/")
        assert data["worker"].endswith("argon2-worker.js")
        assert "qrcode.js" in names


def test_every_slot_and_message_exists_in_both_languages() -> None:
    web = resources.files("ots_server.web")
    catalogues = {
        lang: json.loads(web.joinpath(f"i18n/{lang}.json").read_text()) for lang in ("en", "fr")
    }
    specials = {"lang", "lang_links", "page_json", "cli_reason"}
    for template, scripts in (
        ("create.html", CREATE_SCRIPTS),
        ("receipt.html", RECEIPT_SCRIPTS),
        ("create-cli.html", ()),
    ):
        used = set(re.findall(r"\{\{(\w+)\}\}", template_source(template)))
        for script in scripts:
            code = web.joinpath(f"static/{script}").read_text()
            used |= set(re.findall(r"\bM\.(\w+)", code))
            # The format modules' fail() is not the UI's.
            if script in ("create.js", "receipt.js", "ots-secret-form.js"):
                used |= set(re.findall(r'(?:fail|fieldError)\("(\w+)"', code))
                used |= set(re.findall(r'(?:return \[|network: )"(\w+)"', code))
        for lang, catalogue in catalogues.items():
            assert used - specials <= set(catalogue), (
                template,
                lang,
                used - specials - set(catalogue),
            )
    for catalogue in catalogues.values():
        assert {"cli_reason_off", "cli_reason_account"} <= set(catalogue)


def test_web_create_false_explains_the_cli(tmp_path: Path) -> None:
    for client in make_client(tmp_path, web_create=False):
        page = client.get("/")
        assert page.status_code == 200
        assert b"ots share" in page.content
        assert b"does not offer sharing from the browser" in page.content
        assert b"<script" not in page.content
        assert page.headers["content-security-policy"] == PAGE_CSP
        assert client.get("/receipt").status_code == 200  # receipts of earlier secrets still work


def test_require_account_explains_the_cli_with_a_token(tmp_path: Path) -> None:
    for client in make_client(tmp_path, require_account=True):
        page = client.get("/", headers={"Accept-Language": "fr"})
        assert page.status_code == 200
        assert "titulaires d\u2019un compte" in page.text
        assert "<script" not in page.text


def test_web_false_leaves_the_root_and_receipt_the_servers_404(tmp_path: Path) -> None:
    for client in make_client(tmp_path, web=False):
        unknown = client.get("/api/v1/secrets/AAAAAAAAAAAAAAAAAAAAAA").content
        for path in ("/", "/receipt"):
            response = client.get(path)
            assert response.status_code == 404
            assert response.content == unknown


def test_the_api_is_unchanged_next_to_the_pages(client: TestClient) -> None:
    limits = client.get("/api/v1/limits")
    assert limits.status_code == 200
    assert limits.headers["content-security-policy"] != PAGE_CSP
    assert client.get("/index.html").status_code == 404
    assert client.get("/receipt/").status_code == 404  # no slash redirect


#: The create page's weight: HTML and its own scripts and stylesheet, gzip'd. libsodium.js
#: (fetched once, immutable) is not counted; the QR library is, as only this page loads it.
CREATE_WEIGHT_LIMIT = 45_000


def page_weight(client: TestClient, path: str) -> dict[str, int]:
    page = client.get(path)
    sizes = {"html": len(gzip.compress(page.content, 9))}
    # Asset paths are relative to the page: assets/… from /, ../assets/… from /r/{id}.
    for src in re.findall(r'(?:src|href)="((?:\.\./)?assets/[^"]+)"', page.text):
        name = src.rsplit("/", 1)[1]
        if "libsodium" in name or name.endswith(".svg"):
            continue
        sizes[name] = len(gzip.compress(client.get("/" + src.removeprefix("../")).content, 9))
    return sizes


def test_the_create_page_weight(client: TestClient) -> None:
    sizes = page_weight(client, "/")
    assert set(sizes) == {"html", "ots.css", "forms.css", "qrcode.js", *CREATE_SCRIPTS}
    assert sum(sizes.values()) <= CREATE_WEIGHT_LIMIT, sizes
