"""Per-client rate limiting: token buckets on keyed hashes, trusted proxies, 429 + Retry-After."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.ratelimit import MAX_BUCKETS, RateLimiter, client_address
from ots_server.settings import Settings
from ots_server.store.sqlite import SQLiteStore

from .support import FakeClock, SimSecret, assert_error

RECEIPT = {"receipt": "otsr_" + "A" * 43}


def _app(tmp_path: Path, store: SQLiteStore, clock: FakeClock, **overrides: Any) -> TestClient:
    settings = Settings(
        data_dir=tmp_path, rate_limit_per_minute=60, rate_limit_burst=3, **overrides
    )
    return TestClient(create_app(settings, store, clock=clock), client=("192.0.2.1", 1000))


def test_burst_then_429_with_retry_after_then_refill(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    with _app(tmp_path, sqlite_store, clock) as client:
        for _ in range(3):
            assert client.post("/api/v1/receipts/status", json=RECEIPT).status_code == 404
        limited = client.post("/api/v1/receipts/status", json=RECEIPT)
        body = assert_error(limited, 429, "rate_limited")
        assert limited.headers["retry-after"] == "1"
        assert body["retry_after"] == 1
        clock.advance(1)
        assert client.post("/api/v1/receipts/status", json=RECEIPT).status_code == 404
        assert client.post("/api/v1/receipts/status", json=RECEIPT).status_code == 429


def test_limit_applies_to_every_api_post_but_not_to_gets(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    secret = SimSecret.make()
    with _app(tmp_path, sqlite_store, clock) as client:
        for _ in range(3):
            client.post(f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body())
        for path in ("/api/v1/secrets", f"/api/v1/secrets/{secret.sid}/peek"):
            assert client.post(path, json={}).status_code == 429
        for path in ("/api/v1/limits", "/healthz", f"/s/{secret.sid}"):
            assert client.get(path).status_code == 200


def test_untrusted_forwarded_for_is_ignored(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    with _app(tmp_path, sqlite_store, clock) as client:
        answers = [
            client.post(
                "/api/v1/receipts/status",
                json=RECEIPT,
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(5)
        ]
    assert answers == [404, 404, 404, 429, 429]


def test_trusted_proxy_forwards_each_client_to_its_own_bucket(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    trusted = (ipaddress.ip_network("192.0.2.0/24"),)
    with _app(tmp_path, sqlite_store, clock, trusted_proxies=trusted) as client:
        answers = [
            client.post(
                "/api/v1/receipts/status",
                json=RECEIPT,
                headers={"X-Forwarded-For": f"203.0.113.{i % 2}"},
            ).status_code
            for i in range(8)
        ]
    assert answers == [404] * 6 + [429, 429]


def test_disabled_limit_never_answers_429(client: TestClient) -> None:
    for _ in range(50):
        assert client.post("/api/v1/receipts/status", json=RECEIPT).status_code == 404


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.5", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.5", ["198.51.100.1, 203.0.113.9"], "203.0.113.9"),
        ("10.0.0.5", ["203.0.113.9, 10.0.0.7"], "203.0.113.9"),  # a chain of trusted proxies
        ("10.0.0.5", ["203.0.113.9", "10.0.0.7"], "203.0.113.9"),  # repeated header
        ("10.0.0.5", ["not-an-ip"], "10.0.0.5"),
        ("10.0.0.5", [], "10.0.0.5"),
        ("192.0.2.1", ["203.0.113.9"], "192.0.2.1"),  # an untrusted peer
        ("10.0.0.5", ["::1"], "::1"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    scope = {
        "type": "http",
        "client": (peer, 1),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_address(scope, trusted) == expected
    assert client_address(scope, ()) == peer


def test_buckets_hold_keyed_hashes_and_stay_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    other = RateLimiter(per_minute=60, burst=2, clock=clock)
    assert limiter.key("203.0.113.9") != other.key("203.0.113.9")  # a per-process key
    assert len(limiter.key("203.0.113.9")) == 16
    for i in range(MAX_BUCKETS):
        limiter.take(f"a{i}")
    assert len(limiter) == MAX_BUCKETS
    clock.advance(1)  # everyone has refilled by one token: every bucket is full again
    limiter.take("newcomer")
    assert len(limiter) == 1
