"""Create uploads under pressure: a per-process cap on creates in flight (503 with Retry-After
before the body is read), a deadline for the whole body (408, nothing stored), the blob handed
to the store without a copy, and the store quota (507)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store import NewSecret, NotFound, Store
from ots_server.store.sqlite.store import SQLiteStore

from .support import (
    CREATE_TYPE,
    EMPTY_DATABASE_GROWTH,
    START,
    FakeClock,
    SimSecret,
    assert_error,
    call_asgi,
    create,
    frame_prefix,
    post,
)

CREATE_HEADERS = {"content-type": CREATE_TYPE}


async def _absent(store: Store, secret: SimSecret) -> bool:
    try:
        await store.peek(secret.id, secret.link_check, START)
    except NotFound:
        return True
    return False


@pytest.fixture
def capped(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[ASGIApp, SQLiteStore]]:
    store = SQLiteStore(tmp_path / "capped.sqlite3")
    settings = Settings(
        data_dir=tmp_path, rate_limit_per_minute=0, max_concurrent_uploads=2, upload_timeout=1
    )
    try:
        yield create_app(settings, store, clock=clock), store
    finally:
        store.close_sync()


def _metric(app: ASGIApp, event: str) -> int:
    text: str = app.state.metrics.render()  # type: ignore[attr-defined]
    for line in text.splitlines():
        if line.startswith(f'ots_events_total{{event="{event}"}} '):
            return int(line.rsplit(" ", 1)[1])
    return 0


@pytest.mark.anyio
async def test_creates_over_the_cap_get_503_before_their_body_is_read(
    capped: tuple[ASGIApp, SQLiteStore],
) -> None:
    app, store = capped
    slow = [SimSecret.make(1000) for _ in range(2)]
    release = anyio.Event()
    answers: list[tuple[int, dict[str, str], bytes, int]] = []

    async def slow_upload(secret: SimSecret) -> None:
        chunks: list[bytes | anyio.Event] = [frame_prefix(secret), release, secret.blob]
        answers.append(await call_asgi(app, "/api/v1/secrets", CREATE_HEADERS, chunks))

    async with anyio.create_task_group() as group:
        for secret in slow:
            group.start_soon(slow_upload, secret)
        await anyio.wait_all_tasks_blocked()  # both uploads hold a slot, stalled mid-body
        extra = SimSecret.make()
        status, headers, body, pulled = await call_asgi(
            app, "/api/v1/secrets", CREATE_HEADERS, [extra.frame()]
        )
        assert (status, pulled) == (503, 0)
        assert headers["retry-after"] == "1"
        assert headers["connection"] == "close"
        assert json.loads(body)["error"] == "unavailable"
        assert _metric(app, "upload_refused") == 1
        release.set()
    assert sorted(answer[0] for answer in answers) == [201, 201]
    assert await _absent(store, extra)
    # Both slots are free again.
    status, _, _, _ = await call_asgi(app, "/api/v1/secrets", CREATE_HEADERS, [extra.frame()])
    assert status == 201


@pytest.mark.anyio
async def test_failed_uploads_give_their_slot_back(capped: tuple[ASGIApp, SQLiteStore]) -> None:
    app, _ = capped
    secret = SimSecret.make()
    for chunks in ([b"\x00\x00"], [secret.frame(ttl=1)], [secret.frame()[:-3]]):
        status, _, _, _ = await call_asgi(
            app, "/api/v1/secrets", CREATE_HEADERS, list(chunks), complete=False
        )
        assert status in {400, 422}
    status, _, _, _ = await call_asgi(app, "/api/v1/secrets", CREATE_HEADERS, [b"x"], complete=True)
    assert status == 400
    for _ in range(3):  # 409s on the store path too
        await call_asgi(app, "/api/v1/secrets", CREATE_HEADERS, [secret.frame()])
    fresh = [SimSecret.make() for _ in range(2)]
    for other in fresh:
        status, _, _, _ = await call_asgi(app, "/api/v1/secrets", CREATE_HEADERS, [other.frame()])
        assert status == 201


@pytest.mark.anyio
async def test_a_body_slower_than_the_upload_timeout_gets_408_and_nothing_is_stored(
    capped: tuple[ASGIApp, SQLiteStore],
) -> None:
    app, store = capped
    secret = SimSecret.make(1000)
    never = anyio.Event()
    started = time.monotonic()
    with anyio.fail_after(10):  # the old server waited for the body forever
        status, headers, body, pulled = await call_asgi(
            app, "/api/v1/secrets", CREATE_HEADERS, [frame_prefix(secret), secret.blob[:10], never]
        )
    assert 1.0 <= time.monotonic() - started < 5
    assert (status, pulled) == (408, 2)
    assert headers["connection"] == "close"
    assert json.loads(body) == {
        "error": "timeout",
        "detail": "the request body did not arrive in time",
    }
    assert await _absent(store, secret)
    assert _metric(app, "upload_timeout") == 1
    # The slot was freed: two creates fit again.
    for other in (SimSecret.make(), SimSecret.make()):
        status, _, _, _ = await call_asgi(app, "/api/v1/secrets", CREATE_HEADERS, [other.frame()])
        assert status == 201


@pytest.mark.anyio
async def test_slow_json_bodies_get_408_too(capped: tuple[ASGIApp, SQLiteStore]) -> None:
    app, store = capped
    secret = SimSecret.make()
    await store.create(secret.new_secret(START))
    body = json.dumps(secret.reveal_body()).encode()
    with anyio.fail_after(10):
        status, headers, _, _ = await call_asgi(
            app,
            f"/api/v1/secrets/{secret.sid}/reveal",
            {"content-type": "application/json"},
            [body[:5], anyio.Event()],
        )
    assert status == 408
    assert headers["connection"] == "close"
    assert (await store.peek(secret.id, secret.link_check, START)).views_left == 1


class _Recording:
    """A real store that remembers what create was handed."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.blobs: list[object] = []

    async def create(self, secret: NewSecret) -> None:
        self.blobs.append(secret.blob)
        await self.inner.create(secret)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_store_gets_the_upload_buffer_itself(
    settings: Settings, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    recording = _Recording(sqlite_store)
    secret = SimSecret.make(200_000)
    with TestClient(create_app(settings, recording, clock=clock)) as client:
        assert create(client, secret).status_code == 201
        assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob
    # The buffer the body was read into, not a bytes() copy of it.
    assert [type(blob) for blob in recording.blobs] == [bytearray]


def test_store_quota_answers_507_and_stores_nothing(tmp_path: Path, clock: FakeClock) -> None:
    store = SQLiteStore(tmp_path / "quota.sqlite3", max_store_bytes=400_000 + EMPTY_DATABASE_GROWTH)
    settings = Settings(data_dir=tmp_path, rate_limit_per_minute=0)
    try:
        with TestClient(create_app(settings, store, clock=clock)) as client:
            first, second = SimSecret.make(200_000), SimSecret.make(200_000)
            assert create(client, first).status_code == 201
            assert_error(create(client, second), 507, "insufficient_storage")
            assert_error(post(client, second, "peek", second.proof_body()), 404, "not_found")
            # Reading frees the space again.
            assert post(client, first, "reveal", first.reveal_body()).content == first.blob
            assert create(client, second).status_code == 201
    finally:
        store.close_sync()
