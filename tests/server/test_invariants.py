"""Two invariants of issue 3 that need a test of their own.

- ``GET``/``HEAD``/``OPTIONS /s/{id}`` (and ``/r/{id}``, a request's page) answer a fixed page
  without touching the store at all (not merely without changing it).
- No blocking database call runs on the event loop: while another connection holds SQLite's
  write lock, a create waits in the store's writer thread, and the server keeps answering
  other requests at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store import Store
from ots_server.store.sqlite.store import SQLiteStore

from .support import FakeClock, SimSecret


class _CountingStore:
    """A real store that records every attribute looked up on it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


def test_the_link_page_never_touches_the_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        counting = _CountingStore(store)
        settings = Settings(data_dir=tmp_path, rate_limit_per_minute=0)
        app = create_app(settings, counting)
        counting.calls.clear()  # building the app may look for a shared rate limiter
        client = TestClient(app)  # no lifespan: no background sweep or checkpoint to count
        sid = SimSecret.make().sid
        for method in ("GET", "HEAD", "OPTIONS"):
            for _ in range(20):
                for page in ("s", "r"):
                    response = client.request(method, f"/{page}/{sid}")
                    assert response.status_code in (200, 204)
        assert counting.calls == []
    finally:
        store.close_sync()


def test_a_create_waiting_for_the_write_lock_does_not_block_the_event_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store = SQLiteStore(path, busy_timeout=5.0)
    app = create_app(Settings(data_dir=tmp_path, rate_limit_per_minute=0), store, clock=FakeClock())
    # Another process's writer, as far as SQLite can tell: it holds the write lock.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    secret = SimSecret.make()

    async def scenario() -> tuple[list[float], int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            create = asyncio.create_task(
                client.post(
                    "/api/v1/secrets",
                    content=secret.frame(),
                    headers={"Content-Type": "application/vnd.ots.secret"},
                )
            )
            await asyncio.sleep(0.2)  # the create is now waiting for the write lock
            assert not create.done()
            latencies = []
            for _ in range(10):
                started = time.perf_counter()
                health = await client.get("/healthz")
                latencies.append(time.perf_counter() - started)
                assert health.status_code == 200
            holder.execute("ROLLBACK")  # let the create through
            response = await asyncio.wait_for(create, timeout=10)
            return latencies, response.status_code

    try:
        latencies, status = asyncio.run(scenario())
    finally:
        holder.close()
        store.close_sync()
    assert status == 201
    # Had the create's sqlite3 call run on the event loop, every health check would have
    # waited for the lock (seconds); on the writer thread they answer in milliseconds.
    assert max(latencies) < 0.5, latencies
