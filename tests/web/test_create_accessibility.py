"""Accessibility of the create, receipt and CLI pages in every state, by axe-core (WCAG 2.0-2.2
A and AA, as for the reveal page) in real Chromium, light and dark; the whole create flow by
keyboard; 320 px without sideways scrolling; and screenshots of the main states (desktop and
375 px, light and dark, English and French) written to test-artifacts/web/."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from processes import ServerProcess, running_server

from .accessibility import VIEWPORTS, axe_violations
from .conftest import artifacts_dir
from .create_support import create, open_create

Opener = Callable[[Page, ServerProcess, Path], None]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("a11y-create"), env={"OTS_MAX_BYTES": "8MiB"}) as s:
        yield s


def form(page: Page, server: ServerProcess, tmp: Path) -> None:
    open_create(page, server.base_url)


def file_chosen(page: Page, server: ServerProcess, tmp: Path) -> None:
    source = tmp / "quarterly-report.pdf"
    source.write_bytes(bytes(5000))
    open_create(page, server.base_url)
    page.get_by_label("A file").check()
    page.set_input_files("#file-input", str(source))
    expect(page.locator("#file-chosen")).to_contain_text("quarterly-report.pdf")


def passphrase(page: Page, server: ServerProcess, tmp: Path) -> None:
    open_create(page, server.base_url)
    page.get_by_label("Secret", exact=True).fill("s3cr3t")
    page.get_by_label("Also ask for a passphrase").check()
    page.get_by_role("button", name="Generate one").click()


def password(page: Page, server: ServerProcess, tmp: Path) -> None:
    open_create(page, server.base_url)
    page.get_by_label("A new random password").check()


def missing(page: Page, server: ServerProcess, tmp: Path) -> None:
    open_create(page, server.base_url)
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#secret-error")).not_to_be_empty()


def uploading(page: Page, server: ServerProcess, tmp: Path) -> None:
    source = tmp / "big.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024))
    open_create(page, server.base_url)
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                 "downloadThroughput": -1, "uploadThroughput": 128 * 1024})  # fmt: skip
    page.get_by_label("A file").check()
    page.set_input_files("#file-input", str(source))
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#progress-status")).to_contain_text("Uploading", timeout=30_000)


def result(page: Page, server: ServerProcess, tmp: Path) -> None:
    open_create(page, server.base_url)
    create(page, text="correct horse battery staple", passphrase="tulip marble")


def failed(page: Page, server: ServerProcess, tmp: Path) -> None:
    open_create(page, server.base_url)
    page.route("**/api/v1/secrets", lambda route: route.abort())
    page.get_by_label("Secret", exact=True).fill("x")
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#error")).to_be_visible()


def receipt_pending(page: Page, server: ServerProcess, tmp: Path) -> None:
    open_create(page, server.base_url)
    created = create(page, text="x", views="3")
    page.goto(created.receipt)
    expect(page.locator("#state-part")).to_be_visible()


def receipt_confirm(page: Page, server: ServerProcess, tmp: Path) -> None:
    receipt_pending(page, server, tmp)
    page.locator("#burn-button").click()
    expect(page.locator("#burn-confirm")).to_be_visible()


def receipt_burned(page: Page, server: ServerProcess, tmp: Path) -> None:
    receipt_confirm(page, server, tmp)
    page.locator("#burn-yes").click()
    expect(page.locator("#state-part")).to_have_attribute("data-state", "burned")


def receipt_error(page: Page, server: ServerProcess, tmp: Path) -> None:
    page.goto(f"{server.base_url}/receipt#otsr_{'A' * 43}")
    expect(page.locator("#error")).to_be_visible()


STATES: dict[str, Opener] = {
    "form": form,
    "file": file_chosen,
    "passphrase": passphrase,
    "password": password,
    "missing": missing,
    "uploading": uploading,
    "result": result,
    "failed": failed,
    "receipt-pending": receipt_pending,
    "receipt-confirm": receipt_confirm,
    "receipt-burned": receipt_burned,
    "receipt-error": receipt_error,
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", sorted(STATES))
def test_no_axe_violations(
    server: ServerProcess, contexts: Callable[..., Page], tmp_path: Path, state: str, scheme: str
) -> None:
    page = contexts(color_scheme=scheme, viewport=VIEWPORTS["desktop"])
    STATES[state](page, server, tmp_path)
    assert axe_violations(page) == []


@pytest.mark.parametrize("setting", ["web_create", "require_account"])
def test_the_cli_page_has_no_axe_violations(
    contexts: Callable[..., Page], tmp_path_factory: pytest.TempPathFactory, setting: str
) -> None:
    env = (
        {"OTS_WEB_CREATE": "false"} if setting == "web_create" else {"OTS_REQUIRE_ACCOUNT": "true"}
    )
    with running_server(tmp_path_factory.mktemp("cli-page"), env=env) as off:
        for scheme in ("light", "dark"):
            page = contexts(color_scheme=scheme, viewport=VIEWPORTS["phone"])
            page.goto(off.base_url + "/")
            expect(page.get_by_role("heading", level=1)).to_contain_text("ots tool")
            assert axe_violations(page) == []
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            path = artifacts_dir() / f"create-cli-{setting}-phone-{scheme}-en.png"
            page.screenshot(path=path, full_page=True)


SHOTS = {"form": passphrase, "result": result, "receipt": receipt_pending}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("width", sorted(VIEWPORTS))
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", sorted(SHOTS))
def test_screenshots(
    server: ServerProcess,
    contexts: Callable[..., Page],
    tmp_path: Path,
    state: str,
    scheme: str,
    width: str,
    language: str,
) -> None:
    page = contexts(
        color_scheme=scheme,
        viewport=VIEWPORTS[width],
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    run_in(page, server, tmp_path, SHOTS[state], language)
    assert page.evaluate("document.documentElement.lang") == language
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    path = artifacts_dir() / f"create-{state}-{width}-{scheme}-{language}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 1000


def run_in(page: Page, server: ServerProcess, tmp: Path, opener: Opener, language: str) -> None:
    """Drive a state through element ids, which do not depend on the language."""
    page.goto(f"{server.base_url}/?lang={language}")
    expect(page.locator("#create-form")).to_be_visible()
    page.locator("#secret-input").fill("correct horse battery staple")
    page.locator("#passphrase-toggle").check()
    page.locator("#generate-passphrase").click()
    if opener is passphrase:
        return
    page.locator("#create-button").click()
    expect(page.locator("#result")).to_be_visible(timeout=30_000)
    if opener is result:
        return
    receipt = page.locator("#receipt-link").get_attribute("href")
    assert receipt is not None
    base, token = receipt.split("#", 1)
    page.goto(f"{base}?lang={language}#{token}")
    expect(page.locator("#state-part")).to_be_visible()


def test_the_whole_create_flow_by_keyboard(
    server: ServerProcess, contexts: Callable[..., Page]
) -> None:
    page = contexts(viewport=VIEWPORTS["desktop"])
    open_create(page, server.base_url)
    page.locator("body").focus()
    for _ in range(40):  # Tab until the secret's box: past the language links and the choices
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "secret-input":
            break
    page.keyboard.type("typed without a mouse")
    while page.evaluate("document.activeElement.id") != "create-button":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#result-heading")).to_be_focused(timeout=30_000)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "link-output"


def test_usable_at_320_px_and_200_percent_zoom(
    server: ServerProcess, contexts: Callable[..., Page]
) -> None:
    page = contexts(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    open_create(page, server.base_url)
    page.locator("#passphrase-toggle").check()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("#create-button").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 320
    assert box["height"] >= 24
    page.locator("#passphrase-toggle").uncheck()
    create(page, text="narrow")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
