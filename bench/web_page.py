"""The reveal page's figures, each next to its reference measured in the same run.

    python -m bench.web_page            # about four minutes; --quick for a smaller run

1. Page load to a revealed 1 KiB text in headless Chromium (open the link, click "Reveal",
   text shown), cold (a new browser context: libsodium.js fetched) and warm (cached), next to
   `ots get LINK` of the same kind of secret (a process each, as a script runs it).
2. Argon2id at the default writer cost (opslimit 6, memlimit 256 MiB) in the page
   (libsodium.js, WebAssembly) next to PyNaCl natively. Target: at most 8x.
3. A 256 MiB file through the page, from the click on Reveal to "Saved", next to
   `ots get LINK -o FILE`. Target: at least 50 % of the CLI's throughput. The target row is
   the browser's own download (the download worker reveals, decrypts and streams it); also
   measured: a file chosen in a save dialog (answered with a real file of the origin's private
   file system, on disk, which the worker writes), and the page's own reader (Service Workers
   blocked) decrypting to nothing. Each path's CPU seconds, by process (Chromium's browser
   process, renderers, utilities; the server; the CLI), show where the time goes.
4. The page's own weight (HTML, its scripts and stylesheet, gzip'd). Target: at most 20 KB.

Everything runs against one `ots-server` on SQLite on 127.0.0.1, started and stopped here.
Needs Debian's chromium (`apt-get install chromium`) and the test extras (Playwright).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import nacl.pwhash.argon2id
import psutil
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.procs import Processes, free_port, wait_http
from bench.tools import machine
from ots_cli.core.b64 import encode as b64url_encode
from ots_cli.core.keyschedule import link_proof
from ots_cli.core.links import parse_link

CHROMIUM = os.environ.get("OTS_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_SAVE_PICKER = "delete window.showSaveFilePicker;"
#: A save dialog that answers at once with a real file, in the origin's private file system
#: (OPFS, on disk): the File System Access path as a person choosing a file would take it.
OPFS_FILE = """window.showSaveFilePicker = async (options) =>
  (await navigator.storage.getDirectory())
    .getFileHandle(options.suggestedName, { create: true });"""
OPFS_SIZE_AND_CLEAN = """async (name) => {
  const folder = await navigator.storage.getDirectory();
  const size = (await (await folder.getFileHandle(name)).getFile()).size;
  await folder.removeEntry(name);
  return size;
}"""
#: A save dialog whose file drops what it is given; with Service Workers blocked, the page's
#: own reader (the fallback pipeline) without a disk.
NULL_FILE = """window.showSaveFilePicker = async () => ({ createWritable: async () => ({
  write: async () => {}, close: async () => {}, abort: async () => {} }) });"""
OPS, MEM = 6, 256 * 1024 * 1024


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.procs = Processes(work)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
        env |= {
            "OTS_STORE_URL": f"sqlite://{work / 'ots.sqlite3'}",
            "OTS_RATE_LIMIT_PER_MINUTE": "0",
            "OTS_MAX_BYTES": "300MiB",
            "OTS_UPLOAD_TIMEOUT": "10m",
        }
        server = Path(sys.executable).with_name("ots-server")
        self.server = self.procs.start("ots-server", [str(server), "serve", "--port", str(port)],
                                       env, port)  # fmt: skip
        wait_http(self.server, "/readyz")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")} | {
            "OTS_SERVER": self.server.url,
            "OTS_CONFIG_DIR": str(work / "config"),
            "OTS_DATA_DIR": str(work / "data"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }

    def ots(self, *args: str, stdin: bytes = b"") -> bytes:
        done = subprocess.run([sys.executable, "-m", "ots_cli", *args], input=stdin,
                              capture_output=True, env=self.env, check=True)  # fmt: skip
        return done.stdout

    def share(self, data: bytes) -> str:
        return self.ots("share", stdin=data).decode().strip()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def reveal_text(page: Page, link: str) -> None:
    page.goto(link)
    page.locator("#reveal-button").click()
    expect(page.locator("#text-result")).to_be_visible(timeout=30_000)


def page_load(bench: Bench, browser: Browser, runs: int) -> dict[str, float]:
    text = os.urandom(512).hex().encode()  # 1 KiB
    cold, warm, cli = [], [], []
    warm_context = browser.new_context()
    warm_page = warm_context.new_page()
    reveal_text(warm_page, bench.share(text))  # fills the cache
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        link = bench.share(text)
        cold.append(timed(partial(reveal_text, page, link)))
        context.close()
        link = bench.share(text)
        warm.append(timed(partial(reveal_text, warm_page, link)))
        link = bench.share(text)
        cli.append(timed(partial(bench.ots, "get", link)))
    warm_context.close()
    return {
        "cold_ms": statistics.median(cold) * 1000,
        "warm_ms": statistics.median(warm) * 1000,
        "cli_ms": statistics.median(cli) * 1000,
    }


ARGON2_IN_PAGE = """async ([ops, mem]) => {
  await sodium.ready;
  const salt = new Uint8Array(16), password = new TextEncoder().encode('correct horse');
  const t0 = performance.now();
  sodium.crypto_pwhash(32, password, salt, ops, mem, sodium.crypto_pwhash_ALG_ARGON2ID13);
  return performance.now() - t0;
}"""


#: libsodium.js's secretstream alone, in memory: 64 MiB in 64 KiB chunks, MiB/s.
SECRETSTREAM_IN_PAGE = """async () => {
  await sodium.ready;
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  const chunk = new Uint8Array(65536);
  const sealed = [];
  for (let i = 0; i < 1024; i++) {
    sealed.push(sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, null, 0));
  }
  const pull = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  const t0 = performance.now();
  for (const c of sealed) sodium.crypto_secretstream_xchacha20poly1305_pull(pull, c, null);
  return 64 / ((performance.now() - t0) / 1000);
}"""


def argon2(bench: Bench, browser: Browser, runs: int) -> dict[str, float]:
    page = browser.new_page()
    page.goto(f"{bench.server.url}/s/AAAAAAAAAAAAAAAAAAAAAA")
    page.wait_for_load_state("load")
    browser_ms = [page.evaluate(ARGON2_IN_PAGE, [OPS, MEM]) for _ in range(runs)]
    stream_mib_s = statistics.median(page.evaluate(SECRETSTREAM_IN_PAGE) for _ in range(runs))
    page.close()
    native = [
        timed(lambda: nacl.pwhash.argon2id.kdf(32, b"correct horse", bytes(16), OPS, MEM))
        for _ in range(runs)
    ]
    return {
        "browser_ms": statistics.median(browser_ms),
        "native_ms": statistics.median(native) * 1000,
        "stream_mib_s": stream_mib_s,
    }


#: The ways a file leaves the page: (init script, Service Workers allowed).
FILE_PATHS = {
    "download": (NO_SAVE_PICKER, True),  # the download worker, the browser's own download
    "dialog": (OPFS_FILE, True),  # the download worker, a file chosen in a save dialog
    "in_page": (NULL_FILE, False),  # no Service Worker: the page reads, to nothing
}


#: Chromium's processes by role, from their `--type=` (none: the browser process). Renderers
#: run the page and its workers; utilities are the network service and the like.
ROLES = {"browser": "browser process", "renderer": "renderers", "utility": "utilities"}


def chromium_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) so far of each Chromium process this run started."""
    seen = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" not in child.name().lower():
                continue
            kind = next((a[7:] for a in child.cmdline() if a.startswith("--type=")), "browser")
            times = child.cpu_times()
        except psutil.Error:
            continue
        seen[child.pid] = (ROLES.get(kind, "other"), times.user + times.system)
    return seen


def tree_cpu(pid: int) -> float:
    process = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in (process, *process.children(recursive=True)))


def cpu_since(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per role since `before` (processes started since count from zero)."""
    spent: dict[str, float] = {}
    for pid, (role, seconds) in chromium_cpu().items():
        spent[role] = spent.get(role, 0.0) + seconds - before.get(pid, (role, 0.0))[1]
    return spent


Cpu = dict[str, float]


def through_page(bench: Bench, browser: Browser, source: Path, how: str) -> tuple[float, Cpu]:
    """Seconds from the click on Reveal to "Saved", and the CPU seconds it took, by process."""
    script, workers = FILE_PATHS[how]
    link = bench.ots("share", str(source)).decode().strip()
    context = browser.new_context(service_workers="allow" if workers else "block")
    page = context.new_page()
    page.add_init_script(script)
    page.goto(link)
    chromium, server = chromium_cpu(), tree_cpu(bench.server.pid)
    started = time.perf_counter()
    page.locator("#reveal-button").click()
    if how == "download":
        with page.expect_download(timeout=600_000) as info:
            page.locator("#save-file-button").click()
    else:
        page.locator("#save-file-button").click()
    expect(page.locator("#file-status")).to_contain_text("Saved", timeout=600_000)
    elapsed = time.perf_counter() - started
    cpu = cpu_since(chromium) | {"server": tree_cpu(bench.server.pid) - server}
    size = source.stat().st_size
    if how == "download":
        assert Path(info.value.path()).stat().st_size == size
    elif how == "dialog":
        assert page.evaluate(OPFS_SIZE_AND_CLEAN, source.name) == size
    context.close()
    return elapsed, cpu


#: The reveal of one secret fetched by the page and read to nothing, as the download worker
#: reads it (one reused 1 MiB buffer, BYOB), with no decryption: the transport alone.
FETCH_ALONE = """async ([id, body]) => {
  const response = await fetch(`/api/v1/secrets/${id}/reveal`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body, cache: "no-store" });
  const reader = response.body.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(1 << 20), total = 0;
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer), { min: buffer.byteLength });
    if (value) { buffer = value.buffer; total += value.length; }
    if (done) return total;
  }
}"""


def fetch_alone(bench: Bench, browser: Browser, source: Path) -> tuple[float, Cpu]:
    """Seconds and CPU for the page to fetch a file's ciphertext without decrypting it."""
    link = bench.ots("share", str(source)).decode().strip()
    parsed = parse_link(link, allow_insecure_http=True)
    body = json.dumps({"proof": b64url_encode(link_proof(parsed.id, parsed.key))})
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    page.goto(link)  # the reveal page, not clicked: an origin to fetch from, nothing consumed
    chromium, server = chromium_cpu(), tree_cpu(bench.server.pid)
    started = time.perf_counter()
    received = page.evaluate(FETCH_ALONE, [b64url_encode(parsed.id), body])
    elapsed = time.perf_counter() - started
    cpu = cpu_since(chromium) | {"server": tree_cpu(bench.server.pid) - server}
    assert received > source.stat().st_size  # the ciphertext: the file, its header and tags
    context.close()
    return elapsed, cpu


def cli_get(bench: Bench, link: str, target: Path) -> tuple[float, Cpu]:
    before, server = resource.getrusage(resource.RUSAGE_CHILDREN), tree_cpu(bench.server.pid)
    elapsed = timed(partial(bench.ots, "get", link, "-o", str(target)))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, {"ots": client, "server": tree_cpu(bench.server.pid) - server}


def big_file(bench: Bench, browser: Browser, size: int, runs: int) -> dict[str, dict[str, Any]]:
    source = bench.work / "big.bin"
    block = hashlib.shake_256(b"bench web").digest(1 << 20)
    with source.open("wb") as out:
        for _ in range(size // len(block)):
            out.write(block)
    paths = (*FILE_PATHS, "fetch", "cli")
    results: dict[str, list[tuple[float, Cpu]]] = {how: [] for how in paths}
    for run in range(runs):
        # Interleaved, so that a busy moment of the machine falls on every path alike.
        for how in FILE_PATHS:
            results[how].append(through_page(bench, browser, source, how))
        results["fetch"].append(fetch_alone(bench, browser, source))
        link = bench.ots("share", str(source)).decode().strip()
        target = bench.work / f"got-{run}.bin"
        results["cli"].append(cli_get(bench, link, target))
        target.unlink()
    mib = size / 2**20
    summary: dict[str, dict[str, Any]] = {}
    for how, runs_of in results.items():
        roles = {role for _, cpu in runs_of for role in cpu}
        summary[how] = {
            "mib_s": mib / statistics.median(elapsed for elapsed, _ in runs_of),
            "cpu": {r: statistics.median(cpu.get(r, 0.0) for _, cpu in runs_of) for r in roles},
        }
    return summary


def weight(bench: Bench) -> int:
    page = httpx.get(f"{bench.server.url}/s/x")
    total = len(gzip.compress(page.content, 9))
    for src in re.findall(r'(?:src|href)="\.\.(/assets/[^"]+)"', page.text):
        if "libsodium" not in src and not src.endswith(".svg"):
            total += len(gzip.compress(httpx.get(bench.server.url + src).content, 9))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, a 64 MiB file")
    options = parser.parse_args()
    runs = 3 if options.quick else 7
    size = (64 if options.quick else 256) * 2**20
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        bench = Bench(Path(tmp))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            load = page_load(bench, browser, runs)
            kdf = argon2(bench, browser, max(3, runs // 2))
            big = big_file(bench, browser, size, max(1, runs // 3))
            grams = weight(bench)
        finally:
            browser.close()
            bench.procs.stop_all()
    print(f"# bench/web_page.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}")
    print("| figure | page | reference (same run) | ratio | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    cli_ms = load["cli_ms"]
    for cache in ("cold", "warm"):
        page_ms = load[f"{cache}_ms"]
        print(
            f"| 1 KiB text, link to text shown, {cache} cache | {page_ms:.0f} ms "
            f"| `ots get` {cli_ms:.0f} ms | {page_ms / cli_ms:.2f} | (information) |"
        )
    ratio = kdf["browser_ms"] / kdf["native_ms"]
    print(
        f"| Argon2id, {OPS} passes, {MEM >> 20} MiB | {kdf['browser_ms']:.0f} ms "
        f"| PyNaCl {kdf['native_ms']:.0f} ms | {ratio:.2f}x | ≤ 8x {mark(ratio <= 8)} |"
    )
    cli = big["cli"]["mib_s"]
    share = big["download"]["mib_s"] / cli
    print(
        f"| {size >> 20} MiB file to disk (download) | {big['download']['mib_s']:.0f} MiB/s "
        f"| `ots get -o` {cli:.0f} MiB/s | {share:.0%} | ≥ 50 % {mark(share >= 0.5)} |"
    )
    for label, value in (
        ("the same, to a file chosen in a save dialog", big["dialog"]["mib_s"]),
        ("the same, Service Workers off: read in the page, to nothing", big["in_page"]["mib_s"]),
        ("libsodium.js secretstream alone, in memory", kdf["stream_mib_s"]),
        (
            "the ciphertext fetched by the page, no decryption (transport alone)",
            big["fetch"]["mib_s"],
        ),
    ):
        print(
            f"| {label} | {value:.0f} MiB/s | `ots get -o` {cli:.0f} MiB/s "
            f"| {value / cli:.0%} | (information) |"
        )
    print(f"| page weight, gzip'd | {grams:,} B | | | ≤ 20,000 B {mark(grams <= 20_000)} |")
    print()
    print(f"CPU seconds for one {size >> 20} MiB file (medians), by process:")
    print()
    roles = [*ROLES.values(), "other", "ots", "server"]
    print("| path | " + " | ".join(roles) + " | total |")
    print("| --- |" + " ---: |" * (len(roles) + 1))
    labels = {"download": "page, download", "dialog": "page, save dialog",
              "in_page": "page, no Service Worker, to nothing",
              "fetch": "page, fetch alone, no decryption", "cli": "`ots get -o`"}  # fmt: skip
    for how, label in labels.items():
        cpu = big[how]["cpu"]
        cells = [f"{cpu[r]:.2f}" if r in cpu else "" for r in roles]
        print(f"| {label} | " + " | ".join(cells) + f" | {sum(cpu.values()):.2f} |")


def mark(met: bool) -> str:
    return "✓" if met else "✗"


if __name__ == "__main__":
    main()
