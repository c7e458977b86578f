"""Large blobs through the real ``ots-server serve`` (uvicorn, SQLite, blob files).

Round trips are streamed both ways (a generator upload, a streamed reveal) and compared by
SHA-256; the server's peak resident memory stays flat for a 1 GiB blob; an upload cut off
or a server killed mid-upload leaves no row, blob file or temp file once the sweep ran."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from processes import ServerProcess, running_server

from bench.procs import group_peak_rss
from ots_server.store.sqlite.blobs import INLINE_MAX

from .support import CREATE_TYPE, SimSecret

MIB = 1024 * 1024
BIG_ENV = {"OTS_MAX_BYTES": "2GiB", "OTS_UPLOAD_TIMEOUT": "600"}


def _prefix(secret: SimSecret, header_length: int = 8) -> bytes:
    meta = json.dumps(secret.meta(header_length=header_length)).encode()
    return struct.pack(">I", len(meta)) + meta


def _random_body(size: int, digest: hashlib._Hash, piece: int = MIB) -> Iterator[bytes]:
    block = os.urandom(piece)  # varied per block below: cheaper than urandom for every byte
    sent = 0
    counter = 0
    while sent < size:
        chunk = (counter.to_bytes(8, "big") + block)[: min(piece, size - sent)]
        digest.update(chunk)
        sent += len(chunk)
        counter += 1
        yield chunk


def _round_trip(base_url: str, size: int) -> None:
    secret = SimSecret.make(0)
    sent = hashlib.sha256()
    prefix = _prefix(secret, header_length=min(8, max(size, 1)))

    def body() -> Iterator[bytes]:
        yield prefix
        yield from _random_body(size, sent)

    with httpx.Client(base_url=base_url, timeout=600) as client:
        created = client.post(
            "/api/v1/secrets", content=body(), headers={"Content-Type": CREATE_TYPE}
        )
        assert created.status_code == 201, created.text
        url = f"/api/v1/secrets/{secret.sid}/reveal"
        received = hashlib.sha256()
        length = 0
        with client.stream("POST", url, json=secret.reveal_body()) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(size)
            for piece in response.iter_raw():
                received.update(piece)
                length += len(piece)
        assert (length, received.hexdigest()) == (size, sent.hexdigest())
        again = client.post(url, json=secret.reveal_body())
        assert again.json()["state"] == "consumed"


def _blob_dir(server: ServerProcess) -> Path:
    return server.db_path.with_name(server.db_path.name + ".blobs")


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("big"), env=BIG_ENV) as server:
        yield server


@pytest.mark.parametrize("size", [1, INLINE_MAX, INLINE_MAX + 1, 5 * MIB + 3])
def test_round_trips_are_byte_identical(big_server: ServerProcess, size: int) -> None:
    _round_trip(big_server.base_url, size)
    assert os.listdir(_blob_dir(big_server)) == []  # the last view removed the file


def test_an_empty_blob_is_refused_and_leaves_nothing(big_server: ServerProcess) -> None:
    secret = SimSecret.make(0)
    with httpx.Client(base_url=big_server.base_url, timeout=10) as client:
        answer = client.post(
            "/api/v1/secrets", content=_prefix(secret), headers={"Content-Type": CREATE_TYPE}
        )
        assert answer.status_code == 400  # a blob holds at least its header
        peek = client.post(f"/api/v1/secrets/{secret.sid}/peek", json=secret.proof_body())
        assert peek.status_code == 404


def test_over_the_limit_while_streaming_is_413_and_leaves_no_file(tmp_path: Path) -> None:
    with running_server(tmp_path, env={"OTS_MAX_BYTES": "1MiB"}) as server:
        secret = SimSecret.make(0)
        sent = hashlib.sha256()

        def body() -> Iterator[bytes]:
            yield _prefix(secret)
            yield from _random_body(3 * MIB, sent, piece=256 * 1024)

        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            answer = client.post(
                "/api/v1/secrets", content=body(), headers={"Content-Type": CREATE_TYPE}
            )
            assert answer.status_code == 413
            assert answer.json()["error"] == "too_large"
        assert _leftovers(server) == ([], 0)


def _leftovers(server: ServerProcess) -> tuple[list[str], int]:
    with sqlite3.connect(server.db_path) as conn:
        rows = conn.execute("SELECT count(*) FROM records").fetchone()[0]
    conn.close()
    return sorted(os.listdir(_blob_dir(server))), rows


def _start_upload(server: ServerProcess, declared: int, send: int) -> socket.socket:
    secret = SimSecret.make(0)
    prefix = _prefix(secret)
    head = (
        f"POST /api/v1/secrets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {CREATE_TYPE}\r\n"
        f"Content-Length: {len(prefix) + declared}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head + prefix)
    block = os.urandom(MIB)
    for _ in range(send // MIB):
        sock.sendall(block)
    return sock


def _wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_an_upload_cut_off_halfway_leaves_nothing(tmp_path: Path) -> None:
    with running_server(tmp_path, env=BIG_ENV) as server:
        sock = _start_upload(server, declared=40 * MIB, send=20 * MIB)
        blob_dir = _blob_dir(server)
        _wait_for(lambda: len(os.listdir(blob_dir)) == 1)  # the temp file of the upload
        sock.close()
        _wait_for(lambda: os.listdir(blob_dir) == [])
        assert _leftovers(server) == ([], 0)


def test_a_server_killed_mid_upload_leaves_nothing_after_restart_and_sweep(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, env=BIG_ENV) as server:
        sock = _start_upload(server, declared=40 * MIB, send=20 * MIB)
        blob_dir = _blob_dir(server)
        _wait_for(lambda: len(os.listdir(blob_dir)) == 1)
        server.kill()
        sock.close()
        [temp] = os.listdir(blob_dir)
        assert temp.startswith(".tmp-")
        # Past the grace that protects uploads in flight (another worker's, after a restart).
        old = time.time() - 3600
        os.utime(blob_dir / temp, (old, old))
        server.start()  # start-up recovery sweeps
        assert _leftovers(server) == ([], 0)


@pytest.mark.slow
def test_a_300_mib_round_trip(big_server: ServerProcess) -> None:
    _round_trip(big_server.base_url, 300 * MIB)


@pytest.mark.slow
def test_server_memory_stays_flat_for_a_1_gib_create_and_reveal(tmp_path: Path) -> None:
    with running_server(tmp_path, env=BIG_ENV) as server:
        assert server.process is not None
        _round_trip(server.base_url, 1024 * MIB)
        peak = group_peak_rss(server.process.pid)
        assert peak > 10 * MIB  # the server's processes were found
        print(f"server peak RSS during a 1 GiB create+reveal: {peak / MIB:.1f} MiB")
        assert peak < 100 * MIB, peak
