"""A 64 MiB file shared through the create page: read from disk in slices and encrypted chunk by
chunk in the page, uploaded as a Blob of ciphertext; `ots get` gives it back byte-identical by
SHA-256. The Chromium process tree's memory is sampled during the create (psutil, every 50 ms):
the page never holds the plaintext whole, but the browser holds the ciphertext it uploads (its
blob storage), so the growth is bounded by the file's size plus a margin, not by a constant."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from processes import ServerProcess, running_server

from .conftest import artifacts_dir
from .create_support import open_create
from .support import Cli
from .test_large_file import PeakSampler, chromium_memory, sha256_of, write_pattern

SIZE = 64 * 1024 * 1024
#: Growth allowed over the page's memory before the click: the ciphertext (the file's size)
#: held by the browser's blob storage, plus this much for the page and the upload.
MARGIN = 96 * 1024 * 1024


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"OTS_MAX_BYTES": "80MiB", "OTS_UPLOAD_TIMEOUT": "10m"}
    with running_server(tmp_path_factory.mktemp("big-create"), env=env) as server:
        yield server


@pytest.mark.slow
def test_a_64_mib_file_through_the_create_page(
    big_server: ServerProcess, page: Page, tmp_path: Path
) -> None:
    source = tmp_path / "archive.tar"
    expected = write_pattern(source, SIZE)
    open_create(page, big_server.base_url)
    page.get_by_label("A file").check()
    page.set_input_files("#file-input", str(source))
    page.wait_for_timeout(500)
    before = chromium_memory()
    baseline = sum(before.values())
    sampler = PeakSampler()
    sampler.start()
    started = time.monotonic()
    try:
        page.get_by_role("button", name="Create link").click()
        expect(page.locator("#result")).to_be_visible(timeout=300_000)
    finally:
        sampler.running = False
        sampler.join()
    elapsed = time.monotonic() - started
    link = page.locator("#link-output").input_value()
    out = tmp_path / "out.tar"
    got = Cli(big_server.base_url, tmp_path).run("get", link, "-o", str(out))
    assert got.returncode == 0, got.stderr.decode()
    assert sha256_of(out) == expected
    growth = sampler.peak - baseline
    (artifacts_dir() / "create-large-file.txt").write_text(
        f"64 MiB through the create page: {elapsed:.1f} s ({SIZE / 2**20 / elapsed:.0f} MiB/s, "
        f"click to link); Chromium PSS baseline {baseline / 2**20:.0f} MiB, peak "
        f"{sampler.peak / 2**20:.0f} MiB, growth {growth / 2**20:.0f} MiB\n"
        + "".join(
            f"  {name}: {before.get(name, 0) / 2**20:.0f} -> {size / 2**20:.0f} MiB\n"
            for name, size in sorted(sampler.at_peak.items())
        )
    )
    assert growth < SIZE + MARGIN, f"Chromium grew by {growth / 2**20:.0f} MiB"
