"""Per-client rate limiting: token buckets on keyed hashes, trusted proxies, 429 + Retry-After."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.middleware.ratelimit import (
    MAX_BUCKETS,
    RateLimiter,
    client_address,
    parse_address,
    subject,
)
from ots_server.settings import Settings
from ots_server.store.sqlite.store import SQLiteStore

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


def test_a_batch_of_receipts_counts_as_one_request(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    batch = {"receipts": [RECEIPT["receipt"]] * 100}
    with _app(tmp_path, sqlite_store, clock) as client:
        for _ in range(3):  # the burst: 3 requests, 300 receipts
            assert client.post("/api/v1/receipts/status/batch", json=batch).status_code == 200
        limited = client.post("/api/v1/receipts/status/batch", json=batch)
        assert_error(limited, 429, "rate_limited")


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
        ("10.0.0.5", ["::ffff:203.0.113.9"], "203.0.113.9"),  # mapped: the IPv4 address
    ],
)
def test_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    scope = {
        "type": "http",
        "client": (peer, 1),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    assert str(client_address(scope, trusted)) == expected
    assert str(client_address(scope, ())) == peer
    # A dual-stack listener reports the same peer IPv4-mapped; it is still a trusted proxy.
    mapped = {**scope, "client": (f"::ffff:{peer}", 1)}
    assert str(client_address(mapped, trusted)) == expected


@pytest.mark.parametrize(
    ("address", "prefix", "expected"),
    [
        ("203.0.113.9", 64, "203.0.113.9"),
        ("::ffff:203.0.113.9", 64, "203.0.113.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2ff::1", 56, "2001:db8:1:200::/56"),
        ("2001:db8::1", 128, "2001:db8::1/128"),
        ("not an address", 64, ""),
    ],
)
def test_subject_keys_ipv6_by_prefix_and_mapped_as_ipv4(
    address: str, prefix: int, expected: str
) -> None:
    assert subject(parse_address(address), prefix) == expected


def _forwarded_statuses(client: TestClient, addresses: list[str]) -> list[int]:
    return [
        client.post(
            "/api/v1/receipts/status", json=RECEIPT, headers={"X-Forwarded-For": address}
        ).status_code
        for address in addresses
    ]


def test_one_ipv6_subscriber_cannot_rotate_addresses_in_its_64(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    """Before keying by prefix, each of the 2**64 addresses of a /64 had its own bucket."""
    trusted = (ipaddress.ip_network("192.0.2.0/24"),)
    rotating = [f"2001:db8:0:1::{i:x}" for i in range(1, 6)]
    with _app(tmp_path, sqlite_store, clock, trusted_proxies=trusted) as client:
        assert _forwarded_statuses(client, rotating) == [404, 404, 404, 429, 429]
        # A neighbour in another /64 and an IPv4 client keep their own buckets.
        assert _forwarded_statuses(client, ["2001:db8:0:2::1", "203.0.113.9"]) == [404, 404]
        # The IPv4 client reached over a dual-stack hop is the same client.
        mapped = ["::ffff:203.0.113.9", "203.0.113.9", "::ffff:203.0.113.9"]
        assert _forwarded_statuses(client, mapped) == [404, 404, 429]


def test_ipv6_prefix_is_configurable(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    trusted = (ipaddress.ip_network("192.0.2.0/24"),)
    per_address = [f"2001:db8:0:1::{i:x}" for i in range(1, 6)]
    with _app(
        tmp_path, sqlite_store, clock, trusted_proxies=trusted, rate_limit_ipv6_prefix=128
    ) as client:
        assert _forwarded_statuses(client, per_address) == [404] * 5
    whole_48 = [f"2001:db8:0:{i:x}::1" for i in range(1, 6)]
    with _app(
        tmp_path, sqlite_store, clock, trusted_proxies=trusted, rate_limit_ipv6_prefix=48
    ) as client:
        assert _forwarded_statuses(client, whole_48) == [404, 404, 404, 429, 429]


def test_buckets_hold_keyed_hashes() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    other = RateLimiter(per_minute=60, burst=2, clock=clock)
    assert limiter.key("203.0.113.9") != other.key("203.0.113.9")  # a per-process key
    assert len(limiter.key("203.0.113.9")) == 16
    assert limiter.max_buckets == MAX_BUCKETS


def test_a_flood_of_new_clients_never_resets_an_exhausted_one() -> None:
    """The old limiter cleared every bucket when it had too many: a flood was a reset."""
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock, max_buckets=50)
    assert [limiter.take("victim") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("victim") > 0
    flood = [limiter.take(f"flood-{i}") for i in range(500)]
    assert len(limiter) == 50  # bounded
    assert flood[:49] == [0.0] * 49  # room for 49 more clients of their own
    assert flood[49:51] == [0.0, 0.0]  # then newcomers share one overflow bucket
    assert all(wait > 0 for wait in flood[51:])
    assert limiter.take("victim") > 0  # still limited: nobody was reset
    clock.advance(0.5)
    assert limiter.take("victim") > 0


def test_refilled_buckets_are_dropped_and_make_room_again() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock, max_buckets=50)
    for i in range(50):
        limiter.take(f"client-{i}")
    assert len(limiter) == 50
    clock.advance(1)  # every bucket has its token back: full buckets are the same as none
    assert limiter.take("newcomer") == 0.0
    assert len(limiter) == 1
    assert [limiter.take("newcomer") for _ in range(2)][-1] > 0  # its own bucket, not overflow


def test_a_drained_bucket_is_kept_while_it_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock, max_buckets=10)
    for _ in range(3):
        limiter.take("drained")
    clock.advance(2)  # two tokens back, not three: the bucket must survive pruning
    for i in range(9):
        limiter.take(f"other-{i}")
    assert [limiter.take("drained") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
