"""Several workers answer as fast as one.

uvicorn's shared socket for ``--workers N`` is created with protocol 0, so without the fix in
``ots_server.cli`` asyncio never sets ``TCP_NODELAY`` and every response on a keep-alive
connection waits ~40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest
from processes import ServerProcess


@pytest.mark.slow
def test_two_workers_answer_keep_alive_requests_without_a_delayed_ack_stall(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "store.sqlite3", tmp_path / "server.log", workers=2)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=5) as client:
            for _ in range(5):
                client.get("/healthz")
            times = []
            for _ in range(30):
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                times.append(time.perf_counter() - started)
    finally:
        server.stop()
    # With the stall every request takes ~40 ms; without it well under a millisecond here.
    assert statistics.median(times) < 0.015, times
