"""The create page in real Chromium against a real ots-server, checked with the real CLI: what
the page shares, `ots get` opens byte for byte; the blob it uploads is the one the CLI would
(same suite, padding and size for the same input); only the server's limits are offered; a
cancelled upload stores nothing; the QR code decodes, with a real decoder, to the exact link."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from playwright.sync_api import Browser, Page, expect
from processes import ServerProcess, running_server

from ots_cli.core.format import Suite

from .create_support import create, open_create, peek, png_gray, stored_secrets
from .support import Cli

TEXTS = {
    "ascii": "correct horse battery staple",
    "utf8": "mot de passe: déjà vu, naïve café, Ελληνικά, русский",
    "emoji": "🔑 the key is 🐉🔥 and \u200d zero-width joiner 👩‍💻",
    "64KiB": ("0123456789abcdef" * 4096)[:65_536],
    "whitespace": "  leading and trailing  \n\tsecond line\n\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"OTS_MAX_BYTES": "4MiB"}
    with running_server(tmp_path_factory.mktemp("create"), env=env) as running:
        yield running


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_a_text_made_in_the_page_opens_with_ots_get(
    server: ServerProcess, cli: Cli, page: Page, name: str
) -> None:
    open_create(page, server.base_url)
    created = create(page, text=TEXTS[name])
    got = cli.run("get", created.link)
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout == TEXTS[name].encode()
    assert cli.run("get", created.link).returncode != 0  # one view: gone


def test_a_binary_file_opens_byte_for_byte_with_its_name(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "keys.bin"
    source.write_bytes(bytes(range(256)) * 20 + os.urandom(3000))
    open_create(page, server.base_url)
    created = create(page, file=source)
    stored = peek(server.base_url, created.link)
    assert stored.header.suite == Suite.SEALED  # 8 KiB pads below 64 KiB: suite 1
    out = tmp_path / "out.bin"
    got = cli.run("--json", "get", created.link, "-o", str(out))
    assert got.returncode == 0, got.stderr.decode()
    assert out.read_bytes() == source.read_bytes()
    assert b'"keys.bin"' in got.stdout


def test_a_file_past_64_kib_is_streamed_in_suite_2(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(os.urandom(1_500_000))
    open_create(page, server.base_url)
    created = create(page, file=source, views="2")
    stored = peek(server.base_url, created.link)
    assert stored.header.suite == Suite.STREAM
    for _ in range(2):
        out = tmp_path / "out.jpg"
        out.unlink(missing_ok=True)
        got = cli.run("get", created.link, "-o", str(out))
        assert got.returncode == 0, got.stderr.decode()
        assert out.read_bytes() == source.read_bytes()


def test_a_passphrase_secret_needs_the_passphrase(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    open_create(page, server.base_url)
    created = create(page, text="behind a passphrase", passphrase="tulip marble seven")
    stored = peek(server.base_url, created.link)
    assert stored.header.kdf is not None
    assert (stored.header.kdf.opslimit, stored.header.kdf.memlimit) == (6, 256 * 1024 * 1024)
    wrong, right = tmp_path / "wrong", tmp_path / "right"
    wrong.write_text("tulip marble eight")
    right.write_text("tulip marble seven")
    assert cli.run("get", created.link, "--passphrase-file", str(wrong)).returncode != 0
    got = cli.run("get", created.link, "--passphrase-file", str(right))
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout == b"behind a passphrase"


def test_generate_passphrase_fills_a_strong_one(server: ServerProcess, page: Page) -> None:
    open_create(page, server.base_url)
    page.get_by_label("Also ask for a passphrase").check()
    page.get_by_role("button", name="Generate one").click()
    phrase = page.get_by_label("Passphrase", exact=True).input_value()
    assert len(phrase) == 29
    assert phrase.count("-") == 4
    expect(page.locator("#new-passphrase-hint")).to_contain_text("about 123 bits")
    page.get_by_role("button", name="Generate one").click()
    assert page.get_by_label("Passphrase", exact=True).input_value() != phrase


def test_a_generated_password_is_shared_directly(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    open_create(page, server.base_url)
    page.get_by_label("A new random password").check()
    expect(page.locator("#password-hint")).to_contain_text("about 142 bits")
    created = create(page, password=True)
    expect(page.locator("#result-intro")).to_contain_text("not shown here")
    got = cli.run("get", created.link)
    assert got.returncode == 0, got.stderr.decode()
    password = got.stdout.decode()
    assert len(password) == 24
    assert password.isascii()
    assert password.isalnum()
    assert password not in page.content()


def test_the_passwords_are_unbiased(server: ServerProcess, page: Page) -> None:
    """The page's generator (OtsWriter.randomString) over 124 000 characters of its 62: the
    first 8 characters come out as often as the others. With a modulo bias (byte % 62) they
    would come out 25 % more often; the check allows 8 %, over 5 standard deviations."""
    open_create(page, server.base_url)
    counts = page.evaluate(
        """() => {
          const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
          const counts = Object.fromEntries([...alphabet].map((c) => [c, 0]));
          for (let i = 0; i < 1000; i++) {
            for (const c of OtsWriter.randomString(124, alphabet)) counts[c] += 1;
          }
          return counts;
        }"""
    )
    assert len(counts) == 62
    assert sum(counts.values()) == 124_000
    values = list(counts.values())
    first, rest = sum(values[:8]) / 8, sum(values[8:]) / 54
    assert 0.92 < first / rest < 1.08, (first, rest)
    # And a biased generator does fail this check: the same draw with byte % 62.
    biased = page.evaluate(
        """() => {
          const counts = new Array(62).fill(0);
          for (let i = 0; i < 2; i++) {
            for (const b of crypto.getRandomValues(new Uint8Array(62000))) counts[b % 62] += 1;
          }
          return counts;
        }"""
    )
    assert sum(biased[:8]) / 8 / (sum(biased[8:]) / 54) > 1.08


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (b"x", None),
        (b"y" * 1024, None),
        (b"z" * 1600, None),
        (b"w" * 70_000, None),
        (os.urandom(5000), "data.pdf"),
        (os.urandom(200_000), "scan.pdf"),
    ],
)
def test_the_page_uploads_what_the_cli_would(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path, body: bytes, name: str | None
) -> None:
    """For the same input: the same header fields (version, suite, flags, padded length), the
    same header length and the same blob size as `ots share`."""
    open_create(page, server.base_url)
    if name is None:
        created = create(page, text=body.decode())
        link = cli.share(body)
    else:
        source = tmp_path / name
        source.write_bytes(body)
        created = create(page, file=source)
        link = cli.share_file(source)
    from_page = peek(server.base_url, created.link)
    from_cli = peek(server.base_url, link)
    assert from_page.size == from_cli.size
    assert len(from_page.header_bytes) == len(from_cli.header_bytes)
    assert from_page.header_bytes[:7] == from_cli.header_bytes[:7]  # magic, version, suite, flags
    assert from_page.header.padded_length == from_cli.header.padded_length


def test_only_the_servers_limits_are_offered(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = {"OTS_TTL_MIN": "2h", "OTS_TTL_MAX": "3d", "OTS_TTL_DEFAULT": "5h",
           "OTS_MAX_VIEWS": "4", "OTS_MAX_ATTEMPTS": "3", "OTS_DEFAULT_ATTEMPTS": "2"}  # fmt: skip
    with running_server(tmp_path_factory.mktemp("limits"), env=env) as limited:
        page = browser.new_page()
        open_create(page, limited.base_url)
        ttls = page.locator("#ttl-select option").evaluate_all("(o) => o.map((x) => +x.value)")
        assert ttls == [5 * 3600, 86_400]
        assert page.locator("#ttl-select").input_value() == str(5 * 3600)
        views = page.locator("#views-select option").evaluate_all("(o) => o.map((x) => +x.value)")
        assert views == [1, 2, 3, 4]
        attempts = page.locator("#attempts-select option").evaluate_all(
            "(o) => o.map((x) => +x.value)"
        )
        assert attempts == [1, 2, 3]
        assert page.locator("#attempts-select").input_value() == "2"
        labels = page.locator("#ttl-select option").all_inner_texts()
        assert labels == ["5 hours", "1 day"]
        created = create(page, text="limited", ttl=str(86_400), views="4")
        cli = Cli(limited.base_url, tmp_path)
        peeked = cli.run("--json", "peek", created.link)
        assert peeked.returncode == 0, peeked.stderr.decode()
        assert b'"views_left":4' in peeked.stdout.replace(b" ", b"")
        page.close()


def test_too_large_is_refused_before_anything_is_sent(
    server: ServerProcess, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "huge.bin"
    source.write_bytes(bytes(4 * 1024 * 1024))
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.method + " " + request.url))
    before = stored_secrets(server.db_path)
    open_create(page, server.base_url)
    page.get_by_label("A file").check()
    page.set_input_files("#file-input", str(source))
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#secret-error")).to_contain_text("too large for this server")
    assert not [s for s in sent if s.startswith("POST")]
    assert stored_secrets(server.db_path) == before


def test_a_dropped_file_is_shared(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    open_create(page, server.base_url)
    transfer = page.evaluate_handle(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new TextEncoder().encode('dropped bytes')], 'drop.txt',
                                      { type: 'text/plain' }));
          return transfer;
        }"""
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    expect(page.get_by_label("A file")).to_be_checked()
    expect(page.locator("#file-chosen")).to_contain_text("drop.txt")
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#result")).to_be_visible(timeout=30_000)
    out = tmp_path / "drop.txt"
    got = cli.run("get", page.locator("#link-output").input_value(), "-o", str(out))
    assert got.returncode == 0, got.stderr.decode()
    assert out.read_bytes() == b"dropped bytes"


def throttle(page: Page, bytes_per_second: int) -> Any:
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
    return session


def test_cancel_during_the_upload_stores_nothing(
    server: ServerProcess, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "slow.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    before = stored_secrets(server.db_path)
    open_create(page, server.base_url)
    throttle(page, 256 * 1024)  # 3 MiB takes 12 s: time to see progress and cancel
    page.get_by_label("A file").check()
    page.set_input_files("#file-input", str(source))
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#progress-status")).to_contain_text("Uploading", timeout=30_000)
    expect(page.locator("#upload-progress")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#status")).to_have_text("Cancelled. Nothing was stored on the server.")
    expect(page.locator("#create-form")).to_be_visible()
    page.wait_for_timeout(1500)  # anything the server was still receiving is now refused
    assert stored_secrets(server.db_path) == before


def test_cancel_while_deriving_stores_nothing(server: ServerProcess, page: Page) -> None:
    before = stored_secrets(server.db_path)
    open_create(page, server.base_url)
    page.get_by_label("Secret", exact=True).fill("never sent")
    page.get_by_label("Also ask for a passphrase").check()
    page.get_by_label("Passphrase", exact=True).fill("a passphrase")
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#progress-status")).to_contain_text("Deriving a key")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#status")).to_contain_text("Cancelled")
    assert stored_secrets(server.db_path) == before


def test_copy_confirms_and_the_qr_code_decodes_to_the_exact_link(
    server: ServerProcess, browser: Browser
) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    open_create(page, server.base_url)
    created = create(page, text="scan me")
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#copy-status")).to_have_text("Copied the link to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == created.link
    page.get_by_role("button", name="Copy receipt link").click()
    expect(page.locator("#copy-status")).to_have_text("Copied the receipt link to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == created.receipt
    assert created.receipt.startswith(server.base_url + "/receipt#otsr_")
    png = page.locator("#qr-code").screenshot()
    width, height, grey = png_gray(png)
    image = memoryview(grey).cast("B", (height, width))
    decoded = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    assert [code.text for code in decoded] == [created.link]
    context.close()


def test_share_another_starts_again_with_an_empty_form(server: ServerProcess, page: Page) -> None:
    open_create(page, server.base_url)
    create(page, text="first", passphrase="p")
    # The secret and its passphrase are no longer in the page, only the link.
    assert page.get_by_label("Secret", exact=True).input_value() == ""
    assert page.get_by_label("Passphrase", exact=True).input_value() == ""
    page.get_by_role("button", name="Share another secret").click()
    expect(page.locator("#create-form")).to_be_visible()
    second = create(page, text="second")
    assert second.link != ""


def test_the_reveal_page_opens_what_the_create_page_made(
    server: ServerProcess, page: Page, tmp_path: Path
) -> None:
    open_create(page, server.base_url)
    created = create(page, text="from one page to the other ✓", passphrase="shared aside")
    page.goto(created.link)
    expect(page.locator("#reveal-form")).to_be_visible()
    page.get_by_label("Passphrase", exact=True).fill("shared aside")
    page.get_by_role("button", name="Reveal the secret").click()
    expect(page.locator("#text-result")).to_be_visible(timeout=60_000)
    assert page.locator("#secret-text").input_value() == "from one page to the other ✓"
