"""Helpers of the create page's browser tests: driving the page as a person does, peeking at
what the server stores, a recording proxy that keeps every byte the browser sends, and a small
PNG reader so that a real QR decoder (zxing-cpp) can read a screenshot."""

from __future__ import annotations

import base64
import contextlib
import socket
import sqlite3
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from ots_cli.core.format import Header, decode_header
from ots_cli.core.keyschedule import link_proof
from ots_cli.core.links import parse_link


@dataclass
class Created:
    link: str
    receipt: str


def open_create(page: Page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}/{query}")
    expect(page.locator("#create-form")).to_be_visible(timeout=30_000)


def create(
    page: Page,
    *,
    text: str | None = None,
    file: Path | None = None,
    password: bool = False,
    passphrase: str | None = None,
    ttl: str | None = None,
    views: str | None = None,
    timeout: float = 60_000,
) -> Created:
    """Fill the form (the page must be open) and create the link."""
    if file is not None:
        page.get_by_label("A file").check()
        page.set_input_files("#file-input", str(file))
    elif password:
        page.get_by_label("A new random password").check()
    else:
        page.get_by_label("Secret", exact=True).fill(text or "")
    if ttl is not None:
        page.get_by_label("Expires after").select_option(ttl)
    if views is not None:
        page.get_by_label("Views").select_option(views)
    if passphrase is not None:
        page.get_by_label("Also ask for a passphrase").check()
        page.get_by_label("Passphrase", exact=True).fill(passphrase)
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#result")).to_be_visible(timeout=timeout)
    href = page.locator("#receipt-link").get_attribute("href")
    assert href is not None
    return Created(page.locator("#link-output").input_value(), href)


@dataclass
class Stored:
    header: Header
    header_bytes: bytes
    size: int


def peek(base_url: str, link: str) -> Stored:
    """What the server holds for a link: its public header and the blob's size."""
    parsed = parse_link(link, allow_insecure_http=True)
    proof = base64.urlsafe_b64encode(link_proof(parsed.id, parsed.key)).rstrip(b"=").decode()
    answer = httpx.post(f"{base_url}/api/v1/secrets/{parsed.id_text}/peek", json={"proof": proof})
    answer.raise_for_status()
    data = answer.json()
    header_bytes = base64.urlsafe_b64decode(data["header"] + "==")
    header, _ = decode_header(header_bytes)
    return Stored(header, header_bytes, data["size"])


def stored_secrets(db_path: Path) -> int:
    """How many secrets the server's SQLite file holds right now."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        count: int = db.execute("SELECT count(*) FROM secrets").fetchone()[0]
    return count


# --- every byte the browser sends -------------------------------------------------------------


@dataclass
class RecordingProxy:
    """A TCP relay on 127.0.0.1 in front of the server: the browser talks to it, and every byte
    it sends (request lines, headers, bodies: a Blob upload too, which Playwright cannot show)
    is kept, per connection."""

    upstream_port: int
    port: int = 0
    sent: list[bytearray] = field(default_factory=list)
    _server: socket.socket | None = None
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def all_sent(self) -> bytes:
        with self._lock:
            return b"\n".join(bytes(chunk) for chunk in self.sent)

    def start(self) -> None:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        self._server = server
        self.port = server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            record = bytearray()
            with self._lock:
                self.sent.append(record)
                self._sockets += [client, upstream]
            threading.Thread(
                target=self._pump, args=(client, upstream, record), daemon=True
            ).start()
            threading.Thread(target=self._pump, args=(upstream, client, None), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, record: bytearray | None) -> None:
        try:
            while data := source.recv(1 << 16):
                if record is not None:
                    with self._lock:
                        record.extend(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def recording_proxy(upstream_port: int) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


# --- PNG to grey pixels, for the QR decoder ---------------------------------------------------


def png_gray(png: bytes) -> tuple[int, int, bytes]:
    """(width, height, one grey byte per pixel) of an 8-bit RGB or RGBA, non-interlaced PNG (what
    Chromium's screenshots are)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, data = 8, b""
    width = height = channels = 0
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        chunk = png[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert (depth, interlace) == (8, 0), (depth, interlace)
            assert colour in (2, 6), colour
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += chunk
    raw = zlib.decompress(data)
    stride = width * channels
    previous = bytearray(stride)
    grey = bytearray()
    for row in range(height):
        start = row * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if method == 1:
                line[i] = (line[i] + left) & 0xFF
            elif method == 2:
                line[i] = (line[i] + up) & 0xFF
            elif method == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif method == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        previous = line
        for x in range(width):
            r, g, b = line[x * channels : x * channels + 3]
            grey.append((r * 299 + g * 587 + b * 114) // 1000)
    return width, height, bytes(grey)
