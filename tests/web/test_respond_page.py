"""The responder's page of a request (`/r/{id}`) in real Chromium against a real ots-server,
checked with the real CLI: what the page answers, `ots request wait` delivers byte for byte
(texts, a binary file, a file in suite 2); one answer per request, and a second one sees
"already answered" (its uploaded secret burned); expired and closed requests; damaged links;
a page loaded without a click answers nothing; failures say whether anything was sent."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect
from processes import ServerProcess, running_server

from ots_cli.core.format import Suite

from .conftest import Watch
from .create_support import peek, stored_secrets
from .respond_support import answer, fill, open_respond, open_the_answer, request_state
from .support import Cli, error_reason

TEXTS = {
    "utf8-emoji": "mot de passe: déjà vu, Ελληνικά 🔑 the key is 🐉🔥 \u200d 👩‍💻",
    "whitespace": "  leading and trailing  \n\tsecond line\n\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # A one-second TTL is allowed, so that a request can expire within a test.
    env = {"OTS_MAX_BYTES": "4MiB", "OTS_TTL_MIN": "1s"}
    with running_server(tmp_path_factory.mktemp("respond"), env=env) as running:
        yield running


def wait(cli: Cli, link: str, *args: str) -> bytes:
    """`ots request wait`: the secret the request received, exactly as delivered."""
    done = cli.run("request", "wait", link, "--timeout", "30s", *args)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def secret_rows(server: ServerProcess) -> int:
    return stored_secrets(server.db_path)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_a_text_answered_in_the_page_reaches_the_requester(
    server: ServerProcess, cli: Cli, page: Page, watched: Watch, name: str
) -> None:
    link = cli.request("--ttl", "2h")
    open_respond(page, link)
    expect(page.locator("#fact-until")).to_contain_text("in 2 hours")
    answer(page, text=TEXTS[name])
    expect(page.locator("#result-heading")).to_have_text(
        "Sent. Only the person who asked can open it."
    )
    expect(page.locator("#result-heading")).to_be_focused()
    assert page.locator("#secret-input").input_value() == ""  # the secret left the page
    # The answer is an ordinary secret: one view, no passphrase, the request's lifetime.
    opened = open_the_answer(cli, server.base_url, link)
    stored = peek(server.base_url, opened.link(server.base_url))
    assert stored.header.kdf is None
    assert wait(cli, link) == TEXTS[name].encode()
    assert watched.csp_violations(page) == []
    assert watched.console_errors == []
    assert watched.page_errors == []


def test_a_binary_file_reaches_the_requester_byte_for_byte(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "keys.bin"
    source.write_bytes(bytes(range(256)) * 20 + os.urandom(3000))
    link = cli.request()
    open_respond(page, link)
    answer(page, file=source)
    opened = open_the_answer(cli, server.base_url, link)
    assert peek(server.base_url, opened.link(server.base_url)).header.suite == Suite.SEALED
    out = tmp_path / "out.bin"
    wait(cli, link, "-o", str(out))
    assert out.read_bytes() == source.read_bytes()


def test_a_file_past_64_kib_is_answered_in_suite_2(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(os.urandom(300_000))
    link = cli.request()
    open_respond(page, link)
    answer(page, file=source)
    opened = open_the_answer(cli, server.base_url, link)
    assert peek(server.base_url, opened.link(server.base_url)).header.suite == Suite.STREAM
    out = tmp_path / "out.jpg"
    wait(cli, link, "-o", str(out))
    assert out.read_bytes() == source.read_bytes()


def test_a_generated_password_is_sent_unseen(server: ServerProcess, cli: Cli, page: Page) -> None:
    link = cli.request()
    open_respond(page, link)
    page.get_by_label("A new random password").check()
    hint = page.locator("#password-hint")
    expect(hint).to_contain_text("nobody sees it but the person who asked")
    answer(page, password=True)
    password = wait(cli, link).decode()
    assert len(password) == 24
    assert password.isascii()
    assert password.isalnum()
    assert password not in page.content()


def test_the_answer_lives_as_long_as_the_request(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    link = cli.request("--ttl", "2h")
    open_respond(page, link)
    answer(page, text="x")
    opened = open_the_answer(cli, server.base_url, link)
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        created_at, expires_at, views = db.execute(
            "SELECT created_at, expires_at, views FROM records WHERE id = ?",
            (opened.secret_id,),
        ).fetchone()
    assert views == 1
    assert abs((expires_at - created_at) - 7200) <= 5  # what was left of the request's 2 h


def test_a_second_answer_sees_already_answered_and_leaves_nothing(
    server: ServerProcess, cli: Cli, contexts: Callable[..., Page]
) -> None:
    link = cli.request()
    first, second = contexts(), contexts()
    open_respond(first, link)
    open_respond(second, link)  # both see the form: the request is open
    before = secret_rows(server)
    answer(first, text="the first answer")
    fill(second, text="the second answer")
    second.get_by_role("button", name="Send the secret").click()
    assert error_reason(second) == "respond_answered_first"
    expect(second.locator("#error-heading")).to_have_text("This request cannot be answered")
    expect(second.locator("#error-text")).to_contain_text("destroyed at once")
    assert secret_rows(server) == before + 1  # the second secret was burned, not left behind
    third = contexts()
    open_respond(third, link)
    assert error_reason(third) == "respond_answered"
    expect(third.locator("#error-text")).to_contain_text("already answered")
    assert wait(cli, link) == b"the first answer"


def test_a_burn_that_cannot_reach_the_server_says_when_the_secret_expires(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    link = cli.request("--ttl", "2h")
    open_respond(page, link)
    assert cli.run("respond", link, stdin=b"the CLI was first").returncode == 0
    before = secret_rows(server)
    page.route("**/api/v1/secrets/*/burn", lambda route: route.abort())
    fill(page, text="too late, and the burn fails")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_answered_first"
    expect(page.locator("#error-text")).to_contain_text("could not be destroyed just now")
    expect(page.locator("#error-text")).to_contain_text("in 2 hours")
    assert secret_rows(server) == before + 1  # left to expire: nobody has its key
    assert wait(cli, link) == b"the CLI was first"


def test_an_expired_request(server: ServerProcess, cli: Cli, page: Page) -> None:
    link = cli.request("--ttl", "1s")
    time.sleep(2.2)
    open_respond(page, link)
    assert error_reason(page) == "respond_expired"
    expect(page.locator("#respond-form")).to_be_hidden()


def test_a_request_that_expires_while_the_page_is_open(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    link = cli.request("--ttl", "3s")
    open_respond(page, link)
    before = secret_rows(server)
    fill(page, text="too late")
    time.sleep(3.5)
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_expired"
    expect(page.locator("#error-text")).to_contain_text("destroyed at once")
    assert secret_rows(server) == before


def test_a_closed_request(server: ServerProcess, cli: Cli, page: Page) -> None:
    link = cli.request()
    assert cli.run("request", "cancel", link).returncode == 0
    open_respond(page, link)
    assert error_reason(page) == "respond_closed"
    expect(page.locator("#error-text")).to_contain_text("closed this request")


def test_a_request_closed_while_the_page_is_open(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    link = cli.request()
    open_respond(page, link)
    assert cli.run("request", "cancel", link).returncode == 0
    before = secret_rows(server)
    fill(page, text="nobody wants it now")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_closed"
    assert secret_rows(server) == before


def damaged(link: str, fragment: str | None) -> str:
    base = link.split("#", 1)[0]
    return base if fragment is None else f"{base}#{fragment}"


#: Links the page refuses itself, before any request: (reason, how the fragment is damaged).
LOCAL_DAMAGE: dict[str, tuple[str, Callable[[str], str] | None]] = {
    "missing fragment": ("respond_no_key", None),
    "empty fragment": ("respond_no_key", lambda pk: ""),
    "truncated": ("respond_damaged", lambda pk: pk[:-1]),
    "one character more": ("respond_damaged", lambda pk: pk + "A"),
    "bad base64url": ("respond_damaged", lambda pk: pk[:20] + "!" + pk[21:]),
    "standard base64": ("respond_damaged", lambda pk: pk[:20] + "+" + pk[21:]),
    "not canonical": ("respond_damaged", lambda pk: pk[:-1] + ("J" if pk[-1] != "J" else "K")),
    "padding": ("respond_damaged", lambda pk: pk + "="),
    "percent-encoded": ("respond_damaged", lambda pk: pk[:-1] + "%41"),
    "a second fragment": ("respond_damaged", lambda pk: pk + "#" + pk),
}


def _replace(link: str) -> Callable[[str], str]:
    """A damage that puts this vector link's public key in place of the request's."""
    return lambda pk: link.split("#", 1)[1]


#: Every public key of tests/vectors/v1-requests.json that libsodium refuses to seal to.
VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "v1-requests.json").read_text())
for vector in VECTORS["links"]:
    why = vector.get("why", "")
    if vector["error"] == "BadLink" and ("point" in why or "top bit" in why):
        LOCAL_DAMAGE[f"vector: {why}"] = ("respond_damaged", _replace(vector["text"]))


def test_every_small_order_vector_is_tested() -> None:
    assert sum(name.startswith("vector:") for name in LOCAL_DAMAGE) == 6


@pytest.mark.parametrize("case", sorted(LOCAL_DAMAGE))
def test_a_damaged_link_is_refused_before_anything_is_sent(
    server: ServerProcess, cli: Cli, page: Page, watched: Watch, case: str
) -> None:
    link = cli.request()
    expected, damage = LOCAL_DAMAGE[case]
    public_key = link.split("#", 1)[1]
    fragment = None if damage is None else damage(public_key)
    open_respond(page, damaged(link, fragment))
    assert error_reason(page) == expected
    expect(page.locator("#error-text")).to_contain_text("Nothing was sent.")
    if expected == "respond_damaged":
        expect(page.locator("#error-text")).to_contain_text("This link is damaged")
    assert [r.url for r in watched.requests if r.method != "GET"] == []
    assert request_state(server.base_url, cli, link) == "open"


def test_another_valid_key_is_not_found_like_a_damaged_link(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    """A well-formed public key that is not the request's: the server's one 404, which the
    page words exactly as a damaged link."""
    link = cli.request()
    other = cli.request().split("#", 1)[1]
    open_respond(page, damaged(link, other))
    assert error_reason(page) == "respond_damaged"
    unknown = link.replace("/r/", "/r/A").split("#")[0][:-1] + "#" + link.split("#")[1]
    second = page.context.new_page()
    open_respond(second, unknown)
    assert error_reason(second) == "respond_damaged"
    message = page.locator("#error-text").text_content()
    assert message == second.locator("#error-text").text_content()


def test_a_page_loaded_without_a_click_answers_nothing(
    server: ServerProcess, cli: Cli, page: Page, watched: Watch
) -> None:
    link = cli.request()
    before = secret_rows(server)
    open_respond(page, link)
    page.get_by_label("Secret", exact=True).fill("typed, never sent")
    page.reload()
    expect(page.locator("#respond-form")).to_be_visible()
    page.close()
    assert secret_rows(server) == before
    assert request_state(server.base_url, cli, link) == "open"
    posts = [r.url.split("/api/v1/")[1] for r in watched.requests if r.method == "POST"]
    assert all(p.endswith("/peek") for p in posts), posts
    done = cli.run("respond", link, stdin=b"answered by the CLI instead")
    assert done.returncode == 0, done.stderr.decode()
    assert wait(cli, link) == b"answered by the CLI instead"


def test_the_language_switch_keeps_the_key(server: ServerProcess, cli: Cli, page: Page) -> None:
    link = cli.request()
    open_respond(page, link)
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#respond-form")).to_be_visible()
    assert page.url.endswith("?lang=fr#" + link.split("#", 1)[1])
    page.locator("#secret-input").fill("répondu en français")
    page.locator("#send-button").click()
    expect(page.locator("#result-heading")).to_have_text(
        "Envoyé. Seule la personne qui l\u2019a demandé peut l\u2019ouvrir."
    )
    assert wait(cli, link) == "répondu en français".encode()


# --- failures: whether anything was sent -----------------------------------------------------


def test_the_server_unreachable_at_the_peek(server: ServerProcess, cli: Cli, page: Page) -> None:
    link = cli.request()
    page.route("**/api/v1/requests/*/peek", lambda route: route.abort())
    open_respond(page, link)
    assert error_reason(page) == "respond_network"
    expect(page.locator("#error-text")).to_contain_text("Nothing was sent.")


def test_a_failed_upload_sends_nothing_and_keeps_the_form(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    link = cli.request()
    open_respond(page, link)
    before = secret_rows(server)
    page.route("**/api/v1/secrets", lambda route: route.abort())
    fill(page, text="kept for another try")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_upload_network"
    expect(page.locator("#error-heading")).to_have_text("Your secret was not sent")
    page.unroute("**/api/v1/secrets")
    page.get_by_role("button", name="Back to the form").click()
    expect(page.locator("#secret-input")).to_have_value("kept for another try")
    assert secret_rows(server) == before
    page.get_by_role("button", name="Send the secret").click()
    expect(page.locator("#result")).to_be_visible(timeout=30_000)
    assert wait(cli, link) == b"kept for another try"


def test_a_lost_answer_is_sent_again(server: ServerProcess, cli: Cli, page: Page) -> None:
    """The answer's connection fails before the server saw it: "Send the answer again"
    sends the same sealed answer, which is then the request's answer."""
    link = cli.request()
    open_respond(page, link)
    page.route("**/api/v1/requests/*/answer", lambda route: route.abort())
    fill(page, text="sent twice, stored once")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_answer_network"
    expect(page.locator("#error-heading")).to_have_text("Your answer may not have arrived")
    assert request_state(server.base_url, cli, link) == "open"
    page.unroute("**/api/v1/requests/*/answer")
    page.get_by_role("button", name="Send the answer again").click()
    expect(page.locator("#result")).to_be_visible(timeout=30_000)
    assert wait(cli, link) == b"sent twice, stored once"


def test_an_answer_stored_but_unacknowledged_is_not_burned(
    server: ServerProcess, cli: Cli, page: Page
) -> None:
    """The server stores the answer, the acknowledgement is lost; sent again, it gets 409:
    maybe its own first try, so the secret must not be burned."""
    link = cli.request()
    open_respond(page, link)

    def store_then_fail(route: Route) -> None:
        response = route.fetch()
        assert response.status == 201
        route.abort()

    page.route("**/api/v1/requests/*/answer", store_then_fail)
    fill(page, text="stored on the first try")
    page.get_by_role("button", name="Send the secret").click()
    assert error_reason(page) == "respond_answer_network"
    page.unroute("**/api/v1/requests/*/answer")
    page.get_by_role("button", name="Send the answer again").click()
    assert error_reason(page) == "respond_answer_uncertain"
    expect(page.locator("#error-text")).to_contain_text("by your first try")
    assert wait(cli, link) == b"stored on the first try"


def test_cancel_during_the_upload_sends_nothing(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    link = cli.request()
    open_respond(page, link)
    before = secret_rows(server)
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                 "downloadThroughput": -1, "uploadThroughput": 64 * 1024})  # fmt: skip
    fill(page, file=source)
    page.get_by_role("button", name="Send the secret").click()
    expect(page.locator("#progress-status")).to_contain_text("Uploading", timeout=30_000)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#status")).to_have_text("Cancelled. Nothing was sent.")
    expect(page.locator("#send-button")).to_be_focused()
    time.sleep(0.5)
    assert secret_rows(server) == before
    assert request_state(server.base_url, cli, link) == "open"


def test_a_file_over_the_limit_is_refused_before_the_upload(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path, watched: Watch
) -> None:
    source = tmp_path / "huge.bin"
    source.write_bytes(bytes(4 * 1024 * 1024 + 1))
    link = cli.request()
    open_respond(page, link)
    fill(page, file=source)
    page.get_by_role("button", name="Send the secret").click()
    expect(page.locator("#secret-error")).to_contain_text("too large for this server")
    assert [r.url for r in watched.requests if r.url.endswith("/api/v1/secrets")] == []
    expect(page.locator("#respond-form")).to_be_visible()


def test_without_a_secret_the_form_says_so(server: ServerProcess, cli: Cli, page: Page) -> None:
    link = cli.request()
    open_respond(page, link)
    page.get_by_role("button", name="Send the secret").click()
    expect(page.locator("#secret-error")).to_have_text("Type or paste the secret first.")
    expect(page.locator("#secret-input")).to_be_focused()


@pytest.fixture(scope="module")
def account_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("respond-account"), env={"OTS_REQUIRE_ACCOUNT": "true"}
    ) as running:
        yield running


def test_with_accounts_required_the_page_explains_the_cli(
    account_server: ServerProcess, page: Page, watched: Watch
) -> None:
    page.goto(
        f"{account_server.base_url}/r/5ncbVkb6LM1hXzvEamVqFg#cDjjRYsBuycRK-ca089XRBPyW2O0dasJLPp986JEEFI"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Answer this request with the ots tool"
    )
    expect(page.locator("main")).to_contain_text("only from account holders")
    expect(page.locator("main")).to_contain_text("ots respond '<the whole link>'")
    assert [r.url for r in watched.requests if "/api/" in r.url] == []
