"""Limits and hostile input: sizes enforced while streaming, ranges refused (never clamped),
malformed frames, JSON, base64 and headers answered with the one error shape and no store
change."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from ots_server.app import create_app
from ots_server.settings import DAY, Settings
from ots_server.store import NotFound
from ots_server.store.sqlite.store import SQLiteStore

from .support import (
    CREATE_TYPE,
    START,
    FakeClock,
    SimSecret,
    assert_error,
    b64,
    call_asgi,
    create,
    frame,
    post,
)


@pytest.fixture
def small(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[ASGIApp, SQLiteStore]]:
    store = SQLiteStore(tmp_path / "small.sqlite3")
    settings = Settings(data_dir=tmp_path, max_bytes=256 * 1024, rate_limit_per_minute=0)
    try:
        yield create_app(settings, store, clock=clock), store
    finally:
        store.close_sync()


async def _absent(store: SQLiteStore, secret: SimSecret) -> bool:
    try:
        await store.peek(secret.id, secret.link_check, START)
    except NotFound:
        return True
    return False


@pytest.mark.anyio
async def test_too_large_content_length_is_refused_before_reading(
    small: tuple[ASGIApp, SQLiteStore],
) -> None:
    app, store = small
    secret = SimSecret.make()
    headers = {"content-type": CREATE_TYPE, "content-length": str(10**9)}
    status, response_headers, body, pulled = await call_asgi(
        app, "/api/v1/secrets", headers, [secret.frame()]
    )
    assert (status, pulled) == (413, 0)
    assert response_headers["connection"] == "close"
    assert json.loads(body) == {
        "error": "too_large",
        "detail": "the secret is larger than this server accepts",
        "max_bytes": 256 * 1024,
    }
    assert await _absent(store, secret)


@pytest.mark.anyio
async def test_streamed_body_is_cut_off_at_the_limit(small: tuple[ASGIApp, SQLiteStore]) -> None:
    app, store = small
    secret = SimSecret.make()
    meta = json.dumps(secret.meta()).encode()
    chunks = [struct.pack(">I", len(meta)) + meta] + [os.urandom(64 * 1024) for _ in range(40)]
    status, headers, _, pulled = await call_asgi(
        app, "/api/v1/secrets", {"content-type": CREATE_TYPE}, chunks
    )
    assert status == 413
    assert headers["connection"] == "close"
    assert pulled == 1 + 5  # 4 chunks fit exactly in 256 KiB; the 5th crosses the limit
    assert await _absent(store, secret)


@pytest.mark.anyio
async def test_aborted_upload_leaves_nothing(small: tuple[ASGIApp, SQLiteStore]) -> None:
    app, store = small
    secret = SimSecret.make(1000)
    body = secret.frame()
    _, _, _, pulled = await call_asgi(
        app, "/api/v1/secrets", {"content-type": CREATE_TYPE}, [body[:-10]], complete=False
    )
    assert pulled == 1
    assert await _absent(store, secret)


def test_chunked_oversized_upload_is_413_and_stores_nothing(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_bytes=100_000), sqlite_store, clock=clock)
    secret = SimSecret.make(100_001)
    payload = secret.frame()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 10_000):
            yield payload[start : start + 10_000]

    with TestClient(app) as client:
        response = client.post(
            "/api/v1/secrets", content=chunks(), headers={"Content-Type": CREATE_TYPE}
        )
        assert_error(response, 413, "too_large")
        assert_error(post(client, secret, "peek", secret.proof_body()), 404, "not_found")


# -- ranges are refused, never clamped ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error", "bounds"),
    [
        ("ttl", 59, "invalid_ttl", (60, 7 * DAY)),
        ("ttl", 7 * DAY + 1, "invalid_ttl", (60, 7 * DAY)),
        ("ttl", 0, "invalid_ttl", (60, 7 * DAY)),
        ("ttl", -5, "invalid_ttl", (60, 7 * DAY)),
        ("ttl", 10**30, "invalid_ttl", (60, 7 * DAY)),
        ("views", 0, "invalid_views", (1, 100)),
        ("views", 101, "invalid_views", (1, 100)),
        ("attempts", 0, "invalid_attempts", (1, 10)),
        ("attempts", 11, "invalid_attempts", (1, 10)),
    ],
)
def test_out_of_range_is_422_and_stores_nothing(
    client: TestClient, field: str, value: int, error: str, bounds: tuple[int, int]
) -> None:
    secret = SimSecret.make(passphrase=True)
    body = assert_error(create(client, secret, **{field: value}), 422, error)
    assert (body["min"], body["max"]) == bounds
    assert_error(post(client, secret, "peek", secret.proof_body()), 404, "not_found")


def test_range_edges_are_accepted(client: TestClient) -> None:
    for meta in ({"ttl": 60}, {"ttl": 7 * DAY}, {"views": 100}, {"attempts": 1}, {"attempts": 10}):
        secret = SimSecret.make(passphrase=True)
        response = create(client, secret, **meta)
        assert response.status_code == 201, meta
        key, value = next(iter(meta.items()))
        created = response.json()
        got = created["expires_at"] - created["created_at"] if key == "ttl" else created[key]
        assert got == value


# -- malformed frames, meta and JSON -------------------------------------------------------------

_SECRET = SimSecret.make()
_META = json.dumps(_SECRET.meta()).encode()


def _bad_frames() -> list[tuple[str, bytes]]:
    def meta(**overrides: Any) -> bytes:
        return frame(json.dumps(_SECRET.meta(**overrides)).encode(), _SECRET.blob)

    return [
        ("empty", b""),
        ("short prefix", b"\x00\x00\x01"),
        ("meta length 0", struct.pack(">I", 0) + _META + _SECRET.blob),
        ("meta length too big", struct.pack(">I", 4097) + b"{" * 4097 + _SECRET.blob),
        ("truncated meta", struct.pack(">I", len(_META) + 50) + _META),
        ("no blob", frame(_META, b"")),
        ("blob shorter than header", frame(_META, b"1234567")),
        ("not json", frame(b"not json", _SECRET.blob)),
        ("json array", frame(b"[1, 2]", _SECRET.blob)),
        ("not utf-8", frame(b'{"id": "\xff"}', _SECRET.blob)),
        ("duplicate key", frame(_META[:-1] + b', "views": 1, "views": 2}', _SECRET.blob)),
        ("NaN", frame(_META[:-1] + b', "ttl": NaN}', _SECRET.blob)),
        ("unknown field", meta(extra=1)),
        ("missing id", meta(id=...)),
        ("missing link_verifier", meta(link_verifier=...)),
        ("missing header_length", meta(header_length=...)),
        ("padded id", meta(id=_SECRET.sid + "==")),
        ("short id", meta(id=b64(os.urandom(15)))),
        ("non-canonical id", meta(id=_SECRET.sid[:-1] + "B")),
        ("standard base64 id", meta(id="+" * 21 + "A")),
        ("id as bytes list", meta(id=list(_SECRET.id))),
        ("short verifier", meta(link_verifier=b64(os.urandom(31)))),
        ("non-canonical verifier", meta(link_verifier=b64(_SECRET.link_check)[:-1] + "B")),
        ("header_length 0", meta(header_length=0)),
        ("header_length 1025", meta(header_length=1025)),
        ("header_length string", meta(header_length="8")),
        ("ttl string", meta(ttl="3600")),
        ("ttl float", meta(ttl=3600.0)),
        ("ttl bool", meta(ttl=True)),
        ("views bool", meta(views=True)),
        ("attempts without passphrase", meta(attempts=3)),
    ]


@pytest.mark.parametrize(("name", "body"), _bad_frames(), ids=[n for n, _ in _bad_frames()])
def test_malformed_frames_are_400(client: TestClient, name: str, body: bytes) -> None:
    response = client.post("/api/v1/secrets", content=body, headers={"Content-Type": CREATE_TYPE})
    assert_error(response, 400, "bad_request")
    assert_error(post(client, _SECRET, "peek", _SECRET.proof_body()), 404, "not_found")


@pytest.mark.parametrize(
    "content_type",
    ["", "application/json", "application/octet-stream", f"{CREATE_TYPE}; charset=utf-8"],
)
def test_create_needs_its_media_type(client: TestClient, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/v1/secrets", content=_SECRET.frame(), headers=headers)
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'"proof"',
        b"{}",
        b'{"proof": null}',
        b'{"proof": 12}',
        b'{"proof": "short"}',
        json.dumps({"proof": b64(os.urandom(32)), "extra": 1}).encode(),
        json.dumps({"proof": b64(os.urandom(32)) + "="}).encode(),
        json.dumps({"proof": b64(os.urandom(33))}).encode(),
        b'{"proof": "x", "proof": "y"}',
    ],
)
def test_malformed_json_bodies_are_400(client: TestClient, body: bytes) -> None:
    secret = SimSecret.make()
    create(client, secret)
    for action in ("peek", "reveal", "burn"):
        response = client.post(
            f"/api/v1/secrets/{secret.sid}/{action}",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 400, "bad_request")
    assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob


def test_malformed_passphrase_proof_is_400_and_spends_nothing(client: TestClient) -> None:
    secret = SimSecret.make(passphrase=True)
    create(client, secret, attempts=2)
    body = {**secret.proof_body(), "passphrase_proof": "not base64url!"}
    assert_error(post(client, secret, "reveal", body), 400, "bad_request")
    assert post(client, secret, "peek", secret.proof_body()).json()["attempts_left"] == 2


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=latin-1", ""])
def test_json_endpoints_need_json(client: TestClient, content_type: str) -> None:
    secret = SimSecret.make()
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(secret.proof_body()).encode()
    for path in (f"/api/v1/secrets/{secret.sid}/peek", "/api/v1/receipts/status"):
        response = client.post(path, content=body, headers=headers)
        assert_error(response, 415, "unsupported_media_type")


def test_oversized_json_body_is_413(client: TestClient) -> None:
    secret = SimSecret.make()
    body = json.dumps({"proof": "A" * 5000}).encode()
    response = client.post(
        f"/api/v1/secrets/{secret.sid}/peek",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413, "too_large")


@pytest.mark.parametrize(
    "receipt", ["", "otsr_", "otsr_" + "A" * 42, "OTSR_" + b64(os.urandom(32)), b64(os.urandom(32))]
)
def test_malformed_receipts_are_400(client: TestClient, receipt: str) -> None:
    for action in ("status", "burn"):
        response = client.post(f"/api/v1/receipts/{action}", json={"receipt": receipt})
        assert_error(response, 400, "bad_request")


def test_wrong_methods_are_405_with_allow(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/secrets"),
        ("GET", f"/api/v1/secrets/{_SECRET.sid}/reveal"),
        ("DELETE", f"/api/v1/secrets/{_SECRET.sid}/burn"),
        ("POST", "/api/v1/limits"),
        ("POST", f"/s/{_SECRET.sid}"),
    ]:
        response = client.request(method, path)
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"]


def test_unknown_paths_are_404_without_redirect(client: TestClient) -> None:
    # "/" is the create page (docs/web.md); "/index.html" and "/receipt/" are not pages.
    for path in ("/index.html", "/receipt/", "/api/v1/secrets/", f"/s/{_SECRET.sid}/",
                 "/api/v2/limits"):  # fmt: skip
        response = client.get(path, follow_redirects=False)
        assert_error(response, 404, "not_found")
        assert "location" not in response.headers
