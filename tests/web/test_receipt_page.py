"""The receipt page in real Chromium: the token read from the fragment and sent only in request
bodies; pending, partly read, read, burned (after a confirmation) and expired, as the server
says; a missing, damaged or unknown token explained."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from processes import ServerProcess, running_server

from .conftest import Watch
from .create_support import create, open_create
from .support import Cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # A one-second TTL is allowed, so that expiry can be seen in a test.
    with running_server(tmp_path_factory.mktemp("receipt"), env={"OTS_TTL_MIN": "1s"}) as running:
        yield running


def open_receipt(page: Page, receipt: str) -> None:
    page.goto(receipt)
    expect(page.locator("#state-part:not([hidden]), #error:not([hidden])").first).to_be_visible()


def test_pending_then_partly_read_then_read(
    server: ServerProcess, cli: Cli, page: Page, watched: Watch
) -> None:
    open_create(page, server.base_url)
    created = create(page, text="read twice", views="2")
    token = created.receipt.split("#", 1)[1]
    open_receipt(page, created.receipt)
    expect(page.locator("#state-heading")).to_have_text("Not read yet")
    expect(page.locator("#fact-views")).to_have_text("2 left of 2")
    expect(page.get_by_role("button", name="Burn now")).to_be_visible()
    assert cli.run("get", created.link).returncode == 0
    page.get_by_role("button", name="Check again").click()
    expect(page.locator("#state-heading")).to_have_text("Read 1 of 2 times")
    expect(page.locator("#state-text")).to_contain_text("1 more times")
    assert cli.run("get", created.link).returncode == 0
    page.get_by_role("button", name="Check again").click()
    expect(page.locator("#state-heading")).to_have_text("Read")
    expect(page.get_by_role("button", name="Burn now")).to_be_hidden()
    # The token travels in JSON bodies only, never in an address or a header.
    receipt_requests = [r for r in watched.requests if "/api/v1/receipts/" in r.url]
    assert len(receipt_requests) == 3
    for request in watched.requests:
        assert token not in request.url
        assert token not in str(request.all_headers())
    assert all(token.encode() in (r.post_data_buffer or b"") for r in receipt_requests)
    assert watched.csp_violations(page) == []
    assert watched.console_errors == watched.page_errors == []


def test_burn_now_asks_first(server: ServerProcess, cli: Cli, page: Page) -> None:
    open_create(page, server.base_url)
    created = create(page, text="burn me")
    open_receipt(page, created.receipt)
    page.get_by_role("button", name="Burn now").click()
    expect(page.locator("#burn-confirm")).to_be_visible()
    expect(page.get_by_role("button", name="Keep it")).to_be_focused()
    page.get_by_role("button", name="Keep it").click()
    expect(page.locator("#burn-confirm")).to_be_hidden()
    assert cli.run("peek", created.link).returncode == 0  # still there
    page.get_by_role("button", name="Burn now").click()
    page.get_by_role("button", name="Yes, destroy it").click()
    expect(page.locator("#state-heading")).to_have_text("Destroyed")
    expect(page.locator("#status")).to_have_text("Destroyed. The link no longer opens anything.")
    got = cli.run("get", created.link)
    assert got.returncode == 6, got.stderr.decode()  # burned
    page.reload()
    expect(page.locator("#state-heading")).to_have_text("Destroyed")


def test_expired(server: ServerProcess, page: Page) -> None:
    open_create(page, server.base_url)
    page.get_by_label("Secret", exact=True).fill("short-lived")
    page.get_by_label("Expires after").evaluate(
        "(select) => { select.add(new Option('1 s', '1')); select.value = '1'; }"
    )
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#result")).to_be_visible()
    receipt = page.locator("#receipt-link").get_attribute("href")
    assert receipt is not None
    time.sleep(2.2)
    open_receipt(page, receipt)
    expect(page.locator("#state-heading")).to_have_text("Expired")


@pytest.mark.parametrize(
    ("fragment", "reason"),
    [
        ("", "receipt_missing"),
        ("otsr_short", "receipt_bad"),
        ("https://example.com/s/x#y", "receipt_bad"),
        ("otsr_" + "A" * 43, "receipt_unknown"),
    ],
)
def test_bad_receipt_links_are_explained(
    server: ServerProcess, page: Page, fragment: str, reason: str
) -> None:
    page.goto(f"{server.base_url}/receipt#{fragment}")
    expect(page.locator("#error")).to_be_visible()
    assert page.locator("#error").get_attribute("data-reason") == reason


def test_the_page_is_in_french_too(server: ServerProcess, page: Page) -> None:
    open_create(page, server.base_url)
    created = create(page, text="bonjour")
    base, token = created.receipt.split("#", 1)
    open_receipt(page, f"{base}?lang=fr#{token}")
    expect(page.locator("#state-heading")).to_have_text("Pas encore lu")
    expect(page.get_by_role("button", name="Détruire maintenant")).to_be_visible()
