"""A 256 MiB file through the reveal page: shared by the real CLI, saved by Chromium through the
page's streamed download, byte-identical by SHA-256, while the whole Chromium process tree stays
within 128 MiB of its resident memory before the reveal (psutil, sampled every 50 ms)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Page, expect
from processes import ServerProcess, running_server

from .conftest import artifacts_dir
from .support import NO_SAVE_PICKER, Cli, open_link, reveal

SIZE = 256 * 1024 * 1024
MARGIN = 128 * 1024 * 1024


def chromium_memory() -> dict[str, int]:
    """Proportional set size (shared pages divided among their users, so memory Chromium's
    processes share is counted once) of every Chromium process this test run started."""
    sizes = {}
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                kind = next(
                    (a for a in child.cmdline() if a.startswith("--type=")), "--type=browser"
                )
                sizes[f"{child.pid} {kind[7:]}"] = child.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sizes


def chromium_rss() -> int:
    return sum(chromium_memory().values())


class PeakSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.at_peak: dict[str, int] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            sizes = chromium_memory()
            if sum(sizes.values()) > self.peak:
                self.peak, self.at_peak = sum(sizes.values()), sizes
            time.sleep(0.05)


def write_pattern(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = hashlib.shake_256(b"ots web large file").digest(1 << 20)
    with path.open("wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"OTS_MAX_BYTES": "300MiB", "OTS_UPLOAD_TIMEOUT": "10m"}
    with running_server(tmp_path_factory.mktemp("big"), env=env) as server:
        yield server


@pytest.mark.slow
def test_a_256_mib_file_through_the_page(
    big_server: ServerProcess, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "disk-image.bin"
    expected = write_pattern(source, SIZE)
    link = Cli(big_server.base_url, tmp_path).share_file(source)
    source.unlink()  # the only copy left is on the server
    page.add_init_script(NO_SAVE_PICKER)
    open_link(page, link)
    page.wait_for_timeout(500)
    before = chromium_memory()
    baseline = sum(before.values())
    sampler = PeakSampler()
    sampler.start()
    started = time.monotonic()
    try:
        reveal(page)
        expect(page.locator("#file-result")).to_be_visible(timeout=60_000)
        with page.expect_download(timeout=300_000) as download_info:
            page.get_by_role("button", name="Save the file").click()
        download = download_info.value
        saved = Path(download.path())
        expect(page.locator("#file-status")).to_contain_text("Saved", timeout=300_000)
    finally:
        sampler.running = False
        sampler.join()
    elapsed = time.monotonic() - started
    assert saved.stat().st_size == SIZE
    assert sha256_of(saved) == expected
    growth = sampler.peak - baseline
    (artifacts_dir() / "large-file.txt").write_text(
        f"256 MiB through the page: {elapsed:.1f} s; Chromium RSS baseline "
        f"{baseline / 2**20:.0f} MiB, peak {sampler.peak / 2**20:.0f} MiB, "
        f"growth {growth / 2**20:.0f} MiB\n"
        + "".join(
            f"  {name}: {before.get(name, 0) / 2**20:.0f} -> {size / 2**20:.0f} MiB\n"
            for name, size in sorted(sampler.at_peak.items())
        )
    )
    assert growth < MARGIN, f"Chromium grew by {growth / 2**20:.0f} MiB"
