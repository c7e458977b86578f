"""Fixtures for the CLI suite; the machinery lives in :mod:`support`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from .support import Backend, Result, Runner, run_cli


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
