"""The per-request shortcuts of issue 18 (docs/request-path.md) give exactly what the long way
gave: receipt bytes, rate-limit subjects, metrics buckets, base64url."""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any

import pytest

from ots_server import codec
from ots_server.codec import RandomPool
from ots_server.metrics import BUCKETS, Metrics
from ots_server.middleware.ratelimit import SUBJECT, client_address, limit_subject, subject


def test_the_pool_hands_out_each_byte_once_and_keeps_none_it_handed_out() -> None:
    pool = RandomPool(64)
    taken = [pool.take(32) for _ in range(2)]
    assert len(set(taken)) == 2
    assert bytes(pool._pool) == bytes(64)  # both handed out: nothing left but zeros
    third = pool.take(32)  # a fresh draw
    assert third not in taken
    assert len(third) == 32
    assert bytes(pool._pool[:32]) == bytes(32)
    assert len(pool.take(100)) == 100  # more than the pool size at once


def test_a_forked_child_draws_its_own_bytes() -> None:
    pool = RandomPool(4096)
    pool.take(32)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it would hand out next
        os.write(write, pool.take(32))
        os._exit(0)
    os.close(write)
    child = os.read(read, 32)
    os.close(read)
    os.waitpid(pid, 0)
    assert child != pool.take(32)


def test_receipts_are_fresh_and_hash_as_before() -> None:
    receipts = [codec.new_receipt() for _ in range(300)]  # past one pool's worth
    assert len({token for token, _ in receipts}) == 300
    for token, hashed in receipts[:3]:
        assert codec.receipt_hash({"receipt": token}) == hashed


def _scope(host: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "client": (host, 1), "headers": headers or []}


@pytest.mark.parametrize(
    "host",
    ["192.0.2.1", "0.0.0.0", "255.255.255.255", "::ffff:192.0.2.1", "2001:db8::1", " 192.0.2.1"],
)
def test_the_subject_is_what_the_general_path_gives(host: str) -> None:
    expected = subject(client_address(_scope(host), ()), 64)
    scope = _scope(host)
    assert limit_subject(scope, (), 64) == expected
    assert scope[SUBJECT] == expected
    assert limit_subject(scope, (), 64) == expected  # the second time, from the scope


def test_metrics_buckets_are_cumulative_with_inclusive_bounds() -> None:
    metrics = Metrics()
    for seconds in (0.0005, 0.001, 0.0011, 0.3, 11.0):
        metrics.observe_request("/r", "POST", 200, seconds)
    text = metrics.render()
    counts = {
        bound: int(count)
        for bound, count in re.findall(r'_bucket\{route="/r",le="([^"]+)"\} (\d+)', text)
    }
    expected = {"0.001": 2, "0.0025": 3, "0.25": 3, "0.5": 4, str(BUCKETS[-1]): 4, "+Inf": 5}
    assert {bound: counts[bound] for bound in expected} == expected
    assert 'ots_http_request_duration_seconds_count{route="/r"} 5' in text


def _reference(text: str, size: int) -> bytes | None:
    if len(text) != (size * 4 + 2) // 3 or re.fullmatch(r"[A-Za-z0-9_-]*", text) is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    encoded = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return raw if len(raw) == size and encoded == text else None


def test_base64url_is_the_strict_codec_it_was() -> None:
    for size in (1, 2, 3, 16, 32):
        for _ in range(200):
            raw = os.urandom(size)
            text = codec.b64encode(raw)
            assert text == base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
            assert codec.b64decode(text, size) == raw
            for bad in (text[:-1] + "=", text + "A", text[:-1] + "+", text[:-1] + "/"):
                assert codec.b64decode(bad, size) == _reference(bad, size) is None
            # Non-zero trailing bits (non-canonical) are refused, like the reference.
            for last in "BCDEFGHIJKLMNOPQRSTUVWXYZabcdef":
                variant = text[:-1] + last
                assert codec.b64decode(variant, size) == _reference(variant, size)
