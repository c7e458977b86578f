"""Fixtures of the browser suite: Debian's Chromium driven by Playwright (pytest-playwright),
a real ``ots-server`` process on SQLite per module (``server``) with the real CLI against it
(``cli``), pages in contexts of their own (``contexts``), the app in-process (``client``), and a
page that records everything a promise could be broken by: CSP violations, console errors, and
every request it makes.

Playwright's own browser download is not reachable here: ``executable_path`` points at the
system Chromium (``OTS_TEST_CHROMIUM`` overrides it). Chromium runs with the flags this
machine needs (no sandbox as root, no background networking to hosts it cannot reach).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect
from processes import ServerProcess, running_server

from .in_process import TestClient, make_client
from .support import Cli

# Argon2id at the default cost (6 passes over 256 MiB) takes seconds in WebAssembly, and more
# on a 2-core machine busy with other work: wait up to 20 s for a state, not Playwright's 5.
expect.set_options(timeout=20_000)

CHROMIUM = os.environ.get("OTS_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Installed by the page before any of its own scripts: reports CSP violations to the test.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="session")
def base_url() -> None:
    """Pages are opened by full URL. (This also replaces pytest-playwright's fallback fixture,
    which the installed pytest warns about.)"""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``ots-server`` per module; modules that need other settings override it."""
    with running_server(tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture
def cli(server: ServerProcess, tmp_path: Path) -> Cli:
    """The real ``ots`` CLI against this module's ``server``, with a home of its own."""
    return Cli(server.base_url, tmp_path)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app in-process (:mod:`in_process`), for the pages' server-side tests."""
    yield from make_client(tmp_path)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[..., Page]]:
    """New pages, each in its own context (colour scheme, viewport, language), closed after."""
    opened: list[Any] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**options)
        opened.append(context)
        return context.new_page()

    yield make
    for context in opened:
        context.close()


@dataclass
class Watch:
    """What a page did: requests (method, url, headers, body), console errors, CSP reports."""

    requests: list[Request] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def csp_violations(self, page: Page) -> list[str]:
        violations: list[str] = page.evaluate("window.__cspViolations || []")
        return violations


@pytest.fixture
def watched(page: Page) -> Watch:
    """Everything the page and its Service Worker do (a worker's requests and console are the
    context's, not the page's; the download worker logs its own CSP violations as errors)."""
    watch = Watch()
    page.add_init_script(WATCH_CSP)
    page.on("request", lambda request: watch.requests.append(request))
    page.on("response", lambda response: watch.responses.append(response))
    context = page.context

    def worker_request(request: Request) -> None:
        if request.service_worker is not None:
            watch.requests.append(request)

    def worker_response(response: Response) -> None:
        if response.request.service_worker is not None:
            watch.responses.append(response)

    context.on("request", worker_request)
    context.on("response", worker_response)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watch.console_errors.append(message.text)

    def worker_console(message: ConsoleMessage) -> None:
        if message.worker is not None:
            console(message)

    page.on("console", console)
    context.on("console", worker_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    return watch


def artifacts_dir() -> Path:
    path = Path(os.environ.get("OTS_TEST_ARTIFACTS", "test-artifacts")) / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path
