"""What the reveal page sends and keeps: only requests to its own server, never the key or
anything derived from it but the proofs the API asks for, no cookie, nothing stored in the
browser, and not one CSP violation or script error on the way."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import httpx
from playwright.sync_api import Page, Response, expect
from processes import ServerProcess

from ots_cli.core.format import decode_header
from ots_cli.core.keyschedule import derive_keys, link_proof
from ots_cli.core.links import parse_link

from .conftest import Watch
from .support import NO_SAVE_PICKER, Cli, open_link, reveal

STORAGE = """async () => ({
  cookie: document.cookie,
  local: localStorage.length,
  session: sessionStorage.length,
  idb: (await indexedDB.databases()).length,
  caches: (await caches.keys()).length,
  workers: (await navigator.serviceWorker.getRegistrations()).length,
})"""


def encodings(secret: bytes) -> set[bytes]:
    """Every way a value could appear in a request: raw, hex, base64 and base64url, escaped."""
    b64 = base64.b64encode(secret)
    b64url = base64.urlsafe_b64encode(secret)
    forms = {secret, secret.hex().encode(), secret.hex().upper().encode(), b64, b64url}
    forms |= {f.rstrip(b"=") for f in (b64, b64url)}
    forms |= {urllib.parse.quote(f.decode("latin-1")).encode() for f in set(forms)}
    forms |= {f[:16] for f in forms if len(f) > 16}
    return forms


def request_bytes(watch: Watch) -> list[bytes]:
    out = []
    for request in watch.requests:
        headers = json.dumps(request.all_headers()).encode()
        out.append(
            request.url.encode() + b"\n" + headers + b"\n" + (request.post_data_buffer or b"")
        )
    return out


def watch_responses(page: Page, sink: list[Response]) -> None:
    page.on("response", lambda response: sink.append(response))


def check_page(
    page: Page, watch: Watch, server: ServerProcess, forbidden: dict[str, bytes]
) -> None:
    assert watch.csp_violations(page) == []
    failed = [(r.url, r.status) for r in watch.responses if r.status >= 400]
    assert failed == []
    assert watch.console_errors == []
    assert watch.page_errors == []
    origin = server.base_url
    for request in watch.requests:
        assert request.url.startswith(origin + "/"), request.url
    for name, value in forbidden.items():
        for data in request_bytes(watch):
            for form in encodings(value):
                assert form not in data, f"the {name} was sent"


def test_a_passphrase_text_reveal_sends_nothing_it_should_not(
    server: ServerProcess, page: Page, watched: Watch, tmp_path: Path
) -> None:
    cli = Cli(server.base_url, tmp_path)
    phrase = tmp_path / "phrase"
    phrase.write_text("a long passphrase")
    link = cli.share(b"watched closely", "--passphrase-file", str(phrase))
    parsed = parse_link(link)
    proof = base64.urlsafe_b64encode(link_proof(parsed.id, parsed.key)).rstrip(b"=").decode()
    peeked = httpx.post(
        f"{server.base_url}/api/v1/secrets/{parsed.id_text}/peek", json={"proof": proof}
    ).json()
    header, _ = decode_header(base64.urlsafe_b64decode(peeked["header"] + "=="))
    keys = derive_keys(header, parsed.key, "a long passphrase")
    responses: list[Response] = []
    watch_responses(page, responses)
    open_link(page, link)
    reveal(page, "a long passphrase")
    expect(page.locator("#text-result")).to_be_visible()
    assert page.locator("#secret-text").input_value() == "watched closely"
    check_page(
        page,
        watched,
        server,
        {"key": parsed.key, "payload key": keys.payload_key, "passphrase": b"a long passphrase"},
    )
    # The proofs go where the API wants them, in JSON bodies only.
    bodies = [r.post_data_buffer or b"" for r in watched.requests]
    assert any(base64.urlsafe_b64encode(keys.link_proof).rstrip(b"=") in b for b in bodies)
    assert any(b"passphrase_proof" in b for b in bodies)
    assert all("set-cookie" not in r.all_headers() for r in responses)
    assert page.evaluate(STORAGE) == {
        "cookie": "",
        "local": 0,
        "session": 0,
        "idb": 0,
        "caches": 0,
        "workers": 0,
    }


def test_a_file_download_sends_and_keeps_nothing(
    server: ServerProcess, page: Page, watched: Watch, tmp_path: Path
) -> None:
    cli = Cli(server.base_url, tmp_path)
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.4 " + bytes(200_000))
    link = cli.share_file(source)
    parsed = parse_link(link)
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    reveal(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save the file").click()
    assert Path(download_info.value.path()).read_bytes() == source.read_bytes()
    expect(page.locator("#file-status")).to_contain_text("Saved")
    check_page(page, watched, server, {"key": parsed.key})
    # The download's own request never left the browser: the worker answered it.
    assert not any("/download/" in r.url for r in watched.requests if r.resource_type == "fetch")
    page.wait_for_timeout(1500)
    storage = page.evaluate(STORAGE)
    assert storage["workers"] == 0
    assert storage["local"] == storage["session"] == storage["idb"] == storage["caches"] == 0
