"""What the respond page sends and keeps. Every byte the browser sends goes through a recording
relay (Playwright cannot show a Blob upload's body) and is searched, in every encoding, for
the requester's public key (which the server must never see: it would let it seal answers of
its own), the private key, the answer secret's key, its payload key and link proof, the sealed
box's plaintext (the secret's key) and the plaintext of the answer; only requests to the page's own
server; no cookie, no storage, no CSP violation."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response
from processes import ServerProcess, running_server

from ots_cli.core.keyschedule import derive_keys

from .conftest import Watch
from .create_support import peek, recording_proxy
from .respond_support import answer, open_respond, open_the_answer
from .support import Cli
from .test_privacy import STORAGE, encodings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("respond-private")) as running:
        yield running


@pytest.mark.parametrize("kind", ["text", "file"])
def test_the_respond_page_sends_nothing_it_should_not(
    server: ServerProcess, page: Page, watched: Watch, tmp_path: Path, kind: str
) -> None:
    cli = Cli(server.base_url, tmp_path)
    link = cli.request()
    plaintext = b"the plaintext of an answer made in the page " * (1 if kind == "text" else 4000)
    source = tmp_path / "answer-letter.txt"
    source.write_bytes(plaintext)
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    with recording_proxy(server.port) as proxy:
        open_respond(page, link.replace(server.base_url, proxy.base_url))
        if kind == "text":
            answer(page, text=plaintext.decode())
        else:
            answer(page, file=source)
        sent = proxy.all_sent()
    assert b"POST /api/v1/secrets HTTP/1.1" in sent
    assert b"/answer HTTP/1.1" in sent
    opened = open_the_answer(cli, server.base_url, link)
    secret_link = opened.link(server.base_url)
    keys = derive_keys(peek(server.base_url, secret_link).header, opened.secret_key, None)
    forbidden = {
        "public key": opened.public_key,
        "private key": opened.private_key,
        "secret key": opened.secret_key,
        "payload key": keys.payload_key,
        "link proof": keys.link_proof,
        # The sealed box's plaintext is the secret's id (which create sends) and its key.
        "plaintext": plaintext[:64],
    }
    for name, value in forbidden.items():
        for form in encodings(value):
            assert form not in sent, f"the {name} was sent"
    assert b"answer-letter" not in sent  # a file's name travels inside the encryption
    # What the API needs does go: the request id in paths, the secret's id, the sealed box.
    assert base64.urlsafe_b64encode(opened.secret_id).rstrip(b"=") in sent
    assert b'"sealed":"' in sent
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
