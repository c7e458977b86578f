"""The reveal page end to end: secrets made by the real ``ots`` CLI, a real ``ots-server``
process on SQLite, read in real Chromium by clicking as a recipient does."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from processes import ServerProcess, running_server

from .support import NO_SAVE_PICKER, Cli, error_reason, open_link, reveal

TEXTS = {
    "ascii": "correct horse battery staple",
    "utf8": "mot de passe : «été» — ключ — 鍵",
    "emoji": "🔑🦄 secret 👍🏽 🇫🇷",
    "rtl": "סיסמה: שלום עולם / كلمة السر",
    "multiline": "line one\n  indented\tline two\n\nlast",
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_text_is_revealed_after_one_click(cli: Cli, page: Page, name: str) -> None:
    link = cli.share(TEXTS[name].encode())
    open_link(page, link)
    expect(page.locator("#fact-views")).to_have_text("1")
    reveal(page)
    expect(page.locator("#text-result")).to_be_visible()
    assert page.locator("#secret-text").input_value() == TEXTS[name]
    expect(page.locator("#text-heading")).to_be_focused()
    # The view is spent: the key left the address bar, and the CLI is told "already read".
    assert "#" not in page.url
    assert cli.run("get", link).returncode == 6


def test_a_64_kib_text_and_its_exact_bytes_by_copy(cli: Cli, browser: Browser) -> None:
    text = ("0123456789abcdef" * 4096)[:-3] + "end"
    link = cli.share(text.encode())
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        open_link(page, link)
        reveal(page)
        expect(page.locator("#text-result")).to_be_visible()
        assert page.locator("#secret-text").input_value() == text
        page.get_by_role("button", name="Copy").click()
        expect(page.locator("#copy-status")).to_contain_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == text
    finally:
        context.close()


def test_invisible_characters_are_shown_escaped_and_copied_exactly(
    cli: Cli, browser: Browser
) -> None:
    text = "hunter2\u200d\u2060\u202ehidden\U000e0041"
    link = cli.share(text.encode())
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        open_link(page, link)
        reveal(page)
        expect(page.locator("#text-result")).to_be_visible()
        shown = page.locator("#secret-text").input_value()
        assert shown == "hunter2\\u200d\\u2060\\u202ehidden\\U000e0041"
        expect(page.locator("#escaped-note")).to_contain_text("codes: 4")
        page.get_by_role("button", name="Copy").click()
        expect(page.locator("#copy-status")).to_contain_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == text
    finally:
        context.close()


def test_a_binary_file_downloads_byte_identical(cli: Cli, page: Page, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000 + b"\x00tail"
    source = tmp_path / "keys.bin"
    source.write_bytes(data)
    link = cli.share_file(source)
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    reveal(page)
    expect(page.locator("#file-name")).to_have_text("keys.bin")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save the file").click()
    download = download_info.value
    assert download.suggested_filename == "keys.bin"
    saved = Path(download.path())
    expect(page.locator("#file-status")).to_contain_text("Saved")
    assert saved.read_bytes() == data


def test_passphrase_right_after_a_wrong_one(cli: Cli, page: Page, tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("blue tuesday")
    link = cli.share(b"behind a passphrase", "--passphrase-file", str(phrase), "--attempts", "3")
    open_link(page, link)
    expect(page.locator("#fact-passphrase")).to_contain_text("destroyed: 3")
    reveal(page, "green monday")
    expect(page.locator("#passphrase-error")).to_contain_text("destroyed: 2")
    expect(page.locator("#passphrase-input")).to_be_focused()
    reveal(page, "blue tuesday")
    expect(page.locator("#text-result")).to_be_visible()
    assert page.locator("#secret-text").input_value() == "behind a passphrase"


def test_wrong_passphrases_count_down_then_burn(cli: Cli, page: Page, tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("right")
    link = cli.share(b"x", "--passphrase-file", str(phrase), "--attempts", "2")
    open_link(page, link)
    reveal(page, "wrong one")
    expect(page.locator("#passphrase-error")).to_contain_text("destroyed: 1")
    reveal(page, "wrong two")
    assert error_reason(page) == "wrong_passphrase_burned"
    assert cli.run("get", link).returncode == 6


def test_views_2_in_two_contexts_then_already_read(cli: Cli, browser: Browser) -> None:
    link = cli.share(b"for two", "--views", "2")
    for views_left in ("2", "1"):
        context = browser.new_context()
        page = context.new_page()
        try:
            open_link(page, link)
            expect(page.locator("#fact-views")).to_have_text(views_left)
            reveal(page)
            expect(page.locator("#text-result")).to_be_visible()
            assert page.locator("#secret-text").input_value() == "for two"
        finally:
            context.close()
    context = browser.new_context()
    page = context.new_page()
    try:
        open_link(page, link)
        assert error_reason(page) == "consumed"
        expect(page.locator("#error-text")).to_contain_text("compromised")
    finally:
        context.close()


def test_burned_secret(cli: Cli, page: Page) -> None:
    link = cli.share(b"to burn")
    assert cli.run("burn", link).returncode == 0
    open_link(page, link)
    assert error_reason(page) == "burned"


def test_wrong_key_and_unknown_id_look_the_same(cli: Cli, page: Page) -> None:
    link = cli.share(b"keyed")
    base, key = link.split("#")
    wrong = base + "#" + ("A" if key[0] != "A" else "B") + key[1:]
    open_link(page, wrong)
    assert error_reason(page) == "not_found"
    open_link(page, base.rsplit("/", 1)[0] + "/AAAAAAAAAAAAAAAAAAAAAA#" + key)
    assert error_reason(page) == "not_found"
    assert cli.run("get", link).returncode == 0


def test_cut_off_and_damaged_links(cli: Cli, page: Page) -> None:
    link = cli.share(b"whole")
    open_link(page, link.split("#")[0])
    assert error_reason(page) == "no_key"
    open_link(page, link[:-4])
    assert error_reason(page) == "bad_link"
    assert cli.run("get", link).returncode == 0


def test_consumed_by_the_cli_then_opened_in_the_browser(cli: Cli, page: Page) -> None:
    link = cli.share(b"cli first")
    assert cli.run("get", link).stdout == b"cli first"
    open_link(page, link)
    assert error_reason(page) == "consumed"


def test_opened_without_clicking_then_read_by_the_cli(cli: Cli, page: Page) -> None:
    link = cli.share(b"browser looked, cli reads")
    open_link(page, link)
    expect(page.locator("#reveal-form")).to_be_visible()
    page.wait_for_timeout(500)
    got = cli.run("get", link)
    assert (got.returncode, got.stdout) == (0, b"browser looked, cli reads")


def test_tampered_ciphertext_shows_nothing(cli: Cli, page: Page, server: ServerProcess) -> None:
    link = cli.share(b"tamper with me")
    with sqlite3.connect(server.db_path) as db:
        (blob,) = db.execute("SELECT blob FROM secrets ORDER BY rowid DESC LIMIT 1").fetchone()
        tampered = blob[:-1] + bytes([blob[-1] ^ 1])
        db.execute("UPDATE secrets SET blob = ? WHERE blob = ?", (tampered, blob))
    open_link(page, link)
    reveal(page)
    assert error_reason(page) == "integrity"
    expect(page.locator("#text-result")).to_be_hidden()
    assert page.locator("#secret-text").input_value() == ""


def test_a_cut_download_is_never_presented_as_good(cli: Cli, page: Page, tmp_path: Path) -> None:
    """A file within the page's text cap is read by the page itself and, without a save dialog,
    handed to the browser as a Blob only once verified: a cut one is never offered at all. (Above
    the cap the download worker reads it: tests/web/test_download_worker.py.)"""
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(300_000))
    link = cli.share_file(source)
    page.add_init_script(NO_SAVE_PICKER)

    def cut(route: Route) -> None:
        response = route.fetch()
        body = response.body()
        route.fulfill(response=response, body=body[: len(body) - 70_000])

    downloads: list[object] = []
    page.on("download", lambda download: downloads.append(download))
    page.route("**/reveal", cut)
    open_link(page, link)
    reveal(page)
    expect(page.locator("#file-result, #error").first).to_be_visible()
    if page.locator("#file-result").is_visible():
        page.get_by_role("button", name="Save the file").click()
    assert error_reason(page) == "integrity_partial"
    expect(page.locator("#file-status")).not_to_contain_text("Saved")
    page.wait_for_timeout(500)
    assert downloads == []


@pytest.fixture(scope="module")
def short_ttl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("ttl"), env={"OTS_TTL_MIN": "1"}) as server:
        yield server


def test_expired_secret(short_ttl_server: ServerProcess, page: Page, tmp_path: Path) -> None:
    cli = Cli(short_ttl_server.base_url, tmp_path)
    link = cli.share(b"soon gone", "--ttl", "1s")
    time.sleep(2.1)
    open_link(page, link)
    assert error_reason(page) == "expired"


PREVIEW_AGENTS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
]


def test_link_previewers_never_consume(cli: Cli, page: Page, server: ServerProcess) -> None:
    link = cli.share(b"still here")
    url = link.split("#")[0]
    with httpx.Client(timeout=10) as http:
        for agent in PREVIEW_AGENTS:
            assert http.get(url, headers={"User-Agent": agent}).status_code == 200
            assert http.head(url, headers={"User-Agent": agent}).status_code == 200
    curl = subprocess.run(["curl", "-sS", "-o", "/dev/null", link], check=False, timeout=30)
    assert curl.returncode == 0
    page.goto(link)
    expect(page.locator("#reveal-form")).to_be_visible()
    got = Cli(server.base_url, Path(cli.home)).run("get", link)
    assert (got.returncode, got.stdout) == (0, b"still here")


def test_keyboard_only_reveal(cli: Cli, page: Page) -> None:
    link = cli.share(b"by keyboard")
    open_link(page, link)
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "reveal-button":
            break
    else:
        pytest.fail("the reveal button cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#text-heading")).to_be_focused()
    assert page.locator("#secret-text").input_value() == "by keyboard"
