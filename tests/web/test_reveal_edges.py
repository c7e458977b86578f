"""The reveal page's edges: libsodium fetched once and then cached, the page without
JavaScript, network failures before and during a reveal, and the Argon2id status."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from processes import ServerProcess, running_server

from .support import Cli, error_reason, open_link, reveal


def asset_requests(base_url: str) -> int:
    metrics = httpx.get(f"{base_url}/metrics").text
    pattern = (
        r'ots_http_requests_total\{route="/assets/\{version\}/\{name\}",method="GET",'
        r'status="200"\} (\d+)'
    )
    return sum(int(n) for n in re.findall(pattern, metrics))


def test_libsodium_is_fetched_once_then_cached(tmp_path: Path, browser: Browser) -> None:
    with running_server(tmp_path) as server:
        cli = Cli(server.base_url, tmp_path)
        context = browser.new_context()
        try:
            page = context.new_page()
            open_link(page, cli.share(b"first"))
            first = asset_requests(server.base_url)
            assert first >= 5  # libsodium (two files), the reader, the page script, the CSS
            open_link(page, cli.share(b"second"))
            page.reload()
            expect(page.locator("#reveal-form")).to_be_visible()
            assert asset_requests(server.base_url) == first
        finally:
            context.close()


def test_without_javascript_the_page_explains_the_cli(cli: Cli, browser: Browser) -> None:
    link = cli.share(b"no js")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.locator("noscript pre")).to_have_text("ots get '<the whole link>'")
        expect(page.locator("noscript p")).to_contain_text("needs JavaScript")
        expect(page.locator("noscript p")).to_be_visible()
    finally:
        context.close()
    assert cli.run("get", link).stdout == b"no js"


def test_a_failed_peek_says_nothing_was_consumed(cli: Cli, page: Page) -> None:
    link = cli.share(b"peek fails")
    page.route("**/peek", lambda route: route.abort("connectionrefused"))
    page.goto(link)
    assert error_reason(page) == "network"
    expect(page.locator("#error-text")).to_contain_text("Nothing was consumed")
    assert cli.run("get", link).stdout == b"peek fails"


def test_a_reveal_that_never_arrived_says_it_may_have_been_consumed(cli: Cli, page: Page) -> None:
    link = cli.share(b"reveal fails")
    page.route("**/reveal", lambda route: route.abort("connectionreset"))
    open_link(page, link)
    reveal(page)
    assert error_reason(page) == "network_reveal"
    expect(page.locator("#error-text")).to_contain_text("may have been consumed")
    # Here it was not (the request never left the browser): the link still works.
    assert cli.run("get", link).stdout == b"reveal fails"


def test_a_server_error_is_not_a_secret(cli: Cli, page: Page) -> None:
    link = cli.share(b"503")

    def unavailable(route: Route) -> None:
        route.fulfill(status=503, json={"error": "unavailable", "detail": "the store"})

    page.route("**/peek", unavailable)
    page.goto(link)
    assert error_reason(page) == "server_error"


def test_argon2id_runs_in_a_worker_with_a_visible_status(
    cli: Cli, page: Page, tmp_path: Path
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("worker")
    link = cli.share(b"derived off the main thread", "--passphrase-file", str(phrase))
    workers: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    open_link(page, link)
    reveal(page, "worker")
    expect(page.locator("#status")).to_contain_text("Deriving the key")
    expect(page.locator("#text-result")).to_be_visible(timeout=30_000)
    assert any(url.endswith("/argon2-worker.js") for url in workers)


def test_a_weak_passphrase_cost_is_refused_before_anything_is_consumed(
    server: ServerProcess, page: Page, tmp_path: Path
) -> None:
    cli = Cli(server.base_url, tmp_path)
    phrase = tmp_path / "phrase"
    phrase.write_text("cheap")
    env = cli.env() | {"OTS_PASSPHRASE_COST": "interactive"}
    shared = subprocess.run(
        [sys.executable, "-m", "ots_cli", "share", "--passphrase-file", str(phrase)],
        input=b"weakly kept",
        capture_output=True,
        env=env,
        check=True,
        timeout=120,
    )
    link = shared.stdout.decode().strip()
    page.goto(link)
    assert error_reason(page) == "weak_kdf"
    got = cli.run("get", link, "--passphrase-file", str(phrase), "--allow-weak-kdf")
    assert (got.returncode, got.stdout) == (0, b"weakly kept")


@pytest.mark.parametrize(
    ("opslimit", "memlimit", "verdict"),
    [
        (6, 256 << 20, None),
        (4, 1 << 30, None),  # "sensitive": more work than the default
        (8, 256 << 20, None),
        (10, 128 << 20, "WeakKdf"),  # 10 x 128 MiB is less work than 6 x 256 MiB
        (2, 64 << 20, "WeakKdf"),  # libsodium INTERACTIVE
        (5, 256 << 20, "WeakKdf"),
        (11, 256 << 20, "KdfParamsRefused"),
        (6, (1 << 30) + 1024, "KdfParamsRefused"),
        (6, (256 << 20) + 1, "KdfParamsRefused"),
    ],
)
def test_the_page_applies_the_clis_kdf_rule(
    server: ServerProcess, page: Page, opslimit: int, memlimit: int, verdict: str | None
) -> None:
    page.goto(f"{server.base_url}/s/AAAAAAAAAAAAAAAAAAAAAA")
    page.wait_for_load_state("load")
    got = page.evaluate(
        """([opslimit, memlimit]) => {
          try { OtsFormat.checkKdf({ opslimit, memlimit }); return null; }
          catch (e) { return e.kind; }
        }""",
        [opslimit, memlimit],
    )
    assert got == verdict


def test_a_bound_secret_is_not_released_to_a_browser(tmp_path: Path, page: Page) -> None:
    """A browser has no CI identity: the server refuses even the peek without an ID token,
    naming the binding, and the page says whom the secret is for; nothing is consumed."""
    from oidc_issuer import bound_server, running_issuer

    with (
        running_issuer() as issuer,
        bound_server(tmp_path / "server", f"github={issuer.url}") as server,
    ):
        cli = Cli(server.base_url, tmp_path / "home")
        link = cli.share(b"ci only", "--for", "github:octo-org/deploy@main")
        open_link(page, link)
        expect(page.locator("#error-text")).to_contain_text(
            "only be read by the CI pipeline it is bound to "
            "(github:octo-org/deploy@refs/heads/main), not in a browser"
        )
        assert error_reason(page) == "bound"
        expect(page.get_by_role("button", name="Reveal the secret")).to_have_count(0)
        token = issuer.mint(
            {"repository": "octo-org/deploy", "ref": "refs/heads/main"},
            audience=server.base_url,
        )
        peeked = cli.run("--json", "peek", link, env={"OTS_ID_TOKEN": token})
        assert b'"views_left":1' in peeked.stdout.replace(b" ", b"")
