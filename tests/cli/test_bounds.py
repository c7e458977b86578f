"""A hostile or stalling server cannot make the client hold unbounded memory or wait forever.

Bodies: a peek answered with 1 GiB, a 503 with 1 GiB, a blob longer than its peek announced
(httpx mock transports, streaming bodies whose bytes are counted as they are pulled: a real
server would not misbehave so). Deadlines: a real server on 127.0.0.1 that dribbles one byte
at a time, with small configured limits so each test takes about a second.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ots_cli.core import b64
from ots_cli.core.crypto import seal

from .support import SERVER, Backend, cli_env, run_cli

GIB = 1 << 30
CHUNK = 64 * 1024
ID, KEY = bytes(range(16)), bytes(range(32, 64))
LINK = f"{SERVER}/s/{b64.encode(ID)}#{b64.encode(KEY)}"


class Endless:
    """A body of ``size`` bytes, produced as it is pulled, counting what was pulled."""

    def __init__(self, size: int = GIB) -> None:
        self.size = size
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.pulled < self.size:
            self.pulled += CHUNK
            yield b"x" * CHUNK


def _client(status: int, body: Endless, **headers: str) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=iter(body), headers=headers)

    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("status", [200, 503])
def test_a_huge_answer_is_refused_after_64_kib(status: int) -> None:
    body = Endless()
    result = run_cli(["get", LINK], http=_client(status, body))
    assert result.code == 9
    assert "ots: error: the server sent more than expected" in result.err
    assert body.pulled <= 2 * CHUNK  # the cap, then one chunk more at most


def test_a_huge_declared_length_is_refused_before_reading() -> None:
    body = Endless()
    result = run_cli(["get", LINK], http=_client(200, body, **{"Content-Length": str(GIB)}))
    assert result.code == 9
    assert "the server sent more than expected" in result.err
    assert body.pulled == 0


def test_a_compressed_answer_is_refused() -> None:
    body = Endless(CHUNK)
    result = run_cli(["get", LINK], http=_client(200, body, **{"Content-Encoding": "gzip"}))
    assert result.code == 9
    assert "compressed answer" in result.err


class _LongerBlob(httpx.BaseTransport):
    """The real app, but every reveal answer goes on after the blob it announced."""

    def __init__(self, inner: httpx.Client) -> None:
        self.inner = inner
        self.extra = Endless()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.send(request)
        body = response.read()
        if not request.url.path.endswith("/reveal") or response.status_code != 200:
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        def longer() -> Iterator[bytes]:
            yield body
            yield from self.extra

        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(200, headers=headers, content=longer())


@pytest.mark.parametrize(
    ("argv", "code"),
    # Streamed: the view was spent when the server answered, as for any download cut off
    # (12, the cause in a hint). Held in memory for `ots run`: refused as it arrives (9).
    [(["get"], 12), (["--json", "get"], 12), (["run", "--env", "S"], 9)],
)
def test_a_blob_longer_than_its_peek_announced_is_cut_at_that_size(
    backend: Backend, argv: list[str], code: int
) -> None:
    link = run_cli(["share"], stdin=b"x" * 3000, http=backend.client).text.strip()
    longer = _LongerBlob(backend.client)
    tail = ["--", "true"] if argv[0] == "run" else []
    result = run_cli([*argv, link, *tail], http=httpx.Client(transport=longer))
    assert result.code == code, result.err
    assert "the server sent more than expected" in result.err
    assert b"x" * 3000 not in result.out
    assert longer.extra.pulled <= CHUNK


# -- deadlines, against a real server that dribbles ----------------------------------------------


class Dribbler:
    """A server on 127.0.0.1 answering each request with ``prefix`` at once, then ``rest`` one
    byte every ``interval`` seconds; it stops by itself after ``limit`` seconds."""

    def __init__(
        self, answers: dict[str, tuple[bytes, bytes]], interval: float = 0.2, limit: float = 20
    ) -> None:
        self.answers, self.interval, self.limit = answers, interval, limit
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        started = time.monotonic()
        while not self.stop.is_set() and time.monotonic() - started < self.limit:
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(connection, started), daemon=True).start()

    def _answer(self, connection: socket.socket, started: float) -> None:
        with connection:
            connection.settimeout(self.limit)
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")),
                0,
            )  # fmt: skip
            while len(body) < length:
                body += connection.recv(65536)
            path = head.split(b" ")[1].decode()
            prefix, rest = next(a for p, a in self.answers.items() if path.endswith(p))
            try:
                connection.sendall(prefix)
                for byte in rest:
                    if self.stop.wait(self.interval) or time.monotonic() - started > self.limit:
                        return
                    connection.sendall(bytes([byte]))
            except OSError:  # the client gave up and closed: what the test waits for
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def dribbler() -> Iterator[Any]:
    servers: list[Dribbler] = []

    def start(answers: dict[str, tuple[bytes, bytes]]) -> Dribbler:
        servers.append(Dribbler(answers))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _json_answer(document: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + (
        b"Content-Length: %d\r\n\r\n" % len(document)
    )


def _get(server: Dribbler, **env: str) -> tuple[Any, float]:
    link = f"{server.url}/s/{b64.encode(ID)}#{b64.encode(KEY)}"
    start = time.monotonic()
    result = run_cli(["get", link], env=cli_env(OTS_REQUEST_TIMEOUT="1s", **env))
    return result, time.monotonic() - start


def test_a_dribbled_answer_ends_at_the_deadline(dribbler: Any) -> None:
    document = b'{"id": "' + b"x" * 200 + b'"}'
    server = dribbler({"/peek": (_json_answer(document), document)})
    result, elapsed = _get(server)
    assert result.code == 9
    assert "ots: error: the server 127.0.0.1:" in result.err
    assert "did not answer within 1 s" in result.err
    assert "OTS_REQUEST_TIMEOUT" in result.err
    assert elapsed < 5


def test_dribbled_headers_end_at_the_deadline(dribbler: Any) -> None:
    head = _json_answer(b"{}") + b"{}"
    server = dribbler({"/peek": (b"", head)})  # the status line itself, a byte at a time
    result, elapsed = _get(server)
    assert result.code == 9
    assert "did not answer within 1 s" in result.err
    assert elapsed < 5


def test_a_blob_below_the_minimum_rate_is_cut_off(dribbler: Any) -> None:
    sealed = seal(b"dribbled secret", id=ID, key=KEY)
    now = int(time.time())
    peek = (
        b'{"id": "%s", "header": "%s", "size": %d, "created_at": %d, "expires_at": %d, '
        b'"views_left": 1, "passphrase": false, "attempts_left": null}'
        % (b64.encode(ID).encode(), b64.encode(sealed.header_bytes).encode(),
           len(sealed.blob), now, now + 3600)
    )  # fmt: skip
    reveal = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.ots.secret\r\n"
        b"Ots-Views-Left: 0\r\nContent-Length: %d\r\n\r\n" % len(sealed.blob)
    )
    server = dribbler({"/peek": (_json_answer(peek) + peek, b""), "/reveal": (reveal, sealed.blob)})
    result, elapsed = _get(server, OTS_MIN_DOWNLOAD_RATE="1024")
    # The server released the secret: a download cut off (12), the cause in a hint.
    assert result.code == 12, result.err
    assert "sent the secret too slowly (under 1024 bytes/s over 1 s)" in result.err
    assert result.out == b""
    assert elapsed < 5


@pytest.mark.parametrize(
    "env",
    [{"OTS_REQUEST_TIMEOUT": "soon"}, {"OTS_MIN_DOWNLOAD_RATE": "0"},
     {"OTS_MIN_DOWNLOAD_RATE": "1KiB"}],
)  # fmt: skip
def test_bad_deadline_settings_are_config_errors(env: dict[str, str]) -> None:
    result = run_cli(["get", LINK], env=cli_env(**env))
    assert result.code == 3
    assert next(iter(env)) in result.err


def test_every_transport_of_the_default_client_waits_only_until_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The direct transport and those httpx mounts for proxies from the environment."""
    from ots_cli.api.http import _DeadlineBackend, new_http_client

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    client = new_http_client()
    try:
        transports = [client._transport, *client._mounts.values()]
        assert len(transports) >= 2
        for transport in transports:
            assert isinstance(transport._pool._network_backend, _DeadlineBackend)  # type: ignore[union-attr]
    finally:
        client.close()
