"""Accessibility of the reveal page in every state, checked by axe-core (vendored for the tests,
WCAG 2.0-2.2 A and AA rules) in real Chromium; and screenshots of the main states at desktop
and phone width, light and dark, English and French, written to test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .accessibility import VIEWPORTS, axe_violations
from .conftest import artifacts_dir
from .support import NO_SAVE_PICKER, Cli, error_reason, open_link


def ready(cli: Cli, page: Page, tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("pass")
    open_link(page, cli.share(b"x", "--passphrase-file", str(phrase)))


def wrong_passphrase(cli: Cli, page: Page, tmp_path: Path) -> None:
    ready(cli, page, tmp_path)
    page.get_by_label("Passphrase", exact=True).fill("nope")
    page.get_by_role("button").last.click()
    expect(page.locator("#passphrase-error")).not_to_be_empty()


def text(cli: Cli, page: Page, tmp_path: Path) -> None:
    open_link(page, cli.share("correct horse battery staple\nsecond line\u200d".encode()))
    page.locator("#reveal-button").click()
    expect(page.locator("#text-result")).to_be_visible()


def file(cli: Cli, page: Page, tmp_path: Path) -> None:
    source = tmp_path / "quarterly-report.pdf"
    source.write_bytes(bytes(300_000))
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, cli.share_file(source))
    page.locator("#reveal-button").click()
    expect(page.locator("#file-result")).to_be_visible()


def consumed(cli: Cli, page: Page, tmp_path: Path) -> None:
    link = cli.share(b"gone")
    cli.run("get", link)
    open_link(page, link)
    assert error_reason(page) == "consumed"


def no_key(cli: Cli, page: Page, tmp_path: Path) -> None:
    open_link(page, cli.share(b"k").split("#")[0])
    assert error_reason(page) == "no_key"


STATES: dict[str, Callable[[Cli, Page, Path], None]] = {
    "ready": ready,
    "wrong-passphrase": wrong_passphrase,
    "text": text,
    "file": file,
    "consumed": consumed,
    "no-key": no_key,
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", sorted(STATES))
def test_no_axe_violations(
    cli: Cli, contexts: Callable[..., Page], tmp_path: Path, state: str, scheme: str
) -> None:
    page = contexts(color_scheme=scheme, viewport=VIEWPORTS["desktop"])
    STATES[state](cli, page, tmp_path)
    assert axe_violations(page) == []


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("width", sorted(VIEWPORTS))
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", ["ready", "text", "file", "consumed"])
def test_screenshots(
    cli: Cli,
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
    STATES[state](cli, page, tmp_path)
    assert page.evaluate("document.documentElement.lang") == language
    # Nothing wider than the screen: usable at 320-375 px without sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    path = artifacts_dir() / f"reveal-{state}-{width}-{scheme}-{language}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 1000


def test_usable_at_320_px_and_200_percent_zoom(cli: Cli, contexts: Callable[..., Page]) -> None:
    # 200 % zoom of a 640 px window is a 320 CSS px viewport at device scale 2.
    page = contexts(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    open_link(page, cli.share(b"zoomed"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    button = page.locator("#reveal-button")
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 320
    assert box["height"] >= 24  # WCAG 2.2 target size
    button.click()
    expect(page.locator("#text-result")).to_be_visible()


def test_axe_reports_what_it_should(cli: Cli, contexts: Callable[..., Page]) -> None:
    """The check can fail: an unlabelled control and low contrast are reported."""
    page = contexts()
    open_link(page, cli.share(b"x"))
    page.evaluate(
        """() => {
          const input = document.createElement('input');
          document.querySelector('main').append(input);
          const p = document.createElement('p');
          p.textContent = 'faint';
          p.style.color = '#cccccc';
          document.querySelector('main').append(p);
        }"""
    )
    found = " ".join(axe_violations(page))
    assert "label" in found
    assert "color-contrast" in found
