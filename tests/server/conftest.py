"""Fixtures of the server suite: settings, a fake clock, stores on real SQLite files, an
in-process client (``TestClient`` with its lifespan running), real server processes, the
machine's Redis and a local three-primary Redis Cluster (one per test session)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import ServerProcess, running_server
from starlette.exceptions import StarletteDeprecationWarning

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store.sqlite.store import SQLiteStore

from .redis_support import LocalCluster, local_cluster, require_machine_redis
from .support import FakeClock

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its TestClient and warns once on import.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, rate_limit_per_minute=0, account_rate_limit_per_minute=0)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        yield store
    finally:
        store.close_sync()


@pytest.fixture
def client(settings: Settings, sqlite_store: SQLiteStore, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, sqlite_store, clock=clock)
    with TestClient(app, base_url="http://ots.test") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``ots-server serve`` per test module, for tests that do not need a fresh one."""
    with running_server(tmp_path_factory.mktemp("server")) as server:
        yield server


@pytest.fixture(scope="session")
def machine_redis() -> None:
    """The machine's Redis on 127.0.0.1:6379 must be running (a clear failure otherwise)."""
    require_machine_redis()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three redis-server primaries formed into a Cluster, killed at the end of the session."""
    with local_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster
