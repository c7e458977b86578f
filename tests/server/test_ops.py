"""Operational endpoints: health, readiness, Prometheus metrics, the OpenAPI document, and the
lifespan's background maintenance."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from ots_server.app import _maintain, create_app
from ots_server.metrics import Metrics
from ots_server.openapi import build_openapi
from ots_server.settings import Settings
from ots_server.store import Gone, NotFound, PurgeResult
from ots_server.store.memory.store import MemoryStore
from ots_server.store.sqlite.store import SQLiteStore

from .support import START, FakeClock, SimSecret, create, post

#: The pages that document HEAD (a link previewer fetches them).
LINK_PAGES = ("/s/{id}", "/r/{id}")


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_when_the_store_is_gone(tmp_path: Path, clock: FakeClock) -> None:
    store = SQLiteStore(tmp_path / "gone.sqlite3")
    with TestClient(create_app(Settings(data_dir=tmp_path), store, clock=clock)) as client:
        store.close_sync()
        response = client.get("/readyz")
        assert (response.status_code, response.json()["error"]) == (503, "unavailable")
        assert client.get("/healthz").status_code == 200
        secret = SimSecret.make()
        response = create(client, secret)
        assert (response.status_code, response.json()["error"]) == (503, "unavailable")


def test_metrics_count_by_template_and_never_hold_ids(client: TestClient) -> None:
    secret = SimSecret.make()
    create(client, secret)
    post(client, secret, "reveal", secret.reveal_body())
    post(client, secret, "reveal", secret.reveal_body())
    client.get(f"/s/{secret.sid}")
    response = client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.text
    assert secret.sid not in text
    assert (
        'ots_http_requests_total{route="/api/v1/secrets/{id}/reveal",method="POST",status="410"} 1'
        in text
    )
    assert 'ots_http_requests_total{route="/api/v1/secrets",method="POST",status="201"} 1' in text
    assert 'ots_events_total{event="revealed"} 1' in text
    assert 'ots_http_request_duration_seconds_count{route="/s/{id}"} 1' in text
    assert 'ots_http_request_duration_seconds_bucket{route="/s/{id}",le="+Inf"} 1' in text
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line


def test_openapi_is_served_and_covers_every_route(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert document == build_openapi()
    app_routes = {
        (route.path, method.lower())
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        for method in route.methods or ()
    }
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    # Starlette adds HEAD to every GET route; only the link pages document it.
    assert {(p, m) for p, m in app_routes if m != "head" or p in LINK_PAGES} == documented


@pytest.mark.anyio
async def test_maintenance_sweeps_in_the_background(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "maintained.sqlite3")
    secret = SimSecret.make()
    await store.create(secret.new_secret(START, ttl=60, grace=0))
    clock.advance(61)
    task = asyncio.create_task(_maintain(Settings(data_dir=tmp_path), store, clock, Metrics()))
    try:
        async with asyncio.timeout(5):
            while True:  # the first sweep starts at once; poll rather than sleep a fixed time
                try:
                    # Asked "as of START", a record that still existed would answer.
                    await store.peek(secret.id, secret.link_check, START)
                except NotFound:
                    break
                except Gone:
                    pass  # expired by the sweep, not yet purged
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await store.close()


@pytest.mark.anyio
async def test_maintenance_survives_store_failures(tmp_path: Path) -> None:
    calls = 0

    class Flaky(MemoryStore):
        async def purge_expired(self, now: int) -> PurgeResult:
            nonlocal calls
            calls += 1
            raise RuntimeError("transient")

    task = asyncio.create_task(
        _maintain(Settings(data_dir=tmp_path), Flaky(), FakeClock(), Metrics())
    )
    for _ in range(5):
        await asyncio.sleep(0)
    assert calls == 1
    assert not task.done()
    task.cancel()
