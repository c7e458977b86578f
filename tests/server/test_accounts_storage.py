"""What accounts leave in the store's own bytes: the raw SQLite file (and its WAL) and every
Redis key and value. Tokens are only ever stored as SHA-256 hashes, and deleting an account
leaves no trace of its email, its tokens or its id, while its secrets live on unlinked. Also:
a database written before accounts existed is migrated and keeps its secrets."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from ots_server.store import Store, StoreUnavailable, UnknownToken
from ots_server.store.redis.store import RedisStore
from ots_server.store.rules import day
from ots_server.store.sqlite.schema import MIGRATIONS
from ots_server.store.sqlite.store import SQLiteStore

from .redis_support import LocalCluster, delete_prefix, machine_client, machine_url, unique_prefix
from .support import START, SimAccount, SimSecret

pytestmark = pytest.mark.anyio


def _token_forms(account: SimAccount) -> list[bytes]:
    """Every form a leaked token could take: its text, its base64 part, its random bytes."""
    raw = base64.urlsafe_b64decode(account.token[4:] + "=")
    return [account.token.encode(), account.token[4:].encode(), raw]


def _account_forms(account: SimAccount) -> list[bytes]:
    """Every form the account's identity could take in a store."""
    tag = base64.urlsafe_b64encode(account.id).rstrip(b"=")
    email_hash = hashlib.sha256(account.email_key.encode()).hexdigest().encode()
    return [
        account.email.encode(),
        account.email_key.encode(),
        account.email.split("@")[0].encode(),
        account.id,
        tag,
        email_hash,
        account.token_hash,
        account.token_hash.hex().encode(),
    ]


async def _populate(store: Store, account: SimAccount, ci: SimAccount) -> list[SimSecret]:
    await store.create_account(account.new_account(START))
    await store.add_token(account.id, ci.new_token(START, "ci"))
    await store.authenticate(account.token_hash, START)
    await store.authenticate(ci.token_hash, START + 1)
    secrets = []
    for index in range(3):
        secret = SimSecret.make()
        new = dataclasses.replace(secret.new_secret(START + index), account_id=account.id)
        await store.create(new)
        secrets.append(secret)
    assert len(await store.account_receipts(account.id, START + 5, 10)) == 3
    return secrets


# -- SQLite ------------------------------------------------------------------------------------


def _file_bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def _checkpoint(store: SQLiteStore) -> None:
    for _ in range(20):
        if (await store.maintenance()).complete:
            return
    raise AssertionError("the WAL could not be checkpointed")


async def test_sqlite_keeps_token_hashes_and_delete_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "accounts.sqlite3"
    store = SQLiteStore(path)
    account = SimAccount.make("Dora.Trace-Marker@Example.org")
    ci = SimAccount.make()
    try:
        secrets = await _populate(store, account, ci)
        await _checkpoint(store)
        before = _file_bytes(path)
        for present in (account.email.encode(), account.token_hash, ci.token_hash):
            assert present in before  # the inspection can see what it looks for
        for token in (account, ci):
            for form in _token_forms(token):
                assert form not in before
        await store.delete_account(account.id)
        await _checkpoint(store)
        after = _file_bytes(path)
        for form in [*_account_forms(account), *_account_forms(ci)[6:]]:
            assert form not in after, form
        assert (path.with_name(path.name + "-wal")).stat().st_size == 0
        with sqlite3.connect(path) as conn:
            linked = conn.execute("SELECT count(*) FROM records WHERE account_id IS NOT NULL")
            assert linked.fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM tokens").fetchone()[0] == 0
        conn.close()
        # The secrets themselves are untouched.
        for secret in secrets:
            revealed = await store.reveal(secret.id, secret.link_check, None, START + 9)
            assert revealed.blob == secret.blob
    finally:
        await store.close()


async def test_a_database_from_before_accounts_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    secret = SimSecret.make()
    old.execute(
        "INSERT INTO records (id, receipt_hash, link_verifier, created_at, expires_at,"
        " keep_until, views, views_left, state) VALUES (?, ?, ?, ?, ?, ?, 1, 1, 'pending')",
        (secret.id, b"r" * 32, secret.link_check, START, START + 600, START + 1200),
    )
    old.execute(
        "INSERT INTO secrets (id, header_length, blob) VALUES (?, ?, ?)",
        (secret.id, secret.header_length, secret.blob),
    )
    old.close()
    store = SQLiteStore(path)
    try:
        assert (await store.pragmas())["user_version"] == len(MIGRATIONS) == 5
        account = SimAccount.make()
        await store.create_account(account.new_account(START))
        assert (await store.authenticate(account.token_hash, START)).account_id == account.id
        assert (await store.reveal(secret.id, secret.link_check, None, START)).blob == secret.blob
    finally:
        await store.close()


async def test_sqlite_authentication_writes_only_on_a_new_day(tmp_path: Path) -> None:
    """Proof by the write lock: while another connection holds it, an authentication on a day
    already recorded still answers at once (it only reads); one on a new day has to write."""
    path = tmp_path / "days.sqlite3"
    store = SQLiteStore(path, busy_timeout=0.3)
    account = SimAccount.make()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        await store.create_account(account.new_account(START))
        await store.authenticate(account.token_hash, START)
        blocker.execute("BEGIN IMMEDIATE")
        for offset in (1, 600, 3600):
            principal = await store.authenticate(account.token_hash, START + offset)
            assert principal.account_id == account.id
        with pytest.raises(StoreUnavailable):
            await store.authenticate(account.token_hash, START + 86_400)
        blocker.execute("ROLLBACK")
        await store.authenticate(account.token_hash, START + 86_400)
        assert (await store.get_account(account.id)).tokens[0].last_used_day == day(START) + 1
    finally:
        blocker.close()
        await store.close()


# -- Redis -------------------------------------------------------------------------------------


def _dump(client: Any, prefix: str) -> bytes:
    """Every key under ``prefix`` and everything it holds, as one byte string."""
    parts: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:*"):
        parts.append(key)
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                parts += [field, value]
        elif kind == b"zset":
            parts += [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            raise AssertionError(f"unexpected key type {kind!r}")
    return b"\n".join(parts)


def _kind(key: bytes, prefix: str) -> bytes:
    """``r``, ``b``, ``x``, ``a``, ``k``, ``as``, ``ak``, ``t`` or ``e``: what a key holds."""
    return key[len(prefix) + 1 :].split(b":")[0]


@dataclasses.dataclass
class _Redis:
    store: RedisStore
    prefix: str
    client: Any  # redis.Redis or RedisCluster; replies are bytes


@pytest.fixture(params=["single", "cluster"])
async def redis_store(request: pytest.FixtureRequest) -> AsyncIterator[_Redis]:
    prefix = unique_prefix("acct")
    client: redis.Redis | RedisCluster
    if request.param == "single":
        request.getfixturevalue("machine_redis")
        url, client = machine_url(prefix), machine_client()
    else:
        cluster: LocalCluster = request.getfixturevalue("redis_cluster")
        url, client = cluster.url(prefix), cluster.client()
    store = RedisStore.from_url(url)
    try:
        yield _Redis(store, prefix, client)
    finally:
        await store.close()
        delete_prefix(client, prefix)
        client.close()


async def test_redis_keeps_token_hashes_and_delete_leaves_no_trace(redis_store: _Redis) -> None:
    store, prefix, client = redis_store.store, redis_store.prefix, redis_store.client
    account = SimAccount.make("Erin.Trace-Marker@Example.org")
    ci = SimAccount.make()
    secrets = await _populate(store, account, ci)
    before = _dump(client, prefix)
    for present in (account.email.encode(), account.token_hash.hex().encode(), account.id):
        assert present in before
    for token in (account, ci):
        for form in _token_forms(token):
            assert form not in before
    await store.delete_account(account.id)
    after = _dump(client, prefix)
    for form in [*_account_forms(account), *_account_forms(ci)[6:]]:
        assert form not in after, form
    with pytest.raises(UnknownToken):
        await store.authenticate(ci.token_hash, START)
    # What is left is the secrets' own keys, and they still work.
    remaining = {_kind(key, prefix) for key in client.scan_iter(f"{prefix}:*")}
    assert remaining == {b"r", b"b", b"x"}
    for secret in secrets:
        assert (
            await store.reveal(secret.id, secret.link_check, None, START + 9)
        ).blob == secret.blob


async def test_redis_links_expire_with_the_longest_kept_secret(redis_store: _Redis) -> None:
    store, prefix, client = redis_store.store, redis_store.prefix, redis_store.client
    account = SimAccount.make()
    await store.create_account(account.new_account(START))
    for ttl in (100, 5000, 300):
        secret = SimSecret.make()
        new = dataclasses.replace(
            secret.new_secret(START, ttl=ttl, grace=50), account_id=account.id
        )
        await store.create(new)
    ttls = {
        _kind(key, prefix): int(client.ttl(key))
        for key in client.scan_iter(f"{prefix}:*")
        if _kind(key, prefix) in {b"as", b"ak"}
    }
    assert ttls.keys() == {b"as", b"ak"}
    # Relative to the caller's clock (START), like every TTL of the store.
    assert all(5050 - 5 <= ttl <= 5050 for ttl in ttls.values()), ttls
    # Account, token and email keys are the operator's: no TTL.
    operator_keys = [
        key
        for key in client.scan_iter(f"{prefix}:*")
        if _kind(key, prefix) in {b"a", b"k", b"t", b"e"}
    ]
    assert len(operator_keys) == 4
    assert all(client.ttl(key) == -1 for key in operator_keys)
