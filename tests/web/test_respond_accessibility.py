"""Accessibility of the respond page in every state, by axe-core (WCAG 2.0-2.2 A and AA, as
for the other pages) in real Chromium, light and dark; the whole answer by keyboard; 320 px
without sideways scrolling; and screenshots of the main states (desktop and 375 px, light and
dark, English and French) written to test-artifacts/web/."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from processes import ServerProcess, running_server

from .accessibility import VIEWPORTS, axe_violations
from .conftest import artifacts_dir
from .respond_support import answer, fill, open_respond
from .support import Cli, error_reason

Opener = Callable[[Page, Cli, Path], None]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"OTS_MAX_BYTES": "8MiB", "OTS_TTL_MIN": "1s"}
    with running_server(tmp_path_factory.mktemp("a11y-respond"), env=env) as running:
        yield running


def form(page: Page, cli: Cli, tmp: Path) -> None:
    open_respond(page, cli.request())


def file_chosen(page: Page, cli: Cli, tmp: Path) -> None:
    source = tmp / "deploy-key.pem"
    source.write_bytes(bytes(5000))
    form(page, cli, tmp)
    fill(page, file=source)
    expect(page.locator("#file-chosen")).to_contain_text("deploy-key.pem")


def password(page: Page, cli: Cli, tmp: Path) -> None:
    form(page, cli, tmp)
    page.get_by_label("A new random password").check()


def missing(page: Page, cli: Cli, tmp: Path) -> None:
    form(page, cli, tmp)
    page.get_by_role("button", name="Send the secret").click()
    expect(page.locator("#secret-error")).not_to_be_empty()


def uploading(page: Page, cli: Cli, tmp: Path) -> None:
    source = tmp / "big.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024))
    form(page, cli, tmp)
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                 "downloadThroughput": -1, "uploadThroughput": 128 * 1024})  # fmt: skip
    fill(page, file=source)
    page.get_by_role("button", name="Send the secret").click()
    expect(page.locator("#progress-status")).to_contain_text("Uploading", timeout=30_000)


def sent(page: Page, cli: Cli, tmp: Path) -> None:
    form(page, cli, tmp)
    answer(page, text="correct horse battery staple")


def answered(page: Page, cli: Cli, tmp: Path) -> None:
    link = cli.request()
    assert cli.run("respond", link, stdin=b"first").returncode == 0
    open_respond(page, link)
    assert error_reason(page) == "respond_answered"


def answered_first(page: Page, cli: Cli, tmp: Path) -> None:
    link = cli.request()
    open_respond(page, link)
    assert cli.run("respond", link, stdin=b"first").returncode == 0
    fill(page, text="second")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_answered_first"


def expired(page: Page, cli: Cli, tmp: Path) -> None:
    link = cli.request("--ttl", "1s")
    time.sleep(1.5)
    open_respond(page, link)
    assert error_reason(page) == "respond_expired"


def closed(page: Page, cli: Cli, tmp: Path) -> None:
    link = cli.request()
    assert cli.run("request", "cancel", link).returncode == 0
    open_respond(page, link)
    assert error_reason(page) == "respond_closed"


def damaged(page: Page, cli: Cli, tmp: Path) -> None:
    open_respond(page, cli.request().split("#")[0] + "#" + "A" * 43)
    assert error_reason(page) == "respond_damaged"


def no_key(page: Page, cli: Cli, tmp: Path) -> None:
    open_respond(page, cli.request().split("#")[0])
    assert error_reason(page) == "respond_no_key"


def network(page: Page, cli: Cli, tmp: Path) -> None:
    page.route("**/api/v1/requests/*/peek", lambda route: route.abort())
    open_respond(page, cli.request())
    assert error_reason(page) == "respond_network"


def upload_failed(page: Page, cli: Cli, tmp: Path) -> None:
    form(page, cli, tmp)
    page.route("**/api/v1/secrets", lambda route: route.abort())
    fill(page, text="x")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_upload_network"
    expect(page.get_by_role("button", name="Back to the form")).to_be_visible()


def unsure(page: Page, cli: Cli, tmp: Path) -> None:
    form(page, cli, tmp)
    page.route("**/api/v1/requests/*/answer", lambda route: route.abort())
    fill(page, text="x")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_answer_network"
    expect(page.get_by_role("button", name="Send the answer again")).to_be_visible()


STATES: dict[str, Opener] = {
    "form": form,
    "file": file_chosen,
    "password": password,
    "missing": missing,
    "uploading": uploading,
    "sent": sent,
    "answered": answered,
    "answered-first": answered_first,
    "expired": expired,
    "closed": closed,
    "damaged": damaged,
    "no-key": no_key,
    "network": network,
    "upload-failed": upload_failed,
    "unsure": unsure,
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", sorted(STATES))
def test_no_axe_violations(
    server: ServerProcess,
    contexts: Callable[..., Page],
    tmp_path: Path,
    state: str,
    scheme: str,
) -> None:
    page = contexts(color_scheme=scheme, viewport=VIEWPORTS["desktop"])
    STATES[state](page, Cli(server.base_url, tmp_path), tmp_path)
    assert axe_violations(page) == []


@pytest.mark.parametrize(
    "env", [{"OTS_WEB_CREATE": "false"}, {"OTS_REQUIRE_ACCOUNT": "true"}], ids=["off", "account"]
)
def test_the_cli_page_has_no_axe_violations(
    contexts: Callable[..., Page], tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]
) -> None:
    with running_server(tmp_path_factory.mktemp("respond-cli"), env=env) as off:
        for scheme in ("light", "dark"):
            page = contexts(color_scheme=scheme, viewport=VIEWPORTS["phone"])
            page.goto(
                off.base_url
                + "/r/5ncbVkb6LM1hXzvEamVqFg#cDjjRYsBuycRK-ca089XRBPyW2O0dasJLPp986JEEFI"
            )
            expect(page.get_by_role("heading", level=1)).to_contain_text("ots tool")
            assert axe_violations(page) == []
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            setting = "account" if "OTS_REQUIRE_ACCOUNT" in env else "off"
            path = artifacts_dir() / f"respond-cli-{setting}-phone-{scheme}-en.png"
            page.screenshot(path=path, full_page=True)


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("width", sorted(VIEWPORTS))
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", ["form", "sent"])
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
    link = Cli(server.base_url, tmp_path).request("--ttl", "1d")
    open_respond(page, link)
    assert page.evaluate("document.documentElement.lang") == language
    # Driven through element ids, which do not depend on the language.
    page.locator("#secret-input").fill("correct horse battery staple")
    if state == "sent":
        page.locator("#send-button").click()
        expect(page.locator("#result")).to_be_visible(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    path = artifacts_dir() / f"respond-{state}-{width}-{scheme}-{language}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 1000


def test_the_whole_answer_by_keyboard(
    server: ServerProcess, contexts: Callable[..., Page], tmp_path: Path
) -> None:
    cli = Cli(server.base_url, tmp_path)
    link = cli.request()
    page = contexts(viewport=VIEWPORTS["desktop"])
    open_respond(page, link)
    page.locator("body").focus()
    for _ in range(40):  # Tab until the secret's box: past the language links and the choices
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "secret-input":
            break
    page.keyboard.type("typed without a mouse")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "send-button":
            break
    page.keyboard.press("Enter")
    expect(page.locator("#result-heading")).to_be_focused(timeout=30_000)
    done = cli.run("request", "wait", link, "--timeout", "30s")
    assert done.stdout == b"typed without a mouse"


def test_errors_take_the_focus(
    server: ServerProcess, contexts: Callable[..., Page], tmp_path: Path
) -> None:
    page = contexts(viewport=VIEWPORTS["desktop"])
    closed(page, Cli(server.base_url, tmp_path), tmp_path)
    expect(page.locator("#error-heading")).to_be_focused()
    expect(page.locator("#error-heading")).to_have_text("This request cannot be answered")


def test_usable_at_320_px_and_200_percent_zoom(
    server: ServerProcess, contexts: Callable[..., Page], tmp_path: Path
) -> None:
    page = contexts(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    open_respond(page, Cli(server.base_url, tmp_path).request())
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("#send-button").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 320
    assert box["height"] >= 24
    answer(page, text="narrow")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
