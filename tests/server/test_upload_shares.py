"""One client, or one account, holds at most ``OTS_MAX_UPLOADS_PER_CLIENT`` of the upload slots
(:mod:`ots_server.upload_slots`): past its share a create gets ``429`` before its body is read,
while another client's create still gets a slot."""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path

import anyio
import httpx
import pytest
from processes import running_server

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store.sqlite.store import SQLiteStore

from .support import (
    CREATE_TYPE,
    START,
    FakeClock,
    SimAccount,
    SimSecret,
    call_asgi,
    create_as,
    frame_prefix,
)

CREATE_HEADERS = {"content-type": CREATE_TYPE}


def _slow_upload(port: int, client: str) -> socket.socket:
    """A chunked create from ``client`` (as a trusted proxy forwards it) that sends its frame's
    prefix and then nothing more."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    prefix = frame_prefix(SimSecret.make())
    sock.sendall(
        b"POST /api/v1/secrets HTTP/1.1\r\nHost: ots\r\n"
        + f"Content-Type: {CREATE_TYPE}\r\nX-Forwarded-For: {client}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (len(prefix), prefix)
    )
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """The server's answer, up to its closing the connection."""
    answer = b""
    while data := sock.recv(65536):
        answer += data
    return answer


def _answered(socks: list[socket.socket], count: int, timeout: float) -> list[socket.socket]:
    """The sockets that got an answer, once ``count`` did or ``timeout`` passed."""
    answered: list[socket.socket] = []
    deadline = time.monotonic() + timeout
    while len(answered) < count and time.monotonic() < deadline:
        waiting = [sock for sock in socks if sock not in answered]
        readable, _, _ = select.select(waiting, [], [], max(0.0, deadline - time.monotonic()))
        answered += readable
    return answered


def test_a_client_past_its_share_gets_429_and_another_client_still_uploads(
    tmp_path: Path,
) -> None:
    env = {
        "OTS_MAX_CONCURRENT_UPLOADS": "6",
        "OTS_MAX_UPLOADS_PER_CLIENT": "2",
        "OTS_TRUSTED_PROXIES": "127.0.0.1",
    }
    with running_server(tmp_path, env=env) as server:
        hog = [_slow_upload(server.port, "198.51.100.7") for _ in range(6)]
        try:
            refused = _answered(hog, 4, timeout=10)
            assert len(refused) == 4  # two uploads hold their slots, stalled
            for sock in refused:
                head, _, body = _read_all(sock).partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 429 "), head
                assert b"\r\nretry-after: 1\r\n" in head.lower()
                assert json.loads(body)["error"] == "rate_limited"
            assert _answered([s for s in hog if s not in refused], 1, timeout=0.3) == []
            other = SimSecret.make()
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                response = create_as(client, other, {"X-Forwarded-For": "203.0.113.9"})
                assert response.status_code == 201
        finally:
            for sock in hog:
                sock.close()
        output = server.output()
        assert "198.51.100.7" not in output
        assert "203.0.113.9" not in output


@pytest.mark.anyio
async def test_an_account_has_one_share_whatever_its_addresses(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = SQLiteStore(tmp_path / "shares.sqlite3")
    settings = Settings(
        data_dir=tmp_path,
        rate_limit_per_minute=0,
        account_rate_limit_per_minute=0,
        max_concurrent_uploads=8,
        max_uploads_per_client=2,
    )
    account = SimAccount.make()
    await store.create_account(account.new_account(START))
    app = create_app(settings, store, clock=clock)
    token = {**CREATE_HEADERS, "authorization": account.headers["Authorization"]}
    release = anyio.Event()
    answers: list[int] = []

    async def slow_upload(address: str) -> None:
        secret = SimSecret.make(1000)
        chunks: list[bytes | anyio.Event] = [frame_prefix(secret), release, secret.blob]
        status, _, _, _ = await call_asgi(
            app, "/api/v1/secrets", token, chunks, client=(address, 40000)
        )
        answers.append(status)

    try:
        async with anyio.create_task_group() as group:
            for address in ("192.0.2.1", "192.0.2.2"):
                group.start_soon(slow_upload, address)
            with anyio.fail_after(10):  # authenticated (on a store thread), then stalled
                while app.state.upload_slots.in_use < 2:
                    await anyio.sleep(0.01)
            extra = SimSecret.make()
            status, headers, body, pulled = await call_asgi(
                app, "/api/v1/secrets", token, [extra.frame()], client=("192.0.2.3", 40000)
            )
            assert (status, pulled) == (429, 0)
            assert headers["retry-after"] == "1"
            assert json.loads(body)["error"] == "rate_limited"
            # The same address without the token is another subject, with its own share.
            status, _, _, _ = await call_asgi(
                app, "/api/v1/secrets", CREATE_HEADERS, [extra.frame()], client=("192.0.2.1", 1)
            )
            assert status == 201
            release.set()
        assert answers == [201, 201]
        # The account's share is free again.
        status, _, _, _ = await call_asgi(
            app, "/api/v1/secrets", token, [SimSecret.make().frame()], client=("192.0.2.3", 1)
        )
        assert status == 201
    finally:
        store.close_sync()
