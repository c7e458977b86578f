"""The operator command on Redis: ``serve`` refuses a Redis that may evict unread secrets (exit
status 3) unless the operator allows it, reports each persistence mode for what it loses, and
stops with a clear message when Redis cannot be reached; ``purge`` sweeps a Redis store."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import free_port

from ots_server import cli
from ots_server.settings import Settings
from ots_server.store.redis.store import RedisStore

from .redis_support import (
    RedisServer,
    delete_prefix,
    machine_client,
    machine_url,
    redis_server,
    unique_prefix,
)
from .support import START, SimSecret


@pytest.fixture(scope="module")
def owned_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("startup-redis")) as server:
        yield server


@pytest.fixture
def quiet_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() would point the root logger at this test's stderr for good; keep pytest's.
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)


def _warnings(url: str, caplog: pytest.LogCaptureFixture, *, allow: bool = False) -> list[str]:
    caplog.clear()
    settings = Settings(store_url=url, redis_allow_eviction=allow)
    with caplog.at_level(logging.WARNING, logger="ots_server.store"):
        asyncio.run(cli._check_store(settings))
    return [record.getMessage() for record in caplog.records]


@pytest.mark.usefixtures("quiet_cli")
def test_a_redis_that_evicts_is_refused_unless_allowed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with redis_server(tmp_path / "lru", ["--maxmemory-policy", "allkeys-lru"]) as server:
        url = server.url(unique_prefix("lru"))
        monkeypatch.setenv("OTS_STORE_URL", url)
        assert cli.main(["serve", "--port", "0"]) == 3
        err = capsys.readouterr().err
        assert err.startswith("ots-server: error: Redis maxmemory-policy is allkeys-lru"), err
        assert "noeviction" in err
        assert "OTS_REDIS_ALLOW_EVICTION=true" in err
        warnings = _warnings(url, caplog, allow=True)
    assert any("allkeys-lru" in warning for warning in warnings), warnings


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"appendonly": "no", "save": ""}, "ephemeral mode"),
        ({"appendonly": "no", "save": "3600 1"}, "snapshots only"),
        ({"appendonly": "yes", "appendfsync": "everysec"}, "appendfsync everysec"),
        ({"appendonly": "yes", "appendfsync": "always"}, None),
    ],
)
def test_persistence_modes_are_reported(
    owned_redis: RedisServer,
    caplog: pytest.LogCaptureFixture,
    config: dict[str, str],
    expected: str | None,
) -> None:
    with owned_redis.client() as client:
        for name, value in {"save": "", **config}.items():
            client.config_set(name, value)
    warnings = _warnings(owned_redis.url(unique_prefix("mode")), caplog)
    if expected is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert expected in warnings[0]
        assert "127.0.0.1" not in warnings[0]  # nothing of the URL is logged


@pytest.mark.usefixtures("quiet_cli")
def test_an_unreachable_redis_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "pw-never-shown"
    url = f"redis://:{password}@127.0.0.1:{free_port()}/0?connect_timeout=0.5"
    monkeypatch.setenv("OTS_STORE_URL", url)
    assert cli.main(["serve", "--port", "0"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("ots-server: error: cannot open the store: cannot reach Redis"), err
    assert password not in err


def test_purge_sweeps_a_redis_store_once(
    machine_redis: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = unique_prefix("purge")
    url = machine_url(prefix)

    async def old_secret() -> None:
        store = RedisStore.from_url(url)
        try:  # long expired by the wall clock; Redis's own TTLs (relative) have not fired yet
            await store.create(SimSecret.make().new_secret(START, ttl=60, grace=60))
        finally:
            await store.close()

    try:
        asyncio.run(old_secret())
        monkeypatch.setenv("OTS_STORE_URL", url)
        assert cli.main(["purge"]) == 0
        assert json.loads(capsys.readouterr().out) == {
            "expired": 1,
            "purged": 1,
            "requests_expired": 0,
            "requests_purged": 0,
        }
        with machine_client() as client:
            assert list(client.scan_iter(match=f"{prefix}:*")) == []  # receipt index too
    finally:
        with machine_client() as client:
            delete_prefix(client, prefix)
