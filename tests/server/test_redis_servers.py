"""The Redis store on Redis servers the tests configure: a full Redis (507, nothing half
written, reveals still free memory), TLS with verification, a Sentinel-managed primary, and
the least-privilege ACL user documented in docs/deploy.md, on one server and on Cluster."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store import StoreUnavailable, UnknownToken
from ots_server.store.redis.store import RedisStore

from .redis_support import LocalCluster, RedisServer, delete_prefix, redis_server, unique_prefix
from .request_support import SimRequest, sealed_answer
from .support import START, FakeClock, SimAccount, SimSecret, assert_error, create, post

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def _app(url: str, clock: FakeClock, **overrides: object) -> TestClient:
    settings = Settings(**{"store_url": url, "rate_limit_per_minute": 0, **overrides})  # type: ignore[arg-type]
    app = create_app(settings, RedisStore.from_url(url), clock=clock, owns_store=True)
    return TestClient(app, base_url="http://ots.test")


async def _accounts_round_trip(store: RedisStore) -> None:
    """Every account operation once: create, find, list, token add and use, a linked secret
    and its listing, revoke, delete."""
    account, ci = SimAccount.make(), SimAccount.make()
    await store.create_account(account.new_account(START))
    assert (await store.find_account(account.email_key)).id == account.id
    await store.add_token(account.id, ci.new_token(START, "ci"))
    assert (await store.authenticate(ci.token_hash, START)).token_name == "ci"
    secret = SimSecret.make()
    await store.create(dataclasses.replace(secret.new_secret(START), account_id=account.id))
    assert [r.id for r in await store.account_receipts(account.id, START, 10)] == [secret.id]
    assert [a.id for a in await store.list_accounts()] == [account.id]
    await store.revoke_token(account.id, "ci")
    await store.delete_account(account.id)
    with pytest.raises(UnknownToken):
        await store.authenticate(account.token_hash, START)


async def _requests_round_trip(store: RedisStore) -> None:
    """Every request operation; leaves one closed request and one answered one."""
    closed, answered = SimRequest.make(), SimRequest.make()
    for request in (closed, answered):
        await store.create_request(request.new_request(START))
        await store.answer_request(request.id, request.answer_check, sealed_answer(), START)
        assert (await store.peek_request(request.id, request.answer_check, START)).answered_at
        assert (await store.request_status(request.id, request.owner_check, START)).sealed
    await store.close_request(closed.id, closed.owner_check, START)


async def _round_trip(url: str) -> list[str]:
    """Start-up check, then create, peek, reveal, receipts, requests, sweep, accounts; the
    check's warnings."""
    store = RedisStore.from_url(url)
    try:
        warnings = await store.startup_check(allow_eviction=False)
        secret, receipt = SimSecret.make(300, passphrase=True), os.urandom(32)
        await store.create(secret.new_secret(START, views=2, receipt_hash=receipt))
        assert (await store.peek(secret.id, secret.link_check, START)).views_left == 2
        revealed = await store.reveal(secret.id, secret.link_check, secret.passphrase_check, START)
        assert revealed.blob == secret.blob
        assert (await store.receipt_status(receipt, START)).views_left == 1
        assert (await store.burn_by_receipt(receipt, START)).state == "burned"
        await _requests_round_trip(store)
        swept = await store.purge_expired(START + 10**7)
        assert (swept.purged, swept.requests_expired, swept.requests_purged) == (1, 1, 2)
        assert await store.rate_limiter(60, 2, lambda: 1.0, key=None).acquire("a") == 0
        await _accounts_round_trip(store)
        await store.check()
        return warnings
    finally:
        await store.close()


def test_a_full_redis_answers_507_and_still_reveals(tmp_path: Path, clock: FakeClock) -> None:
    """``maxmemory`` with ``noeviction`` is the Redis store's quota."""
    config = ["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"]
    with redis_server(tmp_path / "full", config) as redis:
        prefix = unique_prefix("full")
        with _app(redis.url(prefix), clock) as client:
            multi = SimSecret.make(1000)
            assert create(client, multi, views=2).status_code == 201
            stored = []
            for _ in range(200):
                secret = SimSecret.make(100_000)
                answer = create(client, secret)
                if answer.status_code != 201:
                    break
                stored.append(secret)
            assert_error(answer, 507, "insufficient_storage")
            assert 5 <= len(stored) < 200
            # Top up with small secrets once Redis freed the big request's buffers, so that
            # it stays over maxmemory below (a freed buffer would otherwise let writes in).
            time.sleep(0.3)
            while (answer := create(client, small := SimSecret.make(1000))).status_code == 201:
                stored.append(small)
            assert_error(answer, 507, "insufficient_storage")
            with redis.client() as raw:
                # Nothing of the refused secrets was written, not even their receipt index.
                for refused in (secret, small):
                    keys = f"{prefix}:r:{{{refused.sid}}}", f"{prefix}:b:{{{refused.sid}}}"
                    assert raw.exists(*keys) == 0
                entries = sum(raw.hlen(key) for key in raw.scan_iter(f"{prefix}:x:*"))
                assert entries == len(stored) + 1
            # A view that only decrements needs a write Redis refuses now: 507, nothing spent.
            assert_error(
                post(client, multi, "reveal", multi.reveal_body()), 507, "insufficient_storage"
            )
            assert post(client, multi, "peek", multi.proof_body()).json()["views_left"] == 2
            for old in stored[:5]:  # a last view deletes first, so it always goes through
                revealed = post(client, old, "reveal", old.reveal_body())
                assert (revealed.status_code, revealed.content) == (200, old.blob)
            assert create(client, SimSecret.make(100_000)).status_code == 201
            assert post(client, multi, "reveal", multi.reveal_body()).status_code == 200


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for DNS name ``localhost`` only (not 127.0.0.1)."""
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    sign = ["-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-extfile", ext]
    for command in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=ots CA"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", csr, *sign, "-out", cert, "-days", "2"],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True, timeout=30)
    return cert, key, ca


def test_tls_with_verification(tmp_path: Path) -> None:
    cert, key, ca = _certificates(tmp_path)
    redis = RedisServer(tmp_path / "tls", tls=(cert, key, ca))
    try:
        redis.start()
        prefix = unique_prefix("tls")
        good = f"rediss://localhost:{redis.port}/0?prefix={prefix}&ssl_ca_certs={ca}"
        warnings = asyncio.run(_round_trip(good))
        assert len(warnings) == 1
        assert "ephemeral mode" in warnings[0]
        for bad in (
            f"rediss://localhost:{redis.port}/0?connect_timeout=1",  # CA not trusted
            f"rediss://127.0.0.1:{redis.port}/0?ssl_ca_certs={ca}",  # name not in the cert
            f"redis://localhost:{redis.port}/0?socket_timeout=1",  # no TLS at all
        ):
            with pytest.raises(StoreUnavailable):
                asyncio.run(_round_trip(bad))
    finally:
        redis.kill()


def test_a_sentinel_managed_primary(tmp_path: Path) -> None:
    primary = RedisServer(tmp_path / "primary")
    sentinel = RedisServer(tmp_path / "sentinel")
    try:
        primary.start()
        sentinel.sentinel_of = primary.port
        sentinel.start()
        url = f"redis+sentinel://127.0.0.1:{sentinel.port}/mymaster?prefix={unique_prefix('s')}"
        warnings = asyncio.run(_round_trip(url))
        assert any("ephemeral mode" in warning for warning in warnings)
        unknown = f"redis+sentinel://127.0.0.1:{sentinel.port}/nosuchservice"
        with pytest.raises(StoreUnavailable):
            asyncio.run(_round_trip(unknown))
    finally:
        sentinel.kill()
        primary.kill()


def _acl_rules() -> list[list[str]]:
    """The ACL SETUSER lines of docs/deploy.md (the block after ``# ots-acl``)."""
    block = re.search(r"# ots-acl\n(.*?)```", DEPLOY.read_text(), flags=re.DOTALL)
    assert block is not None, "docs/deploy.md lost its ACL block"
    lines = [line for line in block.group(1).splitlines() if line.startswith("ACL SETUSER")]
    assert len(lines) == 2
    return [line.replace(">CHANGE-ME", ">acl-pw").split()[2:] for line in lines]


@pytest.fixture
def acl_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "acl") as redis:
        yield redis


def test_the_documented_acl_user_can_do_everything_needed(
    acl_redis: RedisServer, clock: FakeClock
) -> None:
    standalone, _ = _acl_rules()
    with acl_redis.client() as admin:
        admin.execute_command("ACL", "SETUSER", *standalone)
    url = f"redis://ots:acl-pw@127.0.0.1:{acl_redis.port}/3?prefix=ots"
    warnings = asyncio.run(_round_trip(url))
    # INFO is granted (version and maxmemory-policy are checked), CONFIG is not.
    assert warnings == [w for w in warnings if "CONFIG GET is not permitted" in w]
    assert len(warnings) == 1
    secret = SimSecret.make()
    with _app(url, clock, rate_limit_per_minute=60) as client:
        assert create(client, secret).status_code == 201
        assert post(client, secret, "reveal", secret.reveal_body()).status_code == 200
        assert client.get("/readyz").status_code == 200
    with acl_redis.client() as admin:
        denied = [entry for entry in admin.acl_log() if entry["object"] != "config|get"]
        assert denied == []


def test_the_documented_acl_user_works_on_cluster(redis_cluster: LocalCluster) -> None:
    standalone, cluster_extra = _acl_rules()
    prefix = unique_prefix("acl")
    for node in redis_cluster.nodes:
        with node.client() as admin:
            rule = [part.replace("~ots:*", f"~{prefix}:*") for part in standalone]
            admin.execute_command("ACL", "SETUSER", *rule)
            admin.execute_command("ACL", "SETUSER", *cluster_extra)
    try:
        url = f"redis+cluster://ots:acl-pw@{redis_cluster.seeds}?prefix={prefix}"
        warnings = asyncio.run(_round_trip(url))
        assert len(warnings) == 1
        assert "CONFIG GET is not permitted" in warnings[0]
    finally:
        for node in redis_cluster.nodes:
            with node.client() as admin:
                admin.execute_command("ACL", "DELUSER", "ots")
        with redis_cluster.client() as admin:
            delete_prefix(admin, prefix)
