"""The floor (bench/floor.py) does what it claims, on both stores, with ots's request shapes.

Real components: the app in-process through Starlette's TestClient (lifespan included, so the
SQLite writer thread and the Redis scripts are the real ones), a real SQLite file, the
machine's Redis on 127.0.0.1:6379 (keys under ``floor:`` with random ids, deleted after).
The requests are ots's own: bench/pool.py seals a secret with ``ots_cli.core.crypto`` and
builds its create frame and reveal body, as the load does.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from bench import floor
from bench.pool import prebuild

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "redis"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    where = str(tmp_path / "floor.sqlite3") if request.param == "sqlite" else REDIS_URL
    monkeypatch.setenv("FLOOR_STORE", where)
    with TestClient(floor.app) as test_client:
        yield test_client
    if request.param == "redis":
        connection = redis.Redis.from_url(REDIS_URL)
        keys = list(connection.scan_iter(match=b"floor:*"))
        if keys:
            connection.delete(*keys)
        connection.close()


CREATE = {"Content-Type": "application/vnd.ots.secret"}


def test_create_peek_reveal_then_the_tombstone(client: TestClient) -> None:
    secret = prebuild()
    created = client.post("/api/v1/secrets", content=secret.create_frame, headers=CREATE)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == secret.id_text
    assert created.json()["views"] == 1

    path = f"/api/v1/secrets/{secret.id_text}"
    peeked = client.post(f"{path}/peek", content=secret.reveal_body)
    assert peeked.status_code == 200
    assert peeked.json()["size"] == len(secret.blob)
    assert peeked.json()["views_left"] == 1
    wrong = json.dumps({"proof": "A" * 43})
    assert client.post(f"{path}/reveal", content=wrong).status_code == 404

    revealed = client.post(f"{path}/reveal", content=secret.reveal_body)
    assert revealed.status_code == 200
    assert revealed.content == secret.blob
    assert revealed.headers["Ots-Views-Left"] == "0"

    again = client.post(f"{path}/reveal", content=secret.reveal_body)
    assert again.status_code == 410
    assert again.json()["state"] == "consumed"
    # Without the proof the tombstone is indistinguishable from nothing.
    assert client.post(f"{path}/reveal", content=wrong).status_code == 404
    # The id stays taken.
    repeat = client.post("/api/v1/secrets", content=secret.create_frame, headers=CREATE)
    assert repeat.status_code == 409


def test_views_count_down(client: TestClient) -> None:
    secret = prebuild()
    (length,) = struct.unpack_from(">I", secret.create_frame)
    meta = json.loads(secret.create_frame[4 : 4 + length])
    meta_bytes = json.dumps({**meta, "views": 2}).encode()
    frame = struct.pack(">I", len(meta_bytes)) + meta_bytes + secret.blob
    assert client.post("/api/v1/secrets", content=frame, headers=CREATE).status_code == 201
    path = f"/api/v1/secrets/{secret.id_text}/reveal"
    first = client.post(path, content=secret.reveal_body)
    assert (first.status_code, first.headers["Ots-Views-Left"]) == (200, "1")
    second = client.post(path, content=secret.reveal_body)
    assert (second.status_code, second.headers["Ots-Views-Left"]) == (200, "0")
    assert client.post(path, content=secret.reveal_body).status_code == 410


def test_malformed_requests_are_refused(client: TestClient) -> None:
    secret = prebuild()
    wrong_type = client.post("/api/v1/secrets", content=secret.create_frame)
    assert wrong_type.status_code == 415
    cut = client.post("/api/v1/secrets", content=secret.create_frame[:20], headers=CREATE)
    assert cut.status_code == 400
    bad_id = client.post("/api/v1/secrets/short/reveal", content=secret.reveal_body)
    assert bad_id.status_code == 400


def test_sqlite_commits_durably_in_groups(tmp_path: Path) -> None:
    database = tmp_path / "floor.sqlite3"
    secrets = [prebuild() for _ in range(40)]

    async def create_all() -> int:
        store = floor.SqliteStore(str(database))
        try:
            assert store.writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert store.writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            created = await asyncio.gather(
                *(
                    store.create(s.id, s.link_verifier, s.header_length, s.blob, 1, 2**40)
                    for s in secrets
                )
            )
            assert all(created)
            return store.commits
        finally:
            await store.close()

    commits = asyncio.run(create_all())
    # Forty writes queued at once share commits: the writer takes whatever is waiting.
    assert 1 <= commits < len(secrets)
    # Every create was committed: another connection sees all of them.
    with sqlite3.connect(database) as check:
        (count,) = check.execute("SELECT count(*) FROM secrets").fetchone()
    assert count == len(secrets)
