"""The create page's figures, each next to `ots share` measured in the same run.

    python -m bench.web_create          # about two minutes; --quick for fewer runs

1. Time to a link for a 1 KiB text in headless Chromium: open `/`, type, click "Create link",
   link shown; cold (a new browser context: libsodium.js fetched) and warm (the page already
   open, the form filled again), next to `ots share` of the same text (a process, as a script
   runs it).
2. A 64 MiB file through the page (read in slices, encrypted chunk by chunk, uploaded as a Blob
   of ciphertext, click to link) next to `ots share FILE`; the page's two stages (encrypting,
   uploading) are timed from its progress text.
3. The create page's own weight (HTML, its scripts, the QR library and the stylesheet, gzip'd;
   libsodium.js is shared with the reveal page and cached).

Everything runs against one `ots-server` on SQLite on 127.0.0.1, started and stopped here (the
reveal page's bench, web_page.py, provides it). Needs Debian's chromium and the test extras.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.tools import machine
from bench.web_page import ARGS, CHROMIUM, Bench, timed


def create_text(page: Page, text: str) -> str:
    expect(page.locator("#create-form")).to_be_visible(timeout=30_000)
    page.locator("#secret-input").fill(text)
    page.locator("#create-button").click()
    expect(page.locator("#result")).to_be_visible(timeout=30_000)
    return page.locator("#link-output").input_value()


def cold(bench: Bench, browser: Browser, text: str) -> float:
    context = browser.new_context()
    page = context.new_page()
    started = time.perf_counter()
    page.goto(f"{bench.server.url}/")
    create_text(page, text)
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed


def warm(page: Page, text: str) -> float:
    page.locator("#share-another").click()
    started = time.perf_counter()
    create_text(page, text)
    return time.perf_counter() - started


def text_to_link(bench: Bench, browser: Browser, runs: int) -> dict[str, float]:
    text = os.urandom(512).hex()  # 1 KiB
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{bench.server.url}/")
    create_text(page, text)
    cold_s = [cold(bench, browser, text) for _ in range(runs)]
    warm_s = [warm(page, text) for _ in range(runs)]
    context.close()
    cli_s = [timed(partial(bench.ots, "share", stdin=text.encode())) for _ in range(runs)]
    return {
        "cold_ms": statistics.median(cold_s) * 1000,
        "warm_ms": statistics.median(warm_s) * 1000,
        "cli_ms": statistics.median(cli_s) * 1000,
    }


def big_file(bench: Bench, browser: Browser, size: int, runs: int) -> dict[str, float]:
    source = bench.work / "upload.bin"
    source.write_bytes(os.urandom(size))
    page_s, encrypt_s, cli_s = [], [], []
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{bench.server.url}/")
        expect(page.locator("#create-form")).to_be_visible(timeout=30_000)
        page.locator('input[name="what"][value="file"]').check()
        page.set_input_files("#file-input", str(source))
        started = time.perf_counter()
        page.locator("#create-button").click()
        expect(page.locator("#progress-status")).to_contain_text("Uploading", timeout=300_000)
        encrypt_s.append(time.perf_counter() - started)
        expect(page.locator("#result")).to_be_visible(timeout=600_000)
        page_s.append(time.perf_counter() - started)
        context.close()
        cli_s.append(timed(partial(bench.ots, "share", str(source))))
    mib = size / 2**20
    return {
        "page_mib_s": mib / statistics.median(page_s),
        "encrypt_mib_s": mib / statistics.median(encrypt_s),
        "cli_mib_s": mib / statistics.median(cli_s),
    }


#: libsodium.js's secretstream push alone, in memory: 64 MiB in 64 KiB chunks, MiB/s (what the
#: page's encryption could reach at best on this machine).
PUSH_IN_PAGE = """async () => {
  await sodium.ready;
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  const { state } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  const chunk = new Uint8Array(65536);
  const t0 = performance.now();
  const push = sodium.crypto_secretstream_xchacha20poly1305_push;
  for (let i = 0; i < 1024; i++) push(state, chunk, null, 0);
  return 64 / ((performance.now() - t0) / 1000);
}"""


def push_speed(bench: Bench, browser: Browser, runs: int) -> float:
    page = browser.new_page()
    page.goto(f"{bench.server.url}/")
    expect(page.locator("#create-form")).to_be_visible(timeout=30_000)
    speed = statistics.median(page.evaluate(PUSH_IN_PAGE) for _ in range(runs))
    page.close()
    return float(speed)


def weight(bench: Bench) -> dict[str, int]:
    page = httpx.get(f"{bench.server.url}/")
    sizes = {"HTML": len(gzip.compress(page.content, 9))}
    for src in re.findall(r'(?:src|href)="(assets/[^"]+)"', page.text):
        name = src.rsplit("/", 1)[1]
        if "libsodium" not in name and not name.endswith(".svg"):
            sizes[name] = len(gzip.compress(httpx.get(f"{bench.server.url}/{src}").content, 9))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    options = parser.parse_args()
    runs = 3 if options.quick else 7
    size = 64 * 2**20
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        bench = Bench(Path(tmp))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            link = text_to_link(bench, browser, runs)
            big = big_file(bench, browser, size, max(2, runs // 2))
            big["push_mib_s"] = push_speed(bench, browser, runs)
            sizes = weight(bench)
        finally:
            browser.close()
            bench.procs.stop_all()
    print(
        f"# bench/web_create.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}"
    )
    print("| figure | page | `ots share` (same run) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for cache in ("cold", "warm"):
        page_ms = link[f"{cache}_ms"]
        print(
            f"| 1 KiB text to a link, {cache} | {page_ms:.0f} ms | {link['cli_ms']:.0f} ms "
            f"| {page_ms / link['cli_ms']:.2f} |"
        )
    cli = big["cli_mib_s"]
    for label, key in (
        (f"{size >> 20} MiB file to a link (click to link)", "page_mib_s"),
        ("of which encrypting (click to upload start)", "encrypt_mib_s"),
        ("libsodium.js secretstream push alone, in memory", "push_mib_s"),
    ):
        print(f"| {label} | {big[key]:.0f} MiB/s | {cli:.0f} MiB/s | {big[key] / cli:.0%} |")
    print()
    print("| create page asset | gzip'd bytes |")
    print("| --- | ---: |")
    for name, value in sizes.items():
        print(f"| {name} | {value:,} |")
    print(f"| **total** | **{sum(sizes.values()):,}** |")


if __name__ == "__main__":
    main()
