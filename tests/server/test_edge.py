"""The connection edge of the real ``ots-server serve`` (:mod:`ots_server.protocol`): request
heads are bounded in size (431) and in time (closed, or 408 once a head has begun), open
connections per process are capped (503 on the wire, then closed), and the 400s of uvicorn's
own parser carry the security headers like every other answer. Plus the pin on the uvicorn
hooks the protocol overrides."""

from __future__ import annotations

import contextlib
import inspect
import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from processes import ServerProcess, running_server
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bench.procs import group_peak_rss
from ots_server.middleware.headers import SECURITY_HEADERS
from ots_server.protocol import EdgeHttpToolsProtocol

MIB = 1024 * 1024
HEAD = b"GET /healthz HTTP/1.1\r\nHost: ots\r\n"


@contextlib.contextmanager
def _connection(port: int) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        yield sock


def _read_all(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes (or resets) the connection."""
    sock.settimeout(timeout)
    answer = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return answer
        if not data:
            return answer
        answer += data


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ", 2)[1]), headers, body


def _assert_edge_answer(answer: bytes, status: int, error: str) -> dict[str, object]:
    code, headers, body = _parse(answer)
    assert code == status, answer[:300]
    for name, value in SECURITY_HEADERS:
        assert headers[name.decode()] == value.decode(), name
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    parsed = json.loads(body)
    assert parsed["error"] == error
    assert isinstance(parsed["detail"], str)
    return parsed  # type: ignore[no-any-return]


def _flood(sock: socket.socket, first: bytes, piece: bytes, total: int) -> int:
    """Send ``first`` then ``piece`` until ``total`` bytes went out or the server answered or
    closed; return the bytes sent."""
    sock.sendall(first)
    sent = len(first)
    sock.setblocking(False)
    pending = memoryview(piece)
    while sent < total:
        readable, writable, _ = select.select([sock], [sock], [], 10)
        if readable or not writable:
            break
        try:
            count = sock.send(pending)
        except (BrokenPipeError, ConnectionResetError, BlockingIOError):
            break
        sent += count
        pending = pending[count:] or memoryview(piece)
    sock.setblocking(True)
    return sent


def test_an_endless_header_is_cut_at_the_cap(tmp_path: Path) -> None:
    with running_server(tmp_path) as server, _connection(server.port) as sock:
        assert server.process is not None
        before = group_peak_rss(server.process.pid)
        assert before > 10 * MIB  # the server's processes were found
        sent = _flood(sock, HEAD + b"X-Endless: ", b"a" * 65536, 64 * MIB)
        answer = _read_all(sock)
        growth = group_peak_rss(server.process.pid) - before
        body = _assert_edge_answer(answer, 431, "headers_too_large")
        assert body["max_bytes"] == 16 * 1024
        assert sent < 4 * MIB, sent  # stopped at once, not after the 64 MiB offered
        assert growth < 16 * MIB, growth
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            assert client.get("/healthz").status_code == 200


def test_a_head_at_the_cap_is_served_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    env = {"OTS_MAX_HEADER_BYTES": "2KiB"}
    with running_server(tmp_path, env=env) as server:
        for extra, status in ((0, 200), (1, 431)):
            start = HEAD + b"Connection: close\r\nX-Pad: "
            pad = b"p" * (2048 + extra - len(start) - len(b"\r\n\r\n"))
            request = start + pad + b"\r\n\r\n"
            assert len(request) == 2048 + extra
            with _connection(server.port) as sock:
                sock.sendall(request)
                assert _parse(_read_all(sock))[0] == status


def test_a_head_that_never_completes_is_closed_after_the_deadline(tmp_path: Path) -> None:
    with (
        running_server(tmp_path, env={"OTS_HEADER_TIMEOUT": "1s"}) as server,
        _connection(server.port) as idle,
        _connection(server.port) as slow,
    ):
        started = time.monotonic()
        slow.sendall(HEAD)
        slow.settimeout(0.2)
        answer = b""
        while time.monotonic() - started < 8 and not answer:
            with contextlib.suppress(TimeoutError):
                answer = slow.recv(65536)  # the server's 408, or b"" when it closed
            with contextlib.suppress(OSError):
                slow.sendall(b"X")  # a header line, one byte at a time, forever
        elapsed = time.monotonic() - started
        answer += _read_all(slow)
        _assert_edge_answer(answer, 408, "timeout")
        assert 0.9 < elapsed < 5, elapsed
        # A connection that never sent a byte is closed without an answer.
        assert _read_all(idle, timeout=5) == b""
        assert time.monotonic() - started < 6


def test_connections_past_the_cap_are_refused_and_served_again_once_closed(
    tmp_path: Path,
) -> None:
    cap = 20
    with running_server(tmp_path, env={"OTS_MAX_CONNECTIONS": str(cap)}) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(cap)]
        try:
            with _connection(server.port) as extra:
                extra.sendall(HEAD + b"\r\n")
                body = _assert_edge_answer(_read_all(extra), 503, "unavailable")
                assert "connections" in str(body["detail"])
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                refused = client.get("/healthz")
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "1"
        finally:
            for sock in idle:
                sock.close()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            deadline = time.monotonic() + 10
            status = 0
            while status != 200 and time.monotonic() < deadline:
                status = client.get("/healthz").status_code
                time.sleep(0.05)
            assert status == 200


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"G\x01T /healthz HTTP/1.1\r\nHost: ots\r\n\r\n",  # a bad method
        HEAD + b"X-Nul: a\x00b\r\n\r\n",  # NUL in a header value
        b"POST /api/v1/limits HTTP/1.1\r\nHost: ots\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",  # CL and TE together
    ],
    ids=["method", "nul", "cl-te"],
)
def test_parser_errors_carry_the_security_headers(
    shared_server: ServerProcess, request_bytes: bytes
) -> None:
    with _connection(shared_server.port) as sock:
        sock.sendall(request_bytes)
        _assert_edge_answer(_read_all(sock), 400, "bad_request")


def test_the_uvicorn_hooks_the_protocol_overrides_still_exist() -> None:
    """The protocol subclasses uvicorn's httptools protocol and overrides these methods, with
    these parameters, and reads these attributes: a uvicorn that changes them fails here."""
    expected = {
        "connection_made": ["self", "transport"],
        "connection_lost": ["self", "exc"],
        "data_received": ["self", "data"],
        "on_headers_complete": ["self"],
        "on_message_complete": ["self"],
        "on_response_complete": ["self"],
        "send_400_response": ["self", "msg"],
    }
    for name, parameters in expected.items():
        method = getattr(HttpToolsProtocol, name)
        assert list(inspect.signature(method).parameters) == parameters, name
        assert getattr(EdgeHttpToolsProtocol, name) is not method, name
    init = list(inspect.signature(HttpToolsProtocol.__init__).parameters)
    assert init[:4] == ["self", "config", "server_state", "app_state"]
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.connections", "self.transport", "self.cycle", "self.loop"):
        assert attribute in source, attribute
    assert "self.server_state.default_headers" in source
    assert "self.cycle.more_body" in inspect.getsource(HttpToolsProtocol.on_message_complete)


@pytest.mark.parametrize(
    ("limits", "expected"),
    [((300, 300), "44 300"), ((300, 4000), "1000 1256")],
    ids=["hard-limit-too-low", "soft-limit-raised"],
)
def test_the_connection_cap_fits_the_descriptor_limit(
    limits: tuple[int, int], expected: str
) -> None:
    """The cap and the soft descriptor limit after :func:`connection_budget`, in a process of
    its own (it changes the process's limit)."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, {limits})\n"
        "from ots_server.protocol import connection_budget\n"
        "cap = connection_budget(1000)\n"
        "print(cap, resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == expected.split()
