"""Fixtures for the CLI suite; the machinery lives in :mod:`support`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from processes import ServerProcess, start_server

from .keyrings import fail_keyring
from .support import Backend, Result, Runner, run_cli


@pytest.fixture(autouse=True)
def _no_system_keyring() -> Iterator[None]:
    """Every CLI test runs with keyring's ``fail`` backend unless it installs another one, so
    none can read or write the keyring of the machine running the tests."""
    saved = keyring.core._keyring_backend
    keyring.set_keyring(fail_keyring())
    try:
        yield
    finally:
        keyring.core._keyring_backend = saved


@pytest.fixture
def use_keyring() -> Callable[[KeyringBackend], KeyringBackend]:
    """``use_keyring(backend)``: install ``backend`` for this test (restored afterwards)."""

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    return install


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    server = Backend(tmp_path)
    with server.client:
        yield server


@pytest.fixture
def ots(backend: Backend) -> Runner:
    """``ots(*argv, stdin=b"", env=None, http=None)``: run the CLI against ``backend``."""

    def run(
        *argv: str,
        stdin: bytes = b"",
        env: Mapping[str, str] | None = None,
        http: httpx.Client | None = None,
    ) -> Result:
        return run_cli(list(argv), stdin=stdin, env=env, http=http or backend.client)

    return run


@pytest.fixture
def share(ots: Runner) -> Callable[..., str]:
    """Share ``secret`` (bytes on stdin) and return the link."""

    def do(secret: bytes = b"s3cret", *args: str) -> str:
        result = ots("share", *args, stdin=secret)
        assert result.code == 0, result.err
        return result.text.strip()

    return do


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``ots-server`` process shared by one test module (modules may override it)."""
    process = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield process
    finally:
        process.stop()
