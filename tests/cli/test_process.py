"""The CLI against a real ``ots-server serve`` process: real sockets, real uvicorn, real SQLite."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import ServerProcess, start_server

from .support import cli_env, run_cli


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_server(tmp_path / "server-data")
    try:
        yield process
    finally:
        process.stop()


def test_share_and_get_over_real_http(server: ServerProcess) -> None:
    env = cli_env(OTS_SERVER=server.base_url)
    secret = b"over the wire\x00\xff\n"
    shared = run_cli(["share", "--ttl", "10m"], stdin=secret, env=env)
    assert shared.code == 0, shared.err
    link = shared.text.strip()
    got = run_cli(["get", link], env=env)
    assert (got.code, got.out) == (0, secret)
    again = run_cli(["get", link], env=env)
    assert again.code == 6
    assert run_cli(["--json", "status"], env=env).json()["state"] == "read"


def test_the_console_script_in_a_pipeline(server: ServerProcess) -> None:
    env = cli_env(OTS_SERVER=server.base_url)
    ots = [sys.executable, "-m", "ots_cli"]
    share = subprocess.run(
        [*ots, "share"], input=b"piped secret", capture_output=True, env=env, timeout=60
    )
    assert share.returncode == 0, share.stderr
    assert share.stderr == b""
    get = subprocess.run(
        [*ots, "get", "-"], input=share.stdout, capture_output=True, env=env, timeout=60
    )
    assert (get.returncode, get.stdout, get.stderr) == (0, b"piped secret", b"")


def test_server_killed_exits_9_and_the_secret_survives_a_restart(
    server: ServerProcess, tmp_path: Path
) -> None:
    env = cli_env(OTS_SERVER=server.base_url)
    link = run_cli(["share"], stdin=b"durable", env=env).text.strip()
    server.stop()
    down = run_cli(["get", link], env=env)
    assert down.code == 9
    assert "cannot connect to the server" in down.err
    assert "ots: hint:" in down.err
    assert run_cli(["share"], stdin=b"x", env=env).code == 9
    restarted = start_server(tmp_path / "server-data")
    try:
        env = cli_env(OTS_SERVER=restarted.base_url)
        bare = link.rsplit("/", 1)[1]  # the new process listens on another port
        assert run_cli(["get", "--", bare], env=env).out == b"durable"
    finally:
        restarted.stop()


def test_a_large_upload_refused_by_policy_exits_10_not_9(server: ServerProcess) -> None:
    import os

    env = cli_env(OTS_SERVER=server.base_url)
    big = os.urandom(900_000)
    assert run_cli(["share", "--ttl", "30s"], stdin=big, env=env).code == 10
    assert run_cli(["share", "--views", "1000"], stdin=big, env=env).code == 10
    assert run_cli(["share"], stdin=os.urandom(2_000_000), env=env).code == 10
    shared = run_cli(["share"], stdin=big, env=env)
    assert shared.code == 0, shared.err
    assert run_cli(["get", shared.text.strip()], env=env).out == big
