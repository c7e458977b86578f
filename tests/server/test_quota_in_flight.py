"""``OTS_MAX_STORE_BYTES`` counts uploads in flight (:mod:`ots_server.quota`): against the real
``ots-server serve``, a flood of concurrent uploads that cannot fit never takes the disk past
the quota (plus a bounded slack), a declared length that cannot fit is refused before its body
is sent, nothing stored is lost, and the room comes back once the refused uploads are gone."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from processes import ServerProcess, running_server

from .support import CREATE_TYPE, SimSecret, create

MIB = 1024 * 1024
QUOTA = 2 * MIB
ENV = {
    "OTS_MAX_STORE_BYTES": "2MiB",
    "OTS_MAX_BYTES": "8MiB",
    "OTS_MAX_CONCURRENT_UPLOADS": "32",
}


def _disk(server: ServerProcess) -> int:
    """Bytes in the blob directory: stored blob files and uploads being staged."""
    total = 0
    for root, _, files in os.walk(server.db_path.with_name(server.db_path.name + ".blobs")):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # renamed or removed meanwhile
                total += (Path(root) / name).stat().st_size
    return total


class _PeakDisk:
    """Samples :func:`_disk` every few milliseconds while it runs."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _disk(self.server))
            time.sleep(0.002)

    def __enter__(self) -> _PeakDisk:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _chunked(secret: SimSecret) -> Iterator[bytes]:
    frame = secret.frame()
    for start in range(0, len(frame), 64 * 1024):
        yield frame[start : start + 64 * 1024]


def _upload(base_url: str, secret: SimSecret, chunked: bool) -> int:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        try:
            response = client.post(
                "/api/v1/secrets",
                content=_chunked(secret) if chunked else secret.frame(),
                headers={"Content-Type": CREATE_TYPE},
            )
        except httpx.TransportError:
            return 0  # refused and cut off while still sending
        return response.status_code


def _declared_upload_answer(port: int, size: int) -> bytes:
    """Send only the head of a create that declares ``size`` bytes; return the answer."""
    head = (
        b"POST /api/v1/secrets HTTP/1.1\r\nHost: ots\r\n"
        + f"Content-Type: {CREATE_TYPE}\r\nContent-Length: {size}\r\n\r\n".encode()
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


def test_uploads_in_flight_never_take_the_disk_past_the_quota(tmp_path: Path) -> None:
    with running_server(tmp_path, env=ENV) as server:
        stored = [SimSecret.make(200 * 1024) for _ in range(3)]
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for secret in stored:
                assert create(client, secret).status_code == 201
        flood = [SimSecret.make(8 * MIB - 4096) for _ in range(16)]
        with _PeakDisk(server) as disk, ThreadPoolExecutor(16) as pool:
            statuses = list(
                pool.map(
                    lambda item: _upload(server.base_url, item[1], chunked=item[0] % 2 == 0),
                    enumerate(flood),
                )
            )
        assert set(statuses) <= {507, 0}, statuses  # 0: cut off while sending, after a 507
        # The stored blobs (600 KiB) and the staged uploads stayed within the quota; slack:
        # one socket read per upload may be on its way to the disk when the check refuses it.
        assert disk.peak <= QUOTA + 256 * 1024, disk.peak
        answer = _declared_upload_answer(server.port, 8 * MIB)
        assert answer.startswith(b"HTTP/1.1 507 "), answer[:200]
        assert b'"insufficient_storage"' in answer
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            # The refused uploads gave their room back: a create that fits is stored.
            assert create(client, SimSecret.make(512 * 1024)).status_code == 201
            assert _disk(server) <= QUOTA
            for secret in stored:
                reveal = client.post(
                    f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body()
                )
                assert (reveal.status_code, reveal.content) == (200, secret.blob)
