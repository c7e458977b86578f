"""Start-up of ``ots-server``, as real processes: a port in use is one line and exit 3, a bad
data directory or a missing SQLite directory names its setting (and nothing is created), and
the first log line names the store and the data directory without any credential."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from processes import free_port, running_server, server_command


def _run(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
    return subprocess.run(
        [*server_command(), *argv],
        capture_output=True,
        text=True,
        env={**inherited, **env},
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_in_use_is_one_line_and_exit_3(tmp_path: Path, held_port: int, workers: int) -> None:
    env = {"OTS_STORE_URL": f"sqlite://{tmp_path / 'ots.sqlite3'}"}
    result = _run(["serve", "--port", str(held_port), "--workers", str(workers)], env)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        f"ots-server: error: --port {held_port}: 127.0.0.1:{held_port} is already in use "
        "(another process listens there); choose another port with --port\n"
    )


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["purge"], ["accounts", "list"]])
def test_a_file_in_place_of_the_data_directory_names_the_setting(
    tmp_path: Path, command: list[str]
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    result = _run(command, {"OTS_DATA_DIR": str(blocker)})
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == f"ots-server: error: OTS_DATA_DIR: {blocker} is not a directory\n"


def test_an_unwritable_data_directory_names_the_setting() -> None:
    # sysfs refuses new files to everyone, root included (a chmod would not stop root).
    result = _run(["serve", "--port", "0"], {"OTS_DATA_DIR": "/sys"})
    assert (result.returncode, result.stdout) == (3, "")
    assert (
        result.stderr
        == "ots-server: error: OTS_DATA_DIR: cannot write in /sys: Permission denied\n"
    )


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["purge"], ["accounts", "list"]])
def test_a_missing_sqlite_directory_is_refused_not_created(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    result = _run(command, {"OTS_STORE_URL": f"sqlite://{missing / 'x.db'}"})
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        f"ots-server: error: OTS_STORE_URL: the directory {missing} does not exist; "
        "create it first (ots-server creates only OTS_DATA_DIR)\n"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_the_first_log_line_names_the_store_and_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    env = {
        "OTS_DATA_DIR": str(data),
        "OTS_STORE_URL": f"sqlite://{data / 'ots.sqlite3'}",  # where it is when unset
        "OTS_TTL_MAXX": "value-never-logged",
    }
    with running_server(tmp_path, env=env) as server:
        output = server.output()
    first, *rest = [json.loads(line) for line in output.splitlines()]
    assert (
        first["msg"]
        == f"starting with the SQLite store {data / 'ots.sqlite3'} in OTS_DATA_DIR {data}"
    )
    assert (first["store"], first["data_dir"]) == ("sqlite", str(data))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    warning = next(line for line in rest if line["logger"] == "ots_server.settings")
    assert warning["level"] == "warning"
    assert "did you mean OTS_TTL_MAX?" in warning["msg"]
    assert "value-never-logged" not in output
    listening = next(line for line in rest if line["msg"].startswith("listening on"))
    assert listening["msg"] == f"listening on http://127.0.0.1:{server.port} with 1 worker"


def test_a_store_outside_the_data_directory_says_the_directory_is_unused(tmp_path: Path) -> None:
    with running_server(tmp_path, env={"OTS_DATA_DIR": str(tmp_path / "unused")}) as server:
        first = json.loads(server.output().splitlines()[0])
    db = tmp_path / "ots.sqlite3"
    assert first["msg"] == (
        f"starting with the SQLite store {db} (OTS_STORE_URL; OTS_DATA_DIR {tmp_path / 'unused'} "
        "is not used)"
    )
    assert not (tmp_path / "unused").exists()


def test_a_redis_password_is_never_logged() -> None:
    # Nothing listens on the port, so the store check fails after the first line is logged.
    port = free_port()
    url = f"redis://ots:hunter2-in-the-url@127.0.0.1:{port}/3?prefix=startup"
    result = _run(["serve", "--port", "0"], {"OTS_STORE_URL": url})
    assert result.returncode == 3
    assert "hunter2" not in result.stdout + result.stderr
    first = json.loads(result.stderr.splitlines()[0])
    assert first["msg"] == (
        f"starting with the Redis store redis://127.0.0.1:{port}/3 (prefix startup); "
        "no data directory (Redis keeps everything)"
    )
    assert first["store"] == "redis"
