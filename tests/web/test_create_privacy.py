"""What the create page sends and keeps. Every byte the browser sends goes through a recording
relay (Playwright cannot show a Blob upload's body), and is searched for the key, the payload
key, the proofs, the passphrase, its Argon2id output and the plaintext, in every encoding;
only requests to the page's own server; no cookie, no storage, no CSP violation."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect
from processes import ServerProcess, running_server

from ots_cli.core.format import decode_header
from ots_cli.core.keyschedule import argon2id_kdf, derive_keys
from ots_cli.core.links import parse_link

from .conftest import Watch
from .create_support import create, open_create, peek, recording_proxy
from .test_privacy import STORAGE, encodings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("private")) as running:
        yield running


def forbidden_values(server: ServerProcess, link: str, passphrase: str | None) -> dict[str, bytes]:
    parsed = parse_link(link, allow_insecure_http=True)
    stored = peek(server.base_url, link)
    header, _ = decode_header(stored.header_bytes)
    keys = derive_keys(header, parsed.key, passphrase)
    values = {"key": parsed.key, "payload key": keys.payload_key, "link proof": keys.link_proof}
    if passphrase is not None:
        assert header.kdf is not None
        assert keys.passphrase_proof is not None
        stretched = argon2id_kdf(
            32, passphrase.encode(), header.kdf.salt, header.kdf.opslimit, header.kdf.memlimit
        )
        values |= {
            "passphrase": passphrase.encode(),
            "passphrase proof": keys.passphrase_proof,
            "argon2id output": stretched,
        }
    return values


@pytest.mark.parametrize("passphrase", [None, "a long passphrase for the test"])
def test_the_create_page_sends_nothing_it_should_not(
    server: ServerProcess, page: Page, watched: Watch, tmp_path: Path, passphrase: str | None
) -> None:
    secret = "the plaintext of a secret made in the page"
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    with recording_proxy(server.port) as proxy:
        open_create(page, proxy.base_url)
        created = create(page, text=secret, passphrase=passphrase)
        expect(page.locator("#result")).to_be_visible()
        sent = proxy.all_sent()
    assert created.link.startswith(proxy.base_url + "/s/")
    assert b"POST /api/v1/secrets HTTP/1.1" in sent
    assert b"application/vnd.ots.secret" in sent
    forbidden = forbidden_values(server, created.link.replace(proxy.base_url, server.base_url),
                                 passphrase)  # fmt: skip
    forbidden["plaintext"] = secret.encode()
    forbidden["receipt token"] = b"otsr_"  # the receipt comes back; it is never sent
    for name, value in forbidden.items():
        for form in encodings(value) if name != "receipt token" else {value}:
            assert form not in sent, f"the {name} was sent"
    # What create needs does go: the link verifier, and the passphrase verifier if any.
    parsed = parse_link(created.link, allow_insecure_http=True)
    assert base64.urlsafe_b64encode(parsed.id).rstrip(b"=") in sent
    assert (b"passphrase_verifier" in sent) == (passphrase is not None)
    # Only the page's own origin, no error, no violation, no cookie, no storage.
    for request in watched.requests:
        assert request.url.startswith(proxy.base_url + "/"), request.url
    assert [r.url for r in responses if r.status >= 400] == []
    assert watched.csp_violations(page) == []
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert all("set-cookie" not in r.all_headers() for r in responses)
    assert b"cookie:" not in sent.lower()
    assert b"referer:" not in sent.lower()
    storage = page.evaluate(STORAGE)
    assert storage == {"cookie": "", "local": 0, "session": 0, "idb": 0, "caches": 0, "workers": 0}


def test_a_file_upload_sends_only_ciphertext(
    server: ServerProcess, page: Page, watched: Watch, tmp_path: Path
) -> None:
    source = tmp_path / "letter.txt"
    source.write_bytes(b"Dear recipient, " * 10_000)  # 160 KB, suite 2, easy to spot
    with recording_proxy(server.port) as proxy:
        open_create(page, proxy.base_url)
        created = create(page, file=source)
        sent = proxy.all_sent()
    assert len(sent) > 160_000  # the blob went through the relay
    assert b"Dear recipient" not in sent
    assert b"letter.txt" not in sent  # the name travels inside the encryption
    link = created.link.replace(proxy.base_url, server.base_url)
    for name, value in forbidden_values(server, link, None).items():
        for form in encodings(value):
            assert form not in sent, f"the {name} was sent"
    assert watched.csp_violations(page) == []
    assert watched.page_errors == []
