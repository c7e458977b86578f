"""The app on the Redis store, in process, against the machine's Redis (each test with its own
key prefix): the HTTP contract, rate limits shared between instances under keyed hashes,
TTLs on every key, Redis's own expiry, and fast 503s when Redis cannot be reached."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from processes import free_port
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.cli import main
from ots_server.settings import Settings
from ots_server.store import Gone, NotFound
from ots_server.store.redis.store import RedisStore

from .redis_support import (
    delete_prefix,
    keys_with_ttls,
    machine_client,
    machine_url,
    unique_prefix,
)
from .support import START, FakeClock, SimSecret, assert_error, create, create_as, post

CLIENT = ("192.0.2.1", 1000)
RECEIPT = {"receipt": "otsr_" + "A" * 43}


@pytest.fixture
def prefix(machine_redis: None) -> Iterator[str]:
    chosen = unique_prefix("app")
    try:
        yield chosen
    finally:
        with machine_client() as client:
            delete_prefix(client, chosen)


def _client(url: str, clock: FakeClock, **overrides: Any) -> TestClient:
    settings = Settings(**{"store_url": url, "rate_limit_per_minute": 0, **overrides})
    store = RedisStore.from_url(url)
    app = create_app(settings, store, clock=clock, owns_store=True)
    return TestClient(app, base_url="http://ots.test", client=CLIENT)


def test_the_api_works_on_redis(prefix: str, clock: FakeClock) -> None:
    secret = SimSecret.make(70_000, passphrase=True)
    with _client(machine_url(prefix), clock) as client:
        created = create(client, secret, views=2)
        assert created.status_code == 201, created.text
        receipt = created.json()["receipt"]
        assert post(client, secret, "peek", secret.proof_body()).json()["views_left"] == 2
        wrong = post(client, secret, "reveal", secret.reveal_body(passphrase_proof=b"\0" * 32))
        assert assert_error(wrong, 403, "wrong_passphrase")["attempts_left"] == 4
        first = post(client, secret, "reveal", secret.reveal_body())
        assert (first.status_code, first.content) == (200, secret.blob)
        assert first.headers["ots-views-left"] == "1"
        clock.advance(5)
        assert post(client, secret, "reveal", secret.reveal_body()).status_code == 200
        gone = assert_error(post(client, secret, "reveal", secret.reveal_body()), 410, "gone")
        assert (gone["state"], gone["at"]) == ("consumed", START + 5)
        status = client.post("/api/v1/receipts/status", json={"receipt": receipt}).json()
        assert (status["state"], status["read_at"]) == ("read", START + 5)
        assert create(client, secret).status_code == 409
        assert client.get("/readyz").json() == {"status": "ready"}
        metrics = client.get("/metrics").text
    assert 'event="checkpoint' not in metrics  # no WAL, no checkpoints with Redis


def _rate_limited(url: str, clock: FakeClock, key: str | None = None) -> TestClient:
    return _client(url, clock, rate_limit_per_minute=60, rate_limit_burst=3, rate_limit_key=key)


@pytest.mark.parametrize("key", [None, "a-shared-secret-of-the-operator-0123456789"])
def test_rate_limits_are_shared_between_instances(
    prefix: str, clock: FakeClock, key: str | None
) -> None:
    url = machine_url(prefix)
    with _rate_limited(url, clock, key) as one, _rate_limited(url, clock, key) as two:
        statuses = [
            (one if i % 2 else two).post("/api/v1/receipts/status", json=RECEIPT).status_code
            for i in range(6)
        ]
        assert statuses == [404, 404, 404, 429, 429, 429]
        clock.advance(1)
        assert one.post("/api/v1/receipts/status", json=RECEIPT).status_code == 404
        limited = two.post("/api/v1/receipts/status", json=RECEIPT)
        assert assert_error(limited, 429, "rate_limited")["retry_after"] == 1
        assert limited.headers["retry-after"] == "1"
    with machine_client() as redis:
        keys = keys_with_ttls(redis, prefix)
    buckets = {k: ttl for k, ttl in keys.items() if k.startswith(f"{prefix}:l:".encode())}
    assert len(buckets) == 1
    assert all(1 <= ttl <= 3 for ttl in buckets.values())  # until the bucket is full again
    address = CLIENT[0].encode()
    for name in keys:
        assert address not in name
        assert hashlib.sha256(address).hexdigest()[:16].encode() not in name
    shared_key = f"{prefix}:l-key".encode()
    if key is None:
        assert 0 < keys[shared_key] <= 24 * 3600
    else:
        assert shared_key not in keys  # the operator's key never goes to Redis


@pytest.mark.anyio
async def test_every_key_has_a_ttl_and_ended_secrets_leave_only_their_records(
    prefix: str,
) -> None:
    store = RedisStore.from_url(machine_url(prefix))
    now = START
    ttl, grace = 3600, 600
    secrets = [SimSecret.make(500, passphrase=i % 3 == 0) for i in range(12)]
    receipts = [os.urandom(32) for _ in secrets]
    try:
        for secret, receipt in zip(secrets, receipts, strict=True):
            new = secret.new_secret(now, ttl=ttl, grace=grace, views=2, receipt_hash=receipt)
            await store.create(new)
        limiter = store.rate_limiter(60, 5, lambda: float(now), key=None)
        await limiter.acquire("192.0.2.7")
        for i, secret in enumerate(secrets):
            check = secret.passphrase_check
            if i % 4 == 0:
                await store.reveal(secret.id, secret.link_check, check, now)  # one view left
            elif i % 4 == 1:
                await store.burn(secret.id, secret.link_check, now)
            elif i % 4 == 2:
                await store.burn_by_receipt(receipts[i], now)
            await store.peek(secrets[-1].id, secrets[-1].link_check, now)
        with machine_client() as redis:
            keys = keys_with_ttls(redis, prefix)
        assert len(keys) >= 2 * len(secrets)
        assert all(ttl > 0 for ttl in keys.values()), keys  # -1 would mean "never expires"

        # End every secret: read the views left (secret 3 is left to expire), then sweep.
        for i, secret in enumerate(secrets):
            reads = 0 if i == 3 else {0: 1, 3: 2}.get(i % 4, 0)
            for _ in range(reads):
                await store.reveal(secret.id, secret.link_check, secret.passphrase_check, now)
        assert (await store.purge_expired(now + ttl)).expired == 1
        with machine_client() as redis:
            keys = keys_with_ttls(redis, prefix)
        kinds = {name[len(prefix) + 1 : len(prefix) + 3] for name in keys}
        assert kinds == {b"r:", b"x:", b"l:", b"l-"}  # no ciphertext (b:) left
        for name, left in keys.items():
            if not name.startswith(f"{prefix}:l".encode()):
                # Records and receipts go at keep_until, counted from their creation.
                assert ttl + grace - 60 <= left <= ttl + grace, (name, left)
        for secret in secrets:
            with pytest.raises(Gone):
                await store.peek(secret.id, secret.link_check, now + ttl)
    finally:
        await store.close()


@pytest.mark.anyio
async def test_redis_expires_the_keys_itself_on_schedule(prefix: str) -> None:
    store = RedisStore.from_url(machine_url(prefix))
    secret = SimSecret.make()
    now = int(time.time())
    blob_key, record_key = f"{prefix}:b:{{{secret.sid}}}", f"{prefix}:r:{{{secret.sid}}}"
    try:
        await store.create(secret.new_secret(now, ttl=1, grace=1))
        with machine_client() as redis:
            deadline = time.monotonic() + 5
            while redis.exists(blob_key) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not redis.exists(blob_key)
            assert redis.exists(record_key)  # the tombstone outlives the ciphertext
            with pytest.raises(Gone) as gone:
                await store.reveal(secret.id, secret.link_check, None, int(time.time()))
            assert gone.value.state == "expired"
            while redis.exists(record_key) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not redis.exists(record_key)
        with pytest.raises(NotFound):
            await store.peek(secret.id, secret.link_check, int(time.time()))
    finally:
        await store.close()


def test_an_unreachable_redis_gets_fast_503s(clock: FakeClock) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0?prefix=nobody&connect_timeout=0.5"
    secret = SimSecret.make()
    with _rate_limited(url, clock) as client:
        started = time.monotonic()
        assert_error(client.get("/readyz"), 503, "unavailable")
        assert_error(create(client, secret), 503, "unavailable")  # from the shared limiter
        assert_error(post(client, secret, "reveal", secret.reveal_body()), 503, "unavailable")
        assert time.monotonic() - started < 3
        assert client.get("/healthz").status_code == 200
    with _client(url, clock) as client:  # no limiter: the store itself answers 503
        assert_error(create(client, secret), 503, "unavailable")
        assert_error(client.post("/api/v1/receipts/burn", json=RECEIPT), 503, "unavailable")


def test_accounts_work_on_redis(
    prefix: str,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = machine_url(prefix)
    monkeypatch.setenv("OTS_STORE_URL", url)

    def operator(*argv: str) -> str:
        assert main(["accounts", *argv]) == 0
        return capsys.readouterr().out.strip()

    headers = {"Authorization": f"Bearer {operator('add', 'rita@example.org')}"}
    ci = {"Authorization": f"Bearer {operator('token', 'add', 'rita@example.org')}"}
    with _client(url, clock, require_account=True) as client:
        assert_error(create(client, SimSecret.make()), 401, "account_required")
        secret = SimSecret.make()
        assert create_as(client, secret, ci, ttl=30 * 24 * 3600).status_code == 201
        clock.advance(1)
        other = SimSecret.make()
        assert create_as(client, other, headers).status_code == 201
        post(client, other, "reveal", other.reveal_body())
        listed = client.get("/api/v1/account/receipts", headers=headers).json()["receipts"]
        assert [(r["id"], r["state"]) for r in listed] == [
            (other.sid, "read"),
            (secret.sid, "pending"),
        ]
        account = client.get("/api/v1/account", headers=headers).json()
        assert sorted(t["name"] for t in account["tokens"]) == ["default", "token-2"]
        operator("token", "revoke", "rita@example.org", "--token-name", "token-2")
        assert_error(client.get("/api/v1/account", headers=ci), 401, "unauthorized")
        operator("delete", "rita@example.org", "--yes")
        assert_error(client.get("/api/v1/account", headers=headers), 401, "unauthorized")
        assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob
