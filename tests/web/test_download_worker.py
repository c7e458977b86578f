"""A large secret through the download Service Worker (``download-sw.js``), which sends the
reveal, decrypts and saves it off the page: to the browser's own download, or to a file chosen in
a save dialog (here a real file in the origin's private file system, which is what the save
dialog hands back too). Each case proves the worker did the work (the reveal request is the
worker's), and that a cut or tampered stream never ends as a good file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect
from processes import ServerProcess, running_server

from ots_cli.core.links import parse_link

from .conftest import Watch
from .support import NO_SAVE_PICKER, Cli, error_reason, open_link, reveal
from .test_privacy import STORAGE, check_page
from .test_reveal_edges import asset_requests

#: A save dialog that answers at once with a real, empty file of the private file system.
OPFS_PICKER = """window.showSaveFilePicker = async (options) =>
  (await navigator.storage.getDirectory())
    .getFileHandle(options.suggestedName, { create: true });"""
#: The size and SHA-256 (hex) of a file of the private file system, which is then removed.
OPFS_FILE = """async (name) => {
  const folder = await navigator.storage.getDirectory();
  const file = await (await folder.getFileHandle(name)).getFile();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
  await folder.removeEntry(name);
  return [file.size, Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')];
}"""
SIZE = 3 * 1024 * 1024 + 12345  # above the page's text cap (1 MiB): the worker's case


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("sw"), env={"OTS_MAX_BYTES": "64MiB"}) as server:
        yield server


def data_file(tmp_path: Path, name: str = "relevé 2026.bin", size: int = SIZE) -> Path:
    path = tmp_path / name
    path.write_bytes(hashlib.shake_256(name.encode()).digest(size))
    return path


def reveal_requests(page: Page, sink: list[Request]) -> None:
    """Every reveal request of the page's context: the page's own and its workers'."""
    page.context.on("request", lambda r: sink.append(r) if r.url.endswith("/reveal") else None)


def workers(page: Page) -> int:
    page.wait_for_timeout(1500)  # the worker leaves a second after its last reveal
    count: int = page.evaluate(STORAGE)["workers"]
    return count


def test_a_large_file_is_revealed_decrypted_and_downloaded_by_the_worker(
    server: ServerProcess, cli: Cli, page: Page, watched: Watch, tmp_path: Path
) -> None:
    source = data_file(tmp_path)
    link = cli.share_file(source)
    parsed = parse_link(link)
    sent: list[Request] = []
    reveal_requests(page, sent)
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    reveal(page)
    expect(page.locator("#file-name")).to_have_text("relevé 2026.bin")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save the file").click()
    download = download_info.value
    assert download.suggested_filename == "relevé 2026.bin"
    expect(page.locator("#file-status")).to_contain_text("Saved")
    assert Path(download.path()).read_bytes() == source.read_bytes()
    # One reveal, sent by the worker, never by the page; the key went nowhere.
    assert [r.service_worker is not None for r in sent] == [True]
    check_page(page, watched, server, {"key": parsed.key})
    assert workers(page) == 0


def test_the_worker_loads_only_its_own_folder(
    server: ServerProcess, cli: Cli, page: Page, tmp_path: Path
) -> None:
    """The worker's script and what it imports (libsodium.js and the reader, fetched again:
    Chromium does not take a new worker's scripts from the page's cache), and the reveal."""
    link = cli.share_file(data_file(tmp_path, "loads.bin"))
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    version = page.evaluate("document.querySelector('script[src*=ots-format]').src")
    folder = version.rsplit("/", 1)[0] + "/"
    sent: list[Request] = []
    page.context.on("request", lambda r: sent.append(r) if r.service_worker else None)
    before = asset_requests(server.base_url)
    reveal(page)
    with page.expect_download():
        page.get_by_role("button", name="Save the file").click()
    expect(page.locator("#file-status")).to_contain_text("Saved")
    names = sorted(r.url.removeprefix(folder) for r in sent if r.url.startswith(folder))
    wanted = ["download-sw.js", "libsodium-sumo.js", "libsodium-wrappers.js", "ots-format.js"]
    assert names == wanted
    assert [r.url for r in sent if not r.url.startswith(folder)] == [
        f"{server.base_url}/api/v1/secrets/{parse_link(link).id_text}/reveal"
    ]
    assert asset_requests(server.base_url) == before + 4


def test_a_file_chosen_in_a_save_dialog_is_written_by_the_worker(
    cli: Cli, page: Page, watched: Watch, server: ServerProcess, tmp_path: Path
) -> None:
    source = data_file(tmp_path, "dialog.bin")
    link = cli.share_file(source)
    sent: list[Request] = []
    reveal_requests(page, sent)
    page.add_init_script(OPFS_PICKER)
    open_link(page, link)
    reveal(page)
    page.get_by_role("button", name="Save the file").click()
    expect(page.locator("#file-status")).to_contain_text("Saved")
    size, digest = page.evaluate(OPFS_FILE, "dialog.bin")
    assert (size, digest) == (SIZE, hashlib.sha256(source.read_bytes()).hexdigest())
    assert [r.service_worker is not None for r in sent] == [True]
    check_page(page, watched, server, {"key": parse_link(link).key})


def test_a_dialog_file_the_worker_cannot_write_becomes_a_download(
    cli: Cli, page: Page, tmp_path: Path
) -> None:
    """Where the worker may not write the chosen file, the browser's download takes over."""
    source = data_file(tmp_path, "unwritable.bin")
    link = cli.share_file(source)
    # A handle the worker cannot open for writing (a folder's: it has no createWritable).
    page.add_init_script("window.showSaveFilePicker = () => navigator.storage.getDirectory();")
    open_link(page, link)
    reveal(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save the file").click()
    expect(page.locator("#file-status")).to_contain_text("Saved")
    assert Path(download_info.value.path()).read_bytes() == source.read_bytes()


def damage(how: str) -> Callable[[Route], None]:
    def handler(route: Route) -> None:
        response = route.fetch()
        body = response.body()
        if how == "cut":  # a whole number of chunks short: every byte that came is authentic
            body = body[: len(body) - 3 * (65536 + 17)]
        else:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 1]) + body[middle + 1 :]
        route.fulfill(response=response, body=body)

    return handler


@pytest.mark.parametrize("how", ["cut", "tampered"])
def test_a_damaged_download_fails_and_is_never_presented_as_good(
    cli: Cli, page: Page, tmp_path: Path, how: str
) -> None:
    link = cli.share_file(data_file(tmp_path, "damaged.bin"))
    page.context.route("**/reveal", damage(how))  # the context's routes see the worker's requests
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    reveal(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save the file").click()
    assert download_info.value.failure() is not None
    assert error_reason(page) == "integrity_partial"
    expect(page.locator("#file-status")).not_to_contain_text("Saved")
    assert workers(page) == 0


@pytest.mark.parametrize("how", ["cut", "tampered"])
def test_a_damaged_file_chosen_in_a_dialog_is_discarded(
    cli: Cli, page: Page, tmp_path: Path, how: str
) -> None:
    link = cli.share_file(data_file(tmp_path, "discarded.bin"))
    page.context.route("**/reveal", damage(how))
    page.add_init_script(OPFS_PICKER)
    open_link(page, link)
    reveal(page)
    page.get_by_role("button", name="Save the file").click()
    assert error_reason(page) == "integrity_partial"
    # The writable was aborted: the chosen file keeps nothing of the secret.
    assert page.evaluate(OPFS_FILE, "discarded.bin")[0] == 0


def test_a_large_passphrase_file_after_a_wrong_passphrase(
    cli: Cli, page: Page, tmp_path: Path
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("blue tuesday")
    source = data_file(tmp_path, "locked.bin")
    link = cli.share_file(source, "--passphrase-file", str(phrase), "--attempts", "3")
    sent: list[Request] = []
    reveal_requests(page, sent)
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    reveal(page, "green monday")
    # Argon2id at the default cost, then a worker to register: slower than a plain reveal.
    expect(page.locator("#passphrase-error")).to_contain_text("destroyed: 2", timeout=30_000)
    page.wait_for_timeout(1500)  # the worker has left: the next reveal registers a new one
    reveal(page, "blue tuesday")
    expect(page.locator("#file-result")).to_be_visible(timeout=30_000)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save the file").click()
    expect(page.locator("#file-status")).to_contain_text("Saved")
    assert Path(download_info.value.path()).read_bytes() == source.read_bytes()
    assert [r.service_worker is not None for r in sent] == [True, True]


def test_a_large_text_comes_back_to_the_page(cli: Cli, page: Page) -> None:
    text = "ligne très longue, " * 52_400  # 1,048,000 bytes of UTF-8: a blob above 1 MiB
    assert 1024 * 1024 - 100_000 < len(text.encode()) <= 1024 * 1024
    link = cli.share(text.encode())
    sent: list[Request] = []
    reveal_requests(page, sent)
    open_link(page, link)
    reveal(page)
    expect(page.locator("#text-result")).to_be_visible()
    assert page.locator("#secret-text").input_value() == text
    assert [r.service_worker is not None for r in sent] == [True]


def test_without_service_workers_the_page_reads_and_saves_from_memory(
    cli: Cli, browser: Browser, tmp_path: Path
) -> None:
    source = data_file(tmp_path, "fallback.bin")
    link = cli.share_file(source)
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        sent: list[Request] = []
        reveal_requests(page, sent)
        page.add_init_script(NO_SAVE_PICKER)
        open_link(page, link)
        reveal(page)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Save the file").click()
        expect(page.locator("#file-status")).to_contain_text("Saved")
        assert Path(download_info.value.path()).read_bytes() == source.read_bytes()
        assert [r.service_worker is None for r in sent] == [True]
    finally:
        context.close()


def test_a_cancelled_download_says_so(cli: Cli, page: Page, tmp_path: Path) -> None:
    # Large enough that the download is still running when it is cancelled.
    link = cli.share_file(data_file(tmp_path, "cancelled.bin", 48 * 1024 * 1024))
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    reveal(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save the file").click()
    download_info.value.cancel()
    assert error_reason(page) == "save_cancelled"
    expect(page.locator("#file-status")).not_to_contain_text("Saved")
    assert workers(page) == 0
